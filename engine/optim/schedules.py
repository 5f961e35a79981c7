"""Learning-rate schedules that observe the trainer, in the manner of Keras callbacks.

A schedule is asked ``observe(epoch, loss, lr)`` at the epochs it names in
``next_check`` and answers with a :class:`RateChange` or ``None``. It never touches
the optimizer itself: the trainer applies the change and reports it as an event.

``HalvingSchedule`` is the seed's rule. Every ``period`` epochs compare the loss now
with the loss ``period`` epochs earlier; if ``low < new / old < high`` (strictly)
the loss has stalled, so multiply the rate by ``factor``, never going below
``min_lr``. Worked example with the defaults (period 5000, band (0.9, 1.1), 0.5):

=======  ==========  ================  ===================================
epoch    loss        ratio to before   rate after
=======  ==========  ================  ===================================
1        0.250       (reference)       0.5
5000     0.240       0.96              0.25    (stalled: halved)
10000    0.060       0.25              0.25    (falling fast: kept)
15000    0.059       0.983             0.125   (stalled: halved)
=======  ==========  ================  ===================================

At epoch ``period`` there is no epoch 0 to compare with, so the first epoch's loss
stands in (the seed's own code compared with its second epoch). A ratio of exactly
``low`` or ``high`` keeps the rate; so does a ratio that is not a number (a loss of
0 against 0, or NaN).

``PlateauSchedule`` follows torch's ``ReduceLROnPlateau`` (mode "min", relative
threshold). Each epoch: if ``loss < best * (1 - threshold)`` the loss improved,
``best = loss`` and the count of bad epochs resets; otherwise the count grows.
When it exceeds ``patience`` the rate is multiplied by ``factor`` (not below
``min_lr``), the count resets and ``cooldown`` epochs pass before counting again.
Worked example, patience 2, factor 0.5, threshold 0, cooldown 1, lr 1.0:

=====  ====  ====  ===========  ========  ====
epoch  loss  best  bad epochs   cooldown  lr
=====  ====  ====  ===========  ========  ====
1      1.0   1.0   0            0         1.0
2      1.0   1.0   1            0         1.0
3      1.0   1.0   2            0         1.0
4      1.0   1.0   3 -> 0       1         0.5   (3 > patience: reduced)
5      1.0   1.0   0            0         0.5   (cooling down: not counted)
6      0.9   0.9   0            0         0.5
=====  ====  ====  ===========  ========  ====
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class RateChange:
    """The learning rate changed at ``epoch`` from ``old_lr`` to ``new_lr``."""

    epoch: int
    old_lr: float
    new_lr: float
    ratio: float  # the loss ratio (halving) or loss / best (plateau) that caused it
    reason: str  # "halving", "plateau" or "manual"

    @property
    def event(self) -> str:
        return "lr_halved" if self.reason == "halving" else "lr_changed"

    def to_dict(self) -> dict:
        return {
            "event": self.event,
            "epoch": self.epoch,
            "old_lr": self.old_lr,
            "new_lr": self.new_lr,
            "ratio": self.ratio,
            "reason": self.reason,
        }


class ConstantSchedule:
    """Never changes the rate."""

    name = "none"
    next_check = math.inf

    def observe(self, epoch: int, loss: float, lr: float) -> RateChange | None:
        return None


class HalvingSchedule:
    """The seed's rule: halve the rate when the loss ratio over a period is in the band."""

    name = "halving"

    def __init__(
        self,
        period: int = 5000,
        band: tuple[float, float] = (0.9, 1.1),
        factor: float = 0.5,
        min_lr: float = 1e-8,
    ) -> None:
        self.period, self.band, self.factor, self.min_lr = period, band, factor, min_lr
        self.reference: float | None = None  # the loss one period ago
        self.next_check: int = 1

    def observe(self, epoch: int, loss: float, lr: float) -> RateChange | None:
        if epoch < self.next_check:
            return None
        if self.reference is None:  # first epoch: only remember the loss
            self.reference = loss
            self.next_check = (epoch // self.period + 1) * self.period
            return None
        self.next_check = epoch + self.period
        ratio = _ratio(loss, self.reference)
        self.reference = loss
        low, high = self.band
        if low < ratio < high and lr > self.min_lr:
            return RateChange(epoch, lr, max(lr * self.factor, self.min_lr), ratio, "halving")
        return None


class PlateauSchedule:
    """ReduceLROnPlateau: reduce when the loss has not improved for ``patience`` epochs."""

    name = "plateau"

    def __init__(
        self,
        patience: int = 1000,
        factor: float = 0.5,
        threshold: float = 1e-3,
        cooldown: int = 0,
        min_lr: float = 1e-8,
    ) -> None:
        self.patience, self.factor, self.threshold = patience, factor, threshold
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best = math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0
        self.next_check: int = 1

    def observe(self, epoch: int, loss: float, lr: float) -> RateChange | None:
        self.next_check = epoch + 1
        if loss < self.best * (1 - self.threshold):
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > self.patience and lr > self.min_lr:
            self.bad_epochs, self.cooldown_left = 0, self.cooldown
            ratio = _ratio(loss, self.best)
            return RateChange(epoch, lr, max(lr * self.factor, self.min_lr), ratio, "plateau")
        return None


def _ratio(new: float, old: float) -> float:
    """new / old, NaN when it has no meaning (0/0, NaN) rather than an exception."""
    if old == 0 or math.isnan(old) or math.isnan(new):
        return math.nan if new == 0 or math.isnan(new) or math.isnan(old) else math.inf
    return new / old


SCHEDULE_NAMES = ("halving", "plateau", "none")
