"""The words of every training event, written once for the app's log and ``nn-tui train``.

They follow the course's homework, so a student can hold either front end's log beside
their own:

    epoch 5000 loss : 0.0123456789 accuracy : 100.00% lr : 0.5
    epoch 60000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)
    finished 5,000 epochs in 1.23 s (4,065 epochs/s)
    testing the final weights on the training set (4 points):
    [  0] x=( 0.000,  0.000) truth 0 predict 0.00061714
    loss=0.0000451988 accuracy=100.00%

A regression has no accuracy: its lines give R² and the mean absolute error instead
(``R² : 0.9862 MAE : 0.0406``), and its printout each prediction beside its target. With
K classes, a point's truth and prediction are class numbers, with the predicted class's
probability.

A front end only decorates these texts (the app marks a rate change with ▸ and colours
it); what the log panel's narrow width needs is a parameter here (``two_lines``), never
a second wording. No Textual and no Rich: this is the shared core; the engine is
imported only where a function needs it, so ``nn-tui --help`` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.optim.schedules import RateChange
    from engine.train.events import Diverged, EpochReport, Finished, WeightEdited


# ------------------------------------------------------------------ numbers


def loss_text(x: float) -> str:
    """Ten decimals as the course prints them; scientific once that stops being readable."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.10f}" if abs(x) < 1e6 else f"{x:.6e}"


def percent_text(x: float | None) -> str:
    """An accuracy (a fraction) as a percent padded to 7 characters, so columns line up."""
    return f"{100 * x:6.2f}%" if x is not None and math.isfinite(x) else "   nan%"


def r2_text(x: float | None) -> str:
    """R² to four decimals (1 is a perfect fit; it can go below 0)."""
    return f"{x:.4f}" if x is not None and math.isfinite(x) else "nan"


def mae_text(x: float | None) -> str:
    """A mean absolute error to 4 significant digits (targets may be of any size)."""
    return f"{x:.4g}" if x is not None and math.isfinite(x) else "nan"


def score_text(accuracy: float | None, mae: float | None = None, sep: str = " : ",
               prefix: str = "") -> str:
    """``accuracy : 100.00%``, or a regression's ``R² : 0.9862 MAE : 0.0406`` (``mae`` not
    None: ``accuracy`` then holds R²); ``prefix`` (``test ``) goes before MAE too."""
    if mae is not None:
        return f"R²{sep}{r2_text(accuracy)} {prefix}MAE{sep}{mae_text(mae)}"
    percent = percent_text(accuracy)
    return f"accuracy{sep}{percent.strip() if sep == '=' else percent}"


def seconds_text(s: float) -> str:
    """A duration with the digits worth reading: 0.42 s, 12.3 s."""
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


def format_lr(lr: float) -> str:
    """A learning rate to 8 digits, so a chain of halvings reads exactly: 0.5, 0.00390625."""
    return f"{lr:.8g}"


# ------------------------------------------------------------------ events


def epoch_text(report: EpochReport, two_lines: bool = False) -> str:
    """``epoch 5000 loss : 0.0123456789 accuracy : 100.00% lr : 0.5``.

    With a test split its figures come before the rate on the same line (a terminal is
    wide), or, with ``two_lines`` (the app's log panel is not), on a second line whose
    ``loss :`` and ``accuracy :`` stand under the first line's. A regularized run's loss
    includes its penalty on the weights, which follows it: ``loss : 0.0123456789 (penalty
    0.0012345678)``; the test loss is the data's alone.
    """
    head = f"epoch {report.epoch} "
    loss = loss_text(report.loss)
    if report.penalty is not None:
        loss += f" (penalty {loss_text(report.penalty)})"
    train = f"loss : {loss} {score_text(report.accuracy, report.mae)}"
    rate = f" lr : {format_lr(report.lr)}"
    if report.test_loss is None:
        return head + train + rate
    test_loss = loss_text(report.test_loss)
    test_score = score_text(report.test_accuracy, report.test_mae, prefix="test ")
    if two_lines:
        under = f"{'test ':>{len(head)}}loss : {test_loss.ljust(len(loss))}"
        return f"{head}{train}{rate}\n{under} {test_score}"
    return f"{head}{train} test loss : {test_loss} test {test_score}{rate}"


