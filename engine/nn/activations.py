"""Activation functions as plain registries, each written next to its derivative.

Every activation works in place on preallocated buffers, in the manner of
scikit-learn's ``neural_network/_base.py``:

* ``forward(z, out)`` writes ``act(z)`` into ``out`` and leaves ``z`` untouched
  (the output layer of a ``bce`` network still needs its pre-activation); ``out``
  must not be ``z``.
* ``backward(a, delta, scratch)`` multiplies ``delta`` in place by ``act'(z)``,
  written in terms of the forward *output* ``a`` where the activation allows it (the
  course's ``a (1 - a)``). ``scratch`` holds the pre-activation ``z`` on entry (the
  workspaces pass each layer's ``z`` buffer, which nothing overwrites between the
  passes) and may be overwritten: swish and gelu are not monotonic, so their
  derivative cannot be read off ``a`` and is computed from ``z``.

Each one is written once, as the list of NumPy calls it makes on given buffers
(``forward_calls`` / ``backward_calls``): the trainer strings these lists into one
flat tape per epoch (see ``engine/fast/workspace.py``), and ``forward`` / ``backward``
simply run them. Constants go in as 0-d arrays of the buffers' dtype: NumPy
converts a Python float argument again on every call, which on the small arrays
of the course's networks costs about as much as the arithmetic.

All of them are overflow-free for pre-activations of any finite size: the sigmoid
is computed as ``0.5 * tanh(z / 2) + 0.5``, which never calls ``exp``; elu takes
``expm1`` of ``min(z, 0)`` only; softplus takes ``exp`` of ``-|z|`` only; gelu (the
tanh approximation: NumPy has no erf) cubes ``z`` clipped to [-9, 9]. None of them
underflows to a subnormal either.
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


def _minimum_into(out: np.ndarray) -> Callable[..., object]:
    """``np.minimum`` writing into ``out``."""
    return functools.partial(np.minimum, out=out)


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


# elu(z) = z if z > 0 else e^z - 1 (alpha = 1) = max(z, expm1(min(z, 0)));
# d/dz = 1 where a > 0 else e^z = a + 1, i.e. min(a, 0) + 1
def _elu(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [
        (_minimum_into(out), (z, scalar(0.0, out))),
        (np.expm1, (out, out)),  # of min(z, 0): never overflows
        (_maximum_into(out), (z, out)),  # expm1(z) >= z, so this picks z only for z > 0
    ]


def _elu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return [
        (_minimum_into(scratch), (a, scalar(0.0, scratch))),
        (np.add, (scratch, scalar(1.0, scratch), scratch)),
        (np.multiply, (delta, scratch, delta)),
    ]


# softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|); d/dz = sigmoid(z) = 1 - e^-a,
# which is -expm1(-a): a >= 0, so e^-a <= 1 never overflows, and expm1 keeps the tiny
# slopes of very negative z (a ~ e^z) exact. -|z| is raised to softplus_floor first:
# below it e^-|z| would underflow to a subnormal (a FloatingPointError under
# np.errstate(all="raise")); the log1p term is then e^floor, a few times the smallest
# normal number, instead of less (invisible beside max(z, 0), and still > 0 below).
def softplus_floor(dtype: np.dtype) -> float:
    """log of the smallest normal number of ``dtype``, plus 1."""
    return float(np.log(np.finfo(dtype).tiny)) + 1.0


def _softplus(z: np.ndarray, out: np.ndarray) -> list[Call]:
    positive = np.empty_like(out)  # max(z, 0), allocated once, when the tape is built
    return [
        (np.abs, (z, out)),
        (np.negative, (out, out)),
        (_maximum_into(out), (out, scalar(softplus_floor(out.dtype), out))),
        (np.exp, (out, out)),
        (np.log1p, (out, out)),
        (_maximum_into(positive), (z, scalar(0.0, out))),
        (np.add, (out, positive, out)),
    ]


def _softplus_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    return [
        (np.negative, (a, scratch)),
        (np.expm1, (scratch, scratch)),  # e^-a - 1 = -sigmoid(z)
        (np.multiply, (delta, scratch, delta)),
        (np.negative, (delta, delta)),
    ]


def _sigmoid_into(z: np.ndarray, out: np.ndarray) -> list[Call]:
    """``out = sigmoid(z)`` (``out`` may be ``z``)."""
    half = scalar(0.5, out)
    return [
        (np.multiply, (z, half, out)),
        (np.tanh, (out, out)),
        (np.multiply, (out, half, out)),
        (np.add, (out, half, out)),
    ]


# swish(z) = z sigmoid(z) (SiLU); d/dz = s + z s (1 - s) = s + a (1 - s), s = sigmoid(z).
# Not monotonic: s comes from z (the scratch), into a buffer of the tape's own.
def _swish(z: np.ndarray, out: np.ndarray) -> list[Call]:
    return [*_sigmoid_into(z, out), (np.multiply, (out, z, out))]


def _swish_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    s = np.empty_like(scratch)  # allocated once, when the tape is built
    return [
        *_sigmoid_into(scratch, s),
        (np.subtract, (scalar(1.0, scratch), s, scratch)),  # 1 - s (z no longer needed)
        (np.multiply, (scratch, a, scratch)),
        (np.add, (scratch, s, scratch)),  # s + a (1 - s)
        (np.multiply, (delta, scratch, delta)),
    ]


# gelu(z) = 0.5 z (1 + tanh(u)), u = c (z + k z^3), c = sqrt(2 / pi), k = 0.044715: the
# tanh approximation (Hendrycks & Gimpel; NumPy has no erf for the exact form). Computed
# as z s with s = 0.5 (1 + tanh(u)) = sigmoid(2u) = 1 / (1 + e^-2u), which keeps its
# relative precision where 1 + tanh(u) would cancel (negative z, and float32).
# d/dz = s + 2 z s (1 - s) c (1 + 3 k z^2)   (0.5 (1 - tanh^2 u) = 2 s (1 - s)).
# z is clipped to [-9, 9] inside u: e^-2u stays below 1e29 (no overflow, even in float32),
# while s is already within 1e-28 of 0 or 1 there (so gelu is z or 0 to that).
GELU_C = float(np.sqrt(2.0 / np.pi))
GELU_K = 0.044715
GELU_CLIP = 9.0


def _gelu_s_calls(w: np.ndarray, s: np.ndarray) -> list[Call]:
    """``s = sigmoid(2u) = 1 / (1 + e^-2u)`` for ``w``, the clipped z."""
    return [
        (np.multiply, (w, w, s)),
        (np.multiply, (s, scalar(GELU_K, s), s)),
        (np.add, (s, scalar(1.0, s), s)),
        (np.multiply, (s, w, s)),  # w (1 + k w^2)
        (np.multiply, (s, scalar(-2 * GELU_C, s), s)),  # -2u
        (np.exp, (s, s)),
        (np.add, (s, scalar(1.0, s), s)),
        (np.divide, (scalar(1.0, s), s, s)),
    ]


def _clip_calls(z: np.ndarray, w: np.ndarray) -> list[Call]:
    return [(np.clip, (z, scalar(-GELU_CLIP, w), scalar(GELU_CLIP, w), w))]


def _gelu(z: np.ndarray, out: np.ndarray) -> list[Call]:
    s = np.empty_like(out)  # allocated once, when the tape is built
    return [*_clip_calls(z, out), *_gelu_s_calls(out, s), (np.multiply, (s, z, out))]


def _gelu_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    s, q = np.empty_like(scratch), np.empty_like(scratch)
    return [
        *_clip_calls(scratch, scratch),  # scratch = w, the clipped z
        *_gelu_s_calls(scratch, s),
        (np.multiply, (scratch, scratch, q)),
        (np.multiply, (q, scalar(3 * GELU_K, q), q)),
        (np.add, (q, scalar(1.0, q), q)),
        (np.multiply, (q, scratch, q)),
        (np.multiply, (q, scalar(2 * GELU_C, q), q)),  # 2 c w (1 + 3 k w^2)
        (np.subtract, (scalar(1.0, scratch), s, scratch)),
        (np.multiply, (scratch, s, scratch)),  # s (1 - s)
        (np.multiply, (q, scratch, q)),
        (np.add, (q, s, q)),
        (np.multiply, (delta, q, delta)),
    ]


# softmax(z)_k = e^(z_k - m) / sum_j e^(z_j - m) over the last axis (the classes), m the
# row's max: no exp overflows. It is an output layer only, and only under the ce loss,
# whose dL/dz = (a - y) / N already includes its Jacobian: it has no backward of its own.
# The workspaces, which hold classes in rows, pass it transposed views.
def _softmax(z: np.ndarray, out: np.ndarray) -> list[Call]:
    row = np.empty((*z.shape[:-1], 1), dtype=out.dtype)  # per point: the max, then the sum
    return [
        (np.maximum.reduce, (z, -1, None, row, True)),
        (np.subtract, (z, row, out)),
        (np.exp, (out, out)),
        (np.add.reduce, (out, -1, None, row, True)),
        (np.divide, (out, row, out)),
    ]


def _softmax_backward(a: np.ndarray, delta: np.ndarray, scratch: np.ndarray) -> list[Call]:
    raise ValueError("softmax has no backward of its own: it is the output of a ce network, "
                     "whose delta is (a - y) / N")


SOFTMAX = Activation("softmax", _softmax, _softmax_backward,
                     "e^z_k / sum_j e^z_j over the classes (the output of ce)")

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, _sigmoid_backward, "1 / (1 + e^-z), output in (0, 1)"),
        Activation("tanh", _tanh, _tanh_backward, "tanh(z), output in (-1, 1)"),
        Activation("relu", _relu, _relu_backward, "max(z, 0)"),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_backward, f"max(z, {LEAKY_SLOPE} z)"),
        Activation("linear", _linear, _linear_backward, "z (no activation)"),
        Activation("elu", _elu, _elu_backward, "z if z > 0 else e^z - 1 (alpha = 1)"),
        Activation("softplus", _softplus, _softplus_backward, "log(1 + e^z)"),
        Activation("swish", _swish, _swish_backward, "z sigmoid(z) (SiLU)"),
        Activation("gelu", _gelu, _gelu_backward,
                   "0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))), the tanh form"),
    )
}
ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)
"""The activations a layer may choose; ``softmax`` is only ever the output of ce."""


def get_activation(name: str) -> Activation:
    """Look an activation up by name, with a message listing the valid names."""
    if name == "softmax":
        return SOFTMAX
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
