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
    old, new = change.old_lr, change.new_lr
    if new == old * 0.5:
        verb = "halved"
    elif new == old * 2:
        verb = "doubled"
    else:
        verb = "reduced" if new < old else "raised" if new > old else "set"
    if change.reason == "halving":
        why = f"loss ratio {change.ratio:.4f}"
    elif change.reason == "plateau":
        why = f"plateau: loss / best {change.ratio:.4f}"
    elif change.reason == "manual":
        why = "by hand"
    else:
        why = change.reason
    rates = f"{change.old_lr:g} -> {change.new_lr:g}"
    return f"epoch {change.epoch} learning rate {verb} {rates} ({why})"


def prediction_lines(X, y, predictions) -> list[str]:
    """``[  0] x=( 0.000,  0.000) truth 0 predict 0.00061714``, one per point;
    a wrong prediction (on the other side of 0.5, or not a number) is marked."""
    from engine.nn.losses import THRESHOLD, predicted_class

    width = max(3, len(str(len(X) - 1)))
    lines = []
    classes = predicted_class(predictions)
    for i, ((x1, x2), truth, p, c) in enumerate(
        zip(X, y[:, 0], predictions, classes, strict=True)
    ):
        mark = "  wrong" if c != (truth > THRESHOLD) else ""
        lines.append(
            f"[{i:{width}d}] x=({x1:6.3f}, {x2:6.3f}) truth {int(truth)} predict {p:.8f}{mark}"
        )
    return lines