def rate_change_text(change: RateChange) -> str:
    """``epoch 60000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)``: what the rate
    did, from and to, and why (the schedule's figure, or "by hand")."""
    rates = f"{format_lr(change.old_lr)} -> {format_lr(change.new_lr)}"
    return (f"epoch {change.epoch} learning rate {_rate_verb(change.old_lr, change.new_lr)} "
            f"{rates} ({_rate_reason(change)})")


def race_rate_text(changes: Sequence[RateChange]) -> str:
    """``epoch 1200 learning rates halved 0.125 -> 0.0625, 0.25 -> 0.125 (by hand, 5
    networks)``: one change of a race's rates, all by the same factor (the race's [ ]),
    each distinct pair once (a race of seeds has one)."""
    first = changes[0]
    pairs = dict.fromkeys(f"{format_lr(c.old_lr)} -> {format_lr(c.new_lr)}" for c in changes)
    networks = f"{len(changes)} network{'s' if len(changes) > 1 else ''}"
    return (f"epoch {first.epoch} learning rates {_rate_verb(first.old_lr, first.new_lr)} "
            f"{', '.join(pairs)} ({_rate_reason(first)}, {networks})")


def _rate_verb(old: float, new: float) -> str:
    """halved and doubled by name (the course's schedule and the app's [ ] keys)."""
    if new == old * 0.5:
        return "halved"
    if new == old * 2:
        return "doubled"
    return "reduced" if new < old else "raised" if new > old else "set"


def _rate_reason(change: RateChange) -> str:
    """The figure that made a schedule act (shown only when it is a number)."""
    ratio = f" {change.ratio:.4f}" if math.isfinite(change.ratio) else ""
    if change.reason == "halving":
        return f"loss ratio{ratio}"
    if change.reason == "plateau":
        return f"plateau: loss / best{ratio}"
    if change.reason == "manual":
        return "by hand"
    return change.reason


def weight_edit_text(edit: WeightEdited) -> str:
    """``epoch 400 weight set by hand: layer 2, input 3 -> unit 2, 0.53123457 -> -1.5 (loss
    now 0.2501234567)``: which entry (numbered from 1, as the inspect screen shows them),
    from and to, and the training loss at the new weights."""
    where = f"input {edit.row} -> unit {edit.col}" if edit.kind == "weight" else f"unit {edit.col}"
    return (f"epoch {edit.epoch} {edit.kind} set by hand: layer {edit.layer}, {where}, "
            f"{edit.old:.8g} -> {edit.new:.8g} (loss now {loss_text(edit.loss)})")


def diverged_text(event: Diverged) -> str:
    """The engine's own words (JSON's ``message`` carries the same)."""
    return event.message


DIVERGED_HINT = ("press [ to halve the rate, then r to start afresh at it (again if it "
                 "diverges again), or type a rate in panel 1 and press a")
"""What recovers a diverged run in the app. Not ``[`` then space: the weights kept are
those of the epoch before the blow-up (or of the best report), often already too large
to train on, so going on at a lower rate mostly diverges again (a linear XOR network at
lr 0.5 does four halvings in a row); fresh weights at a lower rate do not."""


def diverged_hint(epoch: int, lr: float) -> str:
    """``Diverged at epoch 4 with lr 0.5: press [ to halve the rate, then r ...``."""
    return f"Diverged at epoch {epoch:,} with lr {format_lr(lr)}: {DIVERGED_HINT}."


def finished_text(epochs: int, seconds: float | None = None) -> str:
    """``finished 5,000 epochs in 1.23 s (4,065 epochs/s)``; no timing when ``seconds`` is
    None (a snapshot must not depend on the machine). No figures: the last epoch's line
    is just above, and the testing printout below gives the final weights'."""
    return f"finished {epochs:,} epochs" + _timing(epochs, seconds)


def finished_event_text(event: Finished, timed: bool = True) -> str:
    """``finished_text`` for a Finished event."""
    return finished_text(event.epoch, event.seconds if timed else None)


def stopped_text(epoch: int, total: int, seconds: float | None = None) -> str:
    """``stopped at epoch 12 of 1,000 in 0.01 s (...)``: a run that diverged before its end."""
    return f"stopped at epoch {epoch:,} of {total:,}" + _timing(epoch, seconds)


def _timing(epochs: int, seconds: float | None) -> str:
    """`` in 1.23 s (4,065 epochs/s)``, or nothing without a time."""
    if seconds is None:
        return ""
    speed = epochs / seconds if seconds > 0 else 0.0
    return f" in {seconds_text(seconds)} ({speed:,.0f} epochs/s)"


# ------------------------------------------------------------------ the testing printout


