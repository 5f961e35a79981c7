"""Re-running a saved run from scratch, to check that it reproduces.

Training is deterministic: the same config (seeds included) gives the same
weights, bit for bit. What a config does not hold is what the user did while the
run trained: the learning-rate changes made by hand (the app's double/halve keys).
The run file keeps them (``RateChange`` with reason ``"manual"``), so a replay trains
up to each one's epoch, sets the same rate, and goes on, for as many epochs as the
saved run had completed:

    plan = ReplayPlan.from_saved(load_run("run.npz"))
    trainer = Trainer(plan.config, history_capacity=plan.history_capacity)
    while not plan.done(trainer):
        events = plan.advance(trainer, seconds=0.1)   # time-boxed, for a live display
    plan.compare(trainer)    # -> Comparison(rows=..., differing=0, ...): exact

A divergence rolls the weights back and resets the optimizer; the run file does not
say whether a manual change came after one. So at a manual change the replay tries
the next epoch: if it diverges, the saved run most likely diverged there too before
the rate was changed by hand, and the replay keeps that; otherwise it is undone.
Runs that were extended past their configured end (the app's "train on") are
replayed with the extended end from the start, which can differ in one schedule
check at the old end; ``compare`` says so when it happens.

A run trained in a stack (``engine.stack``; its file says ``stacked``) rounds a little
differently from the single trainer (its biases are added apart), so it is replayed
through a stack of one: a network's floats in a stack do not depend on K or on its
neighbours, so that reproduces it bit for bit. The ``Trainer`` handed to ``advance``
then only mirrors the stack's network (weights, epoch, history, events), for the
display and ``compare``; a manual rate change is applied, but a diverged stacked
network stays stopped.

Weights edited by hand (``Trainer.edit_weight``, kept in the run file) are made again
at their epochs, in their order among the manual rate changes of that epoch
(``WeightEdited.rate_changes_before``): an edit is never made on a diverged run, so only
a rate change can be the first thing done after a divergence, and only then is the next
epoch tried first. A re-run on a changed network leaves out the edits that no longer
fit it (``left_out``). A stacked run with edits is refused: a stack does not edit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from engine.config.experiment import FIELDS, ExperimentConfig
from engine.fast.workspace import ARITHMETIC
from engine.io.numerics import describe, differences, fingerprint
from engine.io.runfile import RunFileError
from engine.optim.schedules import RateChange
from engine.stack.trainer import StackTrainer
from engine.train.edits import EditError, locate, stored_value
from engine.train.events import Event, WeightEdited
from engine.train.history import COLUMNS, History

# What one epoch never changes (or only uses as scratch space): left out of a snapshot.
# The workspaces hold views into their own buffers, which a deep copy would not keep.
_SCRATCH = frozenset({"config", "data", "loss_fn", "_X", "_y", "_batch", "_ws", "_ws_tail",
                      "_test_ws", "_marks", "_mark_rows"})


OUTPUT_ONLY = frozenset({"log_every"})  # fields that change what is reported, not the numbers


@dataclass(frozen=True)
class Comparison:
    """How a reproduced history compares with a saved one, row by row (NaN equals NaN).

    A history reproduces bit for bit only on the same arithmetic: the same engine
    revision, NumPy and BLAS, on the same kind of CPU (``engine.io.numerics``). On another,
    it matches for a while and then drifts by rounding; the message says how far it
    matched and that this is expected, not a failure: the weights in the file are exact.
    """

    rows: int  # rows in the saved history
    differing: int  # rows that differ, counting rows only one side has
    first_epoch: int | None  # the first epoch that differs
    weights_equal: bool | None  # final weights identical (None: not compared)
    older_arithmetic: bool = False  # saved by an engine that rounds differently
    loss_gap: float = 0.0  # the largest relative difference of the loss, row by row
    matched: int = 0  # leading rows identical bit for bit
    saved_numerics: dict[str, str] = field(default_factory=dict)  # the saver's fingerprint
    here_numerics: dict[str, str] = field(default_factory=dict)  # this process's
    final_losses: tuple[float, float] | None = None  # (saved, reproduced), last common row

    @property
    def exact(self) -> bool:
        return self.differing == 0

    @property
    def other_arithmetic(self) -> list[str]:
        """What differs between the saver's arithmetic and this one (engine.io.numerics)."""
        return differences(self.saved_numerics, self.here_numerics)

    def message(self) -> str:
        if self.exact:
            text = f"history reproduced exactly ({self.rows:,} rows)"
            if self.weights_equal is False:
                text += ", but the final weights differ"
            return text
        text = (
            f"history differs from the saved run in {self.differing:,} of {self.rows:,} rows "
            f"(first at epoch {self.first_epoch:,}{_gap_text(self.loss_gap)})"
        )
        if self.older_arithmetic:
            return text + (
                "; it was saved by an earlier nn-tui, and this one rounds differently in the "
                "last bits, so only that version can reproduce it exactly"
            )
        if self.other_arithmetic:
            return (
                f"history matches the saved run bit for bit for {self.matched:,} of "
                f"{self.rows:,} rows, then drifts by rounding (from epoch {self.first_epoch:,}"
                f"{_gap_text(self.loss_gap)}{self._final_text()}): expected, since it was "
                f"saved with {describe(self.saved_numerics)} and this is "
                f"{describe(self.here_numerics)}. A re-run matches bit for bit only with the "
                "same NumPy and BLAS on the same kind of CPU; the weights in the file are exact"
            )
        if not self.saved_numerics:
            return text + (
                "; the file does not say which NumPy, BLAS and CPU saved it: if they were "
                "others, rounding alone explains it (a re-run matches bit for bit only with "
                "the same NumPy and BLAS on the same kind of CPU; the weights in the file are "
                "exact)"
            )
        return text + (
            f"; saved with the same NumPy, BLAS and CPU as this ({describe(self.here_numerics)}), "
            "so rounding does not explain it"
        )

    def _final_text(self) -> str:
        if self.final_losses is None:
            return ""
        saved, here = self.final_losses
        return f"; last loss {here:.6g} here, {saved:.6g} saved"