def _seconds(value: float) -> str:
    """``3.4``, or two significant digits under a second (``0.054``: never ``0.0``)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


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

    def __init__(self, trainer, show_bar: bool, total: int | None = None) -> None:
        self.trainer = trainer
        self.total = trainer.config.epochs if total is None else total
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
        self.task = self.progress.add_task(
            "", total=self.total, count="", loss="", lr="", speed=""
        )
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
            self.task, completed=t.epoch, count=f"{t.epoch:,}/{self.total:,}",
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
def train(
    config,
    *,
    json_mode: bool,
    quiet: bool,
    save_path: str | None,
    replay=None,
    source: str | None = None,
    exports: dict[str, str] | None = None,
) -> int:
    """``nn-tui train``: train to the end (or divergence), report, optionally save.

    With ``replay`` (an ``engine.experiments.replay.ReplayPlan``, from ``--from RUN.npz``) the run
    follows the plan: its length and the saved run's manual rate changes; when the plan
    is a reproduction, the closing line says whether the history came out identical.
    ``exports`` maps "history", "predictions" or "config" to the file to write.
    """
    from engine.io.runfile import save_run
    from engine.train.trainer import Trainer

    # builds the data: a bad CSV or batch size is reported here
    if replay is not None:
        trainer = Trainer(config, history_capacity=replay.history_capacity)
    else:
        trainer = Trainer(config)
    total = replay.epochs if replay is not None else config.epochs
    screen = Screen(trainer, show_bar=sys.stderr.isatty(), total=total)
    report = _JsonReport(screen) if json_mode else _TextReport(screen, quiet)
    try:
        report.start(trainer)
        if replay is not None:
            report.replay(replay, source)
        while not (replay.done(trainer) if replay is not None else trainer.done):
            if replay is not None:
                report.events(replay.advance(trainer, seconds=screen.box_seconds))
            else:
                report.events(trainer.run(seconds=screen.box_seconds))
            screen.update()
    except KeyboardInterrupt:
        screen.close()
        print(f"nn-tui: interrupted at epoch {trainer.epoch:,} of {total:,}", file=sys.stderr)
        return 130
    finally:
        screen.close()
    report.finish(trainer, replay.compare(trainer) if replay is not None else None)
    notes = sys.stderr if json_mode else sys.stdout
    if save_path:
        written = save_run(save_path, trainer)
        print(f"saved run to {written}", file=notes)
    for line in write_exports(trainer, exports or {}):
        print(line, file=notes)
    sys.stdout.flush()
    return 0


def write_exports(trainer, exports: dict[str, str]) -> list[str]:
    """Write the asked-for exports of a trained run; one line per file written."""
    from engine.io import export

    lines = []
    if "history" in exports:
        path = export.write_text_atomic(exports["history"], export.history_csv(trainer))
        lines.append(f"wrote the history ({len(trainer.history):,} rows) to {path}")
    if "predictions" in exports:
        path = export.write_text_atomic(exports["predictions"], export.predictions_csv(trainer))
        points = trainer.data.n_train + len(trainer.data.X_test)
        lines.append(f"wrote the predictions ({points:,} points) to {path}")
    if "config" in exports:
        path = export.write_text_atomic(exports["config"], export.config_toml(trainer.config))
        lines.append(f"wrote the config to {path} (nn-tui train --config {path} reruns it)")
    return lines


class _TextReport:
    def __init__(self, screen: Screen, quiet: bool) -> None:
        self.screen, self.quiet = screen, quiet

    def start(self, trainer) -> None:
        for line in describe(trainer.config, trainer.data):
            self.screen.line(line)

    def replay(self, plan, source: str | None) -> None:
        from tui.cli import flag_for

        source = source or "a saved run"
        if plan.reproduces:
            line = f"reproducing {source}: {plan.epochs:,} epochs"
        else:
            flags = ", ".join(flag_for(name) for name in plan.changed)
            line = f"re-running {source} with {flags} changed (not a reproduction): " \
                f"{plan.epochs:,} epochs"
        if plan.manual:
            count = len(plan.manual)
            line += f", replaying {count} learning-rate change{'s' if count > 1 else ''} by hand"
        self.screen.line(line)

    def events(self, events: list) -> None:
        from engine.optim.schedules import RateChange
        from engine.train.events import Diverged, EpochReport

        for event in events:
            if isinstance(event, EpochReport):
                self.screen.line(epoch_line(event))
            elif isinstance(event, RateChange):
                self.screen.line(rate_line(event))
            elif isinstance(event, Diverged):
                self.screen.line(event.message)

    def finish(self, trainer, comparison=None) -> None:
        self._finish(trainer)
        if comparison is not None:
            self.screen.line(comparison.message())

    def _finish(self, trainer) -> None:
        out = self.screen.line
        speed = trainer.epoch / trainer.seconds if trainer.seconds > 0 else 0.0
        timing = f"in {fmt_seconds(trainer.seconds)} ({speed:,.0f} epochs/s)"
        # the figures below are the final weights' (after the last update), where the
        # log's epoch lines measured each epoch before its update
        if trainer.status == "diverged":
            out(f"stopped at epoch {trainer.epoch:,} of {trainer.config.epochs:,} {timing}; "
                "testing the weights it kept:")
        else:
            out(f"finished {trainer.epoch:,} epochs {timing}; testing the final weights:")
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

    def replay(self, plan, source: str | None) -> None:
        self.screen.line(json_line({
            "event": "replay", "from": source, "reproduction": plan.reproduces,
            "changed": list(plan.changed),
            "epochs": plan.epochs, "manual_rate_changes": [c.to_dict() for c in plan.manual],
        }))

    def _comparison(self, result) -> None:
        self.screen.line(json_line({
            "event": "reproduction", "exact": result.exact, "rows": result.rows,
            "differing_rows": result.differing, "first_differing_epoch": result.first_epoch,
            "weights_equal": result.weights_equal, "matched_rows": result.matched,
            "saved_with": result.saved_numerics, "here": result.here_numerics,
            "message": result.message(),
        }))

    def events(self, events: list) -> None:
        from engine.train.events import Finished

        for event in events:
            if not isinstance(event, Finished):  # "done" below says it all, and more
                self.screen.line(json_line(event.to_dict()))

    def finish(self, trainer, comparison=None) -> None:
        if comparison is not None:
            self._comparison(comparison)
        train = trainer.evaluate("train")
        done = {
            "event": "done", "status": trainer.status, "epochs": trainer.epoch,
            # the final weights' figures (after the last update): the course's testing
            "loss": train["loss"], "accuracy": train["accuracy"], "seconds": trainer.seconds,
            "predictions": train["predictions"],
            # the last epoch's own, measured before its update, as its "epoch" event
            "last_epoch": {"epoch": trainer.epoch, "loss": trainer.last_loss,
                           "accuracy": trainer.last_accuracy},
        }
        if trainer.data.has_test:
            test = trainer.evaluate("test")
            done.update(test_loss=test["loss"], test_accuracy=test["accuracy"],
                        test_predictions=test["predictions"])
            last_test = trainer.last_test or (None, None)
            done["last_epoch"].update(test_loss=last_test[0], test_accuracy=last_test[1])
        self.screen.line(json_line(done))


# --- gradcheck ---------------------------------------------------------------------
def gradcheck(config, *, json_mode: bool, at_epoch: int = 0) -> int:
    """``nn-tui gradcheck``: exit 0 if the check passes, 1 if it fails, 3 if inconclusive.

    The check is the app's ``g`` (``tui.core.training.check_gradients``: a float64 copy of
    the network on up to 20 training points, judged by ``engine.train.gradcheck``), on the
    initial weights or, with ``at_epoch``, on those after training that many epochs;
    its verdict and words are the app's. Biases that are all zero (a fresh network)
    are drawn small and random on the copy first: a zero bias puts every relu unit of
    an input at the origin exactly on its kink, where finite differences see half a
    slope and backprop none.
    """
    from engine.config.experiment import ConfigError
    from engine.train.trainer import Trainer
    from tui.core.training import GRADCHECK_MAX_PARAMETERS, check_gradients

    if config.n_parameters > GRADCHECK_MAX_PARAMETERS:
        raise ConfigError(
            "hidden",
            f"a gradient check nudges every parameter in turn: at most "
            f"{GRADCHECK_MAX_PARAMETERS:,} parameters, got {config.n_parameters:,} "
            f"({config.diagram()}); use narrower or fewer layers",
        )
    trainer = Trainer(config)
    if at_epoch:
        if at_epoch > config.epochs:
            trainer.extend(at_epoch - config.epochs)  # as the app trains on after the end
        trainer.run(epochs=at_epoch)
        if trainer.status == "diverged":
            print(f"nn-tui: training diverged at epoch {trainer.epoch:,}, before epoch "
                  f"{at_epoch:,}: nothing to check", file=sys.stderr)
            return 1
    report = check_gradients(trainer)
    check = report.check
    if json_mode:
        for c in check:
            print(json_line({"event": "layer", "layer": c.layer, "weight_error": c.weight_error,
                             "bias_error": c.bias_error, "parameters": c.n_checked,
                             "verdict": c.verdict, "largest_gradient": c.largest,
                             "resolved": c.n_resolved, "kinked": c.n_kinked,
                             "zero_gradient": c.zero}))
        print(json_line({"event": "gradcheck", "verdict": check.verdict, "reason": check.reason,
                         "passed": check.passed, "inconclusive": check.inconclusive,
                         "max_error": check.worst, "tolerance": check.tolerance,
                         "noise": check.noise, "floor": check.floor, "loss": check.loss,
                         "epoch": trainer.epoch, "points": report.points}))
        return gradcheck_exit_status(check)
    sizes = "-".join(str(s) for s in config.sizes)
    weights = f", weights of epoch {trainer.epoch:,}" if trainer.epoch else ""
    print(f"gradient check of {sizes} {','.join(config.activation)} with {config.loss} loss "
          f"on {report.points} of {report.total_points} {config.dataset_label} points "
          f"(float64){weights}")
    for c in check:
        biases = f"  biases {c.bias_error:.1e}" if c.bias_error is not None else ""
        note = ""
        if c.zero:
            note = "  all gradients zero: not really checked"
        elif c.verdict == "inconclusive":
            note = f"  gradients below {check.floor:.1e}: too small to check"
        if c.n_kinked:
            note += f"  {c.n_kinked} at relu kinks: not compared"
        print(f"layer {c.layer}  weights {c.weight_error:.1e}{biases}  "
              f"({c.n_checked} parameters){note}")
    print(f"gradient check {check.summary}")
    return gradcheck_exit_status(check)


INCONCLUSIVE_STATUS = 3
"""``nn-tui gradcheck``'s exit status when nothing could be compared (not a failure)."""


