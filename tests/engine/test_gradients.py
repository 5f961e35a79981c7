"""Backpropagation against finite differences: the engine's checker and one of our own."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import gradient_check
from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.losses import LOSS_NAMES
from engine.nn.network import Network

pytestmark = pytest.mark.filterwarnings("error")

COMBOS = list(itertools.product(ACTIVATION_NAMES, LOSS_NAMES, (True, False)))
KINKED = ("relu", "leaky_relu")


# --- an independent, textbook implementation -------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


TEXTBOOK = {
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "linear": lambda z: z,
    "elu": lambda z: np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1),
    "softplus": lambda z: np.log(1 + np.exp(z)),
    "swish": lambda z: z / (1 + np.exp(-z)),
    "gelu": lambda z: 0.5 * z * (1 + np.tanh(np.sqrt(2 / np.pi) * (z + 0.044715 * z**3))),
    "softmax": lambda z: np.exp(z) / np.exp(z).sum(axis=1, keepdims=True),
}


def _reference_forward(weights, biases, acts, X):
    """Every layer's pre-activation, and the output."""
    a, zs = X, []
    for i, (W, act) in enumerate(zip(weights, acts, strict=True)):
        z = a @ W + (biases[i] if biases else 0.0)
        zs.append(z)
        a = TEXTBOOK[act](z)
    return zs, a


def _reference_loss(loss, weights, biases, acts, X, y) -> float:
    zs, a = _reference_forward(weights, biases, acts, X)
    if loss == "mse":
        return float(np.mean((a - y) ** 2))
    if loss == "sse":
        return float(0.5 * np.sum((a - y) ** 2))
    if loss == "ce":  # -sum_k y_k log softmax(z)_k, meaned over the points
        return float(-np.mean(np.sum(y * np.log(a), axis=1)))
    s = _sigmoid(zs[-1])
    return float(np.mean(-(y * np.log(s) + (1 - y) * np.log(1 - s))))


def _relative_error(a: np.ndarray, b: np.ndarray) -> float:
    den = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / den) if den > 0 else 0.0


# --- building random problems ----------------------------------------------------------
def _problem(rng, act: str, loss: str, bias: bool, dtype="float64"):
    """A random network and batch whose pre-activations keep clear of relu's kink."""
    for _ in range(100):
        n_in = int(rng.integers(1, 4))
        hidden = [int(h) for h in rng.integers(1, 6, size=int(rng.integers(0, 3)))]
        n_out = 1 if loss == "bce" else int(rng.integers(1, 3)) + (loss == "ce")
        acts = [act] * (len(hidden) + 1)
        if loss in ("bce", "ce"):
            acts[-1] = "sigmoid" if loss == "bce" else "softmax"
        net = Network([n_in, *hidden, n_out], acts, bias=bias, init="normal",
                      seed=int(rng.integers(2**31)), dtype=dtype)
        if bias:  # biases start at zero; random ones exercise their gradient properly
            net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
        n = int(rng.integers(1, 8))
        X = rng.normal(size=(n, n_in))
        y = (rng.random((n, n_out)) > 0.5).astype(np.float64)
        if loss == "ce":  # one class per point
            y = np.eye(n_out)[rng.integers(0, n_out, n)]
        zs, _ = _reference_forward(net.weights, net.biases, acts, X)
        if act not in KINKED or min(np.abs(z).min() for z in zs) > 1e-3:
            return net, X, y
    raise AssertionError("could not draw a problem away from the kink")


