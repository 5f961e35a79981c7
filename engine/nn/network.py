"""A fully connected network whose layers compute ``act(a @ W + b)``.

Parameters are stored *augmented*: layer ``l`` keeps one array ``P`` of shape
``(fan_in + 1, fan_out)`` whose first ``fan_in`` rows are ``W`` and whose last row
is ``b`` (no extra row when ``bias=False``). With a column of ones appended to the
layer's input, ``[a, 1] @ P == a @ W + b``: the bias costs no extra NumPy call in
the forward pass, and ``[a, 1].T @ delta`` yields the weight and bias gradients in
one matrix product. ``.weights`` and ``.biases`` are views into these arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.nn import reference
from engine.nn.activations import ACTIVATION_NAMES, Activation, get_activation

INITS = ("xavier", "he", "normal", "uniform")
DTYPES = ("float64", "float32")
PREDICT_CHUNK = 65_536  # rows per chunk in predict


def _layer_activations(activations: str | Sequence[str], n_layers: int) -> tuple[str, ...]:
    names = [activations] if isinstance(activations, str) else list(activations)
    if len(names) == 1:
        names = names * n_layers
    if len(names) != n_layers:
        raise ValueError(
            f"activations: give one name for every layer or one per layer ({n_layers}), "
            f"got {len(names)}"
        )
    for name in names:
        get_activation(name)
    return tuple(names)


def _initial_matrix(rng: np.random.Generator, init: str, fan_in: int, fan_out: int) -> np.ndarray:
    if init == "xavier":  # Glorot uniform: keeps the activation variance for tanh/sigmoid
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, (fan_in, fan_out))
    if init == "he":  # He normal: for relu layers
        return rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in)
    if init == "normal":  # the seed's plain random weights
        return rng.standard_normal((fan_in, fan_out))
    if init == "uniform":
        return rng.uniform(-1.0, 1.0, (fan_in, fan_out))
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


class Network:
    """A multilayer perceptron: ``sizes = [n_in, h1, ..., n_out]``."""

    def __init__(
        self,
        sizes: Sequence[int],
        activations: str | Sequence[str] = "sigmoid",
        bias: bool = True,
        init: str = "xavier",
        seed: int | None = None,
        dtype: str = "float64",
    ) -> None:
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or any(s < 1 for s in sizes):
            raise ValueError(f"sizes must be at least two positive integers, got {list(sizes)}")
        if str(dtype) not in DTYPES:
            raise ValueError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
        self.sizes = sizes
        self.activation_names = _layer_activations(activations, len(sizes) - 1)
        self.activations: tuple[Activation, ...] = tuple(
            get_activation(n) for n in self.activation_names
        )
        self.bias = bool(bias)
        self.init = init
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        self.params: list[np.ndarray] = []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            p = np.zeros((fan_in + self.bias, fan_out), dtype=self.dtype)
            p[:fan_in] = _initial_matrix(rng, init, fan_in, fan_out)
            self.params.append(p)

    # --- parameters -----------------------------------------------------------
    @property
    def n_layers(self) -> int:
        return len(self.params)

    @property
    def weights(self) -> list[np.ndarray]:
        """Weight matrices shaped ``(fan_in, fan_out)`` (views into the parameters)."""
        return [p[:fan_in] for p, fan_in in zip(self.params, self.sizes, strict=False)]

    @property
    def biases(self) -> list[np.ndarray]:
        """Bias vectors shaped ``(fan_out,)``; empty when the network has no biases."""
        if not self.bias:
            return []
        return [p[fan_in] for p, fan_in in zip(self.params, self.sizes, strict=False)]

    @property
    def n_parameters(self) -> int:
        return int(sum(p.size for p in self.params))

    def set_parameters(self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]) -> None:
        """Replace every weight and bias (shapes must match the architecture)."""
        if len(weights) != self.n_layers or len(biases) != (self.n_layers if self.bias else 0):
            raise ValueError("set_parameters: wrong number of weight or bias arrays")
        for i, (p, fan_in) in enumerate(zip(self.params, self.sizes, strict=False)):
            w = np.asarray(weights[i])
            if w.shape != (fan_in, p.shape[1]):
                raise ValueError(
                    f"layer {i + 1}: weights must be {(fan_in, p.shape[1])}, got {w.shape}"
                )
            p[:fan_in] = w
            if self.bias:
                b = np.asarray(biases[i])
                if b.shape != (p.shape[1],):
                    raise ValueError(f"layer {i + 1}: bias must be {(p.shape[1],)}, got {b.shape}")
                p[fan_in] = b

    def copy(self) -> Network:
        """An independent network with the same architecture and parameters."""
        clone = Network.__new__(Network)
        clone.__dict__.update(self.__dict__)
        clone.params = [p.copy() for p in self.params]
        return clone

    def describe(self) -> str:
        """``2 → 4 → 4 → 1`` with activations, e.g. for a status line."""
        arrows = " → ".join(str(s) for s in self.sizes)
        acts = ",".join(dict.fromkeys(self.activation_names))
        return f"{arrows}  [{acts}]  {self.n_parameters} parameters"

    # --- passes -----------------------------------------------------------------
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Forward pass that keeps no state: outputs shaped ``(n, n_out)``.

        Large inputs go through in chunks, so a prediction over a million points never
        needs a million-by-width temporary per layer.
        """
        a = np.asarray(X, dtype=self.dtype)
        if a.ndim != 2 or a.shape[1] != self.sizes[0]:
            raise ValueError(f"predict: X must be shaped (n, {self.sizes[0]}), got {a.shape}")
        if len(a) <= PREDICT_CHUNK:
            return self._forward(a)
        out = np.empty((len(a), self.sizes[-1]), dtype=self.dtype)
        for start in range(0, len(a), PREDICT_CHUNK):
            out[start : start + PREDICT_CHUNK] = self._forward(a[start : start + PREDICT_CHUNK])
        return out

    def _forward(self, a: np.ndarray) -> np.ndarray:
        for p, act, fan_in in zip(self.params, self.activations, self.sizes, strict=False):
            z = a @ p[:fan_in]
            if self.bias:
                z += p[fan_in]
            a = np.empty_like(z)
            act.forward(z, a)  # forward may not write over its input (leaky_relu reads z twice)
        return a

    def hidden_outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Every layer's output for ``X`` (input excluded), without touching training state."""
        a = np.asarray(X, dtype=self.dtype)
        outs = []
        for p, act, fan_in in zip(self.params, self.activations, self.sizes, strict=False):
            z = a @ p[:fan_in]
            if self.bias:
                z += p[fan_in]
            a = np.empty_like(z)
            act.forward(z, a)
            outs.append(a)
        return outs

    def loss_and_gradients(
        self, X: np.ndarray, y: np.ndarray, loss: str = "mse", l2: float = 0.0, l1: float = 0.0
    ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
        """``(loss, grad_weights, grad_biases)``, gradients shaped like the parameters
        (``grad_biases`` is empty without biases): backpropagation as the course writes it,
        ``engine/nn/reference.py``. The trainer computes the same on its own buffers."""
        return reference.loss_and_gradients(self, X, y, loss, l2, l1)


__all__ = ["Network", "INITS", "DTYPES", "ACTIVATION_NAMES"]
