"""Probes that watch a network while it trains: per-layer weight and gradient norms.

The trainer has no hook for them on purpose (its hot loop stays lean); the caller
observes between training chunks instead::

    tracker = NormTracker(trainer.network.n_layers)
    while not trainer.done:
        trainer.run(seconds=0.05)
        tracker.observe_trainer(trainer)   # skipped cheaply when not due

For layer ``l`` with augmented parameters ``P_l = [W_l; b_l]`` the tracker records

    weight norm     ||P_l||_F                      (np.linalg.norm(network.params[l]))
    gradient norm   ||dL/dP_l||_F on the full training set, at the current weights

The gradient costs one extra forward and backward pass over the training data,
which is cheap at these sizes (a few hundred points), and is only paid when a row
is actually recorded. Memory stays bounded like :class:`engine.train.history.History`:
at most ``capacity`` rows; when full, every other row is dropped (the first and the
last survive) and later rows are recorded at the spacing the kept rows now have.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np

from engine.nn.network import Network


def weight_norms(network: Network) -> np.ndarray:
    """Frobenius norm of every layer's parameters ``[W; b]``, shape ``(n_layers,)``."""
    with np.errstate(all="ignore"):
        return np.array([float(np.linalg.norm(p)) for p in network.params], dtype=np.float64)


def gradient_norms(network: Network, X: np.ndarray, y: np.ndarray, loss: str = "mse",
                   l2: float = 0.0, l1: float = 0.0) -> np.ndarray:
    """Frobenius norm of every layer's loss gradient ``dL/d[W; b]`` on ``(X, y)`` (with
    ``l2`` or ``l1``: of the loss with the penalty on the weights, as the trainer steps).

    Uses :meth:`Network.loss_and_gradients` (the plain reference backprop, its own
    arrays: a trainer's buffers are never touched). NaN for every layer if the pass
    overflows.
    """
    with np.errstate(all="ignore"):
        _, grad_w, grad_b = network.loss_and_gradients(X, y, loss, l2, l1)
        norms = []
        for layer, gw in enumerate(grad_w):
            total = float(np.sum(np.square(gw, dtype=np.float64)))
            if grad_b:
                total += float(np.sum(np.square(grad_b[layer], dtype=np.float64)))
            norms.append(math.sqrt(total) if math.isfinite(total) else math.nan)
    return np.array(norms, dtype=np.float64)


class NormTracker:
    """A bounded record of per-layer weight and gradient norms against the epoch.

    ``observe`` / ``observe_trainer`` record a row when it is *due*: the epoch is
    past the last recorded one by at least ``min_gap`` epochs (0 until the first
    thinning, so at first every new epoch is recorded). ``version`` counts the rows
    ever recorded, so a chart can tell cheaply whether anything changed.
    """

    def __init__(self, n_layers: int, capacity: int = 2048) -> None:
        if n_layers < 1:
            raise ValueError("a norm tracker needs at least one layer")
        if capacity < 4:
            raise ValueError("norm tracker capacity must be at least 4")
        self.n_layers = int(n_layers)
        self.capacity = int(capacity)
        self.version = 0
        self.clear()

    # --- state ------------------------------------------------------------------
    def clear(self) -> None:
        """Forget every row (e.g. after the network was rebuilt)."""
        self.epochs = array("d")
        self.weights: list[array] = [array("d") for _ in range(self.n_layers)]
        self.gradients: list[array] = [array("d") for _ in range(self.n_layers)]
        self.min_gap = 0.0
        self.version += 1

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def last_epoch(self) -> float | None:
        """The epoch of the newest row, or None when empty."""
        return self.epochs[-1] if self.epochs else None

    @property
    def nbytes(self) -> int:
        """Bytes held by the recorded rows."""
        columns = [self.epochs, *self.weights, *self.gradients]
        return sum(col.itemsize * len(col) for col in columns)

    def due(self, epoch: int) -> bool:
        """Would a row for ``epoch`` be recorded now?"""
        last = self.last_epoch
        return last is None or (epoch > last and epoch - last >= self.min_gap)

    # --- recording ----------------------------------------------------------------
    def record(self, epoch: int, weights: Sequence[float], gradients: Sequence[float]) -> None:
        """Append one row unconditionally (``observe`` checks ``due`` first)."""
        if len(weights) != self.n_layers or len(gradients) != self.n_layers:
            raise ValueError(f"expected {self.n_layers} weight and gradient norms")
        self.epochs.append(float(epoch))
        for col, value in zip(self.weights, weights, strict=True):
            col.append(float(value))
        for col, value in zip(self.gradients, gradients, strict=True):
            col.append(float(value))
        self.version += 1
        if len(self.epochs) >= self.capacity:
            self._thin()

    def observe(
        self,
        epoch: int,
        network: Network,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        loss: str = "mse",
        l2: float = 0.0,
        l1: float = 0.0,
    ) -> bool:
        """Record ``network``'s norms at ``epoch`` if due; True if a row was added.

        Without ``X`` and ``y`` only weight norms are measured (gradients are NaN).
        """
        if network.n_layers != self.n_layers:
            raise ValueError(
                f"the tracker follows {self.n_layers} layers, the network has {network.n_layers}"
            )
        if not self.due(epoch):
            return False
        grads = (
            gradient_norms(network, X, y, loss, l2, l1)
            if X is not None and y is not None and len(X)
            else np.full(self.n_layers, math.nan)
        )
        self.record(epoch, weight_norms(network), grads)
        return True

    def observe_trainer(self, trainer) -> bool:
        """``observe`` a :class:`engine.train.trainer.Trainer` on its (scaled) training data."""
        data, config = trainer.data, trainer.config
        return self.observe(
            trainer.epoch, trainer.network, data.X_train, data.y_train, config.loss, config.l2,
            config.l1,
        )

    def _thin(self) -> None:
        """Keep every other row (always the first and the last); widen the gap."""
        n = len(self.epochs)
        keep = list(range(0, n, 2))
        if keep[-1] != n - 1:
            keep.append(n - 1)
        self.epochs = array("d", (self.epochs[i] for i in keep))
        self.weights = [array("d", (col[i] for i in keep)) for col in self.weights]
        self.gradients = [array("d", (col[i] for i in keep)) for col in self.gradients]
        span = self.epochs[-1] - self.epochs[0]
        self.min_gap = max(self.min_gap * 2, span / max(1, len(self.epochs) - 1))

    # --- reading ------------------------------------------------------------------
    def arrays(self) -> dict[str, np.ndarray]:
        """Copies: ``epoch`` (n,), ``weight`` and ``gradient`` (n_layers, n) float64."""
        return {
            "epoch": np.array(self.epochs, dtype=np.float64),
            "weight": np.array([np.array(c) for c in self.weights], dtype=np.float64).reshape(
                self.n_layers, -1
            ),
            "gradient": np.array([np.array(c) for c in self.gradients], dtype=np.float64).reshape(
                self.n_layers, -1
            ),
        }


__all__ = ["NormTracker", "gradient_norms", "weight_norms"]