def gradcheck_exit_status(check) -> int:
    """0 passed, 1 FAILED, 3 inconclusive (2 is a bad flag, file or config)."""
    if check.passed:
        return 0
    return INCONCLUSIVE_STATUS if check.inconclusive else 1


# --- sweep -------------------------------------------------------------------------
STATUS_STYLES = {"queued": "dim", "running": "cyan", "finished": "green", "diverged": "yellow",
                 "error": "bold red"}
LIVE_REFRESH_SECONDS = 0.25


def sweep(configs, *, workers: int, csv_path: str | None) -> int:
    """``nn-tui sweep``: run the grid, show the table, write the CSV, compare the times."""
    import time

    from engine.experiments.sweep import run_sweep, varied_fields

    varied = varied_fields(configs)
    table = SweepTable(configs, varied)
    print(sweep_heading(configs, varied, workers), flush=True)
    live = LiveTable(table) if sys.stderr.isatty() else None
    start = time.perf_counter()
    try:
        run_sweep(
            configs, workers,
            on_result=live.result if live else table.result,
            on_progress=live.progress if live else None,
        )
    except KeyboardInterrupt:
        if live:
            live.close()
        finished = [r for r in table.results if r is not None]
        print(f"nn-tui: sweep interrupted after {len(finished)} of {len(configs)} runs",
              file=sys.stderr)
        if csv_path and finished:
            print(_write_sweep_csv(csv_path, finished, varied), file=sys.stderr)
        elif csv_path:
            print(f"no run had finished: nothing written to {csv_path}", file=sys.stderr)
        return 130
    finally:
        if live:
            live.close()
    wall = time.perf_counter() - start
    results = table.results
    if not (live and sys.stdout.isatty()):  # the live table already shows it on this screen
        for line in table.text_lines():
            print(line)
    for line in sweep_summary(results, varied, wall, workers):
        print(line)
    if csv_path:
        print(_write_sweep_csv(csv_path, results, varied))
    sys.stdout.flush()
    return 1 if any(r["status"] == "error" for r in results) else 0


