"""Backpropagation as the course writes it. Start reading the engine here.

Plain NumPy, one row per data point, every step the formula on the blackboard:

    forward    a_0 = X,   z_l = a_{l-1} W_l + b_l,   a_l = f_l(z_l)          l = 1 .. L
    output     delta_L = dE/da_L * f_L'          (bce, ce: delta_L = (a_L - y) / N)
    backward   delta_l = (delta_{l+1} W_{l+1}^T) * f_l'                        l = L-1 .. 1
    gradients  dE/dW_l = a_{l-1}^T delta_l,      dE/db_l = delta_l summed over the points

Each derivative ``f'`` is written in terms of the layer's output ``a``, as the course
writes ``a (1 - a)`` for the sigmoid, or of ``z`` where ``a`` does not determine it
(swish and gelu are not monotonic).

Regularization adds a penalty on the weights (never the biases) to the data loss:

    E = E_data + l2/2 sum W^2 + l1 sum |W|,    dE/dW_l += l2 W_l + l1 sign(W_l)

(the l2/2 makes the L2 gradient l2 W: "weight decay"; the penalty is not divided by
the number of points, whatever the loss). ``Network.loss_and_gradients`` and the
gradient check run this file. The trainer runs the same algorithm on prebuilt in-place buffers
(``engine/fast/workspace.py``); tests/engine/test_reference.py holds the two equal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.nn.activations import GELU_C, GELU_CLIP, GELU_K, LEAKY_SLOPE, softplus_floor

if TYPE_CHECKING:  # network.py imports this file
    from engine.nn.network import Network


def sigmoid(z):
    return 0.5 * np.tanh(0.5 * z) + 0.5  # = 1 / (1 + e^-z), and e^-z never overflows


def gelu_s(z):
    """0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + e^-2u), u = c (z + k z^3), with z
    clipped to +-9 (no overflow); in the order of the fast path's calls."""
    w = np.clip(z, -GELU_CLIP, GELU_CLIP)
    return 1 / (1 + np.exp(w * (1 + GELU_K * w**2) * (-2 * GELU_C)))


def gelu_prime(z):
    """s + 2 c w (1 + 3 k w^2) s (1 - s), w the clipped z (0 where it is clipped anyway)."""
    w, s = np.clip(z, -GELU_CLIP, GELU_CLIP), gelu_s(z)
    return s + w * (1 + 3 * GELU_K * w**2) * (2 * GELU_C) * ((1 - s) * s)


def softmax(z):
    """e^(z_k - m) / sum_j e^(z_j - m) along each row, m the row's max (no overflow)."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# name: (f(z), f'(a, z), written in terms of the output a = f(z) where a determines it)
ACTIVATIONS = {
    "sigmoid": (sigmoid, lambda a, z: a * (1 - a)),
    "tanh": (np.tanh, lambda a, z: 1 - a**2),
    "relu": (lambda z: np.maximum(z, 0), lambda a, z: (a > 0).astype(a.dtype)),
    "leaky_relu": (lambda z: np.maximum(z, LEAKY_SLOPE * z),
                   lambda a, z: np.where(a > 0, 1, LEAKY_SLOPE).astype(a.dtype)),
    "linear": (lambda z: z, lambda a, z: np.ones_like(a)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))),
            lambda a, z: np.minimum(a, 0) + 1),  # e^z = a + 1 where z <= 0
    "softplus": (lambda z: np.maximum(z, 0)
                 + np.log1p(np.exp(np.maximum(-np.abs(z), softplus_floor(z.dtype)))),
                 lambda a, z: -np.expm1(-a)),  # = sigmoid(z)
    "swish": (lambda z: z * sigmoid(z), lambda a, z: sigmoid(z) + a * (1 - sigmoid(z))),
    "gelu": (lambda z: z * gelu_s(z), lambda a, z: gelu_prime(z)),  # the tanh form
    "softmax": (softmax, None),  # only under ce, whose output delta needs no f'
}
LOSSES = ("mse", "sse", "bce", "ce")


def loss_value(loss: str, a, z, y) -> float:
    """E over the N = y.size targets (points x outputs); ce averages over the points."""
    if loss == "ce":  # mean over the points of -sum_k y_k log a_k = logsumexp(z) - y . z
        m = z.max(axis=1, keepdims=True)
        logsumexp = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return float(np.mean(logsumexp - (y * z).sum(axis=1)))
    e = (a - y).ravel()
    if loss == "sse":
        return 0.5 * float(e @ e)  # 1/2 sum (a - y)^2; e @ e is the sum of squares
    if loss == "mse":
        return float(e @ e) / y.size  # mean (a - y)^2
    # bce: mean -[y log a + (1 - y) log(1 - a)] for a = sigmoid(z), which is
    # mean softplus(z) - y z: computed from z, it never takes log(0)
    return float(np.mean(np.logaddexp(0, z) - y * z))


def output_delta(loss: str, a, z, y, f_prime):
    """delta_L = dE/da * f'(z) for the output layer."""
    if loss == "sse":
        return (a - y) * f_prime(a, z)  # dE/da = a - y
    if loss == "mse":
        return 2 * (a - y) / y.size * f_prime(a, z)  # dE/da = 2 (a - y) / N
    if loss == "ce":  # over N points: the softmax's Jacobian cancels as the sigmoid's does
        return (a - y) / len(y)
    # bce: dE/da = (a - y) / (N a (1 - a)), and the sigmoid's f' = a (1 - a) cancels
    return (a - y) / y.size


