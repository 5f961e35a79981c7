"""The course homework's network, written the plain way (DESIGN.md's reference code).

Weight matrices only, sigmoid on every layer, ``X / max(X)`` input scaling, the
loss recorded every epoch, the seed's update and its halving rule. Every call
allocates its result, as the homework does. It is the baseline the engine's
trainer is measured against; it is not used by nn-tui itself.
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def sigmoid_prime(a: np.ndarray) -> np.ndarray:
    return a * (1.0 - a)  # in terms of the output, as the homework writes it


class HomeworkNetwork:
    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        hidden: tuple[int, ...],
        lr: float = 0.5,
        seed: int = 0,
        dtype: str = "float64",
    ) -> None:
        rng = np.random.default_rng(seed)
        sizes = [X.shape[1], *hidden, y.shape[1]]
        shapes = zip(sizes[:-1], sizes[1:], strict=False)
        self.w = [rng.standard_normal(shape).astype(dtype) for shape in shapes]
        self.X = (X / np.amax(X, axis=0)).astype(dtype)
        self.y = y.astype(dtype)
        self.lr = lr
        self.loss: list[float] = []

    def forward(self) -> list[np.ndarray]:
        outs = [self.X]
        for w in self.w:
            outs.append(sigmoid(np.matmul(outs[-1], w)))
        return outs

    def train(self, epoch: int) -> None:
        outs = self.forward()
        self.loss.append(float(np.mean((self.y - outs[-1]) ** 2)))
        delta = [None] * len(outs)
        delta[-1] = (self.y - outs[-1]) * sigmoid_prime(outs[-1])
        for i in reversed(range(1, len(outs) - 1)):
            delta[i] = np.matmul(delta[i + 1], self.w[i].T) * sigmoid_prime(outs[i])
        for i in range(len(self.w)):
            self.w[i] += self.lr * np.matmul(outs[i].T, delta[i + 1])
        period_done = (epoch + 1) % 5000 == 0 and len(self.loss) > 5000
        if period_done and 0.9 < self.loss[-1] / self.loss[-5001] < 1.1:
            self.lr /= 2
