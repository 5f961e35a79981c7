"""Buffers and prebuilt passes for K networks of one architecture, stacked on axis 0.

The single trainer's workspace (``engine/fast/workspace.py``) holds one network's batch
feature-major, ``(features, n)``, with a row of ones below the features for the bias.
Stacked, every buffer gets a leading axis of K networks: ``(K, features, n)``, each
network's block contiguous, so that every elementwise call runs on one contiguous
slab and every product is ``np.matmul`` on stacks (one BLAS product per network, the
same kernel whatever K is: a network's floats do not depend on its neighbours).

A ones row inside each network's block would make the activations a strided view
(``x[:, :fan_in]``), and elementwise calls on such views measured five times slower.
So the bias is added apart: ``z += b`` (broadcast over the batch), and its gradient is
a product with a row of ones, ``1ᵀ δ`` (the single trainer's ones row, on its own).

The rest is the single workspace's arithmetic, from the same helpers: sigmoid layers
from the input up take a halved input (so ``z/2`` comes out of the product, and the
bias is added halved), and each layer's derivative is written from its output. A
penalty on the weights (``l2``, ``l1``, shared by the stack: they are in ``stack_key``)
adds ``decay_l2 W + decay_l1 sign(W)`` to each weight gradient, the decays per network
(``(K, 1, 1)``: l2 and l1 times each network's ``-lr`` for plain SGD, else 1).

Shapes (``b`` = batch, ``L`` layers):

* ``inputs[l]``  ``(K, fan_in_l, b)``: layer l's input (``inputs[0]``: ``(1, n_in, b)``,
  one copy shared by all, for a full batch)
* ``z[l]``, ``delta[l]``  ``(K, fan_out_l, b)``;  ``output``, ``diff``, ``y``  ``(K, n_out, b)``
* ``grads[l]``  ``(K, fan_in_l + bias, fan_out_l)``, like the parameters
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from engine.fast.workspace import halved_layers, penalty_gradient_calls
from engine.nn.activations import (
    Activation,
    Call,
    run,
    scalar,
    sigmoid_halved_backward_calls,
    sigmoid_halved_calls,
)
from engine.nn.losses import Loss


def stacked_bytes(sizes: tuple[int, ...], k: int, n: int, bias: bool, itemsize: int) -> int:
    """Bytes a StackWorkspace of ``k`` networks and batches of ``n`` allocates."""
    per_point = sum(sizes[:-1]) + 2 * sum(sizes[1:]) + 3 * sizes[-1]
    grads = sum((a + int(bias)) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return k * (n * per_point + grads) * itemsize


class StackWorkspace:
    """Training buffers for ``k`` networks on batches of ``n`` points."""

    def __init__(
        self, sizes: tuple[int, ...], acts: tuple[Activation, ...], bias: bool,
        dtype: np.dtype, k: int, n: int, loss: Loss, shared_data: bool,
        l2: float = 0.0, l1: float = 0.0, regression: bool = False,
    ) -> None:
        self.k, self.n, self.acts, self.bias = k, n, acts, bias
        self.sizes, self.dtype = sizes, np.dtype(dtype)
        self.halved = halved_layers([a.name for a in acts], loss.through_output)
        dt, kd = self.dtype, (1 if shared_data else k)  # a full batch: one copy of the data
        self.inputs = [np.empty((kd, sizes[0], n), dt)]
        self.inputs += [np.empty((k, f, n), dt) for f in sizes[1:-1]]
        self.z = [np.empty((k, f, n), dt) for f in sizes[1:]]
        self.delta = [np.empty((k, f, n), dt) for f in sizes[1:]]
        self.output = np.empty((k, sizes[-1], n), dt)
        self.diff = np.empty((k, sizes[-1], n), dt)
        self.diff_rows = self.diff.reshape(k, -1)  # one row per network: its loss's input
        self.diff_flat = self.diff.reshape(-1)
        self.y = np.empty((kd, sizes[-1], n), dt)
        self.y_class = np.empty((kd, sizes[-1], n), bool)
        self.grads = [np.empty((k, a + int(bias), b), dt)
                      for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        self.predicted = np.empty((k, sizes[-1], n), bool)
        self.half = np.array(0.5, dtype=dt)  # the 0-d threshold of a prediction
        # the factor on each network's output delta (loss factor, times -lr for plain SGD)
        self.scale = np.zeros((k, 1, 1), dt)
        # the ones row of the bias gradient, 0.5 for a layer whose input is halved
        self.ones = [np.full((1, 1, n), 0.5 if h else 1.0, dt) for h in self.halved]
        self.half_bias = [np.empty((k, f, 1), dt) for f in sizes[1:]]
        self._dest = self.inputs[1:] + [self.output]
        self.l2, self.l1 = float(l2), float(l1)
        self.penalized = self.l2 > 0 or self.l1 > 0
        self.decay_l2, self.decay_l1 = np.zeros((k, 1, 1), dt), np.zeros((k, 1, 1), dt)
        self._penalty_scratch = [np.empty((k, a, b), dt)
                                 for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
        # regression: each batch's sum of (y - mean y)^2, ``(kd,)``, for R^2 (as the single's)
        self.regression = regression
        self.spread: np.ndarray | None = None

    def load(self, X: np.ndarray, y: np.ndarray) -> None:
        """Copy batches in: ``X`` ``(kd, b, n_in)``, ``y`` ``(kd, b, n_out)``."""
        np.multiply(X.transpose(0, 2, 1), 0.5 if self.halved[0] else 1.0, out=self.inputs[0])
        self.y[...] = y.transpose(0, 2, 1)
        np.greater(self.y, 0.5, self.y_class)
        self.spread = None  # measured when a score needs it (not by mini-batch epochs)

    # --- the tapes ---------------------------------------------------------------
    def forward_calls(self, params: list[np.ndarray]) -> list[Call]:
        """Every layer ``z = Wᵀ x (+ b)``, ``a = act(z)``; then ``diff = a_out - y``."""
        calls: list[Call] = []
        halved_input = self.halved[1:] + [False]
        for layer, (x, p, z) in enumerate(zip(self.inputs, params, self.z, strict=True)):
            fan_in = self.sizes[layer]
            calls.append((_matmul_into(z), (p[:, :fan_in].transpose(0, 2, 1), x)))
            if self.bias:
                calls += self._bias_calls(layer, p[:, fan_in:].transpose(0, 2, 1), z)
            dest = self._dest[layer]
            if self.halved[layer]:
                calls += sigmoid_halved_calls(z, dest, 0.25 if halved_input[layer] else 0.5)
            elif self.acts[layer].name == "softmax":  # over the classes: axis 1 here
                calls += self.acts[layer].forward_calls(z.transpose(0, 2, 1),
                                                        dest.transpose(0, 2, 1))
            else:
                calls += self.acts[layer].forward_calls(z, dest)
        calls.append((np.subtract, (self.output, self.y, self.diff)))
        return calls

    def _bias_calls(self, layer: int, b: np.ndarray, z: np.ndarray) -> list[Call]:
        """``z += b`` (``b / 2`` onto a halved product, as the single's 0.5 ones row adds)."""
        if not self.halved[layer]:
            return [(np.add, (z, b, z))]
        half = self.half_bias[layer]
        return [(np.multiply, (b, scalar(0.5, half), half)), (np.add, (z, half, z))]

    def backward_calls(self, params: list[np.ndarray], loss: Loss) -> list[Call]:
        """From ``diff`` to ``grads = scale * dL/dparams``, network by network's scale."""
        top = self.delta[-1]
        calls: list[Call] = [(np.multiply, (self.diff, self.scale, top))]
        if not loss.through_output:
            calls += self._derivative(len(params) - 1, self.output, top)
        for layer in range(len(params) - 1, -1, -1):
            d, fan_in = self.delta[layer], self.sizes[layer]
            d_t, g = d.transpose(0, 2, 1), self.grads[layer]
            calls.append((_matmul_into(g[:, :fan_in]), (self.inputs[layer], d_t)))
            if self.penalized:
                calls += self._penalty_calls(params[layer][:, :fan_in], g[:, :fan_in], layer)
            if self.bias:
                calls.append((_matmul_into(g[:, fan_in:]), (self.ones[layer], d_t)))
            if layer:
                below = self.delta[layer - 1]
                calls.append(_product(params[layer][:, :fan_in], d, below))
                calls += self._derivative(layer - 1, self.inputs[layer], below)
        return calls

    def _penalty_calls(self, W: np.ndarray, g: np.ndarray, layer: int) -> list[Call]:
        """``g += decay_l2 W + decay_l1 sign(W)``, each network by its own decays."""
        return penalty_gradient_calls(W, g, self._penalty_scratch[layer], self)

    def penalties(self, params: list[np.ndarray]) -> np.ndarray:
        """Each network's l2/2 sum W^2 + l1 sum |W| (weights only), ``(K,)`` float64."""
        total = np.zeros(len(params[0]), np.float64)
        for p, fan_in in zip(params, self.sizes, strict=False):
            w = p[:, :fan_in].reshape(len(p), -1)
            if self.l2:
                total += self.l2 / 2 * np.vecdot(w, w)
            if self.l1:
                total += self.l1 * np.abs(w).sum(axis=1)
        return total

    def _derivative(self, layer: int, written: np.ndarray, delta: np.ndarray) -> list[Call]:
        if self.halved[layer]:
            return sigmoid_halved_backward_calls(written, delta, self.z[layer])
        return self.acts[layer].backward_calls(written, delta, self.z[layer])

    def update_calls(self, params: list[np.ndarray], spare: list[np.ndarray]) -> list[Call]:
        """``spare = params + grads``: plain SGD's step (its ``-lr`` is in ``scale``)."""
        return [(np.add, (p, g, s)) for p, g, s in zip(params, self.grads, spare, strict=True)]

    # --- figures of the last forward pass ---------------------------------------------
    def forward(self, params: list[np.ndarray]) -> None:
        run(self.forward_calls(params))

    def correct(self) -> np.ndarray:
        """How many outputs each network classified right in the last forward pass, ``(K,)``."""
        if self.output.shape[1] == 1:
            np.greater(self.output, self.half, self.predicted)
            np.equal(self.predicted, self.y_class, self.predicted)
            return np.count_nonzero(self.predicted, axis=(1, 2))
        return np.count_nonzero(self.output.argmax(1) == self.y.argmax(1), axis=1)

    def scores(self) -> np.ndarray:
        """Each network's figure of merit, ``(K,)``: the fraction classified right, or for a
        regression R^2 = 1 - sum (a - y)^2 / sum (y - mean y)^2 (NaN if y is constant)."""
        if not self.regression:
            return self.correct() / self.n
        if self.spread is None:  # each batch's sum of (y - mean y)^2
            rows = self.y.reshape(len(self.y), -1)
            centred = rows - rows.mean(axis=1, keepdims=True)
            self.spread = np.vecdot(centred, centred)
        residual = np.vecdot(self.diff_rows, self.diff_rows)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.spread > 0, 1.0 - residual / self.spread, np.nan)

    def absolute_errors(self) -> np.ndarray:
        """Each network's sum of |a - y| of the last forward pass, ``(K,)``."""
        return np.abs(self.diff_rows).sum(axis=1)

    def losses(self, loss: Loss) -> np.ndarray:
        """Each network's loss of the last forward pass, ``(K,)`` float64."""
        if loss.of_squares is not None:
            squares = np.vecdot(self.diff_rows, self.diff_rows)
            return np.asarray(loss.of_squares(squares, self.diff_rows.shape[1]), np.float64)
        return self.ce_losses() if loss.per_point else self.bce_losses()

    def bce_losses(self) -> np.ndarray:
        """softplus(z) - y z, meaned per network (the single's ``_bce``, row by row)."""
        z = self.z[-1]
        terms = np.logaddexp(0.0, z) - self.y * z
        return np.add.reduce(terms.reshape(self.k, -1), axis=1) / max(terms[0].size, 1)

    def ce_losses(self) -> np.ndarray:
        """logsumexp(z) - y . z over the classes (axis 1), meaned over each network's points
        (the single's ``_ce``, network by network)."""
        z = self.z[-1]
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        terms = lse - (self.y * z).sum(axis=1)  # (K, n)
        return terms.mean(axis=1) if self.n else np.zeros(self.k)


def _product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> Call:
    """``out = a @ b`` on stacks; an outer product (inner size 1) as a broadcast multiply,
    the same floats at a fraction of the cost of K one-term products."""
    if a.shape[-1] == 1:
        return (np.multiply, (a, b, out))
    return (_matmul_into(out), (a, b))


def _matmul_into(out: np.ndarray) -> Callable[..., object]:
    """``np.matmul`` writing into ``out`` (the ufunc takes ``out`` only as a keyword)."""
    return functools.partial(np.matmul, out=out)
