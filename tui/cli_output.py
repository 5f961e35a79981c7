"""What ``nn-tui train`` and ``nn-tui gradcheck`` print: the course's text log or JSON lines.

Text follows the course's homework, so a student can hold it beside their own:

    epoch 5000 loss : 0.2401234567 accuracy :  71.43% lr : 0.5
    epoch 5000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)
    [  0] x=( 0.000,  0.000) truth 0 predict 0.00061714
    loss=0.0000451988 accuracy=100.00%

JSON mode prints one object per line on stdout and nothing else there: a "start"
object with the config, each event's ``to_dict()``, and last a "done" object.

Training runs in short time boxes so the log streams as it comes (a box costs no
measurable speed) and, when stderr is a terminal, a Rich progress bar there shows
the epoch, loss, rate and speed. Imported only by the commands that train, after
the engine; Rich is imported only when the bar is shown.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

GRADCHECK_TOLERANCE = 1e-6
GRADCHECK_POINTS = 20
BOX_SECONDS_BAR = 0.1  # time box with a progress bar to refresh
BOX_SECONDS_PLAIN = 0.5  # time box without: how often the log is flushed


# --- numbers -----------------------------------------------------------------------
def fmt_loss(x: float) -> str:
    """Ten decimals as the course prints them; scientific once that stops being readable."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.10f}" if abs(x) < 1e6 else f"{x:.6e}"


def fmt_percent(x: float | None) -> str:
    return f"{100 * x:6.2f}%" if x is not None and math.isfinite(x) else "   nan%"


def fmt_seconds(s: float) -> str:
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


# --- lines of the text log ---------------------------------------------------------
def epoch_line(report) -> str:
    """``epoch 5000 loss : 0.0123456789 accuracy : 100.00% lr : 0.5``; with a test split
    the test figures come before the rate, so the columns stay aligned."""
    line = (
        f"epoch {report.epoch} loss : {fmt_loss(report.loss)}"
        f" accuracy : {fmt_percent(report.accuracy)}"
    )
    if report.test_loss is not None:
        line += (
            f" test loss : {fmt_loss(report.test_loss)}"
            f" test accuracy : {fmt_percent(report.test_accuracy)}"
        )
    return f"{line} lr : {report.lr:g}"


def rate_line(change) -> str:
    """``epoch 60000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)``."""
    verb = "halved" if change.new_lr == change.old_lr * 0.5 else "reduced"
    if change.reason == "halving":
        why = f"loss ratio {change.ratio:.4f}"
    elif change.reason == "plateau":
        why = f"plateau: loss / best {change.ratio:.4f}"
    else:
        why = change.reason
    rates = f"{change.old_lr:g} -> {change.new_lr:g}"
    return f"epoch {change.epoch} learning rate {verb} {rates} ({why})"


def prediction_lines(X, y, predictions) -> list[str]:
    """``[  0] x=( 0.000,  0.000) truth 0 predict 0.00061714``, one per point;
    a wrong prediction (on the other side of 0.5) is marked."""
    width = max(3, len(str(len(X) - 1)))
    lines = []
    for i, ((x1, x2), truth, p) in enumerate(zip(X, y[:, 0], predictions, strict=True)):
        mark = "  wrong" if (p > 0.5) != (truth > 0.5) else ""
        lines.append(
            f"[{i:{width}d}] x=({x1:6.3f}, {x2:6.3f}) truth {int(truth)} predict {p:.8f}{mark}"
        )
    return lines


def describe(config, data) -> list[str]:
    """Two lines on what is about to train."""
    sizes = "-".join(str(s) for s in config.sizes)
    acts = ",".join(config.activation)
    points = f"{data.n_train:,} points"
    if data.has_test:
        points = f"{data.n_train:,} training, {len(data.X_test):,} test points"
    schedule = "constant rate" if config.schedule == "none" else f"{config.schedule} schedule"
    return [
        f"training {sizes} {acts} ({config.n_parameters:,} parameters) on "
        f"{config.dataset_label} ({points})",
        f"with {config.loss} loss, {config.optimizer} lr {config.lr:g}, {schedule}, "
        f"{config.epochs:,} epochs",
    ]


