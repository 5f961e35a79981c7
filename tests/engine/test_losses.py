"""Losses: values against their direct formulas, gradient factors, and bce's stability."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from engine.nn.losses import LOSS_NAMES, LOSSES, get_loss, loss_value

pytestmark = pytest.mark.filterwarnings("error")


def _data(shape=(9, 2), seed=0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.01, 0.99, shape), (rng.random(shape) > 0.5).astype(np.float64)


def test_registry() -> None:
    assert LOSS_NAMES == ("mse", "sse", "bce", "ce")
    with pytest.raises(ValueError, match="unknown loss 'mae'.*mse, sse, bce"):
        get_loss("mae")
    with pytest.raises(ValueError, match="unknown loss"):
        loss_value("mae", np.zeros((1, 1)), np.zeros((1, 1)))


@pytest.mark.parametrize("shape", [(1, 1), (9, 1), (9, 2), (50, 3)])
def test_mse_is_the_mean_of_squared_errors(shape) -> None:
    a, y = _data(shape)
    expected = sum((ai - yi) ** 2 for ai, yi in zip(a.ravel(), y.ravel(), strict=True)) / a.size
    assert loss_value("mse", a, y) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("shape", [(1, 1), (9, 1), (9, 2), (50, 3)])
def test_sse_is_half_the_sum_of_squared_errors(shape) -> None:
    a, y = _data(shape)
    expected = 0.5 * sum((ai - yi) ** 2 for ai, yi in zip(a.ravel(), y.ravel(), strict=True))
    assert loss_value("sse", a, y) == pytest.approx(expected, rel=1e-13)


def test_hand_computed_values() -> None:
    a = np.array([[0.5], [1.0], [0.0]])
    y = np.array([[1.0], [1.0], [1.0]])
    # errors -0.5, 0, -1: squares 0.25, 0, 1
    assert loss_value("mse", a, y) == pytest.approx(1.25 / 3)
    assert loss_value("sse", a, y) == pytest.approx(0.625)
    z = np.zeros((1, 1))
    assert loss_value("bce", np.full((1, 1), 0.5), np.ones((1, 1)), z) == pytest.approx(math.log(2))


@pytest.mark.parametrize("shape", [(1, 1), (9, 1), (40, 1)])
def test_bce_is_the_mean_cross_entropy_of_the_sigmoid(shape) -> None:
    rng = np.random.default_rng(5)
    z = rng.uniform(-8, 8, shape)
    y = (rng.random(shape) > 0.5).astype(np.float64)
    s = [1 / (1 + math.exp(-zi)) for zi in z.ravel()]
    expected = -sum(
        yi * math.log(si) + (1 - yi) * math.log(1 - si) for si, yi in zip(s, y.ravel(), strict=True)
    ) / z.size
    a = np.array(s).reshape(shape)
    assert loss_value("bce", a, y, z) == pytest.approx(expected, rel=1e-12)
    # without the logit it is recovered from the probability
    assert loss_value("bce", a, y) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_is_stable_for_huge_logits(dtype) -> None:
    z = np.array([[-1e4], [-1e3], [-40.0], [0.0], [40.0], [1e3], [1e4]], dtype=dtype)
    a = np.empty_like(z)
    a[...] = (z > 0).astype(dtype)  # the saturated sigmoid: exactly 0 or 1
    ones, zeros = np.ones_like(z), np.zeros_like(z)
    with warnings.catch_warnings(), np.errstate(all="raise", under="ignore"):
        warnings.simplefilter("error")
        right_1 = loss_value("bce", a, ones, z)
        right_0 = loss_value("bce", a, zeros, z)
        single = [loss_value("bce", a[i : i + 1], ones[i : i + 1], z[i : i + 1]) for i in range(7)]
        from_probs = loss_value("bce", a, ones)  # clipped, never log(0)
    assert all(math.isfinite(v) for v in (right_1, right_0, from_probs, *single))
    # label 1 with z = 1e4 costs nothing; with z = -1e4 it costs 1e4
    assert single[-1] == pytest.approx(0.0, abs=1e-12)
    assert single[0] == pytest.approx(1e4, rel=1e-6)
    assert single[3] == pytest.approx(math.log(2), rel=1e-6)
    assert right_0 == pytest.approx((1e4 + 1e3 + 40 + math.log(2)) / 7, rel=1e-5)


def test_gradient_factors() -> None:
    mse, sse, bce = LOSSES["mse"], LOSSES["sse"], LOSSES["bce"]
    assert mse.grad_scale(8) == pytest.approx(2 / 8)
    assert sse.grad_scale(8) == 1.0
    assert bce.grad_scale(8) == pytest.approx(1 / 8)
    assert (mse.through_output, sse.through_output, bce.through_output) == (False, False, True)
    assert (mse.summed, sse.summed, bce.summed) == (False, True, False)
    for loss in LOSSES.values():
        assert math.isfinite(loss.grad_scale(0))


@pytest.mark.parametrize("name", ["mse", "sse"])
def test_squared_error_gradient_is_scale_times_difference(name: str) -> None:
    """dL/da, by central differences of the value, equals grad_scale(N) * (a - y)."""
    a, y = _data((6, 2), seed=3)
    loss, h = LOSSES[name], 1e-6
    numeric = np.zeros_like(a)
    for idx in np.ndindex(a.shape):
        up, down = a.copy(), a.copy()
        up[idx] += h
        down[idx] -= h
        numeric[idx] = (loss_value(name, up, y) - loss_value(name, down, y)) / (2 * h)
    np.testing.assert_allclose(numeric, loss.grad_scale(a.size) * (a - y), rtol=1e-6, atol=1e-9)


def test_bce_gradient_through_the_output_is_scale_times_difference() -> None:
    """d bce / dz = (sigmoid(z) - y) / N."""
    rng = np.random.default_rng(9)
    z = rng.uniform(-5, 5, (7, 1))
    y = (rng.random((7, 1)) > 0.5).astype(np.float64)
    h = 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        diff = loss_value("bce", 0 * up, y, up) - loss_value("bce", 0 * down, y, down)
        numeric[idx] = diff / (2 * h)
    a = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(numeric, LOSSES["bce"].grad_scale(z.size) * (a - y), rtol=1e-6)


def test_empty_arrays_give_zero_loss() -> None:
    empty = np.zeros((0, 1))
    for name in LOSS_NAMES:
        assert loss_value(name, empty, empty, empty) == 0.0
