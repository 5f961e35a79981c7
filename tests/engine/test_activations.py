"""Activations: textbook values, derivatives written from the output, and no overflow."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from engine.nn.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    LEAKY_SLOPE,
    apply,
    get_activation,
)

GELU_C, GELU_K = np.sqrt(2 / np.pi), 0.044715  # written out: the textbook's, not ours

pytestmark = pytest.mark.filterwarnings("error")

DTYPES = (np.float64, np.float32)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# name -> (textbook forward, textbook derivative as a function of z)
TEXTBOOK = {
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
        lambda z: np.where(z > 0, 1.0, LEAKY_SLOPE),
    ),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "elu": (lambda z: np.where(z > 0, z, np.exp(np.minimum(z, 0)) - 1),
            lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    "softplus": (lambda z: np.log1p(np.exp(z)), _sigmoid),
    "swish": (lambda z: z * _sigmoid(z),
              lambda z: _sigmoid(z) + z * _sigmoid(z) * (1 - _sigmoid(z))),
    # 0.5 (1 + tanh(u)) written as sigmoid(2u): the same function, without the
    # cancellation of 1 + tanh(u) for negative z (ours is computed so)
    "gelu": (lambda z: z * _sigmoid(2 * GELU_C * (z + GELU_K * z**3)),
             lambda z: _sigmoid(2 * GELU_C * (z + GELU_K * z**3))
             + 2 * z * _sigmoid(2 * GELU_C * (z + GELU_K * z**3))
             * _sigmoid(-2 * GELU_C * (z + GELU_K * z**3)) * GELU_C * (1 + 3 * GELU_K * z**2)),
}

EXTREMES = np.array(
    [-1e4, -9999.5, -1e3, -710.0, -100.0, -40.0, -1.0, -1e-30, 0.0, 1e-30, 1.0, 40.0, 100.0,
     710.0, 1e3, 9999.5, 1e4]
)


def _moderate(dtype=np.float64) -> np.ndarray:
    rng = np.random.default_rng(7)
    z = np.concatenate([np.linspace(-6, 6, 61), rng.uniform(-6, 6, 200)])
    z = z[np.abs(z) > 1e-3][:247]  # relu's kink: the derivative is a convention there
    return z.reshape(19, 13).astype(dtype)


def _forward(name: str, z: np.ndarray) -> np.ndarray:
    out = np.empty_like(z)
    ACTIVATIONS[name].forward(z, out)
    return out


def _backward(name: str, a: np.ndarray, delta: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``delta * act'(z)``; the scratch holds ``z`` on entry, as the workspaces pass it."""
    delta = delta.copy()
    ACTIVATIONS[name].backward(a, delta, z.copy())
    return delta


def test_registry_holds_the_documented_activations() -> None:
    assert ACTIVATION_NAMES == ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "elu",
                                "softplus", "swish", "gelu")
    assert set(TEXTBOOK) == set(ACTIVATION_NAMES)
    for name, act in ACTIVATIONS.items():
        assert act.name == name and act.description


def test_unknown_activation_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ValueError, match="unknown activation 'softmin'.*sigmoid, tanh"):
        get_activation("softmin")


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_matches_the_textbook_formula(name: str) -> None:
    z = _moderate()
    expected = TEXTBOOK[name][0](z)
    np.testing.assert_allclose(_forward(name, z), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(apply(name, z), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_matches_the_textbook_formula_in_float32(name: str) -> None:
    z = _moderate(np.float32)
    out = _forward(name, z)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, TEXTBOOK[name][0](z.astype(np.float64)), rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backward_multiplies_by_the_textbook_derivative(name: str) -> None:
    z = _moderate()
    delta = np.random.default_rng(1).normal(size=z.shape)
    got = _backward(name, _forward(name, z), delta, z)
    np.testing.assert_allclose(got, delta * TEXTBOOK[name][1](z), rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_backward_agrees_with_finite_differences_of_forward(name: str) -> None:
    """Independent of the textbook table: d/dz of the module's own forward."""
    z = _moderate()
    h = 1e-6
    numeric = (_forward(name, z + h) - _forward(name, z - h)) / (2 * h)
    analytic = _backward(name, _forward(name, z), np.ones_like(z), z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_forward_leaves_its_input_untouched_and_backward_works_in_place(name: str) -> None:
    z = _moderate()
    before = z.copy()
    out = np.empty_like(z)
    assert ACTIVATIONS[name].forward(z, out) is None
    np.testing.assert_array_equal(z, before)
    delta = np.full_like(z, 2.0)
    assert ACTIVATIONS[name].backward(out, delta, z.copy()) is None
    np.testing.assert_allclose(delta, 2.0 * TEXTBOOK[name][1](z), rtol=1e-11, atol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_huge_pre_activations_give_no_warning_and_no_nan(name: str, dtype) -> None:
    rng = np.random.default_rng(3)
    z = np.concatenate([EXTREMES, rng.uniform(-1e4, 1e4, 100)]).astype(dtype).reshape(-1, 3)
    # underflow to 0 (e.g. tanh(1e-30)**2 in float32) is harmless, so it is not raised
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        a = _forward(name, z)
        d = _backward(name, a, np.ones_like(z), z)
        d_big = _backward(name, a, np.full_like(z, 1e3), z)
    for arr in (a, d, d_big):
        assert arr.dtype == dtype
        assert np.isfinite(arr).all()
    if name == "sigmoid":
        assert ((a >= 0) & (a <= 1)).all()
        assert a[z >= 100].min() == 1.0 and a[z <= -100].max() == 0.0
        assert ((d >= 0) & (d <= 0.25)).all()
    if name == "tanh":
        assert ((a >= -1) & (a <= 1)).all()
        assert ((d >= 0) & (d <= 1)).all()
    if name in ("relu", "leaky_relu", "linear"):
        np.testing.assert_allclose(a, TEXTBOOK[name][0](z.astype(np.float64)), rtol=1e-6)