def _write_sweep_csv(path: str, results, varied) -> str:
    from engine.experiments.sweep import sweep_csv
    from engine.io.export import write_text_atomic

    written = write_text_atomic(path, sweep_csv(results, varied))
    return f"wrote {len(results)} run{'s' if len(results) != 1 else ''} to {written}"


def sweep_heading(configs, varied, workers: int) -> str:
    """``sweep of 6 runs (lr x hidden: 3 x 2) on xor, 20,000 epochs each, 2 workers``."""
    from engine.experiments.sweep import value_text

    n = len(configs)
    first = configs[0]
    if varied:
        sizes = " x ".join(str(len({value_text(getattr(c, f)) for c in configs})) for f in varied)
        shape = f" ({' x '.join(varied)}: {sizes})"
    else:
        shape = ""
    line = f"sweep of {n} run{'s' if n != 1 else ''}{shape}"
    if "dataset" not in varied and "data_path" not in varied:
        line += f" on {first.dataset_label}"
    if "epochs" not in varied:
        line += f", {first.epochs:,} epochs each"
    return line + f", {workers} worker{'s' if workers != 1 else ''}"


def _short(x: float) -> str:
    return f"{x:.4g}" if x is not None and math.isfinite(x) else "-"


def _percent(x: float | None) -> str:
    return fmt_percent(x).strip() if x is not None and math.isfinite(x) else "-"