def _gap_text(gap: float) -> str:
    """How far apart the losses are, for people: ``3e-13``, ``0.02%``, ``62%``."""
    if gap == 0:
        return ""
    if not np.isfinite(gap):
        return ", a loss not finite on one side only"
    return f", losses up to {f'{gap:.0e}' if gap < 1e-4 else f'{100 * gap:.3g}%'} apart"


def loss_gap(saved: History, reproduced: History) -> float:
    """The largest relative difference of the loss over the rows both histories have
    (infinite where only one side is not finite)."""
    a, b = saved.arrays()["loss"], reproduced.arrays()["loss"]
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    with np.errstate(all="ignore"):
        gaps = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    gaps[(a == b) | (np.isnan(a) & np.isnan(b))] = 0.0  # equal, zeros and NaNs included
    return float(np.nan_to_num(gaps, nan=np.inf).max()) if n else 0.0


def compare_histories(saved: History, reproduced: History) -> tuple[int, int | None]:
    """(number of differing rows, first differing epoch) between two histories."""
    differing, first, _ = _compare_rows(saved, reproduced)
    return differing, first


def _compare_rows(saved: History, reproduced: History) -> tuple[int, int | None, int]:
    """(differing rows, first differing epoch, leading rows identical)."""
    a, b = saved.arrays(), reproduced.arrays()
    n = min(len(a["epoch"]), len(b["epoch"]))
    same = np.ones(n, dtype=bool)
    for name in COLUMNS:
        same &= np.equal(a[name][:n], b[name][:n]) | (
            np.isnan(a[name][:n]) & np.isnan(b[name][:n])
        )
    differing = int(np.count_nonzero(~same)) + abs(len(a["epoch"]) - len(b["epoch"]))
    first, matched = None, n
    if not same.all():
        matched = int(np.argmin(same))
        first = int(a["epoch"][matched])
    elif len(a["epoch"]) != len(b["epoch"]):
        longer = a if len(a["epoch"]) > n else b
        first = int(longer["epoch"][n])
    return differing, first, matched


def _last_losses(saved: History, reproduced: History) -> tuple[float, float] | None:
    """The loss of the last row both histories have: (saved, reproduced)."""
    a, b = saved.arrays()["loss"], reproduced.arrays()["loss"]
    n = min(len(a), len(b))
    return (float(a[n - 1]), float(b[n - 1])) if n else None


