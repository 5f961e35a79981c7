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

Every pass is a flat list of NumPy calls on these buffers (a "tape", see
``forward_calls`` and ``backward_calls``), built once per set of parameter
buffers and cached: on the course's small networks an epoch costs about as much
in Python dispatch as in arithmetic, and a tape leaves one tight loop of calls.
The cache is keyed by the identity of the parameter arrays, so parameters that
are replaced by new arrays (a restored snapshot) simply get a new tape.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from engine.activations import Call, run

if TYPE_CHECKING:  # avoid an import cycle at run time
    from engine.losses import Loss
    from engine.network import Network


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


class Workspace:
    def __init__(self, net: Network, n: int) -> None:
        dt, b, sizes = net.dtype, int(net.bias), net.sizes
        self.n = n
        self.acts = net.activations
        # Feature-major: row i of inputs[l] is feature i over the whole batch. The ones
        # row for the bias sits below the features, so the activation block stays one
        # contiguous slab (a strided view made every elementwise call ~2x slower).
        self.inputs = [np.ones((fan_in + b, n), dtype=dt) for fan_in in sizes[:-1]]
        self.views = [x[:fan_in] for x, fan_in in zip(self.inputs, sizes, strict=False)]
        self.z = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        self.output = np.empty((sizes[-1], n), dtype=dt)
        self.delta = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        self.diff = np.empty((sizes[-1], n), dtype=dt)
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
        self._half = np.array(0.5, dtype=dt)
        self._tapes: dict[tuple, list[Call]] = {}

    def load(self, X: np.ndarray, y: np.ndarray) -> None:
        """Copy a batch (``X`` shaped ``(n, n_in)``, ``y`` ``(n, n_out)``) into the buffers."""
        self.views[0][...] = X.T
        self.y[...] = y.T
        np.greater(self.y, 0.5, self.y_class)

    # --- the tapes ---------------------------------------------------------------
    def forward_calls(self, params: list[np.ndarray]) -> list[Call]:
        """Every layer ``z = P.T @ x, a = act(z)``, then ``diff = a_out - y`` for the loss."""
        calls: list[Call] = []
        for x, p, z, act, dest in zip(
            self.inputs, params, self.z, self.acts, self._dest, strict=True
        ):
            calls.append((np.dot, (p.T, x, z)))
            calls += act.forward_calls(z, dest)
        calls.append((np.subtract, (self.output, self.y, self.diff)))
        return calls

    def backward_calls(self, params: list[np.ndarray], loss: Loss) -> list[Call]:
        """From ``diff`` to ``grads = scale * dL/dparams`` (``scale`` is the 0-d ``self.scale``).

        ``scale`` folds the loss's own factor (e.g. 2/N for mse) and, for plain SGD,
        ``-lr`` into the output delta, so the whole step costs one multiply.
        """
        delta, z, top = self.delta, self.z, self.delta[-1]
        calls: list[Call] = [(np.multiply, (self.diff, self.scale, top))]
        if not loss.through_output:
            calls += self.acts[-1].backward_calls(self.output, top, z[-1])
        for layer in range(len(params) - 1, -1, -1):
            d = delta[layer]
            calls.append((np.dot, (self.inputs[layer], d.T, self.grads[layer])))
            if layer:
                below = delta[layer - 1]
                calls.append((np.dot, (params[layer][: self._fan_in[layer]], d, below)))
                calls += self.acts[layer - 1].backward_calls(self.views[layer], below, z[layer - 1])
        return calls

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
        value = loss.value(self.diff, self.y, self.z[-1])
        self.scale[...] = scale
        run(self.backward_tape(params, loss))
        return value

    def evaluate(self, params: list[np.ndarray], loss: Loss) -> tuple[float, int]:
        """Loss and number classified right, for a forward pass only (test data)."""
        self.forward(params)
        return loss.value(self.diff, self.y, self.z[-1]), self.correct()

    def correct(self) -> int:
        """How many outputs of the last forward pass are classified right."""
        if self.output.shape[0] == 1:
            np.greater(self.output, self._half, self._predicted)  # a 0-d 0.5: no conversion
            np.equal(self._predicted, self.y_class, self._predicted)
            return int(np.count_nonzero(self._predicted))
        return int(np.count_nonzero(self.output.argmax(0) == self.y.argmax(0)))


def _ids(arrays: list[np.ndarray]) -> tuple[int, ...]:
    return tuple(map(id, arrays))