class SweepTable:
    """The rows of a sweep as it runs: a row per run, updated by progress and results."""

    def __init__(self, configs, varied) -> None:
        from engine.experiments.sweep import value_text

        self.varied = list(varied)
        self.settings = [[value_text(getattr(c, f)) for f in self.varied] for c in configs]
        self.epochs = [c.epochs for c in configs]
        self.has_test = any(c.test_split > 0 for c in configs)
        self.results: list[dict | None] = [None] * len(configs)
        self.progress_of: dict[int, dict] = {}

    def result(self, result: dict) -> None:
        self.results[result["run"]] = result

    def progress(self, update: dict) -> None:
        self.progress_of[update["run"]] = update

    @property
    def headers(self) -> list[str]:
        heads = ["run", *self.varied, "status", "epochs", "loss", "accuracy"]
        if self.has_test:
            heads += ["test loss", "test acc"]
        return heads + ["100% at", "seconds"]

    def cells(self, i: int) -> tuple[list[str], str]:
        """A row's cells and its status."""
        r = self.results[i]
        cells = [str(i), *self.settings[i]]
        if r is None:
            p = self.progress_of.get(i)
            if p is None:
                return cells + ["queued"] + [""] * (len(self.headers) - len(cells) - 1), "queued"
            row = ["running", f"{p['epoch']:,}", _short(p["loss"]), _percent(p["accuracy"])]
            if self.has_test:
                row += ["", ""]
            return cells + row + ["", f"{p['seconds']:.1f}"], "running"
        row = [r["status"], f"{r['epochs_run']:,}", _short(r["final_loss"]),
               _percent(r["final_accuracy"])]
        if self.has_test:
            row += [_short(r["test_loss"]), _percent(r["test_accuracy"])]
        perfect = r["perfect_epoch"]
        row += ["-" if perfect is None else f"{perfect:,}", f"{r['seconds']:.1f}"]
        return cells + row, r["status"]

    def text_lines(self) -> list[str]:
        """The table as plain aligned text (for a file, a pipe or the end of a sweep)."""
        heads = self.headers
        rows = [self.cells(i)[0] for i in range(len(self.results))]
        widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(heads)]
        left = set(range(1, 2 + len(self.varied)))  # the settings and the status
        def line(cells):
            return "  ".join(
                c.ljust(w) if j in left else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        lines = [line(heads)] + [line(row) for row in rows]
        lines += [f"run {i}: {r['message']}" for i, r in enumerate(self.results)
                  if r is not None and r["status"] == "error"]
        return lines

    def rich_table(self, max_rows: int | None = None):
        from rich.table import Table

        table = Table(box=None, header_style="bold", pad_edge=False)
        for j, head in enumerate(self.headers):
            left = 1 <= j <= 1 + len(self.varied)
            table.add_column(head, justify="left" if left else "right", no_wrap=True)
        order = list(range(len(self.results)))
        if max_rows is not None and len(order) > max_rows:
            # the running rows first, then the latest finished, then the next queued
            running = [i for i in order if self.results[i] is None and i in self.progress_of]
            done = [i for i in order if self.results[i] is not None]
            queued = [i for i in order if self.results[i] is None and i not in self.progress_of]
            keep = (running + done[::-1] + queued)[:max_rows]
            hidden = len(order) - len(keep)
            order = sorted(keep)
            table.caption = (f"{hidden} more runs not shown: {len(done)} done, "
                             f"{len(queued)} queued")
        for i in order:
            cells, status = self.cells(i)
            table.add_row(*cells, style=STATUS_STYLES.get(status, ""))
        return table


class LiveTable:
    """The sweep's table, redrawn on stderr as runs progress and finish (a terminal only)."""

    def __init__(self, table: SweepTable) -> None:
        import time

        from rich.console import Console
        from rich.live import Live

        self.table = table
        self.console = Console(file=sys.stderr)
        self.live = Live(self._render(), console=self.console, auto_refresh=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start(refresh=True)
        self._clock = time.perf_counter
        self._last = self._clock()

    def _render(self):
        return self.table.rich_table(max_rows=max(3, self.console.height - 4))

    def _refresh(self, force: bool) -> None:
        now = self._clock()
        if force or now - self._last >= LIVE_REFRESH_SECONDS:
            self._last = now
            self.live.update(self._render(), refresh=True)

    def result(self, result: dict) -> None:
        self.table.result(result)
        self._refresh(force=True)

    def progress(self, update: dict) -> None:
        self.table.progress(update)
        self._refresh(force=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.update(self._render(), refresh=True)
            self.live.stop()
            self.live = None


def sweep_summary(results, varied, wall: float, workers: int) -> list[str]:
    """The closing lines: failures, the best run, and the wall time beside the processor
    time of all the runs together; their ratio is the speed-up over running them one by
    one on an idle core."""
    from engine.experiments.sweep import describe_run

    lines = []
    failed = [r for r in results if r["status"] == "error"]
    if failed:
        lines.append(f"{len(failed)} of {len(results)} runs failed (see their rows)")
    trained = [r for r in results if r["status"] != "error" and math.isfinite(r["final_loss"])]
    if trained and len(results) > 1:
        use_test = all(math.isfinite(r["test_loss"]) for r in trained)
        key = "test_loss" if use_test else "final_loss"
        best = min(trained, key=lambda r: r[key])
        what = describe_run(best["config"], varied)
        figures = f"loss {_short(best['final_loss'])} accuracy {_percent(best['final_accuracy'])}"
        if use_test:
            figures += (f", test loss {_short(best['test_loss'])} "
                        f"test accuracy {_percent(best['test_accuracy'])}")
        label = "lowest test loss" if use_test else "lowest loss"
        lines.append(f"{label}: run {best['run']}{f' ({what})' if what else ''}: {figures}")
    # processor time, not each run's wall time: runs that waited for a core while
    # another ran would otherwise count that wait as training and inflate the speed-up
    total = sum(r["cpu_seconds"] for r in results)
    n = len(results)
    speedup = total / wall if wall > 0 else 0.0
    lines.append(
        f"{n} run{'s' if n != 1 else ''} in {_seconds(wall)} s wall, "
        f"{_seconds(total)} s of training "
        f"({speedup:.1f}x parallel speed-up on {workers} worker{'s' if workers != 1 else ''})"
    )
    return lines
