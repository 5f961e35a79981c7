"""The trainer: steps epochs of a network on a dataset and reports events.

It never prints. ``run`` trains until a number of epochs or a time box runs out and
returns the events of that stretch (epoch reports, rate changes, divergence, the
finish). The TUI calls it in short time boxes; the CLI in one go.

One full-batch epoch, with the parameters double-buffered so that a diverging
update can be undone without copying anything:

    forward:   every layer  z = [a, 1] @ P,  a' = act(z)
    backward:  delta_out = scale * (a_out - y) * act'(a_out);  grad_l = [a_l, 1].T @ delta_l
               delta_l  = (delta_{l+1} @ W_{l+1}.T) * act'(a_l)
    update:    P_next = P + step(grad)      (written into the spare buffer, then swapped)

The loss of epoch ``e`` is measured in epoch ``e``'s forward pass, before its
update, exactly as the course's code prints it.
"""

from __future__ import annotations

import math
import time

import numpy as np

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
        """The hot loop: everything per epoch is local and allocation-free."""
        ws, opt, loss_fn, hist, sched = (
            self._ws,
            self.optimizer,
            self.loss_fn,
            self.history,
            self.schedule,
        )
        forward, backward, correct, add, isfinite = (
            ws.forward,
            ws.backward,
            ws.correct,
            np.add,
            math.isfinite,
        )
        params, spare = self.network.params, self._spare
        n, lr, epoch, log_every = ws.n, self.lr, self.epoch, self.config.log_every
        last = self.config.epochs
        grad_scale = self.loss_fn.grad_scale(ws.output.size)
        scale = grad_scale * -lr if opt.folds_lr else grad_scale
        loss = accuracy = math.nan
        for _ in range(count):
            epoch += 1
            forward(params)
            value = backward(params, loss_fn, scale)
            if not isfinite(value):
                # ``loss`` keeps the last finite epoch's figure, the one of the kept weights
                params, spare = self._diverge(epoch, value, lr, params, spare, events)
                epoch -= 1
                break
            loss = value
            accuracy = correct() / n
            if epoch == hist.next_epoch or epoch % log_every == 0 or epoch == last:
                self._observe(epoch, loss, accuracy, lr, params, events)
                if self.status == "diverged":  # blew up: the best weights are back in place
                    loss, accuracy = self._best[0], self._best[3]
                    break
            if epoch >= sched.next_check and epoch < last:  # a rate after the end is never used
                change = sched.observe(epoch, loss, lr)
                if change is not None:
                    lr = self._apply_change(change, events)
                    scale = grad_scale * -lr if opt.folds_lr else grad_scale
            for p, s, o in zip(params, opt.steps(ws.grads, lr), spare, strict=True):
                add(p, s, o)
            params, spare = spare, params
            self._spare_valid = True
        self._commit(epoch, params, spare, loss, accuracy)

    def _train_minibatch_epoch(self, events: list[Event]) -> bool:
        """One epoch of mini-batches in a fresh seeded order; False if it diverged."""
        opt, loss_fn = self.optimizer, self.loss_fn
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
            scale = loss_fn.grad_scale(ws.output.size) * (-lr if opt.folds_lr else 1.0)
            value = ws.backward(params, loss_fn, scale)
            if not math.isfinite(value):
                params, spare = self._diverge(epoch, value, lr, params, spare, events)
                self._commit(epoch - 1, params, spare, self.last_loss, self.last_accuracy)
                return False
            total_loss += value if loss_fn.summed else value * len(idx) / n
            total_correct += ws.correct()
            for p, s, o in zip(params, opt.steps(ws.grads, lr), spare, strict=True):
                np.add(p, s, o)
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
