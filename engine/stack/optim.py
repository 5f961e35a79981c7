"""The update rules of ``engine/optim/optimizers.py`` on stacked parameters.

Each network of a stack keeps its own rate (and momentum): they come as ``(K, 1, 1)``
arrays that broadcast over each network's parameters. Every formula is the single
optimizer's, the same float operations in the same order, element by element.
Adam's step count is one for the whole stack: its networks start together, and a
network that diverges (the only reset) leaves the stack.
"""

from __future__ import annotations

import numpy as np

from engine.optim.optimizers import Adam


class StackSGD:
    """w <- w - lr g, with ``-lr`` folded into the gradient scale (as the single SGD)."""

    name = "sgd"
    folds_lr = True

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        del params, mu  # stateless

    def steps(self, grads: list[np.ndarray], lr: np.ndarray) -> list[np.ndarray]:
        return grads

    def keep(self, slots: np.ndarray) -> None:
        return None


class StackMomentum:
    """v <- mu v - lr g;  w <- w + v, per network's mu and lr."""

    name = "momentum"
    folds_lr = False

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        self.mu = mu
        self.velocity = [np.zeros_like(p) for p in params]

    def steps(self, grads: list[np.ndarray], lr: np.ndarray) -> list[np.ndarray]:
        for v, g in zip(self.velocity, grads, strict=True):
            np.multiply(v, self.mu, v)
            np.multiply(g, lr, g)
            np.subtract(v, g, v)
        return self.velocity

    def keep(self, slots: np.ndarray) -> None:
        """Only these networks go on (the others left the stack)."""
        self.mu = self.mu[slots]
        self.velocity = [v[slots] for v in self.velocity]


class StackAdam:
    """Adam with bias correction, as ``engine.optim.optimizers.Adam`` writes it."""

    name = "adam"
    folds_lr = False

    def __init__(self, params: list[np.ndarray], mu: np.ndarray) -> None:
        del mu
        self.b1, self.b2, self.eps = Adam.__init__.__defaults__  # the single's constants
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self._step = [np.zeros_like(p) for p in params]

    def steps(self, grads: list[np.ndarray], lr: np.ndarray) -> list[np.ndarray]:
        self.t += 1
        b1, b2 = self.b1, self.b2
        alpha = lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)  # (K, 1, 1)
        for m, v, g, s in zip(self.m, self.v, grads, self._step, strict=True):
            np.multiply(m, b1, m)
            m += (1 - b1) * g
            np.multiply(v, b2, v)
            np.multiply(g, g, s)
            s *= 1 - b2
            v += s
            np.sqrt(v, s)
            s += self.eps * np.sqrt(1 - b2**self.t)
            np.divide(m, s, s)
            s *= -alpha
        return self._step

    def keep(self, slots: np.ndarray) -> None:
        self.m = [m[slots] for m in self.m]
        self.v = [v[slots] for v in self.v]
        self._step = [s[slots] for s in self._step]


STACK_OPTIMIZERS = {cls.name: cls for cls in (StackSGD, StackMomentum, StackAdam)}
