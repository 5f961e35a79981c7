"""Column-wise input scaling, fitted on training data only and stored as plain JSON.

A scaler maps ``X -> (X - offset) / scale`` with one offset and one scale per column:

* ``max``: the course's ``X / np.amax(X, axis=0)`` (offset 0).
* ``minmax``: each column to [0, 1].
* ``standard``: each column to zero mean and unit standard deviation.
* ``none``: identity.

A column that would divide by zero (max 0, range 0 or std 0) gets scale 1 instead, so a
constant feature passes through without warnings or NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Fit = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _nonzero(scale: np.ndarray) -> np.ndarray:
    """Replace scales that would divide by zero (or underflowed to zero) with 1."""
    return np.where(scale > 0, scale, 1.0)


def _fit_max(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scale = np.amax(X, axis=0)
    # The course's formula assumes positive data. A column whose max is <= 0 would flip its
    # signs (negative max) or divide by zero, so it is scaled by its largest magnitude
    # instead: it lands in [-1, 0] with its order kept. Columns with a positive max keep
    # the exact formula so the course's runs are reproduced bit for bit.
    scale = np.where(scale > 0, scale, np.amax(np.abs(X), axis=0))
    return np.zeros(X.shape[1]), _nonzero(scale)


def _fit_minmax(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    low = np.amin(X, axis=0)
    return low, _nonzero(np.amax(X, axis=0) - low)


def _fit_standard(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    std = np.std(X, axis=0)
    # A constant column can still have a std of ~1e-17 from rounding in the mean; dividing by
    # that would blow its noise up to O(1), so a zero range forces scale 1 as well.
    constant = np.ptp(X, axis=0) == 0
    return np.mean(X, axis=0), _nonzero(np.where(constant, 0.0, std))


def _fit_none(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(X.shape[1]), np.ones(X.shape[1])


SCALERS: dict[str, Fit] = {
    "max": _fit_max,
    "minmax": _fit_minmax,
    "standard": _fit_standard,
    "none": _fit_none,
}
SCALER_NAMES = tuple(SCALERS)


def _check_method(method: object) -> None:
    if not isinstance(method, str) or method not in SCALERS:
        raise ValueError(f"unknown scaling {method!r}; choose one of: {', '.join(SCALER_NAMES)}")


def _frozen_vector(values: Any, what: str) -> np.ndarray:
    """A read-only float64 copy, so a frozen Scaler really cannot change."""
    try:
        vector = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"scaler {what} must be a list of numbers") from None
    if vector.ndim != 1 or not np.isfinite(vector).all():
        raise ValueError(f"scaler {what} must be a flat list of finite numbers")
    vector.setflags(write=False)
    return vector


@dataclass(frozen=True, eq=False)  # eq=False: the generated __eq__ cannot compare arrays
class Scaler:
    """A fitted column-wise scaling ``(X - offset) / scale``."""

    method: str
    offset: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        _check_method(self.method)
        offset = _frozen_vector(self.offset, "offset")
        scale = _frozen_vector(self.scale, "scale")
        if offset.shape != scale.shape:
            raise ValueError(f"scaler offset has {offset.size} columns but scale has {scale.size}")
        if (scale == 0).any():
            raise ValueError("scaler scale must not contain 0; use 1 for a constant column")
        object.__setattr__(self, "offset", offset)
        object.__setattr__(self, "scale", scale)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Scaler):
            return NotImplemented
        return (
            self.method == other.method
            and np.array_equal(self.offset, other.offset)
            and np.array_equal(self.scale, other.scale)
        )

    __hash__ = None  # type: ignore[assignment]  # like ndarray itself: compare, don't hash

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Return a new float64 array ``(X - offset) / scale``; X is left untouched."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.offset.size:
            raise ValueError(
                f"scaler was fitted on {self.offset.size} columns; got an array of shape {X.shape}"
            )
        return (X - self.offset) / self.scale

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and a string, ready for ``json.dumps``."""
        return {"method": self.method, "offset": self.offset.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scaler:
        """Rebuild a scaler from ``to_dict`` output; ValueError if a key is missing or bad."""
        if not isinstance(data, dict):
            raise ValueError(f"scaler data must be a dict, got {type(data).__name__}")
        missing = {"method", "offset", "scale"} - set(data)
        if missing:
            raise ValueError(f"scaler data is missing {', '.join(sorted(missing))}")
        return cls(data["method"], data["offset"], data["scale"])


def fit_scaler(X: np.ndarray, method: str) -> Scaler:
    """Fit ``method`` on X (training data only, so the test set cannot leak into it)."""
    _check_method(method)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"fit the scaler on a non-empty 2-D array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("cannot fit a scaler on data containing NaN or infinity")
    offset, scale = SCALERS[method](X)
    return Scaler(method, offset, scale)
