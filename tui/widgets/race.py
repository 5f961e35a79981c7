"""The race screen's widgets: a loss chart with a colour per network, and a small map.

``RaceChart`` is the loss chart with every network of a race as one overlaid curve
(``LossChart.set_series``' overlays) and a palette of eight theme colours instead of
four, so that eight seeds are eight colours. ``RaceMap`` is the decision boundary of
one network, titled by its curve's key (the same colour, or marker without colour),
what sets it apart ("lr 0.125") and its accuracy now.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from tui.widgets.boundary import DecisionBoundary, Group
from tui.widgets.charts import POINTS_PER_COLUMN, ChartColors, LossChart, colors_from_theme
from tui.widgets.palette import plot_to_rich, plotext_color

RACE_COLORS = ("chart-train", "chart-test", "success", "secondary", "error", "chart-marker",
               "warning", "foreground")
"""The theme's colours a race's curves take, network by network (then again)."""

FIRST_OVERLAY = 2
"""LossChart numbers its curves train 0, test 1, overlays from 2 (markers go by it)."""


def race_colors(app) -> ChartColors:
    """The app theme's chart colours with ``RACE_COLORS`` as the overlays."""
    base = colors_from_theme(app.current_theme, bool(app.no_color))
    if base.monochrome:
        return dataclasses.replace(base, overlays=(None,) * len(RACE_COLORS))
    from themes import theme_colors

    named = theme_colors(app.current_theme)
    return dataclasses.replace(
        base, overlays=tuple(plotext_color(named.get(name)) for name in RACE_COLORS))


def curve_key(colors: ChartColors, index: int) -> tuple[str, Style]:
    """The glyph and style of network ``index``'s curve, as the chart's legend draws it."""
    color = colors.overlays[index % len(colors.overlays)]
    marker = colors.line_marker(FIRST_OVERLAY + index)
    if color is not None and marker == "braille":
        return "━━", Style(color=plot_to_rich(color), bold=True)
    return {"braille": "⣀⣀"}.get(marker, marker * 2), Style(bold=True)


BRAILLE_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], np.uint8)
"""The bit of each dot of a braille cell (4 rows of 2), added to U+2800."""


