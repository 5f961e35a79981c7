"""The trainer's own step, taken on a twin so that the real trainer is never touched.

``twin(trainer)`` is an independent Trainer in the same state: a fresh Trainer built from
the same config and data (so its workspaces are its own: a deep copy would not keep the
views a workspace holds into its buffers), with everything that one epoch reads or
writes deep-copied in (weights, the spare buffers, the optimizer's and the schedule's
state, the rate, the epoch, the history, the shuffling generator).

``step_on_twin`` trains one epoch on a twin through the trainer's normal path
(``Trainer.step``). For a mini-batch epoch, ``batch_step`` takes the twin through the
epoch's first batches with the very calls ``Trainer._train_minibatch_epoch`` makes, up
to and including the chosen batch; tests/engine/test_explain.py holds the two equal bit
for bit over whole epochs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from engine.nn.activations import run
from engine.train.trainer import Trainer

# What the constructor builds from the config and the data: made afresh, never copied.
_REBUILT = frozenset({"config", "data", "loss_fn", "_X", "_y", "_batch", "_ws", "_ws_tail",
                      "_test_ws", "_marks", "_mark_rows"})


DIVERGED = "the run diverged: set a smaller learning rate (or reset) first"


def twin(trainer: Trainer) -> Trainer:
    """An independent trainer in the same state (training it leaves ``trainer`` as it is)."""
    other = Trainer(trainer.config, trainer.data, trainer.history.capacity)
    state = {k: v for k, v in vars(trainer).items() if k not in _REBUILT}
    vars(other).update(copy.deepcopy(state))
    return other


def ready_twin(trainer: Trainer) -> Trainer:
    """A twin that can train one more epoch: past the configured end it is extended by
    one epoch, as the app trains on after the end. A diverged run cannot step."""
    if trainer.status == "diverged":
        raise ValueError(DIVERGED)
    other = twin(trainer)
    if other.status == "finished" or other.epoch >= other.config.epochs:
        other.extend(1)
    return other


def step_on_twin(trainer: Trainer) -> Trainer:
    """A twin after one epoch of the trainer's normal path."""
    other = ready_twin(trainer)
    other.step(1)
    return other


def epoch_order(trainer: Trainer) -> np.ndarray:
    """The training points' order in the trainer's next epoch: as stored for a full batch,
    else the permutation its shuffling generator draws next (read from a copy of it)."""
    n = len(trainer.data.X_train)
    if trainer.full_batch:
        return np.arange(n)
    return copy.deepcopy(trainer._shuffle).permutation(n)


def batch_rows(trainer: Trainer) -> list[np.ndarray]:
    """The rows (training-set indices) of every batch of the trainer's next epoch."""
    order, size = epoch_order(trainer), trainer._batch
    return [order[start:start + size] for start in range(0, len(order), size)]


@dataclass(frozen=True, eq=False)
class BatchStep:
    """One mini-batch step as the trainer takes it: the weights and optimizer before, and
    the weights after (augmented arrays ``[W; b]``, copies)."""

    before: list[np.ndarray]
    optimizer: object  # a copy of the optimizer as it stood before the step
    after: list[np.ndarray]


def batch_step(trainer: Trainer, batch: int) -> BatchStep:
    """Batch ``batch`` of the next mini-batch epoch, after the batches before it, taken
    on a twin with ``Trainer._train_minibatch_epoch``'s own calls."""
    other = ready_twin(trainer)
    params, spare, lr = other.network.params, other._spare, other.lr
    for index, rows in enumerate(batch_rows(trainer)[:batch + 1]):
        if index == batch:
            before = [p.copy() for p in params]
            optimizer = copy.deepcopy(other.optimizer)
        ws = other._ws if len(rows) == other._batch else other._ws_tail
        with np.errstate(all="ignore"):  # as in Trainer.run
            ws.load(other._X[rows], other._y[rows])
            ws.forward(params)
            other._set_step(ws, lr)
            ws.backward(params, other.loss_fn, other._scale(ws, lr))
            if other.optimizer.folds_lr:
                run(ws.update_tape(params, spare))
            else:
                other._step(params, spare, ws.grads, lr)
        params, spare = spare, params
    return BatchStep(before, optimizer, [p.copy() for p in params])
