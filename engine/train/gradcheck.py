"""Backpropagation checked against finite differences, layer by layer, with one verdict.

The app's ``g`` and ``nn-tui gradcheck`` both judge with :func:`gradient_check` and
print its words (``GradientCheck.summary``), so they cannot disagree.

**The finite differences.** Every parameter ``θ`` is nudged by ``±h`` and ``±2h``, with
``h = 2**-20 ≈ 9.5e-7``: a power of two, so ``θ ± h`` and ``θ ± 2h`` are exact in float64
for any ``|θ| < 2**32`` and the step itself carries no rounding. The central difference
``D(h) = (f(θ+h) - f(θ-h)) / 2h = f' + h² f'''/6 + O(h⁴)`` is taken at both steps and
extrapolated (Richardson): ``R = (4 D(h) - D(2h)) / 3 = f' + O(h⁴)``. The ``h²`` term
cancels; it is not small on a trained network (measured: 4e-13 against gradients of
5e-12 at a loss of 2e-12).

**The noise.** What remains is rounding. If one evaluation of the loss is off by a
random error of standard deviation ``σ_f``, ``D(h)`` is off by ``σ_f / (√2 h)`` and
``D(2h)`` by ``σ_f / (√8 h)``, so ``R`` by ``σ_R = √(65/72) σ_f / h``; the check's
*noise* is ``δ = 6 σ_R``: over the at most 20,000 entries of a check, a Gaussian error
passes 6σ with a probability of 4e-5. ``σ_f`` is *not* ``eps·|f|``, as the rule of thumb
(error ``≈ h² f''' + eps·|f| / h``) suggests: a network that fits its data to a loss of
3e-11 still computes that loss from outputs of size 1 (a sigmoid at 0.999999 is only
known to within eps of 1), so the loss is uncertain by up to ``eps·|a - y|``, about
1e-21 (measured: 3e-22), where ``eps·|f|`` says 7e-27. Its gradients are about 1e-10
and finite differences are good to about 3e-16 there: a relative error of a few 1e-6 is
all they can show, which is what the check used to call a failure.
:func:`loss_rounding` estimates ``σ_f`` by a running error analysis of the forward pass
(after Higham, *Accuracy and Stability of Numerical Algorithms*), every rounding an
independent error of ``u`` (half of eps) times the size of its result, so that a sum of
``n`` terms errs by about ``√n·u`` rather than the worst case's ``n·u``. Checked against
the measured error of ``R`` on 1,400 random networks (widths up to 40, weights up to 30,
losses down to 1e-15) and on trained ones: no entry's error exceeded 1.4 σ_R, so 6 σ_R
leaves a margin of four.

**The verdict.** Per entry, relative error ``e = |g_bp - g_fd| / max(|g_bp|, |g_fd|, F)``
with the floor ``F = δ / tol``: the smallest gradient that finite differences can check
to ``tol`` at this loss. An entry of at least ``F`` is compared relatively (``e < tol``:
they agree to ``tol``); a smaller one only absolutely (``e < tol``: they agree to within
``δ``, finite differences' own error, so a discrepancy bigger than the noise still
fails). A layer *fails* when some entry has ``e ≥ tol`` (or NaN); it is *inconclusive*
when none of its entries reaches ``F`` (too small to compare: every gradient zero, or
all below what finite differences resolve); else it *passes*. The check fails if a
layer fails, is inconclusive if every layer is, and passes otherwise. Entries whose
nudge moves a relu unit across its kink, where the loss has no derivative and the two
methods rightly disagree, are counted apart and not compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engine.nn.losses import get_loss, loss_value
from engine.nn.network import Network
from engine.nn.reference import penalty

GRADCHECK_TOLERANCE = 1e-6
"""An entry agrees when its relative error is below this (see the module's docstring)."""

STEP = 2.0**-20
"""The finite differences' step ``h`` (≈ 9.5e-7; a power of two, see above)."""

KINKED = frozenset({"relu", "leaky_relu"})
"""Activations with a kink at 0, where the derivative jumps."""

EPS = float(np.finfo(np.float64).eps)  # 2.2e-16, twice the unit roundoff u

SIGMAS = 6.0
"""The noise ``δ`` is this many standard deviations of ``R``'s rounding error."""


@dataclass(frozen=True)
class LayerCheck:
    """One layer's comparison: the largest relative error of its weights and biases.

    ``error`` is ``max |g_bp - g_fd| / max(|g_bp|, |g_fd|, floor)`` over the entries
    compared; ``n_resolved`` of them are at least the floor (compared relatively).
    """

    layer: int  # 1-based
    weight_error: float
    bias_error: float | None  # None when the network has no biases
    n_checked: int
    largest: float  # the largest |gradient| in the layer, backprop or finite differences
    n_resolved: int  # entries of at least the floor
    n_kinked: int = 0  # entries whose nudge crosses a relu kink (or |W| at 0): not compared
    tolerance: float = GRADCHECK_TOLERANCE

    @property
    def error(self) -> float:
        errors = [self.weight_error, 0.0 if self.bias_error is None else self.bias_error]
        return math.nan if any(map(math.isnan, errors)) else max(errors)

    @property
    def verdict(self) -> str:
        """``pass``, ``fail`` or ``inconclusive`` (nothing big enough to compare)."""
        if not self.error < self.tolerance:  # NaN fails
            return "fail"
        return "pass" if self.n_resolved else "inconclusive"

    @property
    def zero(self) -> bool:
        """Every gradient is exactly zero (dead units): nothing at all was compared."""
        return self.largest == 0.0 and not self.n_kinked


@dataclass(frozen=True)
class GradientCheck:
    """Every layer's :class:`LayerCheck`, the check's error figures and its verdict.

    Iterating, ``len`` and indexing go over the layers.
    """

    layers: tuple[LayerCheck, ...]
    loss: float  # the loss at these weights
    noise: float  # δ: how far finite differences can be off, per gradient entry
    floor: float  # F = δ / tolerance: the smallest gradient checked relatively
    tolerance: float = GRADCHECK_TOLERANCE

    def __iter__(self) -> Iterator[LayerCheck]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> LayerCheck:
        return self.layers[index]

    @property
    def worst(self) -> float:
        errors = [c.error for c in self.layers]
        if any(map(math.isnan, errors)):
            return math.nan
        return max(errors, default=math.nan)

    @property
    def largest(self) -> float:
        return max((c.largest for c in self.layers), default=0.0)

    @property
    def verdict(self) -> str:
        """``passed``, ``FAILED`` or ``inconclusive``: the words both front ends print."""
        verdicts = [c.verdict for c in self.layers]
        if not verdicts or "fail" in verdicts:
            return "FAILED"
        return "passed" if "pass" in verdicts else "inconclusive"

    @property
    def passed(self) -> bool:
        return self.verdict == "passed"

    @property
    def inconclusive(self) -> bool:
        return self.verdict == "inconclusive"

    @property
    def reason(self) -> str:
        """The verdict explained in one line, with its figures."""
        tol = f"{self.tolerance:.0e}"
        kinks = sum(c.n_kinked for c in self.layers)
        skipped = f"; {kinks} skipped at relu kinks" if kinks else ""
        if self.verdict == "FAILED":
            return f"max relative error {self.worst:.1e} >= {tol}{skipped}"
        if self.verdict == "passed":
            unsure = [str(c.layer) for c in self.layers if c.verdict == "inconclusive"]
            also = ""
            if unsure:
                also = f"; layer{'s' if len(unsure) > 1 else ''} {', '.join(unsure)} too small"
            return f"max relative error {self.worst:.1e} < {tol}{also}{skipped}"
        if all(c.zero for c in self.layers):
            return "every gradient is zero at these weights (dead relu units?)"
        if self.largest == 0.0:
            return f"every gradient is zero or at a relu kink{skipped}"
        return (f"the gradients (max {self.largest:.1e}) are below what finite differences "
                f"resolve to {tol} at this loss ({self.floor:.1e}){skipped}")

    @property
    def summary(self) -> str:
        """``verdict: reason``."""
        return f"{self.verdict}: {self.reason}"


# ------------------------------------------------------------------ the noise


def loss_rounding(
    net: Network, X: np.ndarray, y: np.ndarray, loss: str, largest: float | None = None
) -> float:
    """The typical rounding error (a standard deviation) of one float64 evaluation of
    the loss near these parameters, where it is at most ``largest`` (default: its value
    here; the finite differences pass ``max f(θ ± h), f(θ ± 2h)``).

    A running error analysis of the forward pass (see the module's docstring). Every
    rounding is taken as an independent error of standard deviation ``u`` times the
    size of its result (a uniform rounding error has ``u/√3``), so errors add in
    quadrature: a dot product of ``n`` terms carries ``√n·u`` times the size of its
    partial sums, where the worst case would say ``n·u``.

    For mse and sse, ``f = c·Σ r²`` with ``r = a - y``, so an error ``e`` in the
    outputs moves ``f`` by ``2c·Σ r e ≤ 2c·|r|·max|e|``: the loss's noise grows with
    the residual, and a nudged parameter can make the residual much bigger than it is
    here (an output with a steep slope, fitted to 1e-8, is 1e-3 off after a nudge of
    1e-6), so ``|r|`` is taken where the loss is largest, ``√(largest / c)``. For bce
    the residual in probability cannot grow that way (``|p - y| ≥ p(1 - p)``, the
    sigmoid's slope, for labels 0 and 1), and its rounding is that of its terms.
    """
    u = EPS / 2
    a = np.asarray(X, dtype=np.float64)
    var = np.zeros_like(a)  # the variance of each entry of ``a``; the inputs are exact
    z = var_z = a
    for p, act, fan_in in zip(net.params, net.activations, net.sizes, strict=False):
        w = p[:fan_in]
        z = a @ w
        size = np.abs(a) @ np.abs(w)  # bounds every partial sum of the dot product
        if net.bias:
            z += p[fan_in]
            size += np.abs(p[fan_in])
        var_z = var @ (w * w) + (fan_in + 1) * (u * size) ** 2
        out = np.empty_like(z)
        act.forward(z, out)
        slope = np.ones_like(out)
        if act.name != "softmax":  # a softmax's Jacobian moves no output more than its input
            act.backward(out, slope, z.copy())  # act'(z); the scratch holds z on entry
        own = u * _own_rounding(act.name, out)
        var = slope**2 * var_z + own**2
        a = out
    n = y.size
    value = loss_value(loss, a, y, z)
    largest = max(abs(value), abs(largest or 0.0))
    fn = get_loss(loss)
    if fn.name == "ce":  # the mean over points of logsumexp(z) - y . z; d/dz = (a - y) / N
        lse = np.logaddexp.reduce(z, axis=1)
        rounded = 2 * lse**2 + np.sum(y * z, axis=1) ** 2
        var_f = float(np.sum((a - y) ** 2 * var_z) + u**2 * np.sum(rounded)) / len(y) ** 2
    elif fn.of_squares is None:  # bce: the mean of softplus(z) - y z, from the logits
        softplus = np.logaddexp(0.0, z)
        product = np.where((y == 0) | (y == 1), 0.0, y * z)  # exact for labels 0 and 1
        rounded = 2 * softplus**2 + product**2 + (softplus - y * z) ** 2
        var_f = float(np.sum((a - y) ** 2 * var_z + u**2 * rounded)) / max(n, 1) ** 2
    else:  # f = c Σ r², r = a - y: the outputs' error, then r's and r²'s own roundings
        squares = largest / fn.of_squares(1.0, n)  # Σ r² where the loss is largest
        var_f = (fn.grad_scale(n) ** 2 * squares * float(np.max(var, initial=0.0))
                 + 5 * (u * largest) ** 2)
    return math.sqrt(var_f + n * (u * largest) ** 2)  # and the sum over the n terms


def _own_rounding(name: str, out: np.ndarray) -> np.ndarray | float:
    """An activation's own rounding, in units of u: sigmoid and tanh go through tanh, whose
    result is of size up to 1 (the sigmoid is 0.5 tanh(z/2) + 0.5); relu, leaky_relu and
    linear are z or 0.01 z; elu, softplus, swish and gelu round a few times on the way
    to an output of size |a|, through results of size up to 1 (exp, tanh)."""
    if name in ("sigmoid", "tanh"):
        return 1.0
    if name in ("relu", "leaky_relu", "linear"):
        return np.abs(out)
    return 3 * (1 + np.abs(out))


# ------------------------------------------------------------------ the differences


class _Loss:
    """The loss at the network's current parameters, forward from a given layer.

    The inputs of every layer at the unnudged parameters are kept, so nudging a
    parameter of layer ``i`` recomputes layers ``i`` onwards only; the sign pattern of
    every relu-like unit is kept too, so a nudge that crosses a kink is noticed.
    """

    def __init__(self, net: Network, X: np.ndarray, y: np.ndarray, loss: str,
                 l2: float = 0.0, l1: float = 0.0) -> None:
        self.net, self.y, self.loss, self.l2, self.l1 = net, y, loss, l2, l1
        self.kinked = [name in KINKED for name in net.activation_names]
        self.largest = 0.0  # the largest loss met (see loss_rounding)
        self.inputs = [X]
        self.signs: list[np.ndarray | None] = []
        for i in range(net.n_layers):
            a, z = self._layer(i, self.inputs[i])
            self.inputs.append(a)
            self.signs.append(z > 0 if self.kinked[i] else None)

    def _layer(self, i: int, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        net, fan_in = self.net, self.net.sizes[i]
        p = net.params[i]
        z = a @ p[:fan_in]
        if net.bias:
            z += p[fan_in]
        out = np.empty_like(z)
        net.activations[i].forward(z, out)
        return out, z

    def __call__(self, start: int) -> tuple[float, bool]:
        """``(loss, crossed)``: ``crossed`` when some relu unit changed sides."""
        a, z, crossed = self.inputs[start], self.inputs[start], False
        for i in range(start, self.net.n_layers):
            a, z = self._layer(i, a)
            if self.kinked[i] and not crossed:
                crossed = not np.array_equal(z > 0, self.signs[i])
        value = loss_value(self.loss, a, self.y, z)
        if self.l2 or self.l1:
            value += penalty(self.net.weights, self.l2, self.l1)
        if abs(value) > self.largest or math.isnan(value):
            self.largest = abs(value)
        return value, crossed


def _numeric_gradient(
    f: _Loss, layer: int, array: np.ndarray, h: float, is_weight: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Richardson-extrapolated central differences for every entry of ``array`` (a view
    into layer ``layer``'s parameters, nudged in place and restored exactly), and where
    a nudge crossed a relu kink."""
    grad = np.zeros(array.shape, dtype=np.float64)
    kinked = np.zeros(array.shape, dtype=bool)
    flat, gflat, kflat = array.reshape(-1), grad.reshape(-1), kinked.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        values, crossed = [], False
        for step in (h, -h, 2 * h, -2 * h):
            flat[i] = saved + step
            value, moved = f(layer)
            values.append(value)
            crossed = crossed or moved
        # |W| has a kink at 0: a weight within the nudges of it is not resolved either
        crossed = crossed or bool(f.l1 and is_weight and abs(saved) <= 2 * h)
        flat[i] = saved
        d1 = (values[0] - values[1]) / (2 * h)
        d2 = (values[2] - values[3]) / (4 * h)
        gflat[i] = (4 * d1 - d2) / 3
        kflat[i] = crossed
    return grad, kinked


def _compare(
    analytic: np.ndarray, numeric: np.ndarray, kinked: np.ndarray, floor: float
) -> tuple[float, float, int]:
    """``(max relative error, largest |gradient|, entries of at least the floor)``."""
    size = np.maximum(np.abs(analytic), np.abs(numeric))
    keep = ~kinked
    size, diff = size[keep], np.abs(analytic - numeric)[keep]
    if not size.size:
        return 0.0, 0.0, 0
    den = np.maximum(size, max(floor, np.finfo(np.float64).tiny))
    error = float(np.max(diff / den))
    resolved = int(np.count_nonzero((size >= floor) & (size > 0)))
    return error, float(np.max(size)), resolved


def gradient_check(
    net: Network,
    X: np.ndarray,
    y: np.ndarray,
    loss: str = "mse",
    step: float = STEP,
    tolerance: float = GRADCHECK_TOLERANCE,
    l2: float = 0.0,
    l1: float = 0.0,
) -> GradientCheck:
    """Compare ``net.loss_and_gradients`` with finite differences for every layer; with
    ``l2`` or ``l1`` the loss is the data loss plus the penalty on the weights.

    The network is evaluated in place (each parameter is nudged and restored), so it
    is left exactly as it was. Use float64: float32 cannot resolve the step.
    """
    X = np.asarray(X, dtype=net.dtype)
    y = np.asarray(y, dtype=net.dtype).reshape(len(X), -1)
    value, grad_w, grad_b = net.loss_and_gradients(X, y, loss, l2, l1)
    f = _Loss(net, X, y, loss, l2, l1)
    pairs = []  # per layer: (backprop, finite differences, kinks) for weights, biases
    for i in range(net.n_layers):
        arrays = [(grad_w[i], net.weights[i], True)]
        arrays += [(grad_b[i], net.biases[i], False)] if net.bias else []
        pairs.append([(g, *_numeric_gradient(f, i, array, step, is_weight))
                      for g, array, is_weight in arrays])
    # R's rounding: (16/2 + 1/8) / 9 of the loss's variance over h², at SIGMAS deviations
    noise = SIGMAS * math.sqrt(65 / 72) * loss_rounding(net, X, y, loss, f.largest) / step
    floor = noise / tolerance
    layers = []
    for i, layer in enumerate(pairs):
        compared = [_compare(g, fd, kinks, floor) for g, fd, kinks in layer]
        n_kinked = sum(int(np.count_nonzero(kinks)) for _, _, kinks in layer)
        layers.append(LayerCheck(
            i + 1, compared[0][0], compared[1][0] if net.bias else None,
            sum(g.size for g, _, _ in layer), max(c[1] for c in compared),
            sum(c[2] for c in compared), n_kinked, tolerance,
        ))
    return GradientCheck(tuple(layers), float(value), noise, floor, tolerance)


__all__ = ["GRADCHECK_TOLERANCE", "GradientCheck", "LayerCheck", "gradient_check",
           "loss_rounding"]
