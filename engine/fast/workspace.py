"""Preallocated buffers for the forward and backward pass on batches of one size.

The trainer calls ``forward`` and ``backward`` every epoch; both work only in
these buffers (``out=`` everywhere), so an epoch allocates nothing. The buffers
are local to training: ``Network.predict`` never touches them.

Layout for a network with ``L`` layers (``b`` = 1 with biases, else 0):

* ``inputs[l]``  ``(fan_in_l + b, n)``: layer l's input, transposed, its last row
  all ones when the network has biases (``inputs[0]`` holds the data).
* ``z[l]``       ``(fan_out_l, n)``: pre-activation; reused as scratch by backward.
* ``output``     ``(n_out, n)``: the network's output.
* ``delta[l]``   ``(fan_out_l, n)``: dL/dz of layer l (times the gradient scale).
* ``grads[l]``   shaped like ``params[l]``: ``inputs[l] @ delta[l].T``.

Sigmoid layers take a halved input. The course's networks are sigmoid from the input
up, and ``sigmoid(z) = 0.5 tanh(z / 2) + 0.5`` spends a call on ``z / 2``. So for the
run of sigmoid layers from the first one up (``halved[l]``), ``inputs[l]`` holds
``x / 2`` (data and bias row included, the latter 0.5): ``z[l]`` comes out of the
product already halved, exactly (a power of two scales every product and sum
without rounding), and each such layer writes its activation halved for the next
one. Each of those layers' deltas then carries a factor 2 (``grads`` stays exact:
``(x / 2) (2 delta)``), which the derivative ``2 a (1 - a) = a (1 - t)`` provides at no
cost, ``t = tanh(z / 2)`` being kept in ``z[l]`` (see ``activations.sigmoid_halved_calls``).
The outputs, the loss and the accuracy are the same numbers as with the plain
formula; the gradients agree to rounding. A ``bce`` network's output layer keeps its
plain form: its loss reads the pre-activation ``z[-1]``.

Regularization (``l2``, ``l1`` above 0) adds the penalty's gradient to the weight rows of
``grads`` right after each product: ``l2 W + l1 sign(W)``, times the same factor as the
rest (``-lr`` for plain SGD, else 1: ``set_step``), so the update stays one add. The
penalty's value is ``penalty(params)``. With both 0 the tapes are what they always were.

Every pass is a flat list of NumPy calls on these buffers (a "tape", see
``forward_calls`` and ``backward_calls``), built once per set of parameter
buffers and cached: on the course's small networks an epoch costs about as much
in Python dispatch as in arithmetic, and a tape leaves one tight loop of calls.
The cache is keyed by the identity of the parameter arrays, so parameters that
are replaced by new arrays (a restored snapshot) simply get a new tape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from engine.nn.activations import (
    Call,
    run,
    sigmoid_halved_backward_calls,
    sigmoid_halved_calls,
)

if TYPE_CHECKING:  # avoid an import cycle at run time
    from engine.nn.losses import Loss
    from engine.nn.network import Network


ARITHMETIC = 2
"""The revision of the floats training produces, saved in run files. Raised whenever a
change alters them (2: sigmoid layers on halved inputs, see above), so that a replay can
tell a run saved by an engine that rounds differently from a run that does not reproduce."""


def workspace_bytes(sizes: tuple[int, ...], n: int, bias: bool, itemsize: int) -> int:
    """Bytes a Workspace for a batch of ``n`` allocates (to refuse what would not fit)."""
    b = int(bias)
    per_point = sum(fan_in + b for fan_in in sizes[:-1])  # inputs
    per_point += 2 * sum(sizes[1:])  # z and delta
    per_point += 3 * sizes[-1]  # output, diff, y (and the class masks, counted as items)
    grads = sum(
        (fan_in + b) * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    )
    return (n * per_point + grads) * itemsize


def halved_layers(activations: list[str], keep_output_z: bool) -> list[bool]:
    """Which layers take a halved input: the run of sigmoid layers from the first up,
    without the output layer when its pre-activation must be kept (``bce``)."""
    halved = []
    for index, name in enumerate(activations):
        if name != "sigmoid" or (keep_output_z and index == len(activations) - 1):
            break
        halved.append(True)
    return halved + [False] * (len(activations) - len(halved))


class Workspace:
    def __init__(
        self, net: Network, n: int, loss: Loss | None = None, l2: float = 0.0, l1: float = 0.0,
        regression: bool = False,
    ) -> None:
        """Buffers for batches of ``n``; pass the ``loss`` if the workspace will train, the
        penalty's ``l2`` and ``l1`` if it has one, and ``regression`` for real targets
        (scored by R^2 instead of the classes)."""
        dt, b, sizes = net.dtype, int(net.bias), net.sizes
        self.n = n
        self.acts = net.activations
        self.halved = halved_layers(
            [a.name for a in self.acts], loss is not None and loss.through_output
        )
        # Feature-major: row i of inputs[l] is feature i over the whole batch. The ones
        # row for the bias sits below the features, so the activation block stays one
        # contiguous slab (a strided view made every elementwise call ~2x slower).
        self.inputs = [
            np.full((fan_in + b, n), 0.5 if halved else 1.0, dtype=dt)
            for fan_in, halved in zip(sizes[:-1], self.halved, strict=True)
        ]
        self.views = [x[:fan_in] for x, fan_in in zip(self.inputs, sizes, strict=False)]
        self.z = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        self.output = np.empty((sizes[-1], n), dtype=dt)
        self.delta = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        self.diff = np.empty((sizes[-1], n), dtype=dt)
        self.diff_flat = self.diff.reshape(-1)  # a view: what the losses take
        self.grads = [
            np.empty((fan_in + b, fan_out), dtype=dt)
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.y = np.empty((sizes[-1], n), dtype=dt)
        self.y_class = np.empty((sizes[-1], n), dtype=bool)
        self._predicted = np.empty((sizes[-1], n), dtype=bool)
        # destination of each layer's activation: the next layer's input, or the output
        self._dest = self.views[1:] + [self.output]
        self._fan_in = sizes[:-1]
        # the factor on the output delta, read by the backward tape (set by the trainer)
        self.scale = np.zeros((), dtype=dt)
        self.half = np.array(0.5, dtype=dt)  # the 0-d threshold of a prediction
        self._tapes: dict[tuple, list[Call]] = {}
        self._penalty_setup(l2, l1, dt)
        # The losses read targets and pre-activations one row per point: a softmax (ce)
        # reduces over the classes, which are rows here, so it gets transposed views.
        self.softmax = net.activation_names[-1] == "softmax"
        self.loss_y = self.y.T if self.softmax else self.y
        self.loss_z = self.z[-1].T if self.softmax else self.z[-1]
        self.regression = regression
        self.spread = math.nan  # regression: sum of (y - mean y)^2 of the loaded batch

    # --- the penalty on the weights ------------------------------------------------------
    def _penalty_setup(self, l2: float, l1: float, dt: np.dtype) -> None:
        self.l2, self.l1 = float(l2), float(l1)
        self.penalized = self.l2 > 0 or self.l1 > 0
        # the factors on W and sign(W) in grads: l2 and l1 times set_step's factor
        self.decay_l2, self.decay_l1 = np.zeros((), dt), np.zeros((), dt)
        self._penalty_scratch = [np.empty(g[:fan_in].shape, dt)
                                 for g, fan_in in zip(self.grads, self._fan_in, strict=True)]

    def set_step(self, factor: float) -> None:
        """The factor the grads carry besides the loss's own (``-lr`` for plain SGD, else
        1), for the penalty's gradient to carry it too."""
        self.decay_l2[...] = self.l2 * factor
        self.decay_l1[...] = self.l1 * factor

    def penalty(self, params: list[np.ndarray]) -> float:
        """l2/2 sum W^2 + l1 sum |W| over the weight rows of ``params`` (no biases)."""
        total = 0.0
        for p, fan_in in zip(params, self._fan_in, strict=True):
            w = p[:fan_in].reshape(-1)  # the weight rows are contiguous: a view
            if self.l2:
                total += self.l2 / 2 * float(w.dot(w))
            if self.l1:
                total += self.l1 * float(np.abs(w).sum())
        return total

    def _penalty_calls(self, layer: int, params: list[np.ndarray]) -> list[Call]:
        """``grads[layer]``'s weight rows ``+= decay_l2 W + decay_l1 sign(W)``."""
        fan_in = self._fan_in[layer]
        return penalty_gradient_calls(params[layer][:fan_in], self.grads[layer][:fan_in],
                                      self._penalty_scratch[layer], self)

    def load(self, X: np.ndarray, y: np.ndarray) -> None:
        """Copy a batch (``X`` shaped ``(n, n_in)``, ``y`` ``(n, n_out)``) into the buffers."""
        np.multiply(X.T, 0.5 if self.halved[0] else 1.0, out=self.views[0])
        self.y[...] = y.T
        np.greater(self.y, 0.5, self.y_class)
        self.spread = math.nan  # measured when a score needs it (the trainer's own
        # mini-batch epochs score against the whole set's spread)

    # --- the tapes ---------------------------------------------------------------
    def forward_calls(self, params: list[np.ndarray]) -> list[Call]:
        """Every layer ``z = P.T @ x, a = act(z)``, then ``diff = a_out - y`` for the loss."""
        calls: list[Call] = []
        halved_input = self.halved[1:] + [False]
        for x, p, z, act, dest, halved, next_halved in zip(
            self.inputs, params, self.z, self.acts, self._dest, self.halved, halved_input,
            strict=True,
        ):
            # the method: np.dot's dispatch costs more than a small product
            calls.append((p.T.dot, (x, z)))
            if halved:
                calls += sigmoid_halved_calls(z, dest, 0.25 if next_halved else 0.5)
            elif act.name == "softmax":  # over the classes: the rows here
                calls += act.forward_calls(z.T, dest.T)
            else:
                calls += act.forward_calls(z, dest)
        calls.append((np.subtract, (self.output, self.y, self.diff)))
        return calls

    def backward_calls(self, params: list[np.ndarray], loss: Loss) -> list[Call]:
        """From ``diff`` to ``grads = scale * dL/dparams`` (``scale`` is the 0-d ``self.scale``).

        ``scale`` folds the loss's own factor (e.g. 2/N for mse) and, for plain SGD,
        ``-lr`` into the output delta, so the whole step costs one multiply.
        """
        delta, top = self.delta, self.delta[-1]
        if loss.through_output and self.halved[-1]:
            raise ValueError(f"a workspace for the {loss.name} loss must be made with it")
        calls: list[Call] = [(np.multiply, (self.diff, self.scale, top))]
        if not loss.through_output:
            calls += self._derivative(len(params) - 1, self.output, top)
        for layer in range(len(params) - 1, -1, -1):
            d = delta[layer]
            calls.append((self.inputs[layer].dot, (d.T, self.grads[layer])))
            if self.penalized:
                calls += self._penalty_calls(layer, params)
            if layer:
                below = delta[layer - 1]
                weights = params[layer][: self._fan_in[layer]]
                calls.append((weights.dot, (d, below)))
                calls += self._derivative(layer - 1, self.views[layer], below)
        return calls

    def _derivative(self, layer: int, written: np.ndarray, delta: np.ndarray) -> list[Call]:
        """``delta *= act'`` for ``layer``, from what it wrote; ``z[layer]`` is scratch, and
        still holds the layer's pre-activation, which swish and gelu read."""
        if self.halved[layer]:
            return sigmoid_halved_backward_calls(written, delta, self.z[layer])
        return self.acts[layer].backward_calls(written, delta, self.z[layer])

    def update_calls(self, params: list[np.ndarray], spare: list[np.ndarray]) -> list[Call]:
        """``spare = params + grads``: plain SGD's step, whose ``-lr`` is already in ``grads``."""
        return [(np.add, (p, g, o)) for p, g, o in zip(params, self.grads, spare, strict=True)]

    # Each tape is cached under the ids of the buffers it reads and writes. The tape
    # itself holds those arrays, so an id in the cache always still names its array.
    def forward_tape(self, params: list[np.ndarray]) -> list[Call]:
        return self._cached(("forward", *_ids(params)), lambda: self.forward_calls(params))

    def backward_tape(self, params: list[np.ndarray], loss: Loss) -> list[Call]:
        key = ("backward", loss.through_output, *_ids(params))
        return self._cached(key, lambda: self.backward_calls(params, loss))

    def update_tape(self, params: list[np.ndarray], spare: list[np.ndarray]) -> list[Call]:
        key = ("update", *_ids(params), *_ids(spare))
        return self._cached(key, lambda: self.update_calls(params, spare))

    def _cached(self, key: tuple, build: Callable[[], list[Call]]) -> list[Call]:
        calls = self._tapes.get(key)
        if calls is None:
            if len(self._tapes) >= 16:  # stale: parameters were replaced by new arrays
                self._tapes.clear()
            calls = self._tapes[key] = build()
        return calls

    # --- one pass at a time ---------------------------------------------------------
    def forward(self, params: list[np.ndarray]) -> np.ndarray:
        """Fill every layer's buffers and ``diff``; returns the output buffer ``(n_out, n)``."""
        run(self.forward_tape(params))
        return self.output

    def backward(self, params: list[np.ndarray], loss: Loss, scale: float) -> float:
        """Loss of the last forward pass; leaves ``scale * dL/dparams`` in ``grads``."""
        value = loss.value(self.diff_flat, self.loss_y, self.loss_z)
        self.scale[...] = scale
        run(self.backward_tape(params, loss))
        return value

    def evaluate(self, params: list[np.ndarray], loss: Loss) -> tuple[float, float]:
        """Loss and score (``score``), for a forward pass only (test data)."""
        self.forward(params)
        return loss.value(self.diff_flat, self.loss_y, self.loss_z), self.score()

    def score(self) -> float:
        """The last forward pass's figure of merit: the fraction classified right, or for
        a regression R^2 = 1 - sum (a - y)^2 / sum (y - mean y)^2 (NaN if y is constant)."""
        if self.regression:
            if math.isnan(self.spread):
                centred = self.y - self.y.mean()
                self.spread = float(np.vdot(centred, centred))
            residual = float(self.diff_flat.dot(self.diff_flat))
            return 1.0 - residual / self.spread if self.spread > 0 else math.nan
        return self.correct() / self.n

    def absolute_error(self) -> float:
        """Sum of |a - y| of the last forward pass (for the mean absolute error)."""
        return float(np.abs(self.diff_flat).sum())

    def correct(self) -> int:
        """How many outputs of the last forward pass are classified right."""
        if self.output.shape[0] == 1:
            np.greater(self.output, self.half, self._predicted)  # a 0-d 0.5: no conversion
            np.equal(self._predicted, self.y_class, self._predicted)
            return int(np.count_nonzero(self._predicted))
        return int(np.count_nonzero(self.output.argmax(0) == self.y.argmax(0)))


def penalty_gradient_calls(W: np.ndarray, g: np.ndarray, tmp: np.ndarray, ws) -> list[Call]:
    """``g += decay_l2 W + decay_l1 sign(W)`` with ``ws``'s ``l2``, ``l1`` and decays (0-d
    in a Workspace, one per network in a stack's), ``tmp`` scratch shaped like ``W``."""
    calls: list[Call] = []
    if ws.l2:
        calls += [(np.multiply, (W, ws.decay_l2, tmp)), (np.add, (g, tmp, g))]
    if ws.l1:
        calls += [(np.sign, (W, tmp)), (np.multiply, (tmp, ws.decay_l1, tmp)),
                  (np.add, (g, tmp, g))]
    return calls


def _ids(arrays: list[np.ndarray]) -> tuple[int, ...]:
    return tuple(map(id, arrays))
