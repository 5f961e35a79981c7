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
update, exactly as the course's code prints it. Each pass is a prebuilt list of
NumPy calls on the workspace's buffers (see ``engine/workspace.py``).
"""

from __future__ import annotations

import math
import time

import numpy as np

from engine.activations import run
from engine.config import ConfigError, ExperimentConfig
from engine.data import DataBundle, build_data
from engine.events import Diverged, EpochReport, Event, Finished
from engine.history import History
from engine.losses import get_loss, loss_value
from engine.network import Network
from engine.optimizers import make_optimizer
from engine.schedules import ConstantSchedule, HalvingSchedule, PlateauSchedule, RateChange
from engine.workspace import Workspace, workspace_bytes

CHUNK_SECONDS = 0.01  # in time-boxed runs, look at the clock about this often
# A reported loss this many times the first epoch's is worse than where training started:
# the rate is too large (sigmoid units saturate rather than overflow, so the loss stays
# finite). Training stops and the best reported weights are restored.
BLOW_UP_FACTOR = 1.5
# The training buffers of one batch may take at most this much memory: a bigger dataset or
# network is refused with a message instead of swapping the machine to a halt.
MAX_WORKSPACE_BYTES = 4 * 2**30


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
        self.history = History(history_capacity)
        self.rate_changes: list[RateChange] = []
        self.status = "ready"  # ready | finished | diverged
        self.seconds = 0.0  # wall time spent inside the training loop
        self.last_loss = math.nan
        self.last_accuracy = math.nan
        self.last_test: tuple[float, float] | None = None
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
        self._ws = Workspace(self.network, self._batch)
        tail = n % self._batch
        self._ws_tail = Workspace(self.network, tail) if tail else None
        if self._batch == n:
            self._ws.load(self._X, self._y)
        self._test_ws = None
        if self.data.has_test:
            self._test_ws = Workspace(self.network, len(self.data.X_test))
            self._test_ws.load(self.data.X_test.astype(dt), self.data.y_test.astype(dt))
        self._spare = [p.copy() for p in self.network.params]
        self._spare_valid = False  # does the spare hold the weights before the last update?
        # its own stream, so shuffling never shifts the initial weights (seeded apart)
        self._shuffle = np.random.default_rng([self.config.seed, 0x5EED])

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
        """The hot loop: per epoch, two tapes of NumPy calls, the loss and one comparison.

        On the course's small networks an epoch is dispatch-bound (about 35 calls on
        arrays of a few hundred numbers), so everything that is not the epoch's own
        arithmetic is kept out of the loop: the calls are prebuilt tapes (one pair per
        double-buffer parity), the learning rate lives in the 0-d ``ws.scale`` that the
        backward tape reads, and the bookkeeping (accuracy, history, reports, schedule)
        runs only at the epochs that need it: ``stop`` is the next history row or
        ``_next_due``. The loss is measured every epoch: a loss that is not finite must
        stop training before its update. The accuracy is measured where it is recorded
        or reported, and for the last epoch of the chunk (``last_accuracy``).

        The order within an epoch is the one the trainer has always had, so that runs
        reproduce bit for bit: plain SGD's step uses the rate from before this epoch's
        schedule check, a stateful optimizer's the rate after it.
        """
        ws, hist, sched, loss_fn = self._ws, self.history, self.schedule, self.loss_fn
        loss_value, diff, y, z_out = loss_fn.value, ws.diff, ws.y, ws.z[-1]
        isfinite, n, log_every, last = (
            math.isfinite,
            ws.n,
            self.config.log_every,
            self.config.epochs,
        )
        lr, epoch = self.lr, self.epoch
        ws.scale[...] = self._scale(ws, lr)
        sides = self._sides(ws, self.network.params, self._spare)
        step = None if self.optimizer.folds_lr else self._step  # stateful optimizers
        loss = accuracy = math.nan
        scored = -1  # the epoch whose accuracy ``accuracy`` is
        due = self._next_due(epoch)  # the next report, schedule check or last epoch
        stop = min(hist.next_epoch, due)  # ... or history row
        correct, plain_rows = ws.correct, self._plain_rows()
        side = 0
        for _ in range(count):
            params, spare, forward, backward = sides[side]
            for f, args in forward:
                f(*args)
            value = loss_value(diff, y, z_out)
            epoch += 1
            if not isfinite(value):
                # ``loss`` keeps the last finite epoch's figure, the one of the kept weights
                params, spare = self._diverge(epoch, value, lr, params, spare, events)
                epoch -= 1
                if isfinite(loss) and scored != epoch:  # the buffers hold the failed pass
                    ws.forward(params)
                    accuracy, scored = ws.correct() / n, epoch
                break
            loss = value
            # backward (and plain SGD's update, into the spare buffer) with this epoch's
            # rate: a rate the schedule changes below takes effect from the next epoch
            for f, args in backward:
                f(*args)
            self._spare_valid = True
            if epoch >= stop:  # some bookkeeping is due: the same tests as before, in full
                if plain_rows and epoch == hist.next_epoch and epoch < due:  # a row, no more
                    accuracy, scored = correct() / n, epoch
                    hist.record(epoch, loss, accuracy, lr)
                elif epoch == hist.next_epoch or epoch % log_every == 0 or epoch == last:
                    accuracy, scored = correct() / n, epoch
                    self._observe(epoch, loss, accuracy, lr, params, events)
                    if self.status == "diverged":  # blew up: the best weights are back in place
                        loss, accuracy = self._best[0], self._best[3]
                        break
                    plain_rows = self._plain_rows()
                if epoch >= sched.next_check and epoch < last:  # a rate after the end is unused
                    change = sched.observe(epoch, loss, lr)
                    if change is not None:
                        lr = self._apply_change(change, events)
                        ws.scale[...] = self._scale(ws, lr)
                if epoch >= due:
                    due = self._next_due(epoch)
                stop = min(hist.next_epoch, due)
            if step is not None:  # a stateful optimizer steps with the rate just set
                step(params, spare, ws.grads, lr)
            side ^= 1
        else:
            params, spare = sides[side][:2]
        if scored != epoch and isfinite(loss):  # the output buffer holds ``epoch``'s pass
            accuracy = ws.correct() / n
        self._commit(epoch, params, spare, loss, accuracy)

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
        grad_scale = self.loss_fn.grad_scale(ws.output.size)
        return grad_scale * -lr if self.optimizer.folds_lr else grad_scale

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
        total_correct = 0
        for start in range(0, n, self._batch):
            idx = order[start : start + self._batch]
            ws = self._ws if len(idx) == self._batch else self._ws_tail
            ws.load(self._X[idx], self._y[idx])
            ws.forward(params)
            value = ws.backward(params, loss_fn, self._scale(ws, lr))
            if not math.isfinite(value):
                params, spare = self._diverge(epoch, value, lr, params, spare, events)
                self._commit(epoch - 1, params, spare, self.last_loss, self.last_accuracy)
                return False
            total_loss += value if loss_fn.summed else value * len(idx) / n
            total_correct += ws.correct()
            if self.optimizer.folds_lr:
                run(ws.update_tape(params, spare))
            else:
                self._step(params, spare, ws.grads, lr)
            params, spare = spare, params
            self._spare_valid = True
        accuracy = total_correct / n
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
            test_loss, right = self._test_ws.evaluate(params, self.loss_fn)
            test_acc = right / self._test_ws.n
            self.last_test = (test_loss, test_acc)
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
        """Probabilities ``(n,)`` for points in the dataset's own (unscaled) coordinates."""
        return self.network.predict(self.data.scaler.transform(np.asarray(X_raw, dtype=float)))[
            :, 0
        ]

    def evaluate(self, split: str = "train") -> dict:
        """Loss, accuracy and predictions on ``train`` or ``test`` (no training state touched)."""
        d = self.data
        X, y = (d.X_train, d.y_train) if split == "train" else (d.X_test, d.y_test)
        if len(X) == 0:
            return {"loss": math.nan, "accuracy": math.nan, "predictions": np.empty(0)}
        with np.errstate(all="ignore"):
            out = self.network.predict(X).astype(np.float64)
            loss = loss_value(self.config.loss, out, y.astype(np.float64))
        right = np.count_nonzero((out[:, 0] > 0.5) == (y[:, 0] > 0.5))
        return {"loss": loss, "accuracy": float(right / len(X)), "predictions": out[:, 0]}
