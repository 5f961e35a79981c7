"""Loss functions: the value, and the gradient with respect to the output.

Each loss is written in terms of ``diff = a - y`` (output minus target), which the
trainer computes once per epoch and reuses for the value, the gradient and the
accuracy. ``grad_scale(n)`` is the factor that turns ``diff`` into ``dL/da``
(or straight into ``dL/dz`` when ``through_output`` is true).

* ``mse`` = mean over all elements of (a - y)^2;   dL/da = 2 (a - y) / N
* ``sse`` = 1/2 * sum of (a - y)^2 (the seed's);   dL/da = (a - y)
* ``bce`` = mean of -[y log a + (1 - y) log(1 - a)] for a = sigmoid(z), computed
  from z as softplus(z) - y z so that it never takes log(0); dL/dz = (a - y) / N,
  the sigmoid's derivative cancels, so the output activation is not applied again.
* ``ce`` = mean over the points of -sum_k y_k log a_k for a = softmax(z) over K classes
  (y one-hot), computed from z as logsumexp(z) - y . z (log-sum-exp: never log(0), never
  exp of a large z); dL/dz = (a - y) / N, the softmax's Jacobian cancels the same way.
  N counts points, not elements (``per_point``), and ``y``, ``z`` come with one row per
  point (the workspaces pass transposed views).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Loss:
    name: str
    value: Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # (flat diff, y, z) -> loss
    grad_scale: Callable[[int], float]  # number of elements -> factor on diff
    through_output: bool  # True: scale * diff is already dL/dz
    summed: bool  # a sum over the points (the epoch's loss adds its batches) or a mean
    description: str
    # For a loss that is a function of the sum of squared differences: that function
    # (sum, number of elements) -> loss. The trainer's hot loop then takes only the sum,
    # one call, and turns the few sums it keeps into losses.
    of_squares: Callable[[float, int], float] | None = None
    per_point: bool = False  # grad_scale counts points, not elements (ce: K per point)

    def scale(self, n_points: int, n_outputs: int) -> float:
        """The factor on ``diff`` for a batch of ``n_points`` with ``n_outputs`` each."""
        return self.grad_scale(n_points if self.per_point else n_points * n_outputs)


# ``diff`` comes flat (1-D): the method ``dot`` of a vector is its dot product, without
# the dispatch that np.vdot costs on every epoch of a small network (a third of the call).
def _half(squares: float, size: int) -> float:
    return 0.5 * squares


def _mean(squares: float, size: int) -> float:
    return squares / max(size, 1)


def _sse(diff: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    return _half(float(diff.dot(diff)), diff.size)


def _mse(diff: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    return _mean(float(diff.dot(diff)), diff.size)


def _bce(diff: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    # softplus(z) - y z == -[y log s(z) + (1 - y) log(1 - s(z))], stable for any z
    return float(np.mean(np.logaddexp(0.0, z) - y * z)) if z.size else 0.0


def _ce(diff: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    # -sum_k y_k log softmax(z)_k = logsumexp(z) - sum_k y_k z_k, since sum_k y_k = 1;
    # logsumexp(z) = m + log sum_k e^(z_k - m) with m = max_k z_k: no exp overflows
    if not z.size:
        return 0.0
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return float(np.mean(lse - (y * z).sum(axis=1)))


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss("mse", _mse, lambda n: 2.0 / max(n, 1), False, False, "mean of (a - y)^2", _mean),
        Loss(
            "sse", _sse, lambda n: 1.0, False, True, "1/2 sum of (a - y)^2 (the course's)", _half
        ),
        Loss(
            "bce",
            _bce,
            lambda n: 1.0 / max(n, 1),
            True,
            False,
            "binary cross-entropy, sigmoid output",
        ),
        Loss("ce", _ce, lambda n: 1.0 / max(n, 1), True, False,
             "categorical cross-entropy, softmax output", per_point=True),
    )
}
LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)


def get_loss(name: str) -> Loss:
    """Look a loss up by name, with a message listing the valid names."""
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(LOSS_NAMES)}") from None


def loss_value(name: str, a: np.ndarray, y: np.ndarray, z: np.ndarray | None = None) -> float:
    """The loss of outputs ``a`` (n, n_out) against targets ``y`` (``z`` is needed for
    ``bce`` and ``ce``; without it, it is recovered from ``a``)."""
    loss = get_loss(name)
    if loss.name == "ce" and z is None:
        z = np.log(np.maximum(a, np.finfo(a.dtype).tiny))  # softmax(log a) = a
    if loss.name == "bce" and z is None:
        # Recover the logit from a clipped probability; only used outside training.
        eps = np.finfo(a.dtype).eps
        p = np.clip(a, eps, 1 - eps)
        z = np.log(p) - np.log1p(-p)
    return loss.value((a - y).reshape(-1), y, z if z is not None else a)


THRESHOLD = 0.5
"""An output above this predicts class 1 (a sigmoid's probability or any other output):
the rule every accuracy in nn-tui counts with, and every picture colours by."""


def predicted_class(outputs: np.ndarray) -> np.ndarray:
    """The class each output predicts: for one output per point (shape (n,) or (n, 1)),
    1 above ``THRESHOLD`` and 0 at or below it; for K outputs (n, K), the argmax. -1 for
    an output that is not finite (it predicts nothing, and counts as wrong)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if outputs.ndim == 2 and outputs.shape[1] > 1:
        finite = np.isfinite(outputs).all(axis=1)
        return np.where(finite, outputs.argmax(axis=1), -1).astype(np.int64)
    if outputs.ndim == 2:
        outputs = outputs[:, 0]
    return np.where(np.isfinite(outputs), outputs > THRESHOLD, -1).astype(np.int64)


def true_class(y: np.ndarray) -> np.ndarray:
    """The class of each target: the label of a (n, 1) column of 0/1, the argmax of one-hot
    rows (n, K)."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return y.argmax(axis=1).astype(np.int64)
    return (y.reshape(-1) > THRESHOLD).astype(np.int64)
