"""Optimizers: state in zero-initialised lists parallel to the parameters.

In the manner of tinygrad's ``optim.py``, computing an update is split from
applying it: ``steps(grads, lr)`` returns, for every parameter, the amount to add;
the trainer applies it with one ``np.add`` per layer. For plain SGD the step is
``-lr * grad``, which the trainer folds into the backward pass's gradient scale
(``folds_lr``), so an SGD epoch spends no call on the learning rate at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class SGD:
    """w <- w - lr * g"""

    name = "sgd"
    folds_lr = True  # the gradients arrive already multiplied by -lr

    def __init__(self, params: Sequence[np.ndarray]) -> None:
        del params  # stateless

    def steps(self, grads: list[np.ndarray], lr: float) -> list[np.ndarray]:
        return grads

    def reset(self) -> None:
        return None


class Momentum:
    """v <- mu v - lr g;  w <- w + v   (heavy-ball momentum)"""

    name = "momentum"
    folds_lr = False

    def __init__(self, params: Sequence[np.ndarray], mu: float = 0.9) -> None:
        self.mu = mu
        self.velocity = [np.zeros_like(p) for p in params]

    def steps(self, grads: list[np.ndarray], lr: float) -> list[np.ndarray]:
        for v, g in zip(self.velocity, grads, strict=True):
            np.multiply(v, self.mu, v)
            np.multiply(g, lr, g)
            np.subtract(v, g, v)
        return self.velocity

    def reset(self) -> None:
        for v in self.velocity:
            v.fill(0)


class Adam:
    """Adam (Kingma & Ba 2015) with bias correction:

    m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
    w <- w - lr * m_hat / (sqrt(v_hat) + eps),  m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
    """

    name = "adam"
    folds_lr = False

    def __init__(
        self, params: Sequence[np.ndarray], b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
    ) -> None:
        self.b1, self.b2, self.eps = b1, b2, eps
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self._step = [np.zeros_like(p) for p in params]

    def steps(self, grads: list[np.ndarray], lr: float) -> list[np.ndarray]:
        self.t += 1
        b1, b2 = self.b1, self.b2
        # fold both bias corrections into one step size (the paper's section 2 form)
        alpha = lr * np.sqrt(1 - b2**self.t) / (1 - b1**self.t)
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

    def reset(self) -> None:
        self.t = 0
        for m, v in zip(self.m, self.v, strict=True):
            m.fill(0)
            v.fill(0)


OPTIMIZERS = {cls.name: cls for cls in (SGD, Momentum, Adam)}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)


def make_optimizer(name: str, params: Sequence[np.ndarray], momentum: float = 0.9):
    """Build an optimizer by name for these parameters."""
    if name == "momentum":
        return Momentum(params, mu=momentum)
    try:
        return OPTIMIZERS[name](params)
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}"
        ) from None
