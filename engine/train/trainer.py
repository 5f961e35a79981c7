"""The trainer: steps epochs of a network on a dataset and reports events.

It never prints. ``run`` trains until a number of epochs or a time box runs out and
returns the events of that stretch (epoch reports, rate changes, divergence, the
finish). The TUI calls it in short time boxes; the CLI in one go.

One full-batch epoch, with the parameters double-buffered so that a diverging
update can be undone without copying anything:

    forward:   every layer  z = [a, 1] @ P,  a' = act(z);  then diff = a_out - y
    backward:  delta_out = scale * (a_out - y) * act'(a_out);  grad_l = [a_l, 1].T @ delta_l
               delta_l  = (delta_{l+1} @ W_{l+1}.T) * act'(a_l)
    update:    P_next = P + step(grad)      (written into the spare buffer, then swapped)

The loss of epoch ``e`` is measured in epoch ``e``'s forward pass, before its
update, exactly as the course's code prints it. With ``l2`` or ``l1`` it is the data
loss plus the penalty on the weights in use (``E = data + l2/2 sum W^2 + l1 sum |W|``,
the biases free), the penalty also reported apart (``EpochReport.penalty``,
``last_penalty``); such a run trains every epoch with the full bookkeeping (the hot
loop measures the data loss only), and a mini-batch epoch adds the penalty at the
weights it starts from to its batches' loss, each batch stepping on the penalty's
whole gradient. The test loss is the data's alone. Each pass is a prebuilt list of
NumPy calls on the workspace's buffers (see ``engine/fast/workspace.py``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.fast.workspace import Workspace, workspace_bytes
from engine.nn.activations import run
from engine.nn.losses import get_loss, loss_value, predicted_class, true_class
from engine.nn.network import Network
from engine.optim.optimizers import make_optimizer
from engine.optim.schedules import ConstantSchedule, HalvingSchedule, PlateauSchedule, RateChange
from engine.train.bundle import DataBundle, build_data
from engine.train.edits import EditError, locate, stored_value
from engine.train.events import Diverged, EpochReport, Event, Finished, WeightEdited
from engine.train.history import History

CHUNK_SECONDS = 0.01  # in time-boxed runs, look at the clock about this often
# A reported loss this many times the first epoch's is worse than where training started:
# the rate is too large (sigmoid units saturate rather than overflow, so the loss stays
# finite). Training stops and the best reported weights are restored.
BLOW_UP_FACTOR = 1.5
# The training buffers of one batch may take at most this much memory: a bigger dataset or
# network is refused with a message instead of swapping the machine to a halt.
MAX_WORKSPACE_BYTES = 4 * 2**30
# Epochs whose history row needs only the training loss and accuracy keep their
# predictions (one bool per output) in a buffer of this many bytes at most, and their
# accuracies are counted for all of them in one call: one NumPy call per recorded
# epoch instead of three. Too few rows for a huge batch, and it is not worth it.
ROW_MARK_BYTES = 1 << 18
MIN_ROW_MARKS = 8
MAX_ROW_MARKS = 1024  # rows counted at once: the counting costs ~0.1 µs a row at 256


def make_schedule(config: ExperimentConfig):
    """The learning-rate schedule a config asks for."""
    if config.schedule == "halving":
        return HalvingSchedule(
            config.halve_every, config.halve_band, config.halve_factor, config.min_lr
        )
    if config.schedule == "plateau":
        return PlateauSchedule(
            config.patience, config.plateau_factor, config.threshold, config.cooldown, config.min_lr
        )
    return ConstantSchedule()


def make_network(config: ExperimentConfig) -> Network:
    return Network(
        config.sizes,
        config.layer_activations,
        bias=config.bias,
        init=config.init,
        seed=config.seed,
        dtype=config.dtype,
    )


@dataclass
class _Stretch:
    """Where one call of ``Trainer._train_full_batch`` stands (the hot loop's own state
    lives in ``Trainer._run_epochs``)."""

    epoch: int  # epochs completed
    end: int  # the epoch to stop at
    lr: float
    due: int  # the next epoch with a report, a schedule check or the end
    plain_rows: bool  # history rows need only the loss and accuracy (Trainer._plain_rows)
    side: int = 0  # which double-buffer parity trains next
    loss: float = math.nan  # the last completed epoch's
    accuracy: float = math.nan
    scored: int = -1  # the epoch ``accuracy`` belongs to
    failed: float | None = None  # epoch + 1's loss, if it was not finite


class Trainer:
    """Trains one network built from one config; ``epoch`` counts completed epochs."""

    def __init__(
        self,
        config: ExperimentConfig,
        data: DataBundle | None = None,
        history_capacity: int = 32768,
    ) -> None:
        self.config = config
        self.data = data if data is not None else build_data(config)
        self.network = make_network(config)
        self.loss_fn = get_loss(config.loss)
        self.optimizer = make_optimizer(config.optimizer, self.network.params, config.momentum)
        self.schedule = make_schedule(config)
        self.lr = config.lr
        self.epoch = 0
        self.history = History(history_capacity, keep_every=config.log_every)
        self.rate_changes: list[RateChange] = []
        self.weight_edits: list[WeightEdited] = []  # by hand (edit_weight), in order
        self.status = "ready"  # ready | finished | diverged
        self.seconds = 0.0  # wall time spent inside the training loop
        self.last_loss = math.nan
        self.last_accuracy = math.nan
        self.last_test: tuple[float, float] | None = None
        self.last_penalty: float | None = None  # with l2 or l1: the last epoch's penalty
        # the lowest reported loss: (loss, epoch, weights, accuracy)
        self._best: tuple[float, int, list[np.ndarray], float] | None = None
        self._setup_buffers()

    def _check_memory(self) -> None:
        """Refuse buffers (training batch plus the whole test set) beyond the bound."""
        n = self.config.batch_size or len(self.data.X_train)
        n_test = len(self.data.X_test)
        itemsize, sizes = self.network.dtype.itemsize, self.config.sizes
        need = workspace_bytes(sizes, n, self.config.bias, itemsize)
        if n_test:
            need += workspace_bytes(sizes, n_test, self.config.bias, itemsize)
        if need > MAX_WORKSPACE_BYTES:
            field = "batch_size" if self.config.batch_size and not n_test else "n"
            raise ConfigError(
                field,
                f"training {n:,} points{f' and testing {n_test:,}' if n_test else ''} through "
                f"{self.config.diagram()} needs {need / 2**30:.1f} GiB of buffers, more than the "
                f"{MAX_WORKSPACE_BYTES // 2**30} GiB allowed; use fewer points, narrower layers, "
                "a batch size or float32",
            )

    def _setup_buffers(self) -> None:
        self._check_memory()
        dt = self.network.dtype
        self._X = np.ascontiguousarray(self.data.X_train, dtype=dt)
        self._y = np.ascontiguousarray(self.data.y_train, dtype=dt).reshape(len(self._X), -1)
        n = len(self._X)
        self._batch = self.config.batch_size or n
        penalty, regression = (self.config.l2, self.config.l1), self.config.regression
        self._ws = Workspace(self.network, self._batch, self.loss_fn, *penalty, regression)
        tail = n % self._batch
        self._ws_tail = (Workspace(self.network, tail, self.loss_fn, *penalty, regression)
                         if tail else None)
        # regression: the spread of all training targets, for an R^2 over mini-batches
        self._spread = float(np.sum((self._y - self._y.mean()) ** 2)) if regression else 0.0
        self.last_mae: float | None = None  # regression: the last report's mean |a - y|
        self.last_test_mae: float | None = None
        if self._batch == n:
            self._ws.load(self._X, self._y)
        self._test_ws = None
        if self.data.has_test:
            self._test_ws = Workspace(self.network, len(self.data.X_test), self.loss_fn,
                                      regression=regression)
            self._test_ws.load(self.data.X_test.astype(dt), self.data.y_test.astype(dt))
        self._marks = self._row_marks()
        self._mark_rows = [] if self._marks is None else list(self._marks)  # views, by row
        self._spare = [p.copy() for p in self.network.params]
        self._spare_valid = False  # does the spare hold the weights before the last update?
        # its own stream, so shuffling never shifts the initial weights (seeded apart)
        self._shuffle = np.random.default_rng([self.config.seed, 0x5EED])

    def _row_marks(self) -> np.ndarray | None:
        """Buffers for the predictions of history rows awaiting their accuracy (or None)."""
        out = self._ws.output
        rows = min(MAX_ROW_MARKS, ROW_MARK_BYTES // max(out.size, 1))
        if out.shape[0] != 1 or not self.full_batch or rows < MIN_ROW_MARKS or self._ws.regression:
            return None  # argmax accuracy, R^2, or too big to be worth it: one row at a time
        return np.empty((rows, *out.shape), dtype=bool)

    # --- state ----------------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.status in ("finished", "diverged")

    @property
    def full_batch(self) -> bool:
        return self._batch == len(self._X)

    def set_lr(self, lr: float) -> RateChange:
        """Change the rate by hand (the TUI's double/halve keys); resumes a diverged run."""
        change = RateChange(self.epoch, self.lr, float(lr), math.nan, "manual")
        self.lr = float(lr)
        self.rate_changes.append(change)
        if self.status == "diverged":
            self.status = "ready" if self.epoch < self.config.epochs else "finished"
        return change

    def edit_weight(self, layer: int, kind: str, row: int, col: int, value: float) -> WeightEdited:
        """Set one weight or bias by hand between two epochs (``engine.train.edits``: which
        entry, every index from 1); returns the event, also kept in ``weight_edits``.

        The parameter changes in place, so the prebuilt passes (cached by the arrays'
        identity) read it at the next epoch. What described the weights before is made
        again: the last figures are measured at the new weights, the best weights so far
        are forgotten (a blow-up must not quietly undo the edit), and the spare buffer
        holds the weights before the edit, so that a divergence at the next epoch goes
        back to them. The optimizer's state (momentum, Adam's moments) carries on.
        Refused (EditError) on a diverged run, whose replay could not tell whether the
        edit came before its divergence, and on a network trained in a stack.
        """
        if self.status == "diverged":
            raise EditError("the run diverged: change its learning rate (which resumes it) "
                            "or reset it before editing a weight")
        if getattr(self, "stacked", None):
            raise EditError("a network trained in a stack cannot be edited by hand: its "
                            "replay goes through a stack, which does not replay edits")
        index, r, c = locate(self.config.sizes, self.config.bias, layer, kind, row, col)
        params = self.network.params
        new = stored_value(value, params[index].dtype)
        old = float(params[index][r, c])
        for spare, p in zip(self._spare, params, strict=True):
            np.copyto(spare, p)
        self._spare_valid = True
        params[index][r, c] = new
        self._best = None
        with np.errstate(all="ignore"):
            train = self.evaluate("train")
            test = self.evaluate("test") if self.data.has_test else None
            if self._ws.penalized:
                self.last_penalty = self._ws.penalty(params)
        self.last_loss, self.last_accuracy = float(train["loss"]), train["accuracy"]
        if self.config.regression:
            self.last_mae = train["mae"]
        if test is not None:
            self.last_test = (float(test["loss"]), test["accuracy"])
        manual = sum(1 for change in self.rate_changes if change.reason == "manual")
        edit = WeightEdited(self.epoch, int(layer), kind, int(row), int(col), old, new,
                            self.last_loss, self.last_accuracy, manual)
        self.weight_edits.append(edit)
        return edit

    def restore(
        self, params: list[np.ndarray], epoch: int, lr: float, history: History,
        rate_changes: list[RateChange], status: str, seconds: float,
    ) -> None:
        """Carry on from a saved state (``engine.io.runfile.trainer_from_saved``): these
        weights (copied in), epoch, rate, history and rate changes. The optimizer's state
        (momentum, Adam's moments) and the schedule's are not saved: they start afresh.

        The last epoch's figures are the history's last row when it is that epoch's (the
        figures the run showed when it was saved), else measured at the weights.
        """
        for target, source in zip(self.network.params, params, strict=True):
            target[...] = source
        self.epoch, self.lr, self.history = epoch, lr, history
        history.keep_logged(self.config.log_every)  # as a fresh trainer's history does
        self.rate_changes = list(rate_changes)
        self.status = status if status in ("ready", "finished", "diverged") else "ready"
        self.seconds = seconds
        if epoch <= 0:
            return
        columns = history.arrays()
        last = len(columns["epoch"]) - 1
        if last >= 0 and int(columns["epoch"][last]) == epoch:
            self.last_loss = float(columns["loss"][last])
            self.last_accuracy = float(columns["accuracy"][last])
            test = (float(columns["test_loss"][last]), float(columns["test_accuracy"][last]))
        else:
            train, result = self.evaluate("train"), self.evaluate("test")
            self.last_loss, self.last_accuracy = train["loss"], train["accuracy"]
            test = (result["loss"], result["accuracy"])
        if self.data.has_test and math.isfinite(test[0]):
            self.last_test = test

    def extend(self, epochs: int) -> None:
        """Allow ``epochs`` more epochs than the config asked for (train on after the end)."""
        self.config = self.config.replace(epochs=self.config.epochs + epochs)
        if self.status == "finished":
            self.status = "ready"

    # --- training --------------------------------------------------------------
    def run(self, epochs: int | None = None, seconds: float | None = None) -> list[Event]:
        """Train ``epochs`` more epochs (default: to the config's end) or for ``seconds``."""
        events: list[Event] = []
        if self.done:
            return events
        target = (
            self.config.epochs if epochs is None else min(self.epoch + epochs, self.config.epochs)
        )
        start = time.perf_counter()
        deadline = None if seconds is None else start + seconds
        chunk = 8
        with np.errstate(all="ignore"):  # overflow becomes inf, which is reported as divergence
            while self.epoch < target and self.status != "diverged":
                count = target - self.epoch if deadline is None else min(chunk, target - self.epoch)
                t0 = time.perf_counter()
                self._train(count, events)
                now = time.perf_counter()
                if deadline is not None:
                    if now >= deadline:
                        break
                    per_epoch = (now - t0) / count
                    chunk = max(1, min(int(CHUNK_SECONDS / max(per_epoch, 1e-9)), 1 << 20))
        self.seconds += time.perf_counter() - start
        if self.epoch >= self.config.epochs and self.status == "ready":
            self.status = "finished"
            events.append(Finished(self.epoch, self.last_loss, self.last_accuracy, self.seconds))
        return events

    def step(self, epochs: int = 1) -> list[Event]:
        """Exactly ``epochs`` more epochs (or fewer at the end)."""
        return self.run(epochs=epochs)

    def _train(self, count: int, events: list[Event]) -> None:
        if self.full_batch:
            self._train_full_batch(count, events)
        else:
            for _ in range(count):
                if not self._train_minibatch_epoch(events):
                    break

    def _train_full_batch(self, count: int, events: list[Event]) -> None:
        """``count`` epochs on the whole training set, in runs between bookkeeping epochs.

        On the course's small networks an epoch is dispatch-bound (about 32 calls on
        arrays of a few hundred numbers), so everything that is not the epoch's own
        arithmetic is kept out of the way. The calls are prebuilt tapes (one pair per
        double-buffer parity) and the learning rate lives in the 0-d ``ws.scale`` that
        the backward tape reads. Most epochs need nothing but their loss (a loss that is
        not finite must stop training before its update): ``_run_epochs`` trains runs of
        them in a tight loop. A history row that needs only the loss and the accuracy
        (``plain_rows``) adds one call to such a run: its predictions go into
        ``self._marks``, and ``_record_rows`` counts the right ones for all the run's rows
        at once, right after the run. The epochs that need more (a history row
        otherwise, a report, a schedule check, the last epoch: ``next_row`` and ``due``)
        are trained one at a time with the full bookkeeping (``_bookkeeping_epoch``).

        The order within an epoch is the one the trainer has always had, so that runs
        reproduce bit for bit: plain SGD's step uses the rate from before this epoch's
        schedule check, a stateful optimizer's the rate after it.
        """
        ws = self._ws
        ws.scale[...] = self._scale(ws, self.lr)
        self._set_step(ws, self.lr)
        sides = self._sides(ws, self.network.params, self._spare)
        st = _Stretch(self.epoch, self.epoch + count, self.lr, self._next_due(self.epoch),
                      self._plain_rows())
        while st.epoch < st.end and st.failed is None:
            if not self._train_run(st, sides) and not self._bookkeeping_epoch(st, sides, events):
                return  # blew up: the best weights are back in place, and committed
        params, spare = sides[st.side][:2]
        if st.failed is not None:
            # ``loss`` keeps the last finite epoch's figure, the one of the kept weights
            params, spare = self._diverge(st.epoch + 1, st.failed, st.lr, params, spare, events)
            if math.isfinite(st.loss) and st.scored != st.epoch:  # the buffers hold the failed
                ws.forward(params)  # pass: make the kept weights' again
                st.accuracy, st.scored = ws.score(), st.epoch
        elif st.scored != st.epoch and math.isfinite(st.loss):  # the output is ``epoch``'s
            st.accuracy = ws.score()
        self._commit(st.epoch, params, spare, st.loss, st.accuracy)

    def _train_run(self, st: _Stretch, sides) -> bool:
        """Train the epochs before the next one that needs bookkeeping (False: none)."""
        if self._ws.penalized:  # the hot loop measures the data loss alone
            return False
        hist = self.history
        next_row, stride, room = hist.next_epoch, hist.stride, self._row_room()
        marking = room and st.plain_rows and next_row < st.due
        if marking:  # the rows before the next due epoch need only loss and accuracy
            k = min(st.due - 1, st.end, next_row + room * stride - 1) - st.epoch
        else:
            k = min(next_row - 1, st.due - 1, st.end) - st.epoch
        if k <= 0:
            return False
        rows = (next_row - st.epoch, stride) if marking else None
        done, loss, st.failed, row_losses = self._run_epochs(sides, st.side, k, st.lr, rows)
        if len(row_losses):
            st.accuracy, st.scored = self._record_rows(next_row, stride, row_losses, st.lr)
        if done:
            st.epoch, st.loss, st.side = st.epoch + done, loss, st.side ^ (done & 1)
            self._spare_valid = True
        return True

    def _bookkeeping_epoch(self, st: _Stretch, sides, events: list[Event]) -> bool:
        """One epoch with every test in full: a history row, a report, a schedule check,
        the last epoch. False if the loss blew up (the best weights are then committed)."""
        ws, hist = self._ws, self.history
        params, spare, forward, backward = sides[st.side]
        run(forward)
        value = self.loss_fn.value(ws.diff_flat, ws.loss_y, ws.loss_z)
        if ws.penalized:  # the weights in use: those of this epoch's forward pass
            self.last_penalty = ws.penalty(params)
            value += self.last_penalty
        if not math.isfinite(value):
            st.failed = value
            return True
        epoch, loss = st.epoch + 1, value
        st.epoch, st.loss = epoch, loss
        run(backward)  # this epoch's rate: a change below takes effect from the next
        self._spare_valid = True
        if st.plain_rows and epoch == hist.next_epoch and epoch < st.due:  # a row, no more
            st.accuracy, st.scored = ws.score(), epoch
            hist.record(epoch, loss, st.accuracy, st.lr)
        elif epoch in (hist.next_epoch, self.config.epochs) or epoch % self.config.log_every == 0:
            st.accuracy, st.scored = ws.score(), epoch
            if ws.regression:
                self.last_mae = ws.absolute_error() / ws.diff_flat.size
            self._observe(epoch, loss, st.accuracy, st.lr, params, events)
            if self.status == "diverged":
                self._commit(epoch, params, spare, self._best[0], self._best[3])
                return False
            st.plain_rows = self._plain_rows()
        if epoch >= self.schedule.next_check and epoch < self.config.epochs:  # a rate after
            change = self.schedule.observe(epoch, loss, st.lr)  # the end would go unused
            if change is not None:
                st.lr = self._apply_change(change, events)
                ws.scale[...] = self._scale(ws, st.lr)
                self._set_step(ws, st.lr)
        if epoch >= st.due:
            st.due = self._next_due(epoch)
        if not self.optimizer.folds_lr:  # a stateful optimizer steps with the rate just set
            self._step(params, spare, ws.grads, st.lr)
        st.side ^= 1
        return True

    def _run_epochs(
        self, sides, side: int, k: int, lr: float, rows: tuple[int, int] | None
    ) -> tuple[int, float, float | None, np.ndarray]:
        """Up to ``k`` epochs that need nothing but their loss, in the tightest loop there is.

        With ``rows = (gap, stride)``, the ``gap``-th epoch and every ``stride``-th one
        after it are history rows: each keeps its predictions in ``self._marks`` and the
        measure of its loss (see ``_loss_measure``), made the rows' losses after the run.
        Stops before the update of an epoch whose loss is not finite. Returns (epochs
        completed, the last completed epoch's loss, the loss that was not finite or None,
        the rows' losses as a float64 array).
        """
        ws = self._ws
        measure, to_loss = self._loss_measure(ws)
        diff, greater, output, half = ws.diff_flat, np.greater, ws.output, ws.half
        isfinite, next_mark = math.isfinite, iter(self._mark_rows).__next__
        gap, stride = rows or (k + 1, 0)  # no rows: the gap outlasts the run
        measures: list[float] = []
        keep = measures.append
        step, grads = (None if self.optimizer.folds_lr else self._step), ws.grads
        last = math.nan
        tapes = [tapes[2:] for tapes in sides]
        for i in range(k):
            forward, backward = tapes[side]
            for f, args in forward:
                f(*args)
            measured = measure(diff)
            if not isfinite(measured):
                value = float(to_loss(last)) if i else math.nan
                return i, value, float(to_loss(measured)), to_loss(np.array(measures, float))
            for f, args in backward:
                f(*args)
            gap -= 1
            if not gap:  # a history row
                greater(output, half, next_mark())
                keep(measured)
                gap = stride
            if step is not None:
                params, spare = sides[side][:2]
                step(params, spare, grads, lr)
            side ^= 1
            last = measured
        return k, float(to_loss(last)), None, to_loss(np.array(measures, float))

    def _loss_measure(self, ws: Workspace):
        """(measure, to_loss): ``measure(diff)`` is what the hot loop takes every epoch, one
        call, finite exactly when the loss is; ``to_loss`` turns one measure, or an array
        of them, into the loss (element by element the same float arithmetic)."""
        loss_fn, size = self.loss_fn, ws.diff_flat.size
        if loss_fn.of_squares is not None:
            of_squares = loss_fn.of_squares
            return ws.diff_flat.dot, lambda squares: of_squares(squares, size)
        value, y, z = loss_fn.value, ws.loss_y, ws.loss_z
        return (lambda diff: value(diff, y, z)), np.asarray

    def _row_room(self) -> int:
        """How many rows one run may mark: the buffers, and no history thinning before the
        last of them (``History.record_rows``)."""
        if self._marks is None:
            return 0
        return min(len(self._marks), self.history.capacity - len(self.history))

    def _record_rows(
        self, first: int, stride: int, losses: np.ndarray, lr: float
    ) -> tuple[float, int]:
        """Record the rows a run marked (epochs ``first``, ``first + stride``, ...); returns
        the last row's accuracy and epoch.

        The right predictions are counted as ``Workspace.correct`` counts them, for all
        rows in two calls.
        """
        k, n = len(losses), self._ws.n
        marks = self._marks[:k]  # (k, 1, n): the rows' predictions
        np.equal(marks, self._ws.y_class, out=marks)
        accuracies = np.count_nonzero(marks, axis=(1, 2)) / n  # as int / int would
        epochs = np.arange(first, first + k * stride, stride, dtype=np.float64)
        self.history.record_rows(epochs, losses, accuracies, lr)
        return float(accuracies[-1]), int(epochs[-1])

    def _sides(self, ws: Workspace, params: list[np.ndarray], spare: list[np.ndarray]):
        """Per double-buffer parity: (params, spare, forward tape, backward tape).

        Plain SGD's update is appended to its backward tape; a stateful optimizer's is
        made by ``_step`` after it. Looked up at every chunk, so new parameter arrays
        (a restored snapshot) are noticed.
        """
        sides = []
        for p, s in ((params, spare), (spare, params)):
            backward = ws.backward_tape(p, self.loss_fn)
            if self.optimizer.folds_lr:
                backward = backward + ws.update_tape(p, s)
            sides.append((p, s, ws.forward_tape(p), backward))
        return sides

    def _scale(self, ws: Workspace, lr: float) -> float:
        """The factor on the output delta: the loss's own, times ``-lr`` for plain SGD."""
        grad_scale = self.loss_fn.scale(ws.n, ws.output.shape[0])
        return grad_scale * -lr if self.optimizer.folds_lr else grad_scale

    def _set_step(self, ws: Workspace, lr: float) -> None:
        """The penalty's gradient carries the grads' factor: ``-lr`` for plain SGD, else 1."""
        if ws.penalized:
            ws.set_step(-lr if self.optimizer.folds_lr else 1.0)

    def _step(self, params, spare, grads, lr: float) -> None:
        """A stateful optimizer's update: ``spare = params + step(grads)``."""
        for p, s, o in zip(params, self.optimizer.steps(grads, lr), spare, strict=True):
            np.add(p, s, o)

    def _plain_rows(self) -> bool:
        """Whether a history row needs only the training loss and accuracy recorded.

        ``_observe`` also measures the test set for every row, and the first epoch it
        sees is kept as the best so far.
        """
        return self._test_ws is None and self._best is not None

    def _next_due(self, epoch: int) -> int:
        """The first epoch after ``epoch`` with a report, a schedule check or the end.

        With the history's next row, it bounds the epochs that need more than the loss;
        at such an epoch the loop still tests each condition in full.
        """
        log_every, last = self.config.log_every, self.config.epochs
        due = min((epoch // log_every + 1) * log_every, last)
        if self.schedule.next_check < last:
            due = min(due, self.schedule.next_check)
        return max(epoch + 1, due)

    def _train_minibatch_epoch(self, events: list[Event]) -> bool:
        """One epoch of mini-batches in a fresh seeded order; False if it diverged."""
        loss_fn = self.loss_fn
        params, spare, lr = self.network.params, self._spare, self.lr
        n = len(self._X)
        order = self._shuffle.permutation(n)
        epoch = self.epoch + 1
        total_loss = 0.0
        total_correct = 0  # regression: the sum of squared residuals instead
        total_abs = 0.0
        penalty = self._ws.penalty(params) if self._ws.penalized else None  # at the start
        for start in range(0, n, self._batch):
            idx = order[start : start + self._batch]
            ws = self._ws if len(idx) == self._batch else self._ws_tail
            ws.load(self._X[idx], self._y[idx])
            ws.forward(params)
            self._set_step(ws, lr)
            value = ws.backward(params, loss_fn, self._scale(ws, lr))
            if not math.isfinite(value):
                params, spare = self._diverge(epoch, value, lr, params, spare, events)
                self._commit(epoch - 1, params, spare, self.last_loss, self.last_accuracy)
                return False
            total_loss += value if loss_fn.summed else value * len(idx) / n
            if ws.regression:
                total_correct += float(ws.diff_flat.dot(ws.diff_flat))
                total_abs += ws.absolute_error()
            else:
                total_correct += ws.correct()
            if self.optimizer.folds_lr:
                run(ws.update_tape(params, spare))
            else:
                self._step(params, spare, ws.grads, lr)
            params, spare = spare, params
            self._spare_valid = True
        accuracy = total_correct / n
        if self._ws.regression:  # R^2 over the epoch's batches, MAE per target
            accuracy = 1.0 - total_correct / self._spread if self._spread > 0 else math.nan
            self.last_mae = total_abs / self._y.size
        if penalty is not None:
            total_loss += penalty
            self.last_penalty = penalty
            if not math.isfinite(total_loss):  # the weights blew up, the data loss did not
                params, spare = self._diverge(epoch, total_loss, lr, params, spare, events)
                self._commit(epoch - 1, params, spare, self.last_loss, self.last_accuracy)
                return False
        self._commit(epoch, params, spare, total_loss, accuracy)
        last = self.config.epochs
        if epoch == self.history.next_epoch or epoch % self.config.log_every == 0 or epoch == last:
            self._observe(epoch, total_loss, accuracy, lr, params, events)
            if self.status == "diverged":  # blew up: the best weights are back in place
                self.last_loss, self.last_accuracy = self._best[0], self._best[3]
                return False
        if epoch >= self.schedule.next_check and epoch < last:
            change = self.schedule.observe(epoch, total_loss, lr)
            if change is not None:
                self._apply_change(change, events)
        return True

    # --- bookkeeping -------------------------------------------------------------
    def _commit(self, epoch: int, params, spare, loss: float, accuracy: float) -> None:
        self.epoch, self.network.params, self._spare = epoch, params, spare
        if epoch and math.isfinite(loss):
            self.last_loss, self.last_accuracy = loss, accuracy

    def _observe(self, epoch: int, loss: float, accuracy: float, lr: float, params, events) -> None:
        """Record a history row and/or an epoch report (with the test figures)."""
        test_loss = test_acc = math.nan
        if self._test_ws is not None:
            test_loss, test_acc = self._test_ws.evaluate(params, self.loss_fn)
            self.last_test = (test_loss, test_acc)
            if self._test_ws.regression:
                self.last_test_mae = self._test_ws.absolute_error() / self._test_ws.n
        if epoch == self.history.next_epoch:
            self.history.record(epoch, loss, accuracy, lr, test_loss, test_acc)
        if self._best is None:
            self._keep_best(epoch, loss, accuracy, params)
        if epoch % self.config.log_every == 0 or epoch == self.config.epochs:
            if self._blown_up(epoch, loss, lr, params, events):
                return
            self._keep_best(epoch, loss, accuracy, params)
            has_test = self._test_ws is not None
            events.append(
                EpochReport(
                    epoch,
                    loss,
                    accuracy,
                    lr,
                    test_loss if has_test else None,
                    test_acc if has_test else None,
                    self.last_penalty if self._ws.penalized else None,
                    self.last_mae if self._ws.regression else None,
                    self.last_test_mae if self._ws.regression and has_test else None,
                )
            )

    def _blown_up(self, epoch: int, loss: float, lr: float, params, events) -> bool:
        """At a report: True (and the best weights restored) if the loss has blown up."""
        first = self.history.columns["loss"][0] if len(self.history) else loss
        if not loss > BLOW_UP_FACTOR * first:
            return False
        self.status = "diverged"
        _, best_epoch, saved, _ = self._best or (loss, epoch, params, math.nan)
        for p, s in zip(params, saved, strict=True):
            np.copyto(p, s)  # in place: the caller's parameter list stays valid
        self.optimizer.reset()
        self._spare_valid = False
        reason = f"rose to {loss / first:.1f}x the first epoch's loss"
        events.append(Diverged(epoch, loss, lr, best_epoch, reason=reason))
        return True

    def _keep_best(self, epoch: int, loss: float, accuracy: float, params) -> None:
        """Remember the weights of the lowest reported loss (one copy per report)."""
        if self._best is not None and not loss < self._best[0]:
            return
        saved = self._best[2] if self._best else [np.empty_like(p) for p in params]
        for s, p in zip(saved, params, strict=True):
            np.copyto(s, p)
        self._best = (loss, epoch, saved, accuracy)

    def _apply_change(self, change: RateChange, events: list[Event]) -> float:
        self.lr = change.new_lr
        self.rate_changes.append(change)
        events.append(change)
        return change.new_lr

    def _diverge(self, epoch: int, loss: float, lr: float, params, spare, events):
        """Roll back to the last weights whose loss was finite and stop."""
        self.status = "diverged"
        if self._spare_valid:  # the spare holds the weights before the last update
            params, spare = spare, params
            self._spare_valid = False
        self.optimizer.reset()
        events.append(Diverged(epoch, loss, lr, epoch - 1))
        return params, spare

    # --- evaluation --------------------------------------------------------------
    def predict_raw(self, X_raw: np.ndarray) -> np.ndarray:
        """Outputs for points in the dataset's own (unscaled) coordinates (scaled, then the
        config's features): ``(n,)`` for one output (a sigmoid's probability, a
        regression's prediction), ``(n, K)`` for K classes (each one's probability)."""
        out = self.network.predict(self.data.inputs(np.asarray(X_raw, dtype=float)))
        return out[:, 0] if out.shape[1] == 1 else out

    def evaluate(self, split: str = "train") -> dict:
        """Loss, accuracy and predictions on ``train`` or ``test`` (no training state touched).
        With ``l2`` or ``l1`` the training loss includes the penalty, as the log's does.

        ``predictions`` is ``(n,)`` for one output, ``(n, K)`` for K classes. A regression's
        ``accuracy`` is R^2, and it adds ``mae``, the mean absolute error."""
        d = self.data
        X, y = (d.X_train, d.y_train) if split == "train" else (d.X_test, d.y_test)
        if len(X) == 0:
            return {"loss": math.nan, "accuracy": math.nan, "predictions": np.empty(0),
                    "mae": math.nan}
        with np.errstate(all="ignore"):
            out = self.network.predict(X).astype(np.float64)
            y = y.astype(np.float64)
            loss = loss_value(self.config.loss, out, y)
            if split == "train" and self._ws.penalized:
                loss += self._ws.penalty(self.network.params)
        predictions = out[:, 0] if out.shape[1] == 1 else out
        if self.config.regression:
            r2, mae = regression_scores(out[:, 0], y[:, 0])
            return {"loss": loss, "accuracy": r2, "predictions": predictions, "mae": mae}
        right = np.count_nonzero(predicted_class(out) == true_class(y))
        return {"loss": loss, "accuracy": float(right / len(X)), "predictions": predictions}


def regression_scores(predicted: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(R^2, mean absolute error) of predictions against real targets; R^2 is NaN for
    targets that do not vary."""
    with np.errstate(all="ignore"):
        residual = float(np.sum((predicted - target) ** 2))
        spread = float(np.sum((target - target.mean()) ** 2))
        r2 = 1.0 - residual / spread if spread > 0 else math.nan
        return r2, float(np.mean(np.abs(predicted - target)))
