"""Stages as plain text: matrices abridged to their first and last rows and columns."""

from __future__ import annotations

import numpy as np

from engine.explain.walk import Stage

GAP = "…"


def _cells(values: np.ndarray, keep: int) -> tuple[list[int | None], int]:
    """The indices shown along one axis (None: the gap) and how many exist."""
    n = len(values)
    if n <= 2 * keep + 1:
        return list(range(n)), n
    return [*range(keep), None, *range(n - keep, n)], n


def matrix_text(values: np.ndarray, *, rows: int = 4, columns: int = 4,
                labels: list[str] | None = None, full: bool = False) -> str:
    """A 2-D array as right-aligned columns with a row index column; beyond ``2 rows + 1``
    rows (``2 columns + 1`` columns) only the first and last ``rows`` (``columns``) are
    shown around a "…". ``labels`` name the rows (default: their index)."""
    values = np.atleast_2d(values)
    big = max(values.shape) + 1
    row_ids, _ = _cells(values, big if full else rows)
    col_ids, _ = _cells(values.T, big if full else columns)
    labels = labels or [str(i) for i in range(values.shape[0])]
    table = [["", *(GAP if j is None else str(j) for j in col_ids)]]
    for i in row_ids:
        if i is None:
            table.append([GAP] * (len(col_ids) + 1))
            continue
        table.append([labels[i], *(GAP if j is None else f"{values[i, j]:.6g}" for j in col_ids)])
    widths = [max(len(r[k]) for r in table) for k in range(len(table[0]))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in table)


def stage_text(stage: Stage, *, labels: list[str] | None = None, full: bool = False) -> str:
    """A stage's header, equation, shape, note and values; ``labels`` name the batch's
    points, for the stages whose rows are points (``Stage.by_point``)."""
    layer = f"  (layer {stage.layer})" if stage.layer is not None else ""
    lines = [f"[{stage.stage}] {stage.name}{layer}", f"    {stage.equation}",
             f"    shape {stage.shape}"]
    if stage.operands:
        lines.append(f"    reads {', '.join(stage.operands)}")
    if stage.note:
        lines.append(f"    {stage.note}")
    point_rows = labels if stage.by_point else None
    body = matrix_text(stage.values, labels=point_rows, full=full)
    lines += ["    " + line for line in body.splitlines()]
    return "\n".join(lines)
