"""What the trainer reports. It never prints: front ends turn these into text or JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.optim.schedules import RateChange


def _num(x: float | None) -> float | None:
    """JSON has no NaN: report a missing figure as null."""
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


@dataclass(frozen=True)
class EpochReport:
    """The figures of one epoch (every ``log_every`` epochs, and the last one)."""

    epoch: int
    loss: float
    accuracy: float  # fraction in [0, 1]; a regression's R^2
    lr: float
    test_loss: float | None = None
    test_accuracy: float | None = None
    # With --l2 or --l1: the penalty on the weights, already in ``loss`` (loss = the data
    # loss + penalty); None without one, and the report reads as it always has
    penalty: float | None = None
    # A regression's: ``accuracy`` holds R^2 and these the mean absolute error (train,
    # test); None for a classification
    mae: float | None = None
    test_mae: float | None = None

    def to_dict(self) -> dict:
        d = {
            "event": "epoch",
            "epoch": self.epoch,
            "loss": _num(self.loss),
            "accuracy": self.accuracy,
            "lr": self.lr,
        }
        if self.test_loss is not None:
            d["test_loss"] = _num(self.test_loss)
            d["test_accuracy"] = self.test_accuracy
        if self.penalty is not None:
            d["penalty"] = _num(self.penalty)
        if self.mae is not None:  # a regression: name the score for what it is
            d["r2"] = _num(d.pop("accuracy"))
            d["mae"] = _num(self.mae)
            if "test_accuracy" in d:
                d["test_r2"] = _num(d.pop("test_accuracy"))
                d["test_mae"] = _num(self.test_mae)
        return d


@dataclass(frozen=True)
class Diverged:
    """Training went wrong (the loss is not a number, or it blew up); weights were restored."""

    epoch: int
    loss: float
    lr: float
    rolled_back_to: int  # the epoch whose weights were kept
    reason: str = "became infinite or not a number"

    @property
    def message(self) -> str:
        shown = f"{self.loss:.4g}" if math.isfinite(self.loss) else str(self.loss)
        return (
            f"diverged at epoch {self.epoch}: the loss {self.reason} ({shown}) with learning "
            f"rate {self.lr:g}; kept the weights of epoch {self.rolled_back_to}. "
            f"Try a smaller learning rate (e.g. {self.lr / 10:g})."
        )

    def to_dict(self) -> dict:
        return {
            "event": "diverged",
            "epoch": self.epoch,
            "loss": str(self.loss),
            "lr": self.lr,
            "rolled_back_to": self.rolled_back_to,
            "reason": self.reason,
            "message": self.message,
        }


@dataclass(frozen=True)
class Finished:
    """Training reached its last epoch."""

    epoch: int
    loss: float
    accuracy: float
    seconds: float

    def to_dict(self) -> dict:
        return {
            "event": "finished",
            "epoch": self.epoch,
            "loss": _num(self.loss),
            "accuracy": self.accuracy,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class WeightEdited:
    """One weight or bias set by hand (``Trainer.edit_weight``), between two epochs.

    ``epoch``: epochs completed when it was made (the next epoch trains on the new value).
    ``layer`` counts weight matrices from 1, as nn-tui shows them; ``kind`` is ``weight``
    (``row``: the input, ``col``: the unit, both from 1) or ``bias`` (``row`` 1, ``col``:
    the unit). ``old`` and ``new`` are the values as stored (``new`` rounded to the
    network's dtype). ``loss`` and ``accuracy``: the training figures at the new weights.
    ``rate_changes_before``: how many learning-rate changes by hand the run had made
    before it, so that a replay puts the two in the same order within one epoch.
    """

    epoch: int
    layer: int
    kind: str  # "weight" | "bias"
    row: int
    col: int
    old: float
    new: float
    loss: float = math.nan
    accuracy: float = math.nan
    rate_changes_before: int = 0

    def to_dict(self) -> dict:
        return {
            "event": "weight_edited",
            "epoch": self.epoch,
            "layer": self.layer,
            "kind": self.kind,
            "row": self.row,
            "col": self.col,
            "old": _num(self.old),
            "new": self.new,
            "loss": _num(self.loss),
            "accuracy": _num(self.accuracy),
        }


Event = EpochReport | RateChange | Diverged | Finished | WeightEdited
__all__ = ["EpochReport", "RateChange", "Diverged", "Finished", "WeightEdited", "Event"]