# --- JSON --------------------------------------------------------------------------
def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null, NumPy numbers become Python's."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if hasattr(value, "tolist"):  # a NumPy scalar or array
        return json_safe(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def json_line(value: Any) -> str:
    return json.dumps(json_safe(value), allow_nan=False)


# --- where lines go ----------------------------------------------------------------
class Screen:
    """Prints lines to stdout, and owns the progress bar on stderr when there is one.

    While the bar is live and stdout is the same terminal, lines go through the bar's
    console so they scroll above it instead of tearing it. When stdout is a file or a
    pipe they are written straight to it, so it only ever holds the log.
    """

    def __init__(self, trainer, show_bar: bool) -> None:
        self.trainer = trainer
        self.progress = None
        self.task = None
        self._through_console = False
        if show_bar:
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("training"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[count]}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        total = self.trainer.config.epochs
        self.task = self.progress.add_task("", total=total, count="", loss="", lr="", speed="")
        self.update()
        self.progress.start()
        self._through_console = sys.stdout.isatty()

    @property
    def box_seconds(self) -> float:
        return BOX_SECONDS_BAR if self.progress is not None else BOX_SECONDS_PLAIN

    def line(self, text: str) -> None:
        if self._through_console:
            self.progress.console.print(text, markup=False, highlight=False, emoji=False,
                                        soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")

    def update(self) -> None:
        """Move the bar to the trainer's epoch and show its loss, rate and speed."""
        sys.stdout.flush()
        if self.progress is None:
            return
        t = self.trainer
        speed = t.epoch / t.seconds if t.seconds > 0 else 0.0
        loss = f"{t.last_loss:.4g}" if math.isfinite(t.last_loss) else "-"
        self.progress.update(
            self.task, completed=t.epoch, count=f"{t.epoch:,}/{t.config.epochs:,}",
            loss=loss, lr=f"{t.lr:g}", speed=f"{speed:,.0f} epochs/s",
        )
        self.progress.refresh()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self._through_console = False
        sys.stdout.flush()


# --- train -------------------------------------------------------------------------
def train(config, *, json_mode: bool, quiet: bool, save_path: str | None) -> int:
    """``nn-tui train``: train to the end (or divergence), report, optionally save."""
    from engine.runfile import save_run
    from engine.trainer import Trainer

    trainer = Trainer(config)  # builds the data: a bad CSV or batch size is reported here
    screen = Screen(trainer, show_bar=sys.stderr.isatty())
    report = _JsonReport(screen) if json_mode else _TextReport(screen, quiet)
    try:
        report.start(trainer)
        while not trainer.done:
            report.events(trainer.run(seconds=screen.box_seconds))
            screen.update()
    except KeyboardInterrupt:
        screen.close()
        print(f"nn-tui: interrupted at epoch {trainer.epoch:,} of {config.epochs:,}",
              file=sys.stderr)
        return 130
    finally:
        screen.close()
    report.finish(trainer)
    if save_path:
        written = save_run(save_path, trainer)
        print(f"saved run to {written}", file=sys.stderr if json_mode else sys.stdout)
    sys.stdout.flush()
    return 0


class _TextReport:
    def __init__(self, screen: Screen, quiet: bool) -> None:
        self.screen, self.quiet = screen, quiet

    def start(self, trainer) -> None:
        for line in describe(trainer.config, trainer.data):
            self.screen.line(line)

    def events(self, events: list) -> None:
        from engine.events import Diverged, EpochReport
        from engine.schedules import RateChange

        for event in events:
            if isinstance(event, EpochReport):
                self.screen.line(epoch_line(event))
            elif isinstance(event, RateChange):
                self.screen.line(rate_line(event))
            elif isinstance(event, Diverged):
                self.screen.line(event.message)

    def finish(self, trainer) -> None:
        out = self.screen.line
        speed = trainer.epoch / trainer.seconds if trainer.seconds > 0 else 0.0
        timing = f"in {fmt_seconds(trainer.seconds)} ({speed:,.0f} epochs/s)"
        if trainer.status == "diverged":
            out(f"stopped at epoch {trainer.epoch:,} of {trainer.config.epochs:,} {timing}")
        else:
            out(f"finished {trainer.epoch:,} epochs {timing}")
        data = trainer.data
        train = trainer.evaluate("train")
        if not self.quiet:
            out("")
            if data.has_test:
                out(f"training set ({data.n_train:,} points):")
            for line in prediction_lines(data.X_train_raw, data.y_train, train["predictions"]):
                out(line)
        out(f"loss={fmt_loss(train['loss'])} accuracy={fmt_percent(train['accuracy']).strip()}")
        if data.has_test:
            test = trainer.evaluate("test")
            if not self.quiet:
                out("")
                out(f"test set ({len(data.X_test):,} points):")
                for line in prediction_lines(data.X_test_raw, data.y_test, test["predictions"]):
                    out(line)
            out(
                f"test loss={fmt_loss(test['loss'])} "
                f"test accuracy={fmt_percent(test['accuracy']).strip()}"
            )


class _JsonReport:
    def __init__(self, screen: Screen) -> None:
        self.screen = screen

    def start(self, trainer) -> None:
        data = trainer.data
        self.screen.line(json_line({
            "event": "start", "config": trainer.config.to_dict(),
            "parameters": trainer.config.n_parameters,
            "train_points": data.n_train, "test_points": len(data.X_test),
        }))

    def events(self, events: list) -> None:
        from engine.events import Finished

        for event in events:
            if not isinstance(event, Finished):  # "done" below says it all, and more
                self.screen.line(json_line(event.to_dict()))

    def finish(self, trainer) -> None:
        train = trainer.evaluate("train")
        done = {
            "event": "done", "status": trainer.status, "epochs": trainer.epoch,
            "loss": train["loss"], "accuracy": train["accuracy"], "seconds": trainer.seconds,
            "predictions": train["predictions"],
        }
        if trainer.data.has_test:
            test = trainer.evaluate("test")
            done.update(test_loss=test["loss"], test_accuracy=test["accuracy"],
                        test_predictions=test["predictions"])
        self.screen.line(json_line(done))


# --- gradcheck ---------------------------------------------------------------------
def gradcheck(config, *, json_mode: bool) -> int:
    """``nn-tui gradcheck``: exit 0 if every layer agrees with finite differences, else 1.

    Biases start at zero, which puts every relu unit of an input at the origin exactly
    on its kink, where finite differences see half a slope and backprop none: the
    check would fail with nothing wrong. So biases are drawn small and random first.
    """
    import numpy as np

    from engine.data import build_data
    from engine.gradcheck import gradient_check
    from engine.trainer import make_network

    config = config.replace(dtype="float64")  # float32 cannot resolve the finite differences
    data = build_data(config)
    X, y = data.X_train[:GRADCHECK_POINTS], data.y_train[:GRADCHECK_POINTS]
    net = make_network(config)
    rng = np.random.default_rng([config.seed, 0xB1A5])
    for b in net.biases:
        b[...] = rng.normal(0.0, 0.1, b.shape)
    _, grad_w, grad_b = net.loss_and_gradients(X, y, config.loss)
    checks = gradient_check(net, X, y, config.loss)
    flat = [not (np.any(w) or (i < len(grad_b) and np.any(grad_b[i])))
            for i, w in enumerate(grad_w)]
    worst = max(c.error for c in checks)
    vacuous = all(flat)  # nothing was compared: dead units, not a verdict on backprop
    passed = worst < GRADCHECK_TOLERANCE and not vacuous  # False for NaN too
    if json_mode:
        for c, zero in zip(checks, flat, strict=True):
            print(json_line({"event": "layer", "layer": c.layer, "weight_error": c.weight_error,
                             "bias_error": c.bias_error, "parameters": c.n_checked,
                             "zero_gradient": zero}))
        print(json_line({"event": "gradcheck", "passed": passed, "max_error": worst,
                         "tolerance": GRADCHECK_TOLERANCE, "points": len(X),
                         "inconclusive": vacuous}))
        return 0 if passed else 1
    sizes = "-".join(str(s) for s in config.sizes)
    print(f"gradient check of {sizes} {','.join(config.activation)} with {config.loss} loss "
          f"on {len(X)} of {data.n_train} {config.dataset_label} points (float64)")
    for c, zero in zip(checks, flat, strict=True):
        biases = f"  biases {c.bias_error:.1e}" if c.bias_error is not None else ""
        note = "  all gradients zero: not really checked" if zero else ""
        print(f"layer {c.layer}  weights {c.weight_error:.1e}{biases}  "
              f"({c.n_checked} parameters){note}")
    if vacuous:
        print("gradient check inconclusive: every gradient is zero at these weights "
              "(dead relu units?); try another --seed or --init")
    else:
        sign, verdict = ("<", "passed") if passed else (">=", "FAILED")
        print(f"gradient check {verdict} (max relative error {worst:.1e} {sign} "
              f"{GRADCHECK_TOLERANCE:.0e})")
    return 0 if passed else 1