# --- the engine's checker, every combination ------------------------------------------
@pytest.mark.parametrize(("act", "loss", "bias"), COMBOS)
def test_gradient_check_passes_for_every_activation_loss_and_bias(act, loss, bias) -> None:
    rng = np.random.default_rng(COMBOS.index((act, loss, bias)))
    for _ in range(4):
        net, X, y = _problem(rng, act, loss, bias)
        before = [p.copy() for p in net.params]
        checks = gradient_check(net, X, y, loss)
        assert len(checks) == net.n_layers
        for check, W in zip(checks, net.weights, strict=True):
            assert check.error < 1e-6, (net.sizes, check)
            assert (check.bias_error is None) == (not bias)
            assert check.n_checked == W.size + (W.shape[1] if bias else 0)
        # the checker nudges parameters in place and puts them back exactly
        for p, q in zip(before, net.params, strict=True):
            np.testing.assert_array_equal(p, q)


def test_gradient_check_with_per_layer_activations() -> None:
    rng = np.random.default_rng(11)
    acts = ["tanh", "leaky_relu", "sigmoid", "sigmoid"]
    net = Network([2, 5, 4, 3, 1], acts, bias=True, init="normal", seed=4)
    net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
    X, y = rng.normal(size=(6, 2)), (rng.random((6, 1)) > 0.5).astype(float)
    for loss in ("mse", "sse", "bce"):
        assert max(c.error for c in gradient_check(net, X, y, loss)) < 1e-6
    softmax = Network([2, 5, 4, 3, 3], [*acts[:3], "softmax"], bias=True, init="normal", seed=4)
    softmax.set_parameters(softmax.weights, [rng.normal(size=b.shape) for b in softmax.biases])
    y3 = np.eye(3)[rng.integers(0, 3, 6)]
    assert max(c.error for c in gradient_check(softmax, X, y3, "ce")) < 1e-6


def test_ce_and_softmax_go_together() -> None:
    X, y = np.ones((4, 2)), np.eye(2)[[0, 1, 0, 1]]
    sigmoid = Network([2, 3, 2], ["tanh", "sigmoid"], seed=0)
    softmax = Network([2, 3, 2], ["tanh", "softmax"], seed=0)
    with pytest.raises(ValueError, match="softmax output layer go together"):
        sigmoid.loss_and_gradients(X, y, "ce")
    with pytest.raises(ValueError, match="softmax output layer go together"):
        softmax.loss_and_gradients(X, y, "mse")


@pytest.mark.parametrize("out_act", [a for a in ACTIVATION_NAMES if a != "sigmoid"])
def test_bce_is_refused_without_a_sigmoid_output(out_act: str) -> None:
    net = Network([2, 3, 1], ["sigmoid", out_act], seed=0)
    X, y = np.ones((4, 2)), np.ones((4, 1))
    with pytest.raises(ValueError, match="sigmoid output"):
        net.loss_and_gradients(X, y, "bce")
    with pytest.raises(ValueError, match="sigmoid output"):
        gradient_check(net, X, y, "bce")


# --- our own finite differences ----------------------------------------------------------
INDEPENDENT = [(act, loss, True) for act in ACTIVATION_NAMES for loss in LOSS_NAMES] + [
    ("sigmoid", "sse", False), ("tanh", "bce", False), ("relu", "mse", False),
]


@pytest.mark.parametrize(("act", "loss", "bias"), INDEPENDENT)
def test_backprop_matches_an_independent_finite_difference(act, loss, bias) -> None:
    """Textbook forward pass and loss written here, differenced here: trusts no engine code
    except ``loss_and_gradients`` itself."""
    rng = np.random.default_rng(100 + INDEPENDENT.index((act, loss, bias)))
    net, X, y = _problem(rng, act, loss, bias)
    acts = list(net.activation_names)
    weights = [W.copy() for W in net.weights]
    biases = [b.copy() for b in net.biases]
    value, grad_w, grad_b = net.loss_and_gradients(X, y, loss)
    assert value == pytest.approx(_reference_loss(loss, weights, biases, acts, X, y), rel=1e-12)

    h = 1e-6
    for arrays, grads in ((weights, grad_w), (biases, grad_b)):
        for arr, grad in zip(arrays, grads, strict=True):
            numeric = np.zeros_like(arr)
            for idx in np.ndindex(arr.shape):
                saved = arr[idx]
                arr[idx] = saved + h
                up = _reference_loss(loss, weights, biases, acts, X, y)
                arr[idx] = saved - h
                down = _reference_loss(loss, weights, biases, acts, X, y)
                arr[idx] = saved
                numeric[idx] = (up - down) / (2 * h)
            assert _relative_error(grad, numeric) < 1e-6, (act, loss, bias, grad, numeric)


