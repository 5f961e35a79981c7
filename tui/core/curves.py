"""Curves for drawing: a loss curve cut down to what a terminal can show, shape kept.

No UI here: the charts (``tui.widgets.charts``) and the runs table (``tui.core.runs``)
both draw from it.
"""

from __future__ import annotations

import numpy as np

Series = tuple[np.ndarray, np.ndarray]
"""(x, y) arrays of one curve."""


def downsample(x: np.ndarray, y: np.ndarray, max_points: int) -> Series:
    """Reduce a curve to at most ``max_points`` points, keeping its shape.

    The first and last points are always kept; the points between are cut into
    ``(max_points - 2) // 2`` buckets of consecutive indices, and each bucket keeps
    its minimum and its maximum (in index order). So the global extremes survive
    and a line drawn through the result covers the same vertical extent in every
    column as the full data. ``y`` must be finite. Inputs at or under the budget
    come back unchanged (as 1-D float arrays).
    """
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} != {y.size}")
    n, max_points = y.size, max(2, int(max_points))
    if n <= max_points:
        return x, y
    buckets = (max_points - 2) // 2
    if buckets == 0:
        keep = np.array([0, n - 1])
        return x[keep], y[keep]
    edges = np.linspace(1, n - 1, buckets + 1).astype(np.int64)
    keep = [0]
    for start, stop in zip(edges[:-1], edges[1:], strict=True):
        segment = y[start:stop]
        low, high = start + int(segment.argmin()), start + int(segment.argmax())
        keep.extend(sorted((low, high)))
    keep.append(n - 1)
    keep_idx = np.unique(keep)
    return x[keep_idx], y[keep_idx]
