"""The weight and gradient norms of the session's network over time (the inspect screen's
chart), measured as training goes, on a sample of the training points."""

from __future__ import annotations

import numpy as np

from engine.train.probes import NormTracker
from engine.train.trainer import Trainer

NORM_POINTS = 2048
"""The norms probe measures gradients on at most this many training points (an even
stride over larger datasets), so a big dataset does not slow training down."""


class NormWatch:
    """Follows one trainer at a time and records its norms when they are due."""

    def __init__(self) -> None:
        self.tracker: NormTracker | None = None
        self._trainer: Trainer | None = None
        self._data: tuple[np.ndarray, np.ndarray] | None = None

    def follow(self, trainer: Trainer) -> NormTracker:
        """A new trainer: a fresh record, and its first observation."""
        self._trainer = trainer
        self.tracker = NormTracker(trainer.network.n_layers)
        X, y = trainer.data.X_train, trainer.data.y_train  # noqa: N806
        if len(X) > NORM_POINTS:
            keep = np.linspace(0, len(X) - 1, NORM_POINTS).astype(np.int64)
            X, y = X[keep], y[keep]  # noqa: N806
        self._data = (X, y)
        self.observe()
        return self.tracker

    def observe(self) -> None:
        """Record the weight and gradient norms (when due: cheap otherwise)."""
        trainer, tracker = self._trainer, self.tracker
        if trainer is None or tracker is None or not tracker.due(trainer.epoch):
            return
        X, y = self._data  # noqa: N806
        try:
            tracker.observe(trainer.epoch, trainer.network, X, y, trainer.config.loss)
        except ValueError:  # a loss the probe cannot differentiate: weights only
            tracker.observe(trainer.epoch, trainer.network)
