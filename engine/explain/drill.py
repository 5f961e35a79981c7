"""How one element of a stage was computed, as data (``drill``) and as text (``drill_text``).

* a product (``Z_l``, ``dE/dW_l``, ``dE/dA_l``): the left operand's row, the right one's
  column, their terms ``row[k] * column[k]``, the bias added (``Z_l`` with biases) and the sum;
* a sum down a column (``dE/db_l``) and the loss: the terms and their sum;
* the features (``X`` with ``--features``): the feature's formula on the scaled x1, x2;
* the penalty: each layer's share of it, and their sum;
* an elementwise step: each operand's element and the formula with the numbers in it;
* the data (``X_raw``): which training point the row is.

``total`` is the exact sum of the terms (``math.fsum``), rounded once, plus the bias: it
equals the element up to the rounding of the stage's own sum (BLAS adds in another
order), a few units in the last place of ``sum |terms|``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from engine.data.features import formula as feature_formula
from engine.explain.walk import Walk

SLOT = re.compile(r"\{([^{}]+)\}")
SHOWN_TERMS = 8  # a formula writes out at most this many terms (the data has them all)


@dataclass(frozen=True)
class Drill:
    """One element of one stage, and how it was computed (see the module docstring)."""

    stage: str
    index: tuple[int, int]
    value: float
    kind: str
    formula: str  # with the numbers, e.g. "0.5 * 0.3 + 1 * (-0.2) + 0.1 = 0.05"
    inputs: dict[str, float] = field(default_factory=dict)  # elementwise: each operand's
    row_name: str = ""  # product: what the row is, e.g. "X row 3"
    row: tuple[float, ...] = ()
    column_name: str = ""
    column: tuple[float, ...] = ()
    terms: tuple[float, ...] = ()
    addend: float | None = None  # the bias added to the sum (Z_l with biases)
    total: float | None = None  # the terms' sum (plus the addend)


def fmt(x: float) -> str:
    """A number inside a formula: 6 significant digits, negatives in parentheses."""
    text = f"{x:.6g}"
    return f"({text})" if text.startswith("-") else text


def element(values: np.ndarray, i: int, j: int) -> float:
    """``values[i, j]`` with a one-row or one-column operand broadcast, as NumPy does."""
    return float(values[i if values.shape[0] > 1 else 0, j if values.shape[1] > 1 else 0])


def drill(walk: Walk, stage: int | str, index: tuple[int, int]) -> Drill:
    """How element ``index`` (row, column) of a stage was computed."""
    s = walk[stage]
    i, j = (int(k) for k in index)
    if not (0 <= i < s.values.shape[0] and 0 <= j < s.values.shape[1]):
        raise IndexError(f"{s.name} is {s.shape.split(' -> ')[-1]}: no element ({i}, {j})")
    value = float(s.values[i, j])
    if s.kind == "product":
        return _product(walk, s, i, j, value)
    if s.kind in ("sum", "loss"):
        return _sum(walk, s, i, j, value)
    if s.kind == "data":
        point = int(walk.rows[i])
        return Drill(s.name, (i, j), value, s.kind,
                     f"x{j + 1} of training point #{point} (row {i} of the batch) = {fmt(value)}")
    if s.kind == "features":
        x1, x2 = (float(x) for x in walk.value(s.operands[0])[i, :2])
        name = s.columns[j]
        return Drill(s.name, (i, j), value, s.kind,
                     f"{name} = {feature_formula(name, x1, x2)} = {fmt(value)}",
                     {f"{s.operands[0]} x1": x1, f"{s.operands[0]} x2": x2})
    if s.kind == "penalty":
        return _penalty(walk, s, i, j, value)
    if s.kind == "softmax":
        return _softmax(walk, s, i, j, value)
    inputs = {name: element(walk.value(name), i, j) for name in s.operands}
    written = SLOT.sub(lambda m: fmt(inputs[m.group(1)]), s.rule)
    return Drill(s.name, (i, j), value, s.kind, f"{written} = {fmt(value)}", inputs)


def _product(walk: Walk, s, i: int, j: int, value: float) -> Drill:
    p = s.product
    left, right = walk.value(p.left), walk.value(p.right)
    left, right = (left.T if p.left_t else left), (right.T if p.right_t else right)
    row, column = left[i], right[:, j]
    terms = tuple(float(t) for t in row * column)  # each product in the stage's dtype
    addend = element(walk.value(p.addend), i, j) if p.addend else None
    total = math.fsum(terms) + (addend or 0.0)
    row_name = (f"{p.left}^T row {i} (column {i} of {p.left})" if p.left_t
                else f"{p.left} row {i}")
    column_name = (f"{p.right}^T column {j} (row {j} of {p.right})" if p.right_t
                   else f"{p.right} column {j}")
    shown = [f"{fmt(a)} * {fmt(b)}" for a, b in zip(row, column, strict=True)]
    formula = _joined(shown) + (f" + {fmt(addend)}" if addend is not None else "")
    return Drill(s.name, (i, j), value, s.kind, f"{formula} = {fmt(total)}",
                 row_name=row_name, row=tuple(float(x) for x in row), column_name=column_name,
                 column=tuple(float(x) for x in column), terms=terms, addend=addend,
                 total=total)


def _sum(walk: Walk, s, i: int, j: int, value: float) -> Drill:
    if s.kind == "sum":  # down column j of the one operand
        terms = tuple(float(t) for t in walk.value(s.operands[0])[:, j])
        what = f"column {j} of {s.operands[0]}: "
    else:
        terms = tuple(float(t) for t in _loss_terms(walk).ravel())
        what = f"one term per point and output, {s.rule}: "
    total = math.fsum(terms)
    return Drill(s.name, (i, j), value, s.kind, f"{what}{_joined([fmt(t) for t in terms])} "
                 f"= {fmt(total)}", terms=terms, total=total)


def _softmax(walk: Walk, s, i: int, j: int, value: float) -> Drill:
    """A softmax element: e^z_ij over the sum of its row's e^z_ik (shifted by the row's
    max, which cancels, so no exp overflows)."""
    row = walk.value(s.operands[0])[i].astype(np.float64)
    exps = np.exp(row - row.max())
    terms = tuple(float(t) for t in exps)
    total = math.fsum(terms)
    shown = _joined([f"e^{fmt(z)}" for z in row])
    return Drill(s.name, (i, j), value, s.kind,
                 f"e^{fmt(float(row[j]))} / ({shown}) = {fmt(terms[j] / total)}",
                 row_name=f"{s.operands[0]} row {i}", row=tuple(float(z) for z in row),
                 terms=terms, total=total)


def _penalty(walk: Walk, s, i: int, j: int, value: float) -> Drill:
    """The penalty's terms: one per layer, l2/2 sum W^2 + l1 sum |W| of its weights."""
    l2, l1 = (float(walk.value(name)[0, 0]) for name in ("l2", "l1"))
    terms = tuple(l2 / 2 * float(np.sum(W * W)) + l1 * float(np.sum(np.abs(W)))
                  for W in walk.weights)
    shown = [f"{fmt(t)} (W_{layer})" for layer, t in enumerate(terms, start=1)]
    total = math.fsum(terms)
    return Drill(s.name, (i, j), value, s.kind, f"{s.rule}: {_joined(shown)} = {fmt(total)}",
                 terms=terms, total=total)


