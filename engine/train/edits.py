"""Setting one weight or bias by hand: which entry it is, and whether the value can be stored.

Layer ``l`` of a network (from 1, as nn-tui shows layers) keeps its weights and biases
in one augmented matrix ``P = [W; b]`` (``engine.nn.network``), shaped ``(fan_in + 1,
fan_out)`` with biases and ``(fan_in, fan_out)`` without. An edit names its entry as
the app shows it, every index from 1:

    weight  row i (the input), col j (the unit)   ->  P[i - 1, j - 1]
    bias    row 1,             col j (the unit)   ->  P[fan_in, j - 1]

``Trainer.edit_weight`` makes the edit; the run file checks its stored edits with
``locate`` too, so a damaged file is refused on load, not half-way through a replay.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

KINDS = ("weight", "bias")


class EditError(ValueError):
    """An edit that cannot be made; the message says what is wrong and what would do."""


def _index(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise EditError(f"the {what} must be a whole number, not {value!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise EditError(f"the {what} must be a whole number, not {value!r}") from None


def locate(
    sizes: Sequence[int], bias: bool, layer: int, kind: str, row: int, col: int
) -> tuple[int, int, int]:
    """``(index into params, row, col)`` of the entry (0-based), or EditError saying why
    there is no such entry in a network of these layer ``sizes``."""
    layers = len(sizes) - 1
    layer, row, col = _index(layer, "layer"), _index(row, "row"), _index(col, "column")
    if not 1 <= layer <= layers:
        raise EditError(f"layer {layer} does not exist: the network has layers 1 to {layers}")
    if kind not in KINDS:
        raise EditError(f"kind {kind!r} is neither 'weight' nor 'bias'")
    fan_in, fan_out = sizes[layer - 1], sizes[layer]
    if kind == "bias" and not bias:
        raise EditError("the network has no biases (bias is off in its config)")
    rows = fan_in if kind == "weight" else 1
    if not (1 <= row <= rows and 1 <= col <= fan_out):
        raise EditError(
            f"layer {layer}'s {kind}{'s' if kind == 'weight' else 'es'} are {rows}×{fan_out} "
            f"(rows 1 to {rows}, columns 1 to {fan_out}); row {row}, column {col} is outside"
        )
    return layer - 1, (row - 1 if kind == "weight" else fan_in), col - 1


def stored_value(value: object, dtype: np.dtype) -> float:
    """``value`` as a network of ``dtype`` stores it, or EditError if it is not a finite
    number there (a float32 network cannot hold 1e39)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise EditError(f"{value!r} is not a number: type a finite number such as -0.5 or 2e-3")
    if not math.isfinite(float(value)):
        raise EditError(f"{value} is not a finite number: type one such as -0.5 or 2e-3")
    with np.errstate(over="ignore"):
        stored = np.asarray(value, dtype=dtype)
    if not np.isfinite(stored):
        raise EditError(f"{value} is too large for a {np.dtype(dtype).name} network")
    return float(stored)


def parse_value(text: str) -> float:
    """A value typed by hand (``-0.5``, ``2e-3``), or EditError in one line."""
    stripped = text.strip()
    if not stripped:
        raise EditError("type a number first, such as -0.5 or 2e-3")
    try:
        value = float(stripped)
    except ValueError:
        raise EditError(
            f"{stripped!r} is not a number: type a finite number such as -0.5 or 2e-3"
        ) from None
    if not math.isfinite(value):
        raise EditError(f"{stripped} is not a finite number: type one such as -0.5 or 2e-3")
    return value


__all__ = ["KINDS", "EditError", "locate", "parse_value", "stored_value"]
