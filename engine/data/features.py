"""Input features: the columns the network reads, computed from the scaled (x1, x2).

As in TensorFlow Playground, the network may read more than the two coordinates:
squares, their product and sines, in any subset and order (``--features
x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)``). They are computed *after* scaling, so
``x1^2`` is the square of the scaled x1 (for the course's max scaling, in [0, 1]).
A network with no hidden layer on ``x1^2,x2^2`` separates the circle dataset: its
boundary ``w1 x1^2 + w2 x2^2 + b = 0`` is an ellipse.

The default, ``x1,x2``, returns the scaled array itself: the course's runs read the
same numbers as before features existed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Column = Callable[[np.ndarray, np.ndarray], np.ndarray]

# name: (the column from the scaled x1 and x2, the drill-down's formula)
FEATURES: dict[str, tuple[Column, str]] = {
    "x1": (lambda x1, x2: x1, "{x1}"),
    "x2": (lambda x1, x2: x2, "{x2}"),
    "x1^2": (lambda x1, x2: x1 * x1, "{x1}^2"),
    "x2^2": (lambda x1, x2: x2 * x2, "{x2}^2"),
    "x1*x2": (lambda x1, x2: x1 * x2, "{x1} * {x2}"),
    "sin(x1)": (lambda x1, x2: np.sin(x1), "sin({x1})"),
    "sin(x2)": (lambda x1, x2: np.sin(x2), "sin({x2})"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
DEFAULT_FEATURES: tuple[str, ...] = ("x1", "x2")


def expand(X: np.ndarray, features: tuple[str, ...] = DEFAULT_FEATURES) -> np.ndarray:
    """The feature columns of scaled points ``X`` ``(n, 2)``, as ``(n, len(features))``."""
    features = tuple(features)
    if features == DEFAULT_FEATURES:
        return X  # the same array: not even a copy, so the course's runs are unchanged
    x1, x2 = X[:, 0], X[:, 1]
    if not features:
        return np.empty((len(X), 0), dtype=X.dtype)
    return np.column_stack([FEATURES[name][0](x1, x2) for name in features]).astype(
        X.dtype, copy=False)


def formula(name: str, x1: float, x2: float) -> str:
    """One feature written out with the numbers, e.g. ``"(0.5)^2"``."""
    template = FEATURES[name][1]

    def shown(x: float) -> str:  # inside sin( ) a number needs no parentheses of its own
        text = f"{x:.6g}"
        bare = template.startswith("sin(") or (template in ("{x1}", "{x2}"))
        return text if bare or not (text.startswith("-") or "^" in template) else f"({text})"

    return template.replace("{x1}", shown(x1)).replace("{x2}", shown(x2))
