"""Backpropagation checked against central finite differences, layer by layer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.losses import loss_value
from engine.network import Network


@dataclass(frozen=True)
class LayerCheck:
    """Relative error ``|g_bp - g_fd| / max(|g_bp| + |g_fd|, tiny)`` for one layer."""

    layer: int  # 1-based
    weight_error: float
    bias_error: float | None  # None when the network has no biases
    n_checked: int

    @property
    def error(self) -> float:
        return max(self.weight_error, self.bias_error or 0.0)


def _relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    num = np.linalg.norm(analytic - numeric)
    den = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(num / den) if den > 1e-300 else 0.0


def _numeric_gradient(
    net: Network, X: np.ndarray, y: np.ndarray, loss: str, array: np.ndarray, eps: float
) -> np.ndarray:
    """Central differences of the loss with respect to every entry of ``array`` (in place)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = loss_value(loss, net.predict(X), y, _logits(net, X) if loss == "bce" else None)
        flat[i] = saved - eps
        minus = loss_value(loss, net.predict(X), y, _logits(net, X) if loss == "bce" else None)
        flat[i] = saved
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _logits(net: Network, X: np.ndarray) -> np.ndarray:
    """The output layer's pre-activation (bce is computed from it)."""
    a = net.hidden_outputs(X)[-2] if net.n_layers > 1 else np.asarray(X, dtype=net.dtype)
    p, fan_in = net.params[-1], net.sizes[-2]
    z = a @ p[:fan_in]
    return z + p[fan_in] if net.bias else z


def gradient_check(
    net: Network, X: np.ndarray, y: np.ndarray, loss: str = "mse", eps: float = 1e-6
) -> list[LayerCheck]:
    """Compare ``net.loss_and_gradients`` with central differences for every layer.

    The network is evaluated in place (each parameter is nudged and restored), so it
    is left exactly as it was. Use float64: float32 cannot resolve ``eps``.
    """
    X = np.asarray(X, dtype=net.dtype)
    y = np.asarray(y, dtype=net.dtype).reshape(len(X), -1)
    _, grad_w, grad_b = net.loss_and_gradients(X, y, loss)
    results = []
    for i in range(net.n_layers):
        w_err = _relative_error(grad_w[i], _numeric_gradient(net, X, y, loss, net.weights[i], eps))
        b_err = None
        if net.bias:
            b_err = _relative_error(
                grad_b[i], _numeric_gradient(net, X, y, loss, net.biases[i], eps)
            )
        checked = net.weights[i].size + (net.biases[i].size if net.bias else 0)
        results.append(LayerCheck(i + 1, w_err, b_err, checked))
    return results
