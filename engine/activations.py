"""Activation functions as plain registries, each written next to its derivative.

Every activation works in place on preallocated buffers, in the manner of
scikit-learn's ``neural_network/_base.py``:

* ``forward(z, out)`` writes ``act(z)`` into ``out`` and leaves ``z`` untouched
  (the output layer of a ``bce`` network still needs its pre-activation); ``out``
  must not be ``z``.
* ``backward(a, delta, scratch)`` multiplies ``delta`` in place by ``act'(z)``,
  written in terms of the forward *output* ``a`` so that no pre-activation has to
  be kept for the backward pass.

All of them are overflow-free for pre-activations of any finite size: the sigmoid
is computed as ``0.5 * tanh(z / 2) + 0.5``, which never calls ``exp``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """One activation: its forward map and the in-place derivative product."""

    name: str
    forward: Callable[[np.ndarray, np.ndarray], None]
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
    description: str


# sigmoid(z) = 1 / (1 + e^-z) = 0.5 * tanh(z / 2) + 0.5; d/dz = a * (1 - a)
def _sigmoid(z: np.ndarray, out: np.ndarray) -> None:
    np.multiply(z, 0.5, out)
    np.tanh(out, out)
    np.multiply(out, 0.5, out)
    np.add(out, 0.5, out)


def _sigmoid_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    np.multiply(a, a, scratch)
    np.subtract(a, scratch, scratch)  # a - a^2 = a (1 - a)
    np.multiply(delta, scratch, delta)


# tanh(z); d/dz = 1 - a^2
def _tanh(z: np.ndarray, out: np.ndarray) -> None:
    np.tanh(z, out)


def _tanh_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    np.multiply(a, a, scratch)
    np.subtract(1.0, scratch, scratch)
    np.multiply(delta, scratch, delta)


# relu(z) = max(z, 0); d/dz = 1 where a > 0 else 0
def _relu(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0.0, out=out)


def _relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    np.greater(a, 0.0, scratch)  # 1.0 / 0.0 written in the buffer's dtype
    np.multiply(delta, scratch, delta)


# leaky_relu(z) = max(z, slope * z) for 0 < slope < 1; d/dz = 1 where a > 0 else slope.
# The output has the sign of the input, so the derivative can be read from a.
def _leaky_relu(z: np.ndarray, out: np.ndarray) -> None:
    np.multiply(z, LEAKY_SLOPE, out)
    np.maximum(z, out, out=out)


def _leaky_relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    np.greater(a, 0.0, scratch)
    np.multiply(scratch, 1.0 - LEAKY_SLOPE, scratch)
    np.add(scratch, LEAKY_SLOPE, scratch)
    np.multiply(delta, scratch, delta)


# linear(z) = z; d/dz = 1
def _linear(z: np.ndarray, out: np.ndarray) -> None:
    if out is not z:
        np.copyto(out, z)


def _linear_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
    return None


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _sigmoid_backward, "1 / (1 + e^-z), output in (0, 1)"),
        Activation("tanh", _tanh, _tanh_backward, "tanh(z), output in (-1, 1)"),
        Activation("relu", _relu, _relu_backward, "max(z, 0)"),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_backward, f"max(z, {LEAKY_SLOPE} z)"),
        Activation("linear", _linear, _linear_backward, "z (no activation)"),
    )
}
ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)


def get_activation(name: str) -> Activation:
    """Look an activation up by name, with a message listing the valid names."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(ACTIVATION_NAMES)}"
        ) from None


def apply(name: str, z: np.ndarray) -> np.ndarray:
    """Out-of-place convenience: ``act(z)`` as a new array."""
    out = np.empty_like(z)
    get_activation(name).forward(z, out)
    return out