SET_NAMES = {"train": "training set", "test": "test set"}


def printout_heading(split: str, points: int, kept: bool = False) -> str:
    """``testing the final weights on the training set (21 points):``; after a divergence
    the weights tested are the ones the trainer kept (``kept``)."""
    weights = "the weights it kept" if kept else "the final weights"
    return f"testing {weights} on the {SET_NAMES[split]} ({points:,} points):"


def prediction_lines(
    X: Sequence[Sequence[float]], y: Any, predictions: Any, limit: int | None = None,
    regression: bool = False,
) -> list[str]:
    """``[  0] x=( 0.000,  0.000) truth 0 predict 0.00061714``, one per point (at most
    ``limit``, then how many more); a wrong prediction (the other side of 0.5, or not a
    number) is marked ``wrong``. With K classes (one-hot ``y``, (n, K) ``predictions``):
    ``truth 2 predict 2 (p 0.9731)``, the predicted class and its probability. With
    ``regression``: ``truth 0.31234 predict 0.30117`` (nothing is right or wrong)."""
    from engine.nn.losses import predicted_class, true_class

    if regression:
        truths = [float(t) for t in _flat(y)]
        classes = None
    else:
        truths = [int(t) for t in true_class(y)]
        classes = predicted_class(predictions)
    shown = len(truths) if limit is None else min(limit, len(truths))
    width = max(3, len(str(len(truths) - 1)))
    lines = []
    for i in range(shown):
        x = ", ".join(f"{v:6.3f}" for v in X[i])
        lines.append(f"[{i:{width}d}] x=({x}) " + _prediction(truths[i], predictions[i],
                                                               classes, i))
    if shown < len(truths):
        lines.append(f"... {len(truths) - shown:,} more predictions not shown")
    return lines


def _prediction(truth: float, predicted: Any, classes: Any, i: int) -> str:
    """One point's ``truth ... predict ...`` (see ``prediction_lines``)."""
    if classes is None:
        return f"truth {truth:.5g} predict {float(predicted):.5g}"
    mark = "  wrong" if classes[i] != truth else ""
    if getattr(predicted, "ndim", 0) == 1:  # K probabilities
        p = float(predicted[classes[i]]) if classes[i] >= 0 else math.nan
        return f"truth {truth} predict {int(classes[i])} (p {p:.4f}){mark}"
    return f"truth {truth} predict {float(predicted):.8f}{mark}"


def _flat(y: Any) -> Any:
    """Labels as one column (a data set keeps them as an n-by-1 array)."""
    return y.ravel() if hasattr(y, "ravel") else y


def totals_text(loss: float, accuracy: float, split: str = "train",
                mae: float | None = None) -> str:
    """``loss=0.0000451988 accuracy=100.00%``; on the test set each name says so
    (``test loss=... test accuracy=...``), as the epoch line's figures do. A regression
    (``mae``): ``loss=... R²=0.9862 MAE=0.0406``."""
    prefix = "test " if split == "test" else ""
    score = score_text(accuracy, mae, "=", prefix)
    return f"{prefix}loss={loss_text(loss)} {prefix}{score}"


def printout_lines(
    trainer: Any, split: str, *, points: bool = True, limit: int | None = None
) -> list[str]:
    """The course's testing printout of a trainer's current weights on one split: the
    heading, each prediction beside its truth (unless not ``points``), then the totals.

    The weights are the ones after the last epoch's update, so the totals can differ
    from the last epoch line's (README: "What the figures mean").
    """
    data = trainer.data
    X, y = (data.X_test_raw, data.y_test) if split == "test" else (data.X_train_raw, data.y_train)
    result = trainer.evaluate(split)
    lines = [printout_heading(split, len(X), kept=trainer.status == "diverged")]
    regression = trainer.config.regression
    if points:
        lines += prediction_lines(X, y, result["predictions"], limit, regression)
    lines.append(totals_text(result["loss"], result["accuracy"], split,
                             result.get("mae") if regression else None))
    return lines


__all__ = [
    "DIVERGED_HINT", "SET_NAMES", "diverged_hint", "diverged_text", "epoch_text",
    "finished_event_text", "finished_text",
    "format_lr", "loss_text", "mae_text", "percent_text", "prediction_lines",
    "race_rate_text", "r2_text", "rate_change_text", "score_text",
    "seconds_text", "stopped_text", "printout_heading", "printout_lines", "totals_text",
    "weight_edit_text",
]