@dataclass
class ReplayPlan:
    """Train ``config`` for ``epochs`` epochs, setting the rate by hand as ``manual`` says."""

    config: ExperimentConfig
    epochs: int
    manual: list[RateChange] = field(default_factory=list)
    end_diverged: bool = False  # the saved run stopped on a divergence
    history_capacity: int = 32768
    saved_history: History | None = None
    saved_params: list[np.ndarray] | None = None
    changed: tuple[str, ...] = ()  # fields that differ from the saved run's config
    saved_arithmetic: int = ARITHMETIC  # the engine revision that saved the run
    saved_numerics: dict[str, str] = field(default_factory=dict)  # NumPy, BLAS, CPU that saved it
    stacked: dict[str, int] | None = None  # trained in a stack: replayed through one
    edits: list[WeightEdited] = field(default_factory=list)  # made by hand, in order
    left_out: int = 0  # edits of the saved run that do not fit a changed network
    _stack: StackTrainer | None = None
    _next: int = 0  # index of the next manual change to apply
    _next_edit: int = 0  # index of the next edit to make
    _ended: bool = False

    @classmethod
    def from_saved(
        cls, saved, config: ExperimentConfig | None = None, epochs: int | None = None
    ) -> ReplayPlan:
        """The replay of a ``SavedRun``: its config for as many epochs as it completed.

        ``config`` replaces its config and ``epochs`` its length. If that changes any
        field that training depends on (``log_every`` does not), the plan is a re-run
        with the same manual rate changes, no longer a reproduction, and ``changed``
        names the fields.
        """
        config = config or saved.config
        changed = tuple(
            name
            for name in FIELDS
            if name not in OUTPUT_ONLY and getattr(config, name) != getattr(saved.config, name)
        )
        if epochs is not None and epochs != saved.epoch and "epochs" not in changed:
            changed += ("epochs",)
        exact = not changed
        stacked = getattr(saved, "stacked", None) if exact else None
        saved_edits = list(getattr(saved, "weight_edits", []))
        if stacked and saved_edits:
            raise RunFileError(
                f"the run was trained in a stack and has {len(saved_edits)} weight edits by "
                "hand: a stack cannot replay edits (change a flag, e.g. --epochs, to re-run it "
                "alone)"
            )
        edits = [edit for edit in saved_edits if _fits(edit, config)]
        return cls(
            config=config,
            epochs=min(saved.epoch if epochs is None else epochs, config.epochs),
            manual=manual_changes(saved.rate_changes),
            end_diverged=exact and saved.status == "diverged",
            history_capacity=saved.history.capacity,
            saved_history=saved.history if exact else None,
            saved_params=[p.copy() for p in saved.network.params] if exact else None,
            changed=changed,
            saved_arithmetic=saved.arithmetic,
            saved_numerics=saved.numerics or {},
            stacked=stacked,
            edits=edits,
            left_out=len(saved_edits) - len(edits),
        )

    def done(self, trainer) -> bool:
        return self._ended

    def advance(self, trainer, seconds: float | None = None) -> list[Event]:
        """Train towards the next manual change or the end, for at most ``seconds``."""
        events: list[Event] = []
        if self._ended:
            return events
        if self.stacked:
            return self._advance_stacked(trainer, seconds)
        self._act(trainer, events)
        stop = min([self.epochs, *self._upcoming()])
        if trainer.epoch < stop and not trainer.done:
            events += trainer.run(epochs=stop - trainer.epoch, seconds=seconds)
        if not self._pending_at(trainer.epoch) and (trainer.epoch >= self.epochs or trainer.done):
            if self.end_diverged:
                self._diverge_first(trainer, events)
            self._ended = True
        return events

    def _act(self, trainer, events: list[Event]) -> None:
        """Make what was done by hand at this epoch, in its order: rate changes and edits.

        Only when a rate change comes first is the next epoch tried (``_diverge_first``):
        two actions at one epoch mean the run did not train between them, and an edit is
        never the first thing done after a divergence (a diverged run refuses edits).
        """
        acted = False
        while True:
            change = self.manual[self._next] if self._next < len(self.manual) else None
            edit = self.edits[self._next_edit] if self._next_edit < len(self.edits) else None
            if change is not None and change.epoch < trainer.epoch:  # the replay went astray
                self._next += 1
                continue
            if edit is not None and edit.epoch < trainer.epoch:
                self._next_edit += 1
                continue
            change_now = change is not None and change.epoch == trainer.epoch
            if edit is not None and edit.epoch == trainer.epoch and (
                    not change_now or edit.rate_changes_before <= self._next):
                self._next_edit += 1
                if trainer.status != "diverged":  # else astray: compare says so
                    events.append(trainer.edit_weight(edit.layer, edit.kind, edit.row,
                                                      edit.col, edit.new))
                acted = True
                continue
            if not change_now:
                return
            self._next += 1
            if not acted:  # two presses at one epoch: the run did not train between
                self._diverge_first(trainer, events)
            acted = True
            events.append(trainer.set_lr(change.new_lr))

    def _upcoming(self) -> list[int]:
        """The epochs of the next manual change and the next edit (those there are)."""
        upcoming = []
        if self._next < len(self.manual):
            upcoming.append(self.manual[self._next].epoch)
        if self._next_edit < len(self.edits):
            upcoming.append(self.edits[self._next_edit].epoch)
        return upcoming

    def _advance_stacked(self, trainer, seconds: float | None) -> list[Event]:
        """``advance`` through a stack of one; ``trainer`` mirrors its network."""
        if self._stack is None:
            self._stack = StackTrainer([trainer.config], trainer.data, self.history_capacity)
        stack, events = self._stack, []
        network = stack.members[0]
        while self._next < len(self.manual) and self.manual[self._next].epoch <= network.epoch:
            change = self.manual[self._next]
            self._next += 1
            if change.epoch == network.epoch:  # earlier: only if the replay went astray
                events.append(stack.set_lr(0, change.new_lr))
        stop = self.epochs
        if self._next < len(self.manual):
            stop = min(stop, self.manual[self._next].epoch)
        if network.epoch < stop and not network.done:
            events += stack.run(epochs=stop - network.epoch, seconds=seconds)[0]
        trainer.restore(stack.weights(0), network.epoch, network.lr, network.history,
                        network.rate_changes, network.status, network.seconds)
        trainer.last_loss, trainer.last_accuracy = network.last_loss, network.last_accuracy
        trainer.last_test = network.last_test
        trainer.stacked = dict(self.stacked)  # saved again, it is still a stacked run
        if not self._pending_at(network.epoch) and (network.epoch >= self.epochs
                                                    or network.done):
            self._ended = True
        return events

    def _pending_at(self, epoch: int) -> bool:
        return epoch in self._upcoming()

    def _diverge_first(self, trainer, events: list[Event]) -> None:
        """If the next epoch diverges, keep that (the saved run went through it); else undo."""
        if trainer.epoch == 0 or trainer.done:
            return
        state = copy.deepcopy({k: v for k, v in vars(trainer).items() if k not in _SCRATCH})
        tried = trainer.run(epochs=1)
        if trainer.status == "diverged":
            events += tried
        else:
            vars(trainer).update(state)

    @property
    def reproduces(self) -> bool:
        """Whether this plan is a reproduction of a saved run (its config unchanged)."""
        return self.saved_history is not None

    def compare(self, trainer) -> Comparison | None:
        """The reproduced history against the saved one (None if not a reproduction)."""
        if self.saved_history is None:
            return None
        differing, first, matched = _compare_rows(self.saved_history, trainer.history)
        weights = None
        if self.saved_params is not None:
            weights = len(self.saved_params) == len(trainer.network.params) and all(
                np.array_equal(a, b, equal_nan=True)
                for a, b in zip(self.saved_params, trainer.network.params, strict=True)
            )
        return Comparison(
            len(self.saved_history), differing, first, weights,
            older_arithmetic=self.saved_arithmetic != ARITHMETIC,
            loss_gap=loss_gap(self.saved_history, trainer.history),
            matched=matched,
            saved_numerics=dict(self.saved_numerics),
            here_numerics=fingerprint(),
            final_losses=_last_losses(self.saved_history, trainer.history),
        )


def _fits(edit: WeightEdited, config: ExperimentConfig) -> bool:
    """Whether an edit names an entry of ``config``'s network, with a value it can hold."""
    try:
        locate(config.sizes, config.bias, edit.layer, edit.kind, edit.row, edit.col)
        stored_value(edit.new, np.dtype(config.dtype))
    except EditError:
        return False
    return True


def manual_changes(changes: list[RateChange]) -> list[RateChange]:
    """The changes made by hand, in epoch order."""
    return sorted((c for c in changes if c.reason == "manual"), key=lambda c: c.epoch)
