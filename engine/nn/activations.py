"""Activation functions as plain registries, each written next to its derivative.

Every activation works in place on preallocated buffers, in the manner of
scikit-learn's ``neural_network/_base.py``:

* ``forward(z, out)`` writes ``act(z)`` into ``out`` and leaves ``z`` untouched
  (the output layer of a ``bce`` network still needs its pre-activation); ``out``
  must not be ``z``.
* ``backward(a, delta, scratch)`` multiplies ``delta`` in place by ``act'(z)``,
  written in terms of the forward *output* ``a`` so that no pre-activation has to
  be kept for the backward pass.

Each one is written once, as the list of NumPy calls it makes on given buffers
(``forward_calls`` / ``backward_calls``): the trainer strings these lists into one
flat tape per epoch (see ``engine/fast/workspace.py``), and ``forward`` / ``backward``
simply run them. Constants go in as 0-d arrays of the buffers' dtype: NumPy
converts a Python float argument again on every call, which on the small arrays
of the course's networks costs about as much as the arithmetic.

All of them are overflow-free for pre-activations of any finite size: the sigmoid
is computed as ``0.5 * tanh(z / 2) + 0.5``, which never calls ``exp``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01

Call = tuple[Callable[..., object], tuple]  # one NumPy call: the function and its arguments


def run(calls: list[Call]) -> None:
    """Make the calls, in order."""
    for f, args in calls:
        f(*args)


def scalar(value: float, like: np.ndarray) -> np.ndarray | float:
    """``value`` as a 0-d array of ``like``'s float dtype (the same number NumPy would use)."""
    return np.array(value, dtype=like.dtype) if like.dtype.kind == "f" else value


@dataclass(frozen=True)
class Activation:
    """One activation: its forward map and the in-place derivative product, as calls."""

    name: str
    forward_calls: Callable[[np.ndarray, np.ndarray], list[Call]]
    backward_calls: Callable[[np.ndarray, np.ndarray, np.ndarray], list[Call]]
    description: str

    def forward(self, z: np.ndarray, out: np.ndarray) -> None:
        run(self.forward_calls(z, out))

    def backward(self, a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> None:
        run(self.backward_calls(a, delta, scratch))


# sigmoid(z) = 1 / (1 + e^-z) = 0.5 * tanh(z / 2) + 0.5; d/dz = a * (1 - a)
def _sigmoid(z: np.ndarray, out: np.ndarray) -> list[Call]:
    half = scalar(0.5, out)
    return [
        (np.multiply, (z, half, out)),
        (np.tanh, (out, out)),
        (np.multiply, (out, half, out)),
        (np.add, (out, half, out)),
    ]


def _sigmoid_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return [
        (np.multiply, (a, a, scratch)),
        (np.subtract, (a, scratch, scratch)),  # a - a^2 = a (1 - a)
        (np.multiply, (delta, scratch, delta)),
    ]


# The sigmoid on a halved input, for the workspace's sigmoid layers (see
# engine/fast/workspace.py): the layer's input holds x / 2, so its buffer ``z`` already
# holds z / 2 and ``a = 0.5 tanh(z / 2) + 0.5`` takes three calls instead of four. The
# output is the same number as ``_sigmoid``'s, bit for bit. ``factor`` is 0.5 to write
# ``a``, or 0.25 to write ``a / 2`` for a next layer that takes a halved input too.
# ``t = tanh(z / 2)`` stays in ``z`` for the derivative: 2 a (1 - a) = a (1 - t).
def sigmoid_halved_calls(z: np.ndarray, out: np.ndarray, factor: float) -> list[Call]:
    f = scalar(factor, out)
    return [(np.tanh, (z, z)), (np.multiply, (z, f, out)), (np.add, (out, f, out))]


def sigmoid_halved_backward_calls(
    written: np.ndarray, delta: np.ndarray, t: np.ndarray
) -> list[Call]:
    """``delta *= written * (1 - t)``: ``2 a (1 - a)`` if the layer wrote ``a``, ``a (1 - a)``
    if it wrote ``a / 2``; the workspace's deltas carry the matching factor of two."""
    return [
        (np.subtract, (scalar(1.0, t), t, t)),
        (np.multiply, (t, written, t)),
        (np.multiply, (delta, t, delta)),
    ]


# tanh(z); d/dz = 1 - a^2
def _tanh(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [(np.tanh, (z, out))]


def _tanh_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    one = scalar(1.0, scratch)
    return [
        (np.multiply, (a, a, scratch)),
        (np.subtract, (one, scratch, scratch)),
        (np.multiply, (delta, scratch, delta)),
    ]


def _maximum_into(out: np.ndarray) -> Callable[..., object]:
    """``np.maximum`` writing into ``out`` (it takes ``out`` only as a keyword)."""
    return functools.partial(np.maximum, out=out)


# relu(z) = max(z, 0); d/dz = 1 where a > 0 else 0
def _relu(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [(_maximum_into(out), (z, scalar(0.0, out)))]


def _relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return [
        (np.greater, (a, scalar(0.0, a), scratch)),  # 1.0 / 0.0 written in the buffer's dtype
        (np.multiply, (delta, scratch, delta)),
    ]


# leaky_relu(z) = max(z, slope * z) for 0 < slope < 1; d/dz = 1 where a > 0 else slope.
# The output has the sign of the input, so the derivative can be read from a.
def _leaky_relu(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [(np.multiply, (z, scalar(LEAKY_SLOPE, out), out)), (_maximum_into(out), (z, out))]


def _leaky_relu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return [
        (np.greater, (a, scalar(0.0, a), scratch)),
        (np.multiply, (scratch, scalar(1.0 - LEAKY_SLOPE, scratch), scratch)),
        (np.add, (scratch, scalar(LEAKY_SLOPE, scratch), scratch)),
        (np.multiply, (delta, scratch, delta)),
    ]


# linear(z) = z; d/dz = 1
def _linear(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [] if out is z else [(np.copyto, (out, z))]


def _linear_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return []


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
