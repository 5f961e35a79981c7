"""What ``nn-tui train`` prints: the course's text log or JSON lines.

Text follows the course's homework, in the words the app's log uses too
(``tui.core.event_text``, one text for each event):

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
from tui.cli.output import json_line
from tui.cli.progress import Screen
from tui.core.event_text import (
    diverged_text,
    epoch_text,
    finished_text,
    printout_lines,
    rate_change_text,
    stopped_text,
    weight_edit_text,
)

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig
    from engine.train.bundle import DataBundle


def describe(config: ExperimentConfig, data: DataBundle) -> list[str]:
    """Two lines on what is about to train (the features and the penalty when set)."""
    sizes = "-".join(str(s) for s in config.sizes)
    acts = ",".join(dict.fromkeys(config.layer_activations))  # e.g. tanh,softmax
    points = f"{data.n_train:,} points"
    if data.has_test:
        points = f"{data.n_train:,} training, {len(data.X_test):,} test points"
    if config.regression:
        points += ", real targets"
    elif config.classes > 2:
        points += f", {config.classes} classes"
    if config.features != ("x1", "x2"):
        points += f", features {','.join(config.features)}"
    schedule = "constant rate" if config.schedule == "none" else f"{config.schedule} schedule"
    penalty = "".join(f", {name} {value:g}" for name, value in (("l2", config.l2),
                                                                 ("l1", config.l1)) if value)
    return [
        f"training {sizes} {acts} ({config.n_parameters:,} parameters) on "
        f"{config.dataset_label} ({points})",
        f"with {config.loss} loss{penalty}, {config.optimizer} lr {config.lr:g}, {schedule}, "
        f"{config.epochs:,} epochs",
    ]


def _as_regression(done: dict, train: dict, trainer) -> None:
    """A regression's "done": ``r2`` and ``mae`` where a classifier has ``accuracy``."""
    done["r2"], done["mae"] = done.pop("accuracy"), train["mae"]
    done["last_epoch"]["r2"] = done["last_epoch"].pop("accuracy")
    if "test_accuracy" in done:
        test_mae = trainer.evaluate("test")["mae"]
        done["test_r2"], done["test_mae"] = done.pop("test_accuracy"), test_mae
        done["last_epoch"]["test_r2"] = done["last_epoch"].pop("test_accuracy")


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
        if plan.edits:
            count = len(plan.edits)
            line += f", making {count} weight edit{'s' if count > 1 else ''} by hand again"
        self.screen.line(line)
        if plan.left_out:
            self.screen.line(f"leaving out {plan.left_out} weight edit"
                             f"{'s' if plan.left_out > 1 else ''} that the changed network "
                             "does not have")

    def events(self, events: list) -> None:
        from engine.optim.schedules import RateChange
        from engine.train.events import Diverged, EpochReport, WeightEdited

        for event in events:
            if isinstance(event, EpochReport):
                self.screen.line(epoch_text(event))
            elif isinstance(event, WeightEdited):
                self.screen.line(weight_edit_text(event))
            elif isinstance(event, RateChange):
                self.screen.line(rate_change_text(event))
            elif isinstance(event, Diverged):
                self.screen.line(diverged_text(event))

    def finish(self, trainer, comparison=None) -> None:
        self._finish(trainer)
        if comparison is not None:
            self.screen.line(comparison.message())

    def _finish(self, trainer) -> None:
        """How the run ended, then the course's testing printout of the weights it ended
        with (after the last update, where the epoch lines measured each epoch before its
        own): every set, each point unless ``quiet``."""
        out = self.screen.line
        if trainer.status == "diverged":
            out(stopped_text(trainer.epoch, trainer.config.epochs, trainer.seconds))
        else:
            out(finished_text(trainer.epoch, trainer.seconds))
        for split in ("train", "test") if trainer.data.has_test else ("train",):
            if not self.quiet:
                out("")
            for line in printout_lines(trainer, split, points=not self.quiet):
                out(line)


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
        replay = {
            "event": "replay", "from": source, "reproduction": plan.reproduces,
            "changed": list(plan.changed),
            "epochs": plan.epochs, "manual_rate_changes": [c.to_dict() for c in plan.manual],
        }
        if plan.edits or plan.left_out:  # a run without edits reads as it always has
            replay.update(weight_edits=[e.to_dict() for e in plan.edits],
                          left_out_edits=plan.left_out)
        self.screen.line(json_line(replay))

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
        if trainer.config.regression:  # name the score for what it is, as the epoch events
            _as_regression(done, train, trainer)
        self.screen.line(json_line(done))
