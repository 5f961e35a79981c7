"""The update rules of ``engine/optim/optimizers.py`` on stacked parameters.

Each network of a stack keeps its own rate (and momentum): they come as ``(K, 1, 1)``
arrays that broadcast over each network's parameters. Each class inherits the single
optimizer's ``steps`` (the same float operations in the same order, element by element)
and adds ``keep``, for a stack that a diverged network leaves.
Adam's step count is one for the whole stack: its networks start together, and a
network that diverges (the only reset) leaves the stack.
"""

from __future__ import annotations

import numpy as np

from engine.optim.optimizers import SGD, Adam, Momentum


class StackSGD(SGD):
    """w <- w - lr g, with ``-lr`` folded into the gradient scale (as the single SGD)."""

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        super().__init__(params)

    def keep(self, slots: np.ndarray) -> None:
        return None


class StackMomentum(Momentum):
    """v <- mu v - lr g;  w <- w + v, with each network's mu and lr as (K, 1, 1) arrays:
    the single Momentum's ``steps``, broadcast over the stack."""

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        super().__init__(params, mu)  # mu: each network's, as a (K, 1, 1) array

    def keep(self, slots: np.ndarray) -> None:
        """Only these networks go on (the others left the stack)."""
        self.mu = self.mu[slots]
        self.velocity = [v[slots] for v in self.velocity]


class StackAdam(Adam):
    """The single Adam's ``steps`` (bias correction folded into the step size), with each
    network's lr as a (K, 1, 1) array."""

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        del mu
        super().__init__(params)

    def keep(self, slots: np.ndarray) -> None:
        self.m = [m[slots] for m in self.m]
        self.v = [v[slots] for v in self.v]
        self._step = [s[slots] for s in self._step]


STACK_OPTIMIZERS = {cls.name: cls for cls in (StackSGD, StackMomentum, StackAdam)}