def _loss_terms(walk: Walk) -> np.ndarray:
    """Each point's (and output's) share of the loss."""
    L = len(walk.activations)
    a, z, y = walk.value(f"A_{L}"), walk.value(f"Z_{L}"), walk.value("y")
    if walk.loss == "sse":
        return 0.5 * (a - y) ** 2
    if walk.loss == "mse":
        return (a - y) ** 2 / y.size
    if walk.loss == "ce":  # one term per point: logsumexp(z) - y . z, over the N points
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return (lse - (y * z).sum(axis=1)) / len(y)
    return (np.logaddexp(0, z) - y * z) / y.size


def _joined(parts: list[str]) -> str:
    """``a + b + ... + z``, with the middle left out past ``SHOWN_TERMS`` parts."""
    if len(parts) > SHOWN_TERMS:
        keep = SHOWN_TERMS // 2
        parts = [*parts[:keep], f"... ({len(parts) - 2 * keep} more)", *parts[-keep:]]
    return " + ".join(parts) if parts else "0"


def drill_text(d: Drill) -> str:
    """The drill-down as a few lines of text."""
    lines = [f"{d.stage}[{d.index[0]}, {d.index[1]}] = {d.value:.17g}"]
    if d.kind == "product":
        lines.append(f"  row:    {d.row_name} = [{', '.join(fmt(x) for x in d.row)}]")
        lines.append(f"  column: {d.column_name} = [{', '.join(fmt(x) for x in d.column)}]")
        if d.addend is not None:
            lines.append(f"  bias:   {fmt(d.addend)}")
    for name, x in d.inputs.items():
        lines.append(f"  {name} = {x:.17g}")
    lines.append(f"  {d.formula}")
    return "\n".join(lines)