def forward(network: Network, X):
    """``([a_0 = X, a_1, ..., a_L], [z_1, ..., z_L])``: ``a[l + 1] = f(z[l])``."""
    a, z = [np.asarray(X, dtype=network.dtype)], []
    for i, (W, name) in enumerate(zip(network.weights, network.activation_names, strict=True)):
        b = network.biases[i] if network.bias else 0
        f, _ = ACTIVATIONS[name]
        z.append(a[i] @ W + b)  # layer i + 1: z_{i+1} = a_i W_{i+1} + b_{i+1}
        a.append(f(z[i]))
    return a, z


def backward(network: Network, a, z, y, loss: str):
    """``(dE_data/dW per layer, dE_data/db per layer)`` from the forward pass (no biases: [])."""
    W, names, L = network.weights, network.activation_names, network.n_layers
    _, f_prime = ACTIVATIONS[names[L - 1]]
    delta = output_delta(loss, a[L], z[L - 1], y, f_prime)
    grad_W, grad_b = [None] * L, [None] * L
    for i in reversed(range(L)):  # layer i + 1: input a[i], output a[i + 1]
        grad_W[i] = a[i].T @ delta
        grad_b[i] = delta.sum(axis=0)
        if i > 0:  # on to layer i, whose output is a[i]
            _, f_prime = ACTIVATIONS[names[i - 1]]
            delta = (delta @ W[i].T) * f_prime(a[i], z[i - 1])
    return grad_W, grad_b if network.bias else []


def penalty(weights, l2: float = 0.0, l1: float = 0.0) -> float:
    """l2/2 sum W^2 + l1 sum |W| over the weight matrices (the biases go free)."""
    return sum(l2 / 2 * float(np.sum(w * w)) + l1 * float(np.sum(np.abs(w))) for w in weights)


def penalty_gradients(weights, l2: float = 0.0, l1: float = 0.0):
    """dPenalty/dW per layer: l2 W + l1 sign(W) (sign(0) = 0, the subgradient NumPy gives)."""
    return [l2 * w + l1 * np.sign(w) for w in weights]


def loss_and_gradients(network: Network, X, y, loss: str = "mse", l2: float = 0.0,
                       l1: float = 0.0):
    """``(E, dE/dW per layer, dE/db per layer)``, each gradient shaped like its parameter;
    E is the data loss plus the penalty (none with ``l2 = l1 = 0``)."""
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
    if loss == "bce" and network.activation_names[-1] != "sigmoid":
        raise ValueError(f"loss {loss!r} needs a sigmoid output layer")
    if (loss == "ce") != (network.activation_names[-1] == "softmax"):
        raise ValueError("loss 'ce' and a softmax output layer go together")
    a, z = forward(network, X)
    y = np.asarray(y, dtype=network.dtype).reshape(len(a[0]), -1)
    grad_W, grad_b = backward(network, a, z, y, loss)
    E = loss_value(loss, a[-1], z[-1], y)
    if l2 or l1:
        E += penalty(network.weights, l2, l1)
        grad_W = [g + p for g, p in zip(grad_W, penalty_gradients(network.weights, l2, l1),
                                        strict=True)]
    return E, grad_W, grad_b
