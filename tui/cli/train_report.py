"""What ``nn-tui train`` prints: the course's text log or JSON lines.

Text follows the course's homework, so a student can hold it beside their own:

    epoch 5000 loss : 0.2401234567 accuracy :  71.43% lr : 0.5
    epoch 5000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)
    [  0] x=( 0.000,  0.000) truth 0 predict 0.00061714
    loss=0.0000451988 accuracy=100.00%

JSON mode prints one object per line on stdout and nothing else there: a "start"
object with the config, each event's ``to_dict()``, and last a "done" object.
Imported only when a command trains; the engine is imported inside the functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.cli.fields import flag_for
from tui.cli.output import fmt_loss, fmt_percent, fmt_seconds, json_line
from tui.cli.progress import Screen

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig
    from engine.optim.schedules import RateChange
    from engine.train.bundle import DataBundle
    from engine.train.events import EpochReport


def epoch_line(report: EpochReport) -> str:
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


def rate_line(change: RateChange) -> str:
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


def describe(config: ExperimentConfig, data: DataBundle) -> list[str]:
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


class TextReport:
    def __init__(self, screen: Screen, quiet: bool) -> None:
        self.screen, self.quiet = screen, quiet

    def start(self, trainer) -> None:
        for line in describe(trainer.config, trainer.data):
            self.screen.line(line)

    def replay(self, plan, source: str | None) -> None:
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


class JsonReport:
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
