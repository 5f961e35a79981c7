"""Network: parameter shapes, activations per layer, a stateless predict, seeds and dtypes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.network import INITS, Network

pytestmark = pytest.mark.filterwarnings("error")

DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=40)


def _batch(n=17, n_in=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, n_in))
    return X, (X[:, :1] > X[:, 1:2]).astype(np.float64)


# --- parameters --------------------------------------------------------------------------
@pytest.mark.parametrize("sizes", [(2, 1), (2, 4, 4, 1), (2, 10, 5, 3, 5, 1), (3, 1, 2)])
def test_weight_and_bias_shapes(sizes) -> None:
    net = Network(sizes, bias=True, seed=0)
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    assert [W.shape for W in net.weights] == pairs
    assert [b.shape for b in net.biases] == [(fan_out,) for _, fan_out in pairs]
    assert net.n_layers == len(pairs)
    assert net.n_parameters == sum((i + 1) * o for i, o in pairs)


def test_no_biases_means_an_empty_list() -> None:
    net = Network((2, 4, 4, 1), bias=False, seed=0)
    assert net.biases == []
    assert [W.shape for W in net.weights] == [(2, 4), (4, 4), (4, 1)]
    assert net.n_parameters == 2 * 4 + 4 * 4 + 4


def test_biases_start_at_zero_and_weights_do_not() -> None:
    for init in INITS:
        net = Network((2, 8, 8, 1), bias=True, init=init, seed=3)
        assert all((b == 0).all() for b in net.biases)
        assert all(np.count_nonzero(W) == W.size for W in net.weights)


def test_xavier_weights_stay_within_their_limit() -> None:
    net = Network((2, 30, 1), init="xavier", seed=1)
    for W in net.weights:
        limit = np.sqrt(6 / sum(W.shape))
        assert np.abs(W).max() <= limit


def test_weights_and_biases_are_views_of_the_parameters() -> None:
    net = Network((2, 3, 1), bias=True, seed=0)
    X, _ = _batch()
    before = net.predict(X)
    net.weights[0][...] = 0.0
    net.biases[1][...] = 5.0
    assert (net.params[0][:2] == 0).all() and (net.params[1][3] == 5).all()
    assert not np.array_equal(before, net.predict(X))


def test_set_parameters_and_its_checks() -> None:
    net = Network((2, 3, 1), bias=True, seed=0)
    ws = [np.full((2, 3), 0.5), np.full((3, 1), -1.0)]
    bs = [np.arange(3.0), np.array([2.0])]
    net.set_parameters(ws, bs)
    for got, want in zip(net.weights + net.biases, ws + bs, strict=True):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="wrong number"):
        net.set_parameters(ws[:1], bs)
    with pytest.raises(ValueError, match="layer 2: weights"):
        net.set_parameters([ws[0], np.ones((1, 3))], bs)
    with pytest.raises(ValueError, match="layer 1: bias"):
        net.set_parameters(ws, [np.ones(4), bs[1]])


def test_copy_is_independent() -> None:
    net = Network((2, 3, 1), seed=0)
    clone = net.copy()
    clone.weights[0][...] = 0
    assert np.count_nonzero(net.weights[0]) == net.weights[0].size
    X, _ = _batch()
    assert not np.array_equal(net.predict(X), clone.predict(X))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(sizes=(2,)), "at least two positive integers"),
        (dict(sizes=(2, 0, 1)), "at least two positive integers"),
        (dict(sizes=(2, 1), dtype="float16"), "unknown dtype"),
        (dict(sizes=(2, 1), init="zeros"), "unknown init"),
        (dict(sizes=(2, 1), activations="mish"), "unknown activation"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Network(**kwargs)


# --- activations per layer -------------------------------------------------------------
def test_one_activation_name_serves_every_layer() -> None:
    assert Network((2, 4, 4, 1), "tanh").activation_names == ("tanh", "tanh", "tanh")
    assert Network((2, 4, 4, 1), ["relu"]).activation_names == ("relu", "relu", "relu")


def test_per_layer_activations() -> None:
    net = Network((2, 4, 4, 1), ["relu", "tanh", "sigmoid"])
    assert net.activation_names == ("relu", "tanh", "sigmoid")
    assert [a.name for a in net.activations] == ["relu", "tanh", "sigmoid"]
    assert "relu,tanh,sigmoid" in net.describe() and "2 → 4 → 4 → 1" in net.describe()


@pytest.mark.parametrize("acts", [["relu", "sigmoid"], ["relu"] * 4, []])
def test_activation_list_of_the_wrong_length_is_refused(acts) -> None:
    with pytest.raises(ValueError, match="one per layer \\(3\\)"):
        Network((2, 4, 4, 1), acts)


# --- predict ---------------------------------------------------------------------------
def test_predict_keeps_no_state() -> None:
    net = Network((2, 5, 4, 1), ["tanh", "relu", "sigmoid"], bias=True, seed=9)
    X, y = _batch(23)
    other = np.random.default_rng(1).normal(size=(5, 2)) * 10
    params = [p.copy() for p in net.params]
    attributes = set(vars(net))
    first = net.loss_and_gradients(X, y, "bce")
    p1 = net.predict(other)
    p2 = net.predict(other)
    net.hidden_outputs(other)
    second = net.loss_and_gradients(X, y, "bce")
    np.testing.assert_array_equal(p1, p2)
    assert first[0] == second[0]
    for g1, g2 in zip(first[1] + first[2], second[1] + second[2], strict=True):
        np.testing.assert_array_equal(g1, g2)
    for p, q in zip(params, net.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert set(vars(net)) == attributes  # no cache was left on the object


def test_predict_matches_a_manual_forward_pass_and_does_not_touch_x() -> None:
    net = Network((2, 3, 1), ["tanh", "sigmoid"], bias=True, seed=4)
    net.set_parameters(net.weights, [np.array([0.1, -0.2, 0.3]), np.array([0.05])])
    X, _ = _batch(6)
    X_before = X.copy()
    out = net.predict(X)
    W1, W2 = net.weights
    b1, b2 = net.biases
    expected = 1 / (1 + np.exp(-(np.tanh(X @ W1 + b1) @ W2 + b2)))
    np.testing.assert_allclose(out, expected, rtol=1e-13)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(net.hidden_outputs(X)[-1], out)


def test_predict_refuses_the_wrong_shape() -> None:
    net = Network((2, 3, 1), seed=0)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        net.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        net.predict(np.ones(2))


# --- seeds and dtypes ------------------------------------------------------------------
@pytest.mark.parametrize("init", INITS)
def test_the_same_seed_gives_the_same_network(init: str) -> None:
    a = Network((2, 6, 3, 1), init=init, seed=42, bias=True)
    b = Network((2, 6, 3, 1), init=init, seed=42, bias=True)
    c = Network((2, 6, 3, 1), init=init, seed=43, bias=True)
    for p, q in zip(a.params, b.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert any(not np.array_equal(p, q) for p, q in zip(a.params, c.params, strict=True))


def test_float32_is_respected_everywhere() -> None:
    net = Network((2, 4, 1), ["tanh", "sigmoid"], bias=True, seed=1, dtype="float32")
    ref = Network((2, 4, 1), ["tanh", "sigmoid"], bias=True, seed=1, dtype="float64")
    assert net.dtype == np.float32
    assert all(p.dtype == np.float32 for p in net.params)
    assert all(a.dtype == np.float32 for a in net.weights + net.biases)
    X, y = _batch()
    out = net.predict(X)  # float64 input is accepted and computed in float32
    assert out.dtype == np.float32
    assert all(h.dtype == np.float32 for h in net.hidden_outputs(X))
    np.testing.assert_allclose(out, ref.predict(X), rtol=1e-5)
    _, gw, gb = net.loss_and_gradients(X, y, "mse")
    assert all(g.dtype == np.float32 for g in gw + gb)


# --- random architectures ----------------------------------------------------------------
@st.composite
def architectures(draw):
    hidden = draw(st.lists(st.integers(1, 6), min_size=1, max_size=3))
    acts = draw(st.lists(st.sampled_from(ACTIVATION_NAMES), min_size=len(hidden) + 1,
                         max_size=len(hidden) + 1))
    bias = draw(st.booleans())
    init = draw(st.sampled_from(INITS))
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from(["float64", "float32"]))
    return hidden, acts, bias, init, seed, n, dtype


@DETERMINISTIC
@given(architectures())
def test_random_architectures_predict_and_differentiate(arch) -> None:
    hidden, acts, bias, init, seed, n, dtype = arch
    net = Network([2, *hidden, 1], acts, bias=bias, init=init, seed=seed, dtype=dtype)
    X, y = _batch(n, seed=seed % 1000)
    out = net.predict(X)
    assert out.shape == (n, 1)
    assert out.dtype == np.dtype(dtype)
    assert np.isfinite(out).all()
    losses = ["mse", "sse"] + (["bce"] if acts[-1] == "sigmoid" else [])
    for loss in losses:
        value, gw, gb = net.loss_and_gradients(X, y, loss)
        assert np.isfinite(value)
        assert [g.shape for g in gw] == [W.shape for W in net.weights]
        assert [g.shape for g in gb] == [b.shape for b in net.biases]
        assert len(gb) == (len(hidden) + 1 if bias else 0)
        assert all(np.isfinite(g).all() for g in gw + gb)
    np.testing.assert_array_equal(net.predict(X), out)


def test_predict_in_chunks_equals_one_pass(monkeypatch):
    import engine.nn.network as network_module

    net = Network([2, 6, 1], "tanh", seed=3)
    X = np.random.default_rng(0).normal(size=(1000, 2))
    whole = net.predict(X)
    monkeypatch.setattr(network_module, "PREDICT_CHUNK", 64)
    np.testing.assert_array_equal(net.predict(X), whole)
