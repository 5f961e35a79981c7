"""Scaling: the course's X / max(X) exactly, guarded divisions, and a JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from engine.data.scaling import SCALER_NAMES, SCALERS, Scaler, fit_scaler

# Property tests must not vary from run to run or leave an example database behind.
DETERMINISTIC = settings(derandomize=True, database=None, deadline=None, max_examples=50)

# Under np.errstate(**STRICT) a division by zero, a NaN or an overflow raises instead of warning.
# (Underflow is left alone: numpy ignores it by default and it does no harm here.)
STRICT = {"divide": "raise", "over": "raise", "invalid": "raise"}

# A constant zero column, a constant non-zero column, a negative column and a mixed one.
AWKWARD = np.array(
    [
        [0.0, 0.1, -1.0, -2.0],
        [0.0, 0.1, -4.0, 3.0],
        [0.0, 0.1, -2.0, 0.5],
    ]
)


def test_registry_names() -> None:
    assert SCALER_NAMES == ("max", "minmax", "standard", "none")
    assert tuple(SCALERS) == SCALER_NAMES


def test_max_is_the_course_formula_bit_for_bit() -> None:
    X = np.random.default_rng(0).uniform(0, 1, (100, 2))
    scaler = fit_scaler(X, "max")
    assert np.array_equal(scaler.transform(X), X / np.amax(X, axis=0))
    assert np.array_equal(scaler.offset, [0.0, 0.0])


def test_max_guards_zero_and_non_positive_columns() -> None:
    with np.errstate(**STRICT):
        scaler = fit_scaler(AWKWARD, "max")
        Z = scaler.transform(AWKWARD)
    assert scaler.scale.tolist() == [1.0, 0.1, 4.0, 3.0]
    assert Z[:, 0].tolist() == [0.0, 0.0, 0.0]  # all-zero column: scale 1, stays 0
    np.testing.assert_allclose(Z[:, 1], 1.0)
    # negative column: divided by its largest magnitude, so signs and order are kept
    assert Z[:, 2].tolist() == [-0.25, -1.0, -0.5]
    # mixed column with a positive max keeps the course's formula exactly
    assert np.array_equal(Z[:, 3], AWKWARD[:, 3] / 3.0)


def test_minmax_maps_each_column_to_the_unit_interval() -> None:
    X = np.random.default_rng(1).normal(5, 3, (50, 3))
    Z = fit_scaler(X, "minmax").transform(X)
    assert np.array_equal(Z.min(axis=0), [0.0, 0.0, 0.0])
    assert np.array_equal(Z.max(axis=0), [1.0, 1.0, 1.0])


def test_minmax_constant_columns_become_zero() -> None:
    with np.errstate(**STRICT):
        Z = fit_scaler(AWKWARD, "minmax").transform(AWKWARD)
    assert Z[:, :2].tolist() == [[0.0, 0.0]] * 3
    assert Z[:, 2].tolist() == [1.0, 0.0, 2 / 3]


def test_standard_gives_zero_mean_and_unit_std() -> None:
    X = np.random.default_rng(2).normal(-7, 0.01, (200, 2))
    Z = fit_scaler(X, "standard").transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(axis=0), 1, rtol=1e-12)


def test_standard_constant_columns_use_scale_one() -> None:
    # 0.1 is not exact in binary, so its std can come out ~1e-17 instead of 0: still constant
    X = np.column_stack([np.full(7, 0.1), np.zeros(7), np.arange(7.0)])
    with np.errstate(**STRICT):
        scaler = fit_scaler(X, "standard")
        Z = scaler.transform(X)
    assert scaler.scale[:2].tolist() == [1.0, 1.0]
    np.testing.assert_allclose(Z[:, :2], 0, atol=1e-15)


def test_none_is_the_identity_on_a_copy() -> None:
    X = AWKWARD.copy()
    Z = fit_scaler(X, "none").transform(X)
    assert np.array_equal(Z, X) and Z is not X
    Z[0, 0] = 99
    assert X[0, 0] == 0


@pytest.mark.parametrize("method", SCALER_NAMES)
def test_transform_returns_a_new_array_and_leaves_input_alone(method: str) -> None:
    X = AWKWARD.copy()
    Z = fit_scaler(X, method).transform(X)
    assert not np.shares_memory(Z, X)
    assert np.array_equal(X, AWKWARD)
    assert Z.dtype == np.float64 and Z.shape == X.shape


def test_scaler_is_fitted_on_training_data_only() -> None:
    train = np.array([[0.0, 1.0], [2.0, 4.0]])
    scaler = fit_scaler(train, "max")
    # a test point beyond the training max is not clipped or refitted
    assert scaler.transform(np.array([[4.0, 2.0]])).tolist() == [[2.0, 0.5]]


def test_transform_rejects_wrong_width() -> None:
    scaler = fit_scaler(AWKWARD, "minmax")
    with pytest.raises(ValueError, match="fitted on 4 columns"):
        scaler.transform(np.zeros((3, 2)))


def test_unknown_method_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="unknown scaling 'zscore'") as info:
        fit_scaler(AWKWARD, "zscore")
    for name in SCALER_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize("X", [np.zeros((0, 2)), np.zeros(3), np.array([[1.0, np.nan]])])
def test_fit_rejects_empty_flat_or_non_finite_data(X: np.ndarray) -> None:
    with pytest.raises(ValueError):
        fit_scaler(X, "standard")


@pytest.mark.parametrize("method", SCALER_NAMES)
def test_round_trip_through_json(method: str) -> None:
    scaler = fit_scaler(AWKWARD, method)
    data = scaler.to_dict()
    assert type(data["offset"]) is list and type(data["scale"]) is list
    assert all(type(v) is float for v in data["offset"] + data["scale"])
    restored = Scaler.from_dict(json.loads(json.dumps(data)))
    assert restored == scaler
    assert np.array_equal(restored.transform(AWKWARD), scaler.transform(AWKWARD))


def test_equality_compares_values() -> None:
    a = Scaler("minmax", [0.0, 1.0], [2.0, 3.0])
    assert a == Scaler("minmax", np.array([0.0, 1.0]), np.array([2.0, 3.0]))
    assert a != Scaler("minmax", [0.0, 1.0], [2.0, 4.0])
    assert a != Scaler("standard", [0.0, 1.0], [2.0, 3.0])
    assert a != "minmax"


def test_scaler_is_immutable() -> None:
    source = np.array([1.0, 2.0])
    scaler = Scaler("max", [0.0, 0.0], source)
    source[0] = 50.0  # the scaler keeps its own copy
    assert scaler.scale.tolist() == [1.0, 2.0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        scaler.method = "none"  # type: ignore[misc]
    with pytest.raises(ValueError):
        scaler.scale[0] = 3.0


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"method": "max", "offset": [0.0]}, "missing scale"),
        ({"method": "mystery", "offset": [0.0], "scale": [1.0]}, "unknown scaling"),
        ({"method": "max", "offset": [0.0, 0.0], "scale": [1.0]}, "2 columns but scale has 1"),
        ({"method": "max", "offset": [0.0], "scale": [0.0]}, "must not contain 0"),
        ({"method": "max", "offset": ["a"], "scale": [1.0]}, "list of numbers"),
        ({"method": "max", "offset": [[0.0]], "scale": [1.0]}, "flat list"),
        ({"method": "max", "offset": [0.0], "scale": [float("inf")]}, "finite"),
        (["max", [0.0], [1.0]], "must be a dict"),
        ({"method": ["max"], "offset": [0.0], "scale": [1.0]}, "unknown scaling"),
    ],
)
def test_from_dict_rejects_bad_data(data: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Scaler.from_dict(data)  # type: ignore[arg-type]


# Finite columns of any magnitude up to 1e100, subnormals included.
wide_floats = st.floats(-1e100, 1e100, allow_nan=False, allow_infinity=False)
wide_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=wide_floats,
)


@DETERMINISTIC
@given(X=wide_arrays, method=st.sampled_from(["minmax", "standard", "none"]))
def test_output_is_finite_for_any_finite_input(X: np.ndarray, method: str) -> None:
    with np.errstate(**STRICT):
        Z = fit_scaler(X, method).transform(X)
    assert np.isfinite(Z).all()
    if method == "minmax":
        assert Z.min() >= 0 and Z.max() <= 1


# The course's max formula divides by a positive column max however small it is, so a column
# like [1e-300, -1e100] overflows by design; its property holds for data with sane ratios.
ordinary_arrays = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    elements=st.integers(-(10**6), 10**6).map(lambda k: k / 1000),
)


@DETERMINISTIC
@given(X=ordinary_arrays)
def test_max_output_is_finite_and_at_most_one(X: np.ndarray) -> None:
    with np.errstate(**STRICT):
        Z = fit_scaler(X, "max").transform(X)
    assert np.isfinite(Z).all() and Z.max() <= 1
    positive = X.max(axis=0) > 0
    assert np.array_equal(Z[:, positive], X[:, positive] / X.max(axis=0)[positive])