def test_the_course_update_rule() -> None:
    """The seed's sigmoid/sse backprop: delta_out = (y - a) a (1 - a),
    delta_l = (delta_{l+1} @ W_{l+1}.T) a_l (1 - a_l), W_l += lr a_{l-1}.T @ delta_l."""
    rng = np.random.default_rng(21)
    net = Network([2, 10, 5, 3, 5, 1], "sigmoid", bias=False, init="normal", seed=1)
    X, y = rng.uniform(0, 1, (21, 2)), (rng.random((21, 1)) > 0.5).astype(float)
    outs = [X, *net.hidden_outputs(X)]
    deltas = [None] * net.n_layers
    a = outs[-1]
    deltas[-1] = (y - a) * a * (1 - a)
    for layer in range(net.n_layers - 2, -1, -1):
        a = outs[layer + 1]
        deltas[layer] = (deltas[layer + 1] @ net.weights[layer + 1].T) * a * (1 - a)
    value, grad_w, grad_b = net.loss_and_gradients(X, y, "sse")
    assert grad_b == []
    assert value == pytest.approx(0.5 * np.sum((y - outs[-1]) ** 2), rel=1e-12)
    for layer in range(net.n_layers):
        ascent = outs[layer].T @ deltas[layer]  # what the seed adds (times lr)
        np.testing.assert_allclose(-grad_w[layer], ascent, rtol=1e-10, atol=1e-15)


# --- shapes and precision ----------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradients_have_the_parameters_shapes_and_dtype(bias: bool, dtype: str) -> None:
    net = Network([2, 7, 3, 1], ["relu", "tanh", "sigmoid"], bias=bias, seed=2, dtype=dtype)
    X = np.random.default_rng(0).normal(size=(13, 2))
    y = (X[:, :1] > 0).astype(float)
    value, grad_w, grad_b = net.loss_and_gradients(X, y, "bce")
    assert isinstance(value, float)
    assert [g.shape for g in grad_w] == [W.shape for W in net.weights] == [(2, 7), (7, 3), (3, 1)]
    assert [g.shape for g in grad_b] == [b.shape for b in net.biases]
    assert len(grad_b) == (3 if bias else 0)
    assert all(g.dtype == np.dtype(dtype) for g in grad_w + grad_b)
    # returned gradients are copies: changing them does not touch the network
    before = [p.copy() for p in net.params]
    for g in grad_w + grad_b:
        g += 1.0
    for p, q in zip(before, net.params, strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize(("act", "loss"), [("sigmoid", "sse"), ("tanh", "mse"),
                                           ("leaky_relu", "bce"), ("relu", "mse")])
def test_float32_gradients_are_close_to_float64(act: str, loss: str) -> None:
    rng = np.random.default_rng(8)
    acts = [act, act, "sigmoid"] if loss == "bce" else act
    nets = {dt: Network([2, 6, 4, 1], acts, bias=True, init="xavier", seed=5, dtype=dt)
            for dt in ("float64", "float32")}
    X = rng.uniform(-1, 1, (32, 2))
    y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    v64, w64, b64 = nets["float64"].loss_and_gradients(X, y, loss)
    v32, w32, b32 = nets["float32"].loss_and_gradients(X, y, loss)
    assert v32 == pytest.approx(v64, rel=1e-5)
    for g32, g64 in zip(w32 + b32, w64 + b64, strict=True):
        assert g32.dtype == np.float32
        assert _relative_error(g32.astype(np.float64), g64) < 1e-5
