"""A stack of networks trained as one: K configs that share everything but their rates,
seeds, schedules and optimizer settings, trained in one set of NumPy calls per epoch.

    stack = StackTrainer([preset("dlp-xor").replace(lr=lr, seed=s) for lr in rates
                          for s in range(8)])
    events = stack.run()              # one list of events per network
    save_run("run3.npz", stack.member(3))   # a normal run file, marked "stacked"

A small network is dispatch-bound: an epoch is about 30 NumPy calls on a few hundred
numbers, so training K of them one after another pays that fixed cost K times. Here
the weights are shaped ``(K, fan_in + bias, fan_out)`` and one call serves all K
(``engine/stack/workspace.py``). Each network keeps, as ``Trainer(config)`` would:

* its initial weights (``make_network(config)``: the single trainer's, bit for bit),
  its rate (a ``(K, 1, 1)`` array), its optimizer state and its schedule (the course's
  halving fires per network);
* its history (``keep_every=log_every``), its rate changes and its events;
* its divergence: a loss that is not finite rolls that network back to the weights
  before its last update, a loss that blew up to its best reported weights, exactly
  as the single trainer does, and the network leaves the stack alone (the stack is
  rebuilt without it; the others go on, unaffected: a network's floats never depend
  on its neighbours').

Mini-batches: the single trainer shuffles with ``default_rng([seed, 0x5EED])``, which
depends on each run's seed, so networks of different seeds need their own batch
order. Each distinct seed draws its permutation once per epoch and every network
gathers its own batches from it (``X[order]`` with a ``(K, batch)`` index): the same
batches, in the same order, as the network would get alone.

Arithmetic: the same formulas as the single trainer, but the products are stacked
and the bias is added apart (see the workspace), so a network trained in a stack
agrees with the same network trained alone to rounding (1e-12 after an epoch), not
bit for bit. Its floats do not depend on K or on the other networks, so a stack of
one (``StackTrainer([config])``) reproduces any member bit for bit: that is how a
run file marked "stacked" is replayed (``engine.experiments.replay``).

Outputs: one sigmoid (or other) output thresholded at 0.5, K softmax classes under ``ce``
(softmax and the loss over the classes axis, accuracy by argmax), or a regression's linear
output, scored per network by R^2 with its mean absolute error (``EpochReport.mae``), as
the single trainer scores it (over a mini-batch epoch: the whole epoch's residuals).

The stack never prints and is not thread-safe, except ``request_stop``, which another
thread may call to end a ``run`` early (between chunks of at most 50 ms).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.nn.activations import run as run_calls
from engine.nn.losses import get_loss
from engine.nn.network import PREDICT_CHUNK
from engine.optim.schedules import RateChange
from engine.stack.optim import STACK_OPTIMIZERS
from engine.stack.workspace import StackWorkspace, stacked_bytes
from engine.train.bundle import DataBundle, build_data
from engine.train.events import Diverged, EpochReport, Event, Finished
from engine.train.history import History
from engine.train.trainer import (
    BLOW_UP_FACTOR,
    CHUNK_SECONDS,
    MAX_WORKSPACE_BYTES,
    ROW_MARK_BYTES,
    Trainer,
    make_network,
    make_schedule,
)

# Settings that may differ between the networks of one stack: what each network keeps
# for itself. Everything else (architecture, data, loss, optimizer kind, batch size,
# epochs, log interval, dtype) is shared.
STACKABLE = frozenset({
    "lr", "seed", "init", "momentum", "schedule", "halve_every", "halve_band",
    "halve_factor", "min_lr", "patience", "plateau_factor", "threshold", "cooldown",
})
MIN_ROW_MARKS = 8
MAX_ROW_MARKS = 1024
# A run of epochs ends with one History.record_rows per network (~20 us each), so runs
# are made long: marks for up to 1024 rows of the whole stack (a few MB at most), and
# chunks of 50 ms between looks at the clock or a stop request (10 ms alone).
ROW_MARK_BYTES_STACK = 8 * ROW_MARK_BYTES
STACK_CHUNK_SECONDS = 0.05
SHUFFLE_SALT = 0x5EED  # the single trainer's: default_rng([seed, 0x5EED])


def stack_key(config: ExperimentConfig) -> tuple:
    """Configs with equal keys can train in one stack."""
    return tuple((k, repr(v)) for k, v in config.to_dict().items() if k not in STACKABLE)


def check_stackable(configs: Sequence[ExperimentConfig]) -> None:
    """Raise ValueError naming the first shared setting on which the configs differ."""
    if not configs:
        raise ValueError("a stack needs at least one config")
    first = configs[0].to_dict()
    for config in configs[1:]:
        for name, value in config.to_dict().items():
            if name not in STACKABLE and value != first[name]:
                raise ValueError(f"cannot stack configs that differ in {name} "
                                 f"({first[name]!r} and {value!r})")


@dataclass
class Member:
    """One network of a stack: what ``Trainer`` keeps for itself."""

    config: ExperimentConfig
    history: History
    schedule: object
    lr: float
    rate_changes: list[RateChange] = field(default_factory=list)
    status: str = "ready"  # ready | finished | diverged
    epoch: int = 0
    seconds: float = 0.0  # its share of the stack's training time
    last_loss: float = math.nan
    last_accuracy: float = math.nan
    last_test: tuple[float, float] | None = None
    last_mae: float | None = None  # a regression's last reported mean |a - y| (train, test)
    last_test_mae: float | None = None
    best: tuple[float, int, list[np.ndarray], float] | None = None  # loss, epoch, weights, acc
    final: list[np.ndarray] | None = None  # its weights, once it has left the stack

    @property
    def done(self) -> bool:
        return self.status in ("finished", "diverged")


class StackTrainer:
    """Trains ``configs`` (see ``STACKABLE``) as one stack; ``members[i]`` is network i."""

    def __init__(
        self, configs: Sequence[ExperimentConfig], data: DataBundle | None = None,
        history_capacity: int = 32768,
    ) -> None:
        configs = list(configs)
        check_stackable(configs)
        base = configs[0]
        self.configs, self.k = configs, len(configs)
        self.data = data if data is not None else build_data(base)
        self.loss_fn = get_loss(base.loss)
        self.end = base.epochs
        self.log_every = base.log_every
        networks = [make_network(c) for c in configs]  # each its own seed's weights
        self._net = networks[0]
        self.members = [
            Member(c, History(history_capacity, keep_every=c.log_every), make_schedule(c), c.lr)
            for c in configs
        ]
        self.epoch = 0  # epochs completed by the networks still in the stack
        self.seconds = 0.0
        self._stop = False
        self._slots = np.arange(self.k)  # the network in each slot of the stacked arrays
        self.params = [np.stack([n.params[layer] for n in networks])
                       for layer in range(len(networks[0].params))]
        self.spare = [p.copy() for p in self.params]
        self._spare_valid = False  # does the spare hold the weights before the last update?
        self._side = 0  # which double-buffer parity trains next
        dt = self._net.dtype
        self._lr = np.array([c.lr for c in configs], np.float64).reshape(-1, 1, 1)
        self._lr_dt = self._lr.astype(dt)  # momentum multiplies by the rate in the weights' type
        mu = np.array([c.momentum for c in configs], dt).reshape(-1, 1, 1)
        self.optimizer = STACK_OPTIMIZERS[base.optimizer](self.params, mu)
        self._X = np.ascontiguousarray(self.data.X_train, dtype=dt)
        self._y = np.ascontiguousarray(self.data.y_train, dtype=dt).reshape(len(self._X), -1)
        self._batch = base.batch_size or len(self._X)
        self.regression = base.regression
        # regression: the spread of all training targets, for an R^2 over mini-batches
        self._spread = float(np.sum((self._y - self._y.mean()) ** 2)) if self.regression else 0.0
        self._shuffles = {c.seed: np.random.default_rng([c.seed, SHUFFLE_SALT]) for c in configs}
        self._check_memory()
        self._build()

    # --- buffers -----------------------------------------------------------------------
    def _check_memory(self) -> None:
        net, n_test = self._net, len(self.data.X_test)
        need = stacked_bytes(net.sizes, self.k, self._batch, net.bias, net.dtype.itemsize)
        if n_test:
            need += stacked_bytes(net.sizes, self.k, n_test, net.bias, net.dtype.itemsize)
        if need > MAX_WORKSPACE_BYTES:
            raise ConfigError("n", f"a stack of {self.k} networks needs {need / 2**30:.1f} GiB "
                                   f"of buffers, more than the {MAX_WORKSPACE_BYTES // 2**30} "
                                   "GiB allowed; stack fewer networks")

    def _workspace(self, k: int, n: int, shared: bool) -> StackWorkspace:
        net = self._net
        base = self.configs[0]
        return StackWorkspace(net.sizes, net.activations, net.bias, net.dtype, k, n,
                              self.loss_fn, shared, base.l2, base.l1, base.regression)

    def _build(self) -> None:
        """(Re)build every buffer for the networks now in the stack."""
        k, n = len(self._slots), len(self._X)
        self._ws = self._workspace(k, self._batch, self.full_batch)
        tail = n % self._batch
        self._ws_tail = self._workspace(k, tail, False) if tail else None
        if self.full_batch:
            self._ws.load(self._X[None], self._y[None])
        self._test_ws = None
        if self.data.has_test:
            dt = self._net.dtype
            self._test_ws = self._workspace(k, len(self.data.X_test), True)
            self._test_ws.load(self.data.X_test.astype(dt)[None], self.data.y_test.astype(dt)[None])
        for s, i in enumerate(self._slots):
            self._set_scale(s, self.members[i].lr)
        self._tapes: dict[tuple[int, int], tuple[list, list]] = {}
        self._penalties = np.zeros(k)  # each network's last penalty (with l2 or l1)
        self._maes = np.full(k, math.nan)  # regression: each network's last mean |a - y|
        rows = min(MAX_ROW_MARKS, ROW_MARK_BYTES_STACK // max(self._ws.output.size, 1))
        self._marks = None
        thresholded = self._ws.output.shape[1] == 1 and not self.regression  # else argmax, R^2
        if self.full_batch and rows >= MIN_ROW_MARKS and thresholded:
            self._marks = np.empty((rows, *self._ws.output.shape), bool)
            self._row_values = np.empty((rows, k), np.float64)
        self._last = (np.full(k, math.nan), np.full(k, math.nan))  # loss, accuracy by slot

    def _sides(self, ws: StackWorkspace) -> list[tuple[list, list]]:
        """Per parity: (forward tape, backward tape); SGD's update ends the backward."""
        sides = []
        for parity, (p, s) in enumerate(((self.params, self.spare), (self.spare, self.params))):
            key = (id(ws), parity)
            if key not in self._tapes:
                backward = ws.backward_calls(p, self.loss_fn)
                if self.optimizer.folds_lr:
                    backward += ws.update_calls(p, s)
                self._tapes[key] = (ws.forward_calls(p), backward)
            sides.append(self._tapes[key])
        return sides

    def _set_scale(self, slot: int, lr: float) -> None:
        """The factor on a network's output delta: the loss's own, times ``-lr`` for SGD."""
        for ws in filter(None, (self._ws, self._ws_tail)):  # mse's factor: per batch size
            grad_scale = self.loss_fn.scale(ws.n, ws.output.shape[1])
            ws.scale[slot] = grad_scale * -lr if self.optimizer.folds_lr else grad_scale
            if ws.penalized:  # the penalty's gradient carries the same factor
                step = -lr if self.optimizer.folds_lr else 1.0
                ws.decay_l2[slot], ws.decay_l1[slot] = ws.l2 * step, ws.l1 * step
        self._lr[slot] = lr
        self._lr_dt[slot] = lr

    # --- state -------------------------------------------------------------------------
    @property
    def full_batch(self) -> bool:
        return self._batch == len(self._X)

    @property
    def done(self) -> bool:
        return all(m.done for m in self.members)

    def request_stop(self) -> None:
        """Make a running ``run`` return at its next chunk (safe from another thread)."""
        self._stop = True

    def weights(self, i: int) -> list[np.ndarray]:
        """Network i's parameters now (copies), augmented ``[W; b]`` as ``Network.params``."""
        m = self.members[i]
        if m.final is not None:
            return [w.copy() for w in m.final]
        slot = int(np.flatnonzero(self._slots == i)[0])
        params = self.params if self._side == 0 else self.spare
        return [p[slot].copy() for p in params]

    def member(self, i: int) -> Trainer:
        """Network i as a ``Trainer`` restored to its state: its weights, epoch, rate,
        history, rate changes and status (for ``save_run``, ``evaluate``, the views of a
        single run). ``stacked`` says where it was trained, for the run file. The trainer
        is a copy: training it goes on alone, with the single trainer's arithmetic."""
        m = self.members[i]
        trainer = Trainer(m.config, data=self.data, history_capacity=m.history.capacity)
        trainer.restore(self.weights(i), m.epoch, m.lr, m.history, m.rate_changes,
                        m.status, m.seconds)
        trainer.last_loss, trainer.last_accuracy = m.last_loss, m.last_accuracy
        trainer.last_test = m.last_test
        if self.regression:
            trainer.last_mae, trainer.last_test_mae = m.last_mae, m.last_test_mae
        trainer.stacked = {"size": self.k, "member": i}
        return trainer

    def trainers(self) -> list[Trainer]:
        return [self.member(i) for i in range(self.k)]

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Every network's output for the inputs ``X`` ``(n, n_in)``: ``(K, n)`` (``(K, n, C)``
        for C classes), from one forward pass of the stacked weights (those that left the
        stack: one more), as
        ``Network.predict`` would give each, to rounding; no training state touched.
        What a view of all K networks at once needs (the race's decision maps)."""
        net = self._net
        a = np.asarray(X, dtype=net.dtype)
        classes = net.sizes[-1]  # one output: (K, n); K classes: (K, n, classes)
        out = np.empty((self.k, len(a)) + ((classes,) if classes > 1 else ()), net.dtype)
        params = self.params if self._side == 0 else self.spare
        left = [i for i, m in enumerate(self.members) if m.final is not None]
        groups = [(self._slots, params)] if len(self._slots) else []
        if left:
            finals = zip(*(self.members[i].final for i in left), strict=True)
            groups.append((np.array(left), [np.stack(layer) for layer in finals]))
        rows = max(1, PREDICT_CHUNK // self.k)  # a chunk's temporaries as one network's
        for slots, stacked in groups:
            for start in range(0, len(a), rows):
                out[slots, start : start + rows] = _forward(net, stacked, a[start : start + rows])
        return out

    def set_lr(self, i: int, lr: float) -> RateChange:
        """Change network i's rate by hand (a diverged network stays stopped)."""
        m = self.members[i]
        change = RateChange(m.epoch, m.lr, float(lr), math.nan, "manual")
        m.lr = float(lr)
        m.rate_changes.append(change)
        slots = np.flatnonzero(self._slots == i)
        if len(slots):
            self._set_scale(int(slots[0]), m.lr)
        return change

    # --- training ----------------------------------------------------------------------
    def run(self, epochs: int | None = None, seconds: float | None = None) -> list[list[Event]]:
        """Train ``epochs`` more epochs (default: to the end) or for ``seconds``; returns
        each network's events, ``[network][event]``."""
        events: list[list[Event]] = [[] for _ in self.members]
        target = self.end if epochs is None else min(self.epoch + epochs, self.end)
        start = time.perf_counter()
        deadline = None if seconds is None else start + seconds
        alive = len(self._slots)
        chunk = 8
        with np.errstate(all="ignore"):
            while self.epoch < target and len(self._slots) and not self._stop:
                count = min(chunk, target - self.epoch)
                t0 = time.perf_counter()
                self._train(count, events)
                now = time.perf_counter()
                if deadline is not None and now >= deadline:
                    break
                box = STACK_CHUNK_SECONDS if deadline is None else min(
                    STACK_CHUNK_SECONDS, max(deadline - now, CHUNK_SECONDS))
                per_epoch = (now - t0) / count
                chunk = max(1, min(int(box / max(per_epoch, 1e-9)), 1 << 20))
        self._stop = False
        elapsed = time.perf_counter() - start
        self.seconds += elapsed
        self._finish(events, elapsed / max(alive, 1))
        return events

    def step(self, epochs: int = 1) -> list[list[Event]]:
        return self.run(epochs=epochs)

    def _finish(self, events: list[list[Event]], share: float) -> None:
        """Hand the stack's figures to its members; finish those at the end."""
        loss, accuracy = self._last
        ended = self.epoch >= self.end
        for s, i in enumerate(self._slots):
            m = self.members[i]
            m.epoch, m.seconds = self.epoch, m.seconds + share
            if math.isfinite(loss[s]):
                m.last_loss, m.last_accuracy = float(loss[s]), float(accuracy[s])
            if ended:
                m.final, m.status = self.weights(int(i)), "finished"
                events[i].append(Finished(m.epoch, m.last_loss, m.last_accuracy, m.seconds))
        if ended:
            self._slots = self._slots[:0]  # all finished: nothing stays in the stack

    def _train(self, count: int, events: list[list[Event]]) -> None:
        end = self.epoch + count
        if not self.full_batch:
            while self.epoch < end and len(self._slots):
                self._minibatch_epoch(events)
            return
        force = False
        while self.epoch < end and len(self._slots):
            if force or not self._hot_run(end):
                self._bookkeeping_epoch(events)
                force = False
            else:
                force = self._failed

    # --- full batch: runs of epochs that need only their loss ------------------------------
    def _next_due(self) -> int:
        """The first epoch after this one with a report, a schedule check or the end."""
        epoch = self.epoch
        due = min((epoch // self.log_every + 1) * self.log_every, self.end)
        for i in self._slots:
            due = min(due, max(self.members[i].schedule.next_check, epoch + 1))
        return max(epoch + 1, due)

    def _plain_rows(self) -> bool:
        """History rows need only loss and accuracy (no test set, every best kept)."""
        return self._test_ws is None and all(self.members[i].best for i in self._slots)

    def _hot_run(self, end: int) -> bool:
        """Train the epochs before the next one that needs bookkeeping (False: none)."""
        if self._ws.penalized:  # the hot loop measures the data loss alone
            return False
        hist = self.members[self._slots[0]].history  # every member's rows fall alike
        due, plain = self._next_due(), self._plain_rows()
        next_row, stride = hist.next_epoch, hist.stride
        room = 0 if self._marks is None else min(len(self._marks), hist.capacity - len(hist))
        marking = room and plain and next_row < due
        if marking:
            k = min(due - 1, end, next_row + room * stride - 1) - self.epoch
        else:
            k = min(next_row - 1, due - 1, end) - self.epoch
        self._failed = False
        if k <= 0:
            return False
        rows = (next_row - self.epoch, stride) if marking else None
        done, marked = self._run_epochs(k, rows)
        if marked:
            self._record_rows(next_row, stride, marked)
        if done:
            self.epoch += done
            self._side ^= done & 1
            self._spare_valid = True
            if not self._failed:  # the buffers hold the last epoch's pass
                self._last = (self._ws.losses(self.loss_fn), self._ws.scores())
        return True

    def _run_epochs(self, k: int, rows: tuple[int, int] | None) -> tuple[int, int]:
        """Up to ``k`` epochs in the tightest loop; stops before the update of an epoch
        with a loss that is not finite (``_failed``). Returns (epochs done, rows marked)."""
        ws = self._ws
        tapes = self._sides(ws)
        of_squares = self.loss_fn.of_squares is not None
        entropy = ws.ce_losses if self.loss_fn.per_point else ws.bce_losses
        flat, rows_view = ws.diff_flat, ws.diff_rows
        vecdot, greater, output, half = np.vecdot, np.greater, ws.output, ws.half
        isfinite = math.isfinite
        step = None if self.optimizer.folds_lr else self._step
        gap, stride = rows or (k + 1, 0)
        side, marked = self._side, 0
        for i in range(k):
            forward, backward = tapes[side]
            for f, args in forward:
                f(*args)
            if of_squares:
                finite = isfinite(flat.dot(flat))
            else:
                losses = entropy()
                finite = isfinite(losses.sum())
            if not finite:
                self._failed = True
                return i, marked
            for f, args in backward:
                f(*args)
            gap -= 1
            if not gap:  # a history row
                if of_squares:
                    vecdot(rows_view, rows_view, out=self._row_values[marked])
                else:
                    self._row_values[marked] = losses
                greater(output, half, self._marks[marked])
                marked += 1
                gap = stride
            if step is not None:
                step(side)
            side ^= 1
        return k, marked

    def _record_rows(self, first: int, stride: int, count: int) -> None:
        """Record the rows a run marked, every member's from the same stacked arrays."""
        values = self._row_values[:count]
        if self.loss_fn.of_squares is not None:
            values = self.loss_fn.of_squares(values, self._ws.diff_rows.shape[1])
        marks = self._marks[:count]  # (rows, K, 1, n)
        np.equal(marks, self._ws.y_class, out=marks)
        accuracies = np.count_nonzero(marks, axis=(2, 3)) / self._ws.n
        epochs = np.arange(first, first + count * stride, stride, dtype=np.float64)
        reference = self.members[self._slots[0]].history
        thinning = len(reference) + count >= reference.capacity and _thinning(reference, epochs)
        for s, i in enumerate(self._slots):
            m = self.members[i]
            if thinning:
                _record_thinned(m.history, thinning, epochs, values[:, s], accuracies[:, s], m.lr)
            else:
                m.history.record_rows(epochs, values[:, s], accuracies[:, s], m.lr)

    def _step(self, side: int) -> None:
        """A stateful optimizer's update: ``spare = params + step(grads)``."""
        params, spare = (self.params, self.spare) if side == 0 else (self.spare, self.params)
        lr = self._lr if self.optimizer.name == "adam" else self._lr_dt
        for p, s, o in zip(params, self.optimizer.steps(self._ws.grads, lr), spare, strict=True):
            np.add(p, s, o)

    # --- full batch: one epoch with every test -------------------------------------------
    def _bookkeeping_epoch(self, events: list[list[Event]]) -> None:
        """One epoch with each network's bookkeeping in full, as ``Trainer`` does it."""
        ws, side = self._ws, self._side
        forward, backward = self._sides(ws)[side]
        params = self.params if side == 0 else self.spare
        run_calls(forward)
        losses = ws.losses(self.loss_fn)
        if ws.penalized:  # each network's, at the weights of this forward pass
            self._penalties = ws.penalties(params)
            losses = losses + self._penalties
        failed = {s: self._rollback(s) for s in range(len(self._slots))
                  if not math.isfinite(losses[s])}
        epoch = self.epoch + 1
        run_calls(backward)  # this epoch's rates: a change below takes effect from the next
        accuracies = ws.scores()
        if self.regression:
            self._maes = ws.absolute_errors() / ws.diff_rows.shape[1]
        test = self._test_figures(params, epoch)
        leaving = dict(failed)
        for s, i in enumerate(self._slots):
            if s in failed:
                continue
            self._member_epoch(self.members[i], s, epoch, float(losses[s]),
                               float(accuracies[s]), test, params, events[i], leaving)
        if not self.optimizer.folds_lr:  # a stateful optimizer steps with the rate just set
            self._step(side)
        self._side ^= 1
        self.epoch = epoch
        self._spare_valid = True
        self._last = (losses, accuracies)
        for s, kept in failed.items():
            self._diverge(s, epoch, float(losses[s]), kept, events)
        if leaving:
            self._leave(leaving)

    def _member_epoch(self, m: Member, s: int, epoch: int, loss: float, accuracy: float,
                      test, params, events: list[Event], leaving: dict) -> None:
        """One network's bookkeeping after an epoch: its figures when due (it leaves the
        stack, at its best weights, if they show it diverged), else its schedule."""
        if epoch in (m.history.next_epoch, self.end) or epoch % self.log_every == 0:
            self._observe(m, s, epoch, loss, accuracy, test, params, events)
            if m.status == "diverged":
                leaving[s] = [w.copy() for w in m.best[2]]
                m.last_loss, m.last_accuracy, m.epoch = m.best[0], m.best[3], epoch
                return
        self._schedule(m, s, epoch, loss, events)

    def _rollback(self, slot: int) -> list[np.ndarray]:
        """The weights a network goes back to when its loss is not finite: those before
        its last update (its current ones before any update)."""
        params, spare = (self.params, self.spare) if self._side == 0 else (self.spare, self.params)
        source = spare if self._spare_valid else params
        return [p[slot].copy() for p in source]

    def _diverge(self, slot: int, epoch: int, loss: float, kept, events) -> None:
        """A loss that is not finite at ``epoch``: stop with the weights of ``epoch - 1``."""
        i = self._slots[slot]
        m = self.members[i]
        m.status, m.epoch = "diverged", epoch - 1
        events[i].append(Diverged(epoch, loss, m.lr, epoch - 1))
        if epoch > 1 and self.full_batch:  # the figures of the weights it kept
            m.last_loss, m.last_accuracy = self._figures_of(kept)

    def _figures_of(self, weights: list[np.ndarray]) -> tuple[float, float]:
        """Loss and accuracy of one network's weights, through a stack of one (the same
        floats as in any stack)."""
        ws = self._workspace(1, len(self._X), True)
        ws.load(self._X[None], self._y[None])
        ws.forward([w[None] for w in weights])
        loss = float(ws.losses(self.loss_fn)[0])
        if ws.penalized:
            loss += float(ws.penalties([w[None] for w in weights])[0])
        return loss, float(ws.scores()[0])

    def _test_figures(self, params, epoch: int):
        """Every network's test loss and accuracy at ``params``, if any needs them now."""
        if self._test_ws is None:
            return None
        if not any(epoch in (self.members[i].history.next_epoch, self.end)
                   for i in self._slots) and epoch % self.log_every:
            return None
        ws = self._test_ws
        ws.forward(params)
        maes = ws.absolute_errors() / ws.n if self.regression else None
        return ws.losses(self.loss_fn), ws.scores(), maes

    def _observe(self, m: Member, s: int, epoch: int, loss: float, accuracy: float, test,
                 params, events: list[Event]) -> None:
        """A history row and/or a report, with the single trainer's rules (``_observe``)."""
        test_loss = test_acc = math.nan
        if test is not None:
            test_loss, test_acc = float(test[0][s]), float(test[1][s])
            m.last_test = (test_loss, test_acc)
            if test[2] is not None:
                m.last_test_mae = float(test[2][s])
        if self.regression:
            m.last_mae = float(self._maes[s])
        if epoch == m.history.next_epoch:
            m.history.record(epoch, loss, accuracy, m.lr, test_loss, test_acc)
        if m.best is None:
            self._keep_best(m, s, epoch, loss, accuracy, params)
        if epoch % self.log_every and epoch != self.end:
            return
        first = m.history.columns["loss"][0] if len(m.history) else loss
        if loss > BLOW_UP_FACTOR * first:
            m.status = "diverged"
            reason = f"rose to {loss / first:.1f}x the first epoch's loss"
            events.append(Diverged(epoch, loss, m.lr, m.best[1], reason=reason))
            return
        self._keep_best(m, s, epoch, loss, accuracy, params)
        has_test = test is not None
        penalty = float(self._penalties[s]) if self._ws.penalized else None
        mae = m.last_mae if self.regression else None
        test_mae = m.last_test_mae if self.regression and has_test else None
        events.append(EpochReport(epoch, loss, accuracy, m.lr, test_loss if has_test else None,
                                  test_acc if has_test else None, penalty, mae, test_mae))

    def _keep_best(self, m: Member, s: int, epoch: int, loss: float, accuracy: float,
                   params) -> None:
        if m.best is not None and not loss < m.best[0]:
            return
        m.best = (loss, epoch, [p[s].copy() for p in params], accuracy)

    def _schedule(self, m: Member, s: int, epoch: int, loss: float, events) -> None:
        if epoch >= m.schedule.next_check and epoch < self.end:  # a rate after the end
            change = m.schedule.observe(epoch, loss, m.lr)  # would go unused
            if change is not None:
                m.lr = change.new_lr
                m.rate_changes.append(change)
                events.append(change)
                self._set_scale(s, m.lr)

    def _leave(self, leaving: dict[int, list[np.ndarray]]) -> None:
        """The networks in these slots stop, with these weights; the stack goes on
        without them (every array rebuilt for the rest)."""
        for s, weights in leaving.items():
            self.members[self._slots[s]].final = weights
        keep = np.array([s for s in range(len(self._slots)) if s not in leaving], np.intp)
        last = (self._last[0][keep], self._last[1][keep])
        maes = self._maes[keep]
        self._slots = self._slots[keep]
        self.params = [p[keep] for p in self.params]
        self.spare = [p[keep] for p in self.spare]
        self.optimizer.keep(keep)
        self._lr, self._lr_dt = self._lr[keep], self._lr_dt[keep]
        if len(self._slots):
            self._build()
            self._last, self._maes = last, maes

    # --- mini-batches ----------------------------------------------------------------------
    def _orders(self) -> np.ndarray:
        """This epoch's order of the points for every network, ``(K, n)``: each seed's
        stream draws once, as that seed's single trainer would."""
        n = len(self._X)
        seeds = [self.members[i].config.seed for i in self._slots]
        drawn = {seed: self._shuffles[seed].permutation(n) for seed in dict.fromkeys(seeds)}
        return np.stack([drawn[seed] for seed in seeds])

    def _minibatch_epoch(self, events: list[list[Event]]) -> None:
        """One epoch of mini-batches, each network in its own order (``Trainer``'s rules)."""
        orders, n = self._orders(), len(self._X)
        epoch, k = self.epoch + 1, len(self._slots)
        total_loss, total_correct = np.zeros(k), np.zeros(k, np.int64)
        total_abs = np.zeros(k)  # regression: total_correct sums squared residuals instead
        failed: dict[int, list[np.ndarray]] = {}
        if self._ws.penalized:  # at the weights the epoch starts from, as Trainer's
            self._penalties = self._ws.penalties(self.params if self._side == 0 else self.spare)
        for start in range(0, n, self._batch):
            idx = orders[:, start : start + self._batch]
            ws = self._ws if idx.shape[1] == self._batch else self._ws_tail
            ws.load(self._X[idx], self._y[idx])
            forward, backward = self._sides(ws)[self._side]
            run_calls(forward)
            values = ws.losses(self.loss_fn)
            for s in np.flatnonzero(~np.isfinite(values)):
                if s not in failed:
                    failed[int(s)] = self._rollback(int(s))
                    events[self._slots[s]].append(
                        Diverged(epoch, float(values[s]), self.members[self._slots[s]].lr,
                                 epoch - 1))
            total_loss += values if self.loss_fn.summed else values * idx.shape[1] / n
            if self.regression:
                total_correct = total_correct + np.vecdot(ws.diff_rows, ws.diff_rows)
                total_abs += ws.absolute_errors()
            else:
                total_correct += ws.correct()
            run_calls(backward)
            if not self.optimizer.folds_lr:
                self._ws_grads_step(ws)
            self._side ^= 1
            self._spare_valid = True
        if self._ws.penalized:  # added last, in Trainer's order
            total_loss += self._penalties
        self.epoch = epoch
        accuracies = total_correct / n
        if self.regression:  # R^2 over the epoch's batches, MAE per target
            accuracies = (1.0 - total_correct / self._spread if self._spread > 0
                          else np.full(k, math.nan))
            self._maes = total_abs / self._y.size
        previous, self._last = self._last, (total_loss, accuracies)
        params = self.params if self._side == 0 else self.spare
        for s in failed:  # as Trainer keeps them: the figures of the last epoch it finished
            if math.isfinite(previous[0][s]):
                m = self.members[self._slots[s]]
                m.last_loss, m.last_accuracy = float(previous[0][s]), float(previous[1][s])
        self._minibatch_bookkeeping(epoch, total_loss, accuracies, failed, params, events)

    def _ws_grads_step(self, ws: StackWorkspace) -> None:
        params, spare = (self.params, self.spare) if self._side == 0 else (self.spare, self.params)
        lr = self._lr if self.optimizer.name == "adam" else self._lr_dt
        for p, s, o in zip(params, self.optimizer.steps(ws.grads, lr), spare, strict=True):
            np.add(p, s, o)

    def _minibatch_bookkeeping(self, epoch, total_loss, accuracies, failed, params, events):
        test = self._test_figures(params, epoch)
        leaving = dict(failed)
        for s, i in enumerate(self._slots):
            m = self.members[i]
            if s in failed:
                m.status, m.epoch = "diverged", epoch - 1
                continue
            self._member_epoch(m, s, epoch, float(total_loss[s]), float(accuracies[s]),
                               test, params, events[i], leaving)
        if leaving:
            self._leave(leaving)


# --- thinning every member's history at once ---------------------------------------------------
# History.record_rows thins a full history row by row in Python (~30 ms for 32,768 rows).
# Every network of a stack records the same epochs, so which rows stay is worked out once,
# with NumPy, and applied to each: the same rows, stride and kept interval as
# ``History._thin`` gives (tests/engine/test_stack.py holds the two equal).
def _forward(net, params: list[np.ndarray], a: np.ndarray) -> np.ndarray:
    """The outputs ``(K, n)`` (``(K, n, C)`` for C classes) of stacked ``params``
    (``(K, fan_in + bias, fan_out)``) on shared inputs ``a`` ``(n, n_in)``:
    ``Network._forward`` with a leading axis."""
    for p, act, fan_in in zip(params, net.activations, net.sizes, strict=False):
        z = np.matmul(a, p[:, :fan_in])
        if net.bias:
            z += p[:, fan_in:]
        a = np.empty_like(z)
        act.forward(z, a)  # forward may not write over its input (leaky_relu reads z twice)
    return a[..., 0] if a.shape[-1] == 1 else a


def _thinning(history: History, epochs: np.ndarray) -> tuple[np.ndarray, int, int | None]:
    """(rows kept, new stride, new kept interval) once ``epochs`` fill ``history``."""
    every = np.concatenate([np.frombuffer(history.columns["epoch"]), epochs]).astype(np.int64)
    stride, keep_every = history.stride * 2, history.keep_every
    while keep_every and np.count_nonzero(every % keep_every == 0) * 2 >= history.capacity:
        keep_every *= 2  # kept rows alone would fill the history: keep half
    kept = every % stride == 0
    if keep_every:
        kept |= every % keep_every == 0
    kept[0] = True
    return kept, stride, keep_every


def _record_thinned(history: History, thinning, epochs: np.ndarray, losses: np.ndarray,
                    accuracies: np.ndarray, lr: float) -> None:
    """``history.record_rows(epochs, losses, accuracies, lr)`` when it fills the history."""
    kept, stride, keep_every = thinning
    nans = np.full(len(epochs), math.nan)
    added = {"epoch": epochs, "loss": losses, "accuracy": accuracies,
             "lr": np.full(len(epochs), lr), "test_loss": nans, "test_accuracy": nans}
    for name, column in history.columns.items():
        rows = np.concatenate([np.frombuffer(column), added[name]])[kept]
        history.columns[name] = type(column)("d", rows.tobytes())
    history.stride, history.keep_every = stride, keep_every
    history.next_epoch = history._after(int(epochs[-1]))