def braille_raster(curves: Sequence[tuple[np.ndarray, np.ndarray]], xlim, ylim, cols: int,
                   rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Polylines on a canvas of ``cols`` x ``rows`` braille cells (2 x 4 dots each).

    ``curves`` are (x, y) in data units, the canvas spans ``xlim`` x ``ylim`` (y up).
    Each segment between two points is sampled at every dot it crosses, so a line never
    breaks. Returns the dots of each cell (``bits``, uint8, 0: none) and the index of
    the curve that owns the cell (``owner``, -1: none): the first curve in ``curves``
    that touches it, so curve 0 is on top, as the loss chart draws them.
    """
    bits = np.zeros((rows, cols), np.uint8)
    owner = np.full((rows, cols), -1, np.int64)
    (x0, x1), (y0, y1) = xlim, ylim
    # as plotext places data (and its ticks): the limits at the centres of the first
    # and the last cells, halves rounded up
    width, height = 2 * cols - 1, 4 * rows - 1
    for index in range(len(curves) - 1, -1, -1):  # the first curve last, on top
        x, y = curves[index]
        if not len(x):
            continue
        px = 0.5 + (np.asarray(x, float) - x0) / ((x1 - x0) or 1.0) * (width - 1)
        py = 1.5 + (y1 - np.asarray(y, float)) / ((y1 - y0) or 1.0) * (height - 3)
        dx, dy = np.diff(px), np.diff(py)
        steps = np.maximum(np.ceil(np.maximum(np.abs(dx), np.abs(dy))), 1).astype(np.int64)
        segment = np.repeat(np.arange(len(dx)), steps)
        t = (np.arange(segment.size) - np.repeat(np.cumsum(steps) - steps, steps)) / steps[segment]
        dots_x = np.append(px[segment] + t * dx[segment], px[-1])
        dots_y = np.append(py[segment] + t * dy[segment], py[-1])
        col = np.clip(np.floor(dots_x + 0.5), 0, width).astype(np.int64)
        row = np.clip(np.floor(dots_y + 0.5), 0, height).astype(np.int64)
        mine = np.zeros_like(bits)
        np.bitwise_or.at(mine, (row // 4, col // 2), BRAILLE_BITS[row % 4, col % 2])
        bits |= mine
        owner[mine != 0] = index
    return bits, owner


class RaceChart(LossChart):
    """Every network's training loss, one colour each, the legend in the title.

    In colour the curves are drawn here (``braille_raster``: NumPy, two points a
    column, a fraction of a millisecond for eight curves) over plotext's frame, axes
    and legend; plotext's own line drawing took 12 of a redraw's 15 ms at 120x36 with
    eight curves at one point a column, all of it time the race's training waits for.
    Without colour the curves differ by their markers' shapes: plotext draws those.
    """

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._raster: tuple[list, tuple, tuple] | None = None  # curves, xlim, ylim

    def _curves(self, colors: ChartColors, budget: int) -> list:
        if colors.monochrome:  # plotext draws the markers: its cost grows with the points
            budget = max(2, budget // POINTS_PER_COLUMN)
        return super()._curves(colors, budget)

    def _plot_curves(self, figure, curves: list, xlim, ylim) -> None:
        self._raster = None
        if self.chart_colors.monochrome or not curves:
            super()._plot_curves(figure, curves, xlim, ylim)
            return
        self._raster = (curves, xlim, ylim)  # drawn over the frame's strips

    def _finish_strips(self, strips: list[Strip], text: Text, visual_style) -> list[Strip]:
        """The curves' braille cells over the canvas of the frame plotext drew."""
        if self._raster is None or text is not self._cache:
            return strips
        canvas = _canvas(text.plain.split("\n"))
        if canvas is None:
            return strips
        top, left, rows, cols = canvas
        curves, xlim, ylim = self._raster
        bits, owner = braille_raster([(c.x, c.y) for c in curves], xlim, ylim, cols, rows)
        styles = [self._textual_style(Style(color=plot_to_rich(c.color)), visual_style)
                  for c in curves]
        out = list(strips)
        for r in range(rows):
            if top + r < len(out) and bits[r].any():
                out[top + r] = _overlay(out[top + r], left, bits[r], owner[r], styles)
        return out

    @property
    def chart_colors(self) -> ChartColors:
        if self._colors is None:
            self._colors = race_colors(self.app)
        return self._colors


def _canvas(lines: list[str]) -> tuple[int, int, int, int] | None:
    """(top row, left column, rows, columns) inside the plot's frame ``┌─┐ … └``."""
    for top, line in enumerate(lines):
        left = line.find("┌")
        right = line.find("┐", left + 1)
        if left < 0 or right < 0:
            continue
        bottom = next((r for r in range(top + 1, len(lines))
                       if lines[r][left : left + 1] == "└"), None)
        if bottom is None or bottom - top < 2 or right - left < 2:
            return None
        return top + 1, left + 1, bottom - top - 1, right - left - 1
    return None


def _overlay(strip: Strip, left: int, bits: np.ndarray, owner: np.ndarray,
             styles: list[Style]) -> Strip:
    """``strip`` with the braille cells of one canvas row from column ``left`` on; cells
    without dots keep what the frame has there (blank, or a rate change's mark)."""
    row = owner.tolist()
    starts = [0, *(np.flatnonzero(owner[1:] != owner[:-1]) + 1).tolist(), len(row)]
    pieces = strip.divide([left + start for start in starts] + [strip.cell_length])
    segments: list[Segment] = list(pieces[0])
    for piece, start, end in zip(pieces[1:], starts, starts[1:], strict=False):
        index = row[start]
        if index < 0:
            segments.extend(piece)
        else:
            text = "".join(chr(0x2800 + int(b)) for b in bits[start:end])
            segments.append(Segment(text, styles[index]))
    segments.extend(pieces[len(starts)])  # right of the canvas
    return Strip(segments, strip.cell_length)


class RaceMap(DecisionBoundary):
    """One network's decision boundary, titled ``━━ lr 0.125  100%`` (a regression's
    prediction on its value ramp, titled ``━━ lr 0.125  R² 0.973``)."""

    DEFAULT_CSS = """
    RaceMap {
        width: 1fr;
        height: 1fr;
    }
    """

    reuse_field = True  # eight maps redrawn every 0.4 s, most of them settled

    def __init__(self, label: str, index: int, **options: Any) -> None:
        options.setdefault("show_axes", False)
        options.setdefault("show_legend", False)
        super().__init__(label, **options)
        self.index = index
        self._key: tuple[str, Style] | None = None
        self.state = ""
        """The network's state when it is over (``diverged``), shown in the title."""

    def show_network(self, accuracy: float, state: str) -> None:
        """The network's weights changed: its accuracy and state in the title, the map
        evaluated again now, only the lines that changed repainted."""
        self._accuracy, self.state = (accuracy, None), state
        self._model_version += 1
        self._version += 1
        self.repaint_changed_lines()

    def title_pieces(self) -> list[Group]:
        glyph, style = self.key
        groups: list[Group] = [[(glyph + " ", style), (self.title, Style(bold=True))]]
        train = self._accuracy[0]
        if train is not None and math.isfinite(train):
            figure = f"R² {train:.3f}" if self.regression else f"{100 * train:.0f}%"
            groups.append([(f"  {figure}", Style())])
        if self.state == "diverged":
            groups.append([("  diverged", Style(color="red", bold=True))])
        return groups

    def refresh_colors(self) -> None:
        self._key = None
        super().refresh_colors()

    @property
    def key(self) -> tuple[str, Style]:
        """This network's curve key (read from the theme once, again after a change)."""
        if self._key is None:
            self._key = curve_key(race_colors(self.app), self.index)
        return self._key


__all__ = ["RACE_COLORS", "RaceChart", "RaceMap", "braille_raster", "curve_key", "race_colors"]
