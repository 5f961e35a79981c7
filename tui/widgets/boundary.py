"""The decision map: a network's output over the input plane, with the data on top.

The plane is drawn with half-block cells: ``▀`` with the upper pixel's colour as
foreground and the lower pixel's as background, so every terminal cell holds two
pixels stacked vertically (and those pixels are roughly square). A pixel's value
``v`` in [0, 1] picks a colour from a diverging ramp of ``2 * steps + 1`` levels:
the theme's ``class-0`` colour at 0, the widget's background at 0.5 and ``class-1``
at 1. The ramp is quantised, so the bands of equal level act as contour lines and
the 0.5 contour shows where the two hues meet.

Two fallbacks keep it readable without 24-bit colour:

* ANSI themes (16 colours cannot be blended): one shading glyph per cell, `` ░▒▓``
  in the class colour of its side, denser further from 0.5.
* ``NO_COLOR``: one glyph per cell from the ramp `` ░▒▓█`` (0 blank, 1 solid).

The renderer is the pure function :func:`render_field`; :class:`PlaneView` adds
the chrome (title, axis ticks, legend, data points) and the caching, and both
:class:`DecisionBoundary` here and ``tui.widgets.inspect.NeuronView`` build on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.theme import Theme
from textual.widget import Widget

from themes import CLASS_VARIABLES, MAX_CLASS_COLORS
from tui.widgets.charts import nice_ticks
from tui.widgets.palette import (
    VALUE_GLYPHS,
    class_marker,
    parse_color,
    ramp_colors,
    rich_color,
    value_level,
)

Bounds = tuple[float, float, float, float]
"""A rectangle of the input plane: (x_min, x_max, y_min, y_max)."""

Group = list[tuple[str, Style]]
"""Styled pieces of a title or legend line that are shown together or not at all."""

Predict = Callable[[np.ndarray], np.ndarray]
"""Maps raw (n, 2) input coordinates to probabilities (n,) (or (n, 1))."""

STEPS = 5
"""Ramp levels on each side of 0.5 (so 2 * STEPS + 1 levels in all)."""

MAP_STRENGTH = 0.5
"""How far the ramp's ends go from the background towards the class colours.

Below 1, so that a data point drawn in its full class colour stands out even on the
map of its own class (a correctly classified point would vanish otherwise)."""

PADDING = 0.1
"""Axis bounds are the data bounds padded by this fraction of their range."""

MONO_RAMP = " ░▒▓█"
"""NO_COLOR: cell glyphs from value 0 (blank) to 1 (solid)."""

ANSI_RAMP = " ░░▒▒▓"
"""ANSI themes: cell glyph by distance from 0.5, index 0..STEPS (drawn in the side's colour)."""

TRAIN_GLYPH = "●"
TEST_GLYPH = "◆"
MAX_CLASSES = MAX_CLASS_COLORS

MONO_CLASS_FILL = (" ", "░", "▒", "▓", "·", "╱", "╲", "┄")
"""NO_COLOR, K classes: each class's region filled with its own glyph."""

MONO_POINT_GLYPHS = {("train", 0): "○", ("train", 1): "●", ("test", 0): "◇", ("test", 1): "◆"}
"""Without colour the glyph carries the label as well as the split."""


# ------------------------------------------------------------------- palette


@dataclass(frozen=True)
class FieldPalette:
    """Everything the renderer needs to colour a field; hashable, so it keys caches.

    ``mode`` is ``"pixel"`` (half blocks, ``levels`` are pixel colours),
    ``"ansi"`` (one shading glyph per cell in ``low`` / ``high``) or ``"mono"``
    (one glyph per cell, no colour). ``low`` / ``high`` are the full class colours
    (data points are drawn in them); ``foreground`` is for text on the map.
    """

    mode: str = "mono"
    levels: tuple[RichColor | None, ...] = ()
    low: RichColor | None = None
    high: RichColor | None = None
    background: RichColor | None = None
    foreground: RichColor | None = None
    steps: int = STEPS
    # K classes: each class's full colour, and (pixel mode) its ramp from the background,
    # steps + 1 levels a class, class after class
    class_colors: tuple[RichColor | None, ...] = ()
    class_levels: tuple[RichColor | None, ...] = ()
    # a regression's points: the values' ramp at full strength (VALUE_GLYPHS levels)
    value_colors: tuple[RichColor | None, ...] = ()

    @property
    def monochrome(self) -> bool:
        """True when nothing may be coloured (NO_COLOR)."""
        return self.mode == "mono"

    def level_of(self, values: np.ndarray) -> np.ndarray:
        """Ramp level (0 .. 2*steps) of each value in [0, 1]; NaN gets the middle level."""
        v = np.asarray(values, dtype=np.float64)
        scaled = np.rint(np.clip(np.nan_to_num(v, nan=0.5), 0.0, 1.0) * (2 * self.steps))
        return scaled.astype(np.int64)

    def swatch(self, level: int) -> tuple[str, Style]:
        """One legend cell showing ramp ``level``."""
        if self.mode == "pixel":
            return " ", Style(bgcolor=self.levels[level])
        return self.cell(level)

    def cell(self, level: int) -> tuple[str, Style]:
        """The glyph and style of a whole cell at ``level`` (ansi and mono modes)."""
        n = 2 * self.steps
        if self.mode == "mono":
            return MONO_RAMP[round(level * (len(MONO_RAMP) - 1) / n)], Style()
        distance = abs(level - self.steps)
        glyph = ANSI_RAMP[round(distance * (len(ANSI_RAMP) - 1) / self.steps)]
        color = self.low if level < self.steps else self.high
        return glyph, Style(color=color if distance else None)

    def point_style(self, label: int) -> Style:
        """The style of a data point of class ``label`` (0 or 1)."""
        if self.mode == "mono":
            return Style(bold=True)
        return Style(color=self.high if label else self.low, bold=True)

    # --- K classes: a pixel's value is its class c plus t in [0, 1), how sure it is
    def class_level_of(self, values: np.ndarray) -> np.ndarray:
        """Level ``c * (steps + 1) + round(t * steps)`` of each value ``c + t``; NaN: the
        background (class 0's level 0)."""
        v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
        c = np.clip(np.floor(v), 0, MAX_CLASSES - 1)
        t = np.clip(v - c, 0.0, 1.0)
        return (c * (self.steps + 1) + np.rint(t * self.steps)).astype(np.int64)

    def class_color(self, label: int) -> RichColor | None:
        return self.class_colors[label % len(self.class_colors)] if self.class_colors else None

    def class_cell(self, level: int) -> tuple[str, Style]:
        """The glyph and style of a whole cell at class ``level`` (ansi and mono modes):
        ANSI, a shade as dense as the class is sure, in its colour; no colour, the
        class's own fill (``MONO_CLASS_FILL``)."""
        c, t = divmod(level, self.steps + 1)
        if self.mode == "mono":
            return MONO_CLASS_FILL[c % len(MONO_CLASS_FILL)], Style()
        glyph = ANSI_RAMP[round(t * (len(ANSI_RAMP) - 1) / self.steps)]
        return glyph, Style(color=self.class_color(c) if t else None)

    def class_swatch(self, label: int) -> tuple[str, Style]:
        """A legend cell of class ``label``'s surest shade."""
        level = label * (self.steps + 1) + self.steps
        if self.mode == "pixel":
            return " ", Style(bgcolor=self.class_levels[level])
        if self.mode == "mono":
            return self.class_cell(level)
        return "█", Style(color=self.class_color(label))

    def class_point_style(self, label: int) -> Style:
        """A data point of class ``label`` of K: its class's full colour, bold."""
        if self.mode == "mono":
            return Style(bold=True)
        return Style(color=self.class_color(label), bold=True)

    def value_point_style(self, level: int) -> Style:
        """A regression's data point at ramp ``level`` (of VALUE_GLYPHS), bold."""
        if self.mode == "mono" or not self.value_colors or level < 0:
            return Style(bold=True)
        return Style(color=self.value_colors[min(level, len(self.value_colors) - 1)], bold=True)


def field_palette(
    theme: Theme | None,
    no_color: bool,
    background: Color | None = None,
    steps: int = STEPS,
    strength: float = MAP_STRENGTH,
) -> FieldPalette:
    """The ramp for a theme: ``class-0`` → background → ``class-1``.

    ``background`` is the colour behind the widget (the middle of the ramp);
    without it the theme's background is used. ANSI themes get the glyph fallback,
    ``no_color`` (or no theme) the monochrome one.
    """
    if theme is None or no_color:
        return FieldPalette(mode="mono", steps=steps)
    from themes import theme_colors  # Textual is loaded already; keeps import order simple

    colors = theme_colors(theme)
    low, high = parse_color(colors.get("class-0")), parse_color(colors.get("class-1"))
    fore = parse_color(colors.get("foreground"))
    back = background if background is not None and background.a > 0 else None
    back = back or parse_color(colors.get("background"))
    if low is None or high is None:
        return FieldPalette(mode="mono", steps=steps)
    classes = [parse_color(colors.get(name)) or fore or low for name in CLASS_VARIABLES]
    if back is None or any(c.ansi is not None for c in (low, high, back)):
        half = len(VALUE_GLYPHS) // 2
        return FieldPalette(
            mode="ansi",
            low=rich_color(low),
            high=rich_color(high),
            foreground=rich_color(fore),
            steps=steps,
            class_colors=tuple(rich_color(c) for c in classes),
            value_colors=tuple(rich_color(low if i < half else high)
                               for i in range(len(VALUE_GLYPHS))),
        )
    back = back.with_alpha(1.0)
    levels = []
    for level in range(2 * steps + 1):
        t = abs(level - steps) / steps
        side = low if level < steps else high
        levels.append(back.blend(side, strength * t).rich_color)
    class_levels = [back.blend(c, strength * t / steps).rich_color
                    for c in classes for t in range(steps + 1)]
    middle = (fore or high).blend(back, 0.35)
    return FieldPalette(
        mode="pixel",
        levels=tuple(levels),
        low=rich_color(low),
        high=rich_color(high),
        background=back.rich_color,
        foreground=rich_color(fore),
        steps=steps,
        class_colors=tuple(rich_color(c) for c in classes),
        class_levels=tuple(class_levels),
        value_colors=tuple(c.rich_color
                           for c in ramp_colors(low, middle, high, len(VALUE_GLYPHS))),
    )


# ------------------------------------------------------------------ renderer


@dataclass(frozen=True)
class Mark:
    """A glyph drawn over one cell of the field (a data point)."""

    row: int
    col: int
    glyph: str
    style: Style


_CELL_CACHES: dict[tuple[FieldPalette, Style], dict] = {}
"""The styles of cells and marks by (palette, base style): a redraw reuses those of
the last one instead of adding Rich styles anew (a map has a few dozen distinct)."""


def _cell_cache(palette: FieldPalette, base: Style, classes: bool) -> dict:
    """The style cache of ``render_field`` for this palette, base and kind of field (a
    theme change brings new ones; a handful are kept)."""
    key = (palette, base, classes)
    cache = _CELL_CACHES.get(key)
    if cache is None:
        if len(_CELL_CACHES) >= 16:
            _CELL_CACHES.clear()
        cache = _CELL_CACHES[key] = {}
    return cache


def field_levels(values: np.ndarray, palette: FieldPalette) -> bytes:
    """All that ``render_field`` draws of ``values``: each pixel's ramp level and each
    cell's (the mean of its two pixels: a mark's background), as bytes. Two fields
    with equal levels draw alike, so a map that did not change is not drawn again."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or not values.size:
        return b""
    if values.shape[0] % 2:
        values = np.vstack([values, values[-1:]])
    top, bottom = values[0::2], values[1::2]
    with np.errstate(all="ignore"):
        both = np.where(np.isnan(top), bottom, np.where(np.isnan(bottom), top, (top + bottom) / 2))
    return palette.level_of(values).tobytes() + palette.level_of(both).tobytes()


def render_field(
    values: np.ndarray,
    palette: FieldPalette,
    marks: Iterable[Mark] = (),
    base: Style | None = None,
    classes: bool = False,
) -> list[list[Segment]]:
    """Draw a field of values in [0, 1] as terminal lines, two pixels per cell.

    ``values`` has shape ``(2 * rows, cols)``: pixel row ``2r`` is the upper half
    of cell row ``r``, ``2r + 1`` the lower half (an odd last row is repeated).
    NaN draws as the middle of the ramp. ``marks`` replace a cell's glyph; the cell
    keeps the map's colour (of the mean of its two pixels) as background. Returns
    ``rows`` lists of segments, each exactly ``cols`` cells wide, runs of equal
    cells merged into one segment. ``base`` is combined under every style.

    ``classes``: the values are K classes', ``c + t`` (the winning class ``c`` and how
    sure it is, ``t`` in [0, 1)), each class shaded on its own ramp from the background
    (``FieldPalette.class_level_of``); a mark's cell takes its upper pixel's colour.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2 or values.size == 0:
        return []
    if values.shape[0] % 2:
        values = np.vstack([values, values[-1:]])
    base = base or Style()
    top, bottom = values[0::2], values[1::2]
    level_of = palette.class_level_of if classes else palette.level_of
    levels = palette.class_levels if classes else palette.levels
    if classes:  # two classes' values have no mean: a cell is its upper pixel's
        both = top
    else:
        with np.errstate(all="ignore"):
            both = np.where(np.isnan(top), bottom,
                            np.where(np.isnan(bottom), top, (top + bottom) / 2))
    cell_levels = level_of(both)
    top_levels, bottom_levels = level_of(top), level_of(bottom)
    rows, cols = cell_levels.shape
    overlay = {(m.row, m.col): m for m in marks if 0 <= m.row < rows and 0 <= m.col < cols}
    cache = _cell_cache(palette, base, classes)

    def pixel_cell(upper: int, lower: int) -> tuple[str, Style]:
        key = (upper, lower)
        if key not in cache:
            up, down = levels[upper], levels[lower]
            if up == down:
                cache[key] = " ", base + Style(bgcolor=up)
            elif up is None:
                cache[key] = "▄", base + Style(color=down)
            else:
                cache[key] = "▀", base + Style(color=up, bgcolor=down)
        return cache[key]

    def glyph_cell(level: int) -> tuple[str, Style]:
        key = (level, -1)
        if key not in cache:
            glyph, style = palette.class_cell(level) if classes else palette.cell(level)
            cache[key] = glyph, base + style
        return cache[key]

    pixel = palette.mode == "pixel"
    n_levels = len(levels) if pixel else 0
    # one integer per cell naming what is drawn there; runs of equal codes become segments
    codes = top_levels * n_levels + bottom_levels if pixel else cell_levels.copy()
    for index, (r, c) in enumerate(overlay):
        codes[r, c] = -1 - index  # every mark is a run of its own
    marks_by_code = {-1 - index: mark for index, mark in enumerate(overlay.values())}
    lines: list[list[Segment]] = []
    for r in range(rows):
        row = codes[r]
        starts = [0, *(np.flatnonzero(row[1:] != row[:-1]) + 1).tolist()]
        ends = [*starts[1:], cols]
        segments: list[Segment] = []
        for start, end in zip(starts, ends, strict=True):
            code = int(row[start])
            if code < 0:
                mark = marks_by_code[code]
                under = int(cell_levels[r, start]) if pixel else -1
                look = cache.get((mark.style, under))
                if look is None:
                    bgcolor = levels[under] if pixel else None
                    look = cache[mark.style, under] = base + mark.style + Style(bgcolor=bgcolor)
                segments.append(Segment(mark.glyph, look))
                continue
            if pixel:
                text, style = pixel_cell(code // n_levels, code % n_levels)
            else:
                text, style = glyph_cell(code)
            segments.append(Segment(text * (end - start), style))
        lines.append(segments)
    return lines


# ---------------------------------------------------------------- geometry


def padded_bounds(points: Sequence[np.ndarray], padding: float = PADDING) -> Bounds:
    """The bounding box of the finite points, padded by ``padding`` of its range.

    A flat range gets ±0.5; no points at all give the unit square.
    """
    finite = [p[np.isfinite(p).all(axis=1)] for p in points if p is not None and len(p)]
    finite = [p for p in finite if len(p)]
    if not finite:
        return 0.0, 1.0, 0.0, 1.0
    stacked = np.concatenate(finite)
    out: list[float] = []
    for column in (0, 1):
        low, high = float(stacked[:, column].min()), float(stacked[:, column].max())
        pad = padding * (high - low) if high > low else 0.5
        out += [low - pad, high + pad]
    return out[0], out[1], out[2], out[3]


def grid_points(bounds: Bounds, cols: int, pixel_rows: int) -> np.ndarray:
    """Pixel centres, row-major from the top pixel row: shape ``(pixel_rows * cols, 2)``."""
    x0, x1, y0, y1 = bounds
    xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols
    ys = y1 - (np.arange(pixel_rows) + 0.5) * (y1 - y0) / pixel_rows
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def cells_of(points: np.ndarray, bounds: Bounds, cols: int, rows: int) -> np.ndarray:
    """The (row, col) cell of each point, -1 for points outside the plane or not finite."""
    x0, x1, y0, y1 = bounds
    with np.errstate(all="ignore"):
        col = np.floor((points[:, 0] - x0) / (x1 - x0) * cols)
        row = np.floor((y1 - points[:, 1]) / (y1 - y0) * rows)
    ok = np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col < cols) & (row >= 0)
    ok &= row < rows
    out = np.full((len(points), 2), -1, dtype=np.int64)
    out[ok, 0], out[ok, 1] = row[ok], col[ok]
    return out


def format_tick(value: float) -> str:
    """A short axis label: 0, 0.5, -1.2, 1e+03."""
    return f"{value:.3g}" if value else "0"


# ------------------------------------------------------------------ widgets


@dataclass(frozen=True)
class _Layout:
    """Where the parts of a plane view go, in content-region cells."""

    title: bool
    legend: bool
    axes: bool
    gutter: int
    map_top: int
    map_cols: int
    map_rows: int
    bounds: Bounds
    y_ticks: tuple[tuple[int, str], ...] = ()
    x_ticks: tuple[tuple[int, str], ...] = ()


class RampWidget(Widget):
    """Base of widgets painted with a ramp of the app's theme (``palette``), which they
    read once and again after every theme change."""

    palette_strength: ClassVar[float] = MAP_STRENGTH
    """How far the ramp's ends go from the background towards the class colours."""

    _palette: FieldPalette | None = None

    def on_mount(self) -> None:
        """Follow theme changes."""
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self.refresh_colors()

    def refresh_colors(self) -> None:
        """Re-read the colours (done on theme changes; call it if only the CSS changed)."""
        self._palette = None
        self.refresh()

    @property
    def palette(self) -> FieldPalette:
        """The ramp of the running app's theme (monochrome under NO_COLOR)."""
        if self._palette is None:
            back = self.background_colors[1]
            self._palette = field_palette(
                self.app.current_theme,
                bool(self.app.no_color),
                back if back.a > 0 else None,
                strength=self.palette_strength,
            )
        return self._palette


class PlaneView(RampWidget):
    """Base of widgets that shade a function over the input plane, with data points.

    Subclasses implement :meth:`evaluate` (raw model output at the grid points, one
    vectorised call) and :meth:`to_values` (that output as values in [0, 1]), and
    may override :meth:`title_pieces` / :meth:`legend_pieces`. The lines are cached
    and rebuilt only when the data, the size or the colours change; the model is
    re-evaluated only when :meth:`model_changed` was called or the grid changed.
    """

    DEFAULT_CSS = """
    PlaneView {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "no model yet"
    """Shown (on the background) while there is nothing to evaluate."""

    reuse_field: ClassVar[bool] = False
    """Keep the map's lines while its ramp levels stay the same (``field_levels``): for
    views redrawn often whose maps settle (the race's); the others draw every time."""

    def __init__(
        self,
        title: str = "",
        *,
        show_axes: bool = True,
        show_legend: bool = True,
        show_points: bool = True,
        equal_aspect: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._title = title
        self.equal_aspect = equal_aspect
        """Widen the plane so that x and y have the same scale (a circle stays round)."""
        self.show_axes = show_axes
        self.show_legend = show_legend
        self.show_points = show_points
        self._bounds: Bounds | None = None
        self.n_classes = 2
        """The data's classes K; 0 for a regression (points coloured by value)."""
        self.value_range: tuple[float, float] = (0.0, 1.0)
        """A regression's ramp: the training targets' lowest and highest value."""
        self._train: tuple[np.ndarray, np.ndarray] | None = None
        self._test: tuple[np.ndarray, np.ndarray] | None = None
        self._version = 0  # anything shown changed
        self._model_version = 0  # the model changed: re-evaluate the grid
        self._grid_key: tuple | None = None
        self._grid: np.ndarray | None = None
        self._error: str | None = None
        self._lines_key: tuple | None = None
        self._lines: list[Strip] = []
        self._points_version = 0  # the data points changed: place their marks again
        self._marks_key: tuple | None = None
        self._marks_cache: list[Mark] = []
        self._field_key: tuple | None = None  # what the map's lines were drawn from
        self._field: list[Strip] = []
        self.eval_count = 0
        """How many times the grid was evaluated (one model call each); for tests."""
        self.draw_count = 0
        """How many times the lines were rebuilt (cache misses); for tests."""

    # --- data -------------------------------------------------------------------
    @property
    def title(self) -> str:
        """The title, first on the top line (setting it repaints)."""
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = value
        self._changed()

    @property
    def bounds(self) -> Bounds:
        """The plane shown: (x_min, x_max, y_min, y_max)."""
        if self._bounds is not None:
            return self._bounds
        return padded_bounds([s[0] for s in (self._train, self._test) if s is not None])

    def set_points(
        self,
        X_train: np.ndarray | None,  # noqa: N803
        y_train: np.ndarray | None,
        X_test: np.ndarray | None = None,  # noqa: N803
        y_test: np.ndarray | None = None,
        bounds: Bounds | None = None,
        n_classes: int | None = None,
    ) -> None:
        """Replace the data points (raw coordinates, labels: class numbers, or a
        regression's targets) and the plane bounds.

        ``bounds`` None: the points' bounding box padded by 10%. ``n_classes``: the
        classes K (0: a regression); None keeps the current.
        """
        if n_classes is not None:
            self.n_classes = n_classes
        self._train = _points(X_train, y_train)
        self._test = _points(X_test, y_test)
        if self.regression and self._train is not None:
            targets = self._train[1][np.isfinite(self._train[1])]
            if targets.size:
                self.value_range = (float(targets.min()), float(targets.max()))
        self._bounds = None if bounds is None else tuple(float(b) for b in bounds)  # type: ignore[assignment]
        self._points_version += 1
        self.model_changed()

    @property
    def regression(self) -> bool:
        return self.n_classes == 0

    @property
    def multiclass(self) -> bool:
        """More than two classes: each pixel shaded in its winning class's colour."""
        return self.n_classes > 2

    @property
    def class_field(self) -> bool:
        """The values shaded are K classes' (``c + t``, see ``render_field``), not a ramp's."""
        return False

    def model_changed(self) -> None:
        """The model's output may have changed: re-evaluate at the next paint."""
        self._model_version += 1
        self._changed()

    def _changed(self) -> None:
        self._version += 1
        self.refresh()

    def repaint_changed_lines(self) -> None:
        """The model or the title changed (``_model_version``, ``_version`` bumped without
        a refresh): build the lines now and repaint only those that differ from the
        lines on screen. A map that has settled changes in a few cells a redraw, and
        Textual then renders and composites those lines alone, not the whole widget.
        A view never drawn at this size (or in these colours) repaints whole."""
        width, height = self.size
        key = (self._version, width, height, self.palette, self.selection_key())
        if width <= 0 or height <= 0 or self._lines_key is None or self._lines_key[1:] != key[1:]:
            self.refresh()
            return
        old = self._lines
        self._lines, self._lines_key = self._safe_build(width, height), key
        changed = [y for y in range(max(len(old), len(self._lines)))
                   if y >= len(old) or y >= len(self._lines) or old[y] != self._lines[y]]
        for first, last in _runs(changed):
            self.refresh(Region(0, first, width, last - first + 1))

    # --- subclass hooks -----------------------------------------------------------
    @property
    def has_model(self) -> bool:
        """Is there anything to evaluate?"""
        return False

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """The model's raw output at ``points`` (n, 2): one vectorised call."""
        raise NotImplementedError

    def to_values(self, output: np.ndarray) -> np.ndarray:
        """Map the raw output (as returned by :meth:`evaluate`) to values in [0, 1], (n,)."""
        return np.clip(np.asarray(output, dtype=np.float64).reshape(-1), 0.0, 1.0)

    def selection_key(self) -> tuple:
        """Extra state the lines depend on (e.g. the selected unit)."""
        return ()

    def title_pieces(self) -> list[Group]:
        """The top line, as groups of (text, style); later groups are dropped if too long."""
        return [[(self._title, Style(bold=True))]] if self._title else []

    def ramp_labels(self) -> tuple[str | None, str, str]:
        """Labels of the legend ramp: low end, middle, high end (low None: upper half only)."""
        return "p=0", "0.5", "1"

    def legend_pieces(self) -> list[Group]:
        """The bottom line: the ramp (K classes: each class's colour), then the point key."""
        if self.class_field:
            return self._class_legend()
        palette = self.palette
        low, mid, high = self.ramp_labels()
        steps = palette.steps
        ramp: Group = []
        if low is not None:
            ramp += [(f"{low} ", Style())]
            ramp += [palette.swatch(level) for level in range(steps)]
            ramp += [(" ", Style())]
        ramp += [(f"{mid} ", Style())]
        ramp += [palette.swatch(level) for level in range(steps + 1, 2 * steps + 1)]
        ramp += [(f" {high}", Style())]
        groups = [ramp]
        if self.show_points:
            for kind, data in (("train", self._train), ("test", self._test)):
                if data is not None:
                    key: Group = [("   ", Style())]
                    ends = ((0, len(VALUE_GLYPHS) - 1) if self.regression
                            else range(max(self.n_classes, 2)))
                    key += [self.point_mark(kind, c, palette) for c in ends]
                    groups.append([*key, (f" {kind}", Style())])
        return groups

    def _class_legend(self) -> list[Group]:
        """``■0 ■1 ■2  pale: unsure   ● train``: each class's colour (without colour, its
        marker and fill), then how the shade reads, then the point key."""
        palette = self.palette
        groups: list[Group] = []
        for c in range(self.n_classes):
            glyph, style = palette.class_swatch(c)
            piece: Group = [(" " if c else "", Style())]
            if palette.mode != "pixel":
                marker, marker_style = self.point_mark("train", c, palette)
                piece.append((marker, marker_style))
            piece += [(glyph * 2, style), (f"{c}", Style())]
            groups.append(piece)
        if palette.mode != "mono":
            groups.append([("  pale: unsure", Style(dim=True))])
        if self.show_points and palette.mode == "pixel":
            for kind, data in (("train", self._train), ("test", self._test)):
                if data is not None:
                    glyph = TRAIN_GLYPH if kind == "train" else TEST_GLYPH
                    groups.append([(f"   {glyph} {kind}", Style())])
        elif self._test is not None and self.show_points:
            groups.append([("   test underlined", Style(dim=True))])
        return groups

    def point_glyph(self, kind: str, label: int) -> str:
        """``●`` for training points, ``◆`` for test points (by label too under NO_COLOR)."""
        if self.palette.monochrome:
            return MONO_POINT_GLYPHS[(kind, label)]
        return TRAIN_GLYPH if kind == "train" else TEST_GLYPH

    # --- layout -----------------------------------------------------------------
    def layout_for(self, width: int, height: int) -> _Layout:
        """Fit title, legend, axes and map into ``width`` x ``height`` (map at least 1x1)."""
        title = height >= 4 and bool(self.title_pieces())
        legend = self.show_legend and height >= 6 and width >= 16
        axes = self.show_axes and width >= 24 and height >= 8
        map_rows = max(1, height - title - legend - axes)
        data_bounds = self.bounds
        bounds, y_ticks, gutter = data_bounds, [], 0
        for _ in range(2):  # the gutter depends on the y labels, the bounds on the map width
            if axes:
                y_ticks = self._y_ticks(bounds, map_rows)
                gutter = max((len(label) for _, label in y_ticks), default=0) + 1
            bounds = self._view_bounds(data_bounds, max(1, width - gutter), map_rows)
        map_cols = max(1, width - gutter)
        x_ticks: list[tuple[int, str]] = []
        if axes:
            y_ticks = self._y_ticks(bounds, map_rows)
            x0, x1 = bounds[0], bounds[1]
            for tick in nice_ticks(x0, x1, max(2, map_cols // 8)):
                col = min(map_cols - 1, int((tick - x0) / (x1 - x0) * map_cols))
                x_ticks.append((col, format_tick(tick)))
        return _Layout(
            title=title,
            legend=legend,
            axes=axes,
            gutter=gutter,
            map_top=int(title),
            map_cols=map_cols,
            map_rows=map_rows,
            bounds=bounds,
            y_ticks=tuple(y_ticks),
            x_ticks=tuple(x_ticks),
        )

    @staticmethod
    def _y_ticks(bounds: Bounds, map_rows: int) -> list[tuple[int, str]]:
        """(map row, label) of round y values, at most one every three rows."""
        y0, y1 = bounds[2], bounds[3]
        ticks = []
        for tick in nice_ticks(y0, y1, max(2, map_rows // 3)):
            row = min(map_rows - 1, int((y1 - tick) / (y1 - y0) * map_rows))
            ticks.append((row, format_tick(tick)))
        return ticks

    def _view_bounds(self, bounds: Bounds, cols: int, rows: int) -> Bounds:
        """``bounds`` as shown: widened about its centre to square pixels if ``equal_aspect``."""
        if not self.equal_aspect:
            return bounds
        x0, x1, y0, y1 = bounds
        per_pixel = max((x1 - x0) / cols, (y1 - y0) / (2 * rows))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half_w, half_h = per_pixel * cols / 2, per_pixel * rows
        return cx - half_w, cx + half_w, cy - half_h, cy + half_h

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(cols, pixel rows) of the map at the current size: the grid evaluated."""
        width, height = self.size
        layout = self.layout_for(max(1, width), max(1, height))
        return layout.map_cols, 2 * layout.map_rows

    # --- rendering --------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One line of the cached drawing (rebuilt when data, size or colours changed)."""
        width, height = self.size
        if width <= 0 or height <= 0:
            return Strip.blank(max(0, width))
        key = (self._version, width, height, self.palette, self.selection_key())
        if key != self._lines_key:
            self._lines, self._lines_key = self._safe_build(width, height), key
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)

    def _safe_build(self, width: int, height: int) -> list[Strip]:
        """Build the lines; a failure becomes a one-line message instead of a crash."""
        self.draw_count += 1
        try:
            return self._build(width, height)
        except Exception as error:  # a view must never take the app down
            self.log.error(f"{type(self).__name__} could not draw: {error!r}")
            message = f"cannot draw ({type(error).__name__})"
            return [self._text_strip([[(message, Style())]], width)]

    def _grid_values(self, bounds: Bounds, cols: int, pixel_rows: int) -> np.ndarray | None:
        """Values (pixel_rows, cols) in [0, 1], or None with no model / after an error."""
        if not self.has_model:
            return None
        key = (self._model_version, cols, pixel_rows, bounds)
        if key != self._grid_key:
            self._grid_key, self._grid, self._error = key, None, None
            self.eval_count += 1
            try:
                with np.errstate(all="ignore"):
                    self._grid = self.evaluate(grid_points(bounds, cols, pixel_rows))
            except Exception as error:  # a half-built model must not crash the view
                self._error = f"cannot evaluate the model ({type(error).__name__})"
                self.log.error(f"{type(self).__name__}: {error!r}")
        if self._grid is None:
            return None
        with np.errstate(all="ignore"):
            return self.to_values(self._grid).reshape(pixel_rows, cols)

    def _marks(self, layout: _Layout) -> list[Mark]:
        """Data points as glyphs: training points first, test points over them.

        Cached with what places them (the points, the plane, the map's size, the
        colours): the points do not move while the model trains, and a hundred marks
        a redraw cost more than the map they sit on."""
        if not self.show_points:
            return []
        palette = self.palette
        key = (self._points_version, layout.bounds, layout.map_cols, layout.map_rows, palette,
               self.n_classes, self.value_range)
        if key == self._marks_key:
            return self._marks_cache
        marks: list[Mark] = []
        for kind, data in (("train", self._train), ("test", self._test)):
            if data is None:
                continue
            X, y = data  # noqa: N806
            cells = cells_of(X, layout.bounds, layout.map_cols, layout.map_rows)
            looks: dict[int, tuple[str, Style]] = {}
            for (row, col), label in zip(cells.tolist(), self._point_keys(y), strict=True):
                if row >= 0:
                    look = looks.get(label)
                    if look is None:
                        look = looks[label] = self.point_mark(kind, label, palette)
                    marks.append(Mark(row, col, *look))
        self._marks_key, self._marks_cache = key, marks
        return marks

    def _point_keys(self, labels: np.ndarray) -> list[int]:
        """What tells points apart: the class (0/1 by the 0.5 rule, or 0..K-1), or a
        regression's level on the ramp of ``value_range``."""
        if self.regression:
            return value_level(labels, *self.value_range).tolist()
        if self.multiclass:
            return np.rint(labels).astype(np.int64).tolist()
        return (labels > 0.5).astype(np.int64).tolist()

    def point_mark(self, kind: str, key: int, palette: FieldPalette) -> tuple[str, Style]:
        """(glyph, style) of a ``train`` or ``test`` point of class (or ramp level) ``key``.

        In colour every point is ``●`` (train) or ``◆`` (test) in its class's (value's)
        colour; where colour cannot tell K classes or the values apart, the class's
        marker (o x + ...) or the value's bar (▁..█), test points underlined."""
        if not (self.multiclass or self.regression):
            return self.point_glyph(kind, key), palette.point_style(key)
        style = (palette.value_point_style(key) if self.regression
                 else palette.class_point_style(key))
        if palette.mode == "pixel":
            return (TRAIN_GLYPH if kind == "train" else TEST_GLYPH), style
        glyph = VALUE_GLYPHS[max(key, 0)] if self.regression else class_marker(key)
        return glyph, style + Style(underline=kind == "test")

    def _build(self, width: int, height: int) -> list[Strip]:
        layout = self.layout_for(width, height)
        palette, base = self.palette, self.rich_style
        cols, rows = layout.map_cols, layout.map_rows
        values = self._grid_values(layout.bounds, cols, 2 * rows)
        message = None
        if values is None:
            values = np.full((2 * rows, cols), np.nan)
            message = self._error or (None if self.has_model else self.placeholder)
        lines: list[Strip] = []
        if layout.title:
            lines.append(self._text_strip(self.title_pieces(), width))
        marks = self._marks(layout)
        if not self.reuse_field:
            lines += self._field_lines(values, marks, message, layout, width, base)
        else:
            key = (field_levels(values, palette), message, palette, self._marks_key, layout,
                   width, base)
            if key != self._field_key:  # the map looks different: draw it again
                self._field_key, self._field = key, self._field_lines(
                    values, marks, message, layout, width, base)
            lines += self._field
        dim = base + Style(dim=True)
        if layout.axes:
            axis = [" "] * width
            free = 0
            for col, label in layout.x_ticks:
                start = max(0, min(width - len(label), layout.gutter + col - len(label) // 2))
                if start < free:
                    continue
                axis[start : start + len(label)] = label
                free = start + len(label) + 1
            lines.append(Strip([Segment("".join(axis)[:width], dim)], width))
        if layout.legend:
            lines.append(self._text_strip(self.legend_pieces(), width))
        return lines[:height]

    def _field_lines(self, values: np.ndarray, marks: list[Mark], message: str | None,
                     layout: _Layout, width: int, base: Style) -> list[Strip]:
        """The map's lines (``render_field``), with the y labels and a message over it."""
        cols, rows = layout.map_cols, layout.map_rows
        field = render_field(values, self.palette, marks, base, self.class_field)
        if message:
            middle = rows // 2
            field[middle] = _overwrite(field[middle], message[:cols], base, cols)
        y_labels = dict(layout.y_ticks)
        dim = base + Style(dim=True)
        lines = []
        for row, segments in enumerate(field):
            if layout.gutter:
                label = y_labels.get(row, "").rjust(layout.gutter - 1) + " "
                segments = [Segment(label, dim), *segments]
            lines.append(Strip(segments).adjust_cell_length(width, base))
        return lines

    def _text_strip(self, groups: Sequence[Group], width: int) -> Strip:
        """A line of groups of styled pieces: the first group always (cropped), the
        others only whole and only if they fit."""
        return text_strip(groups, width, self.rich_style)


def text_strip(groups: Sequence[Group], width: int, base: Style) -> Strip:
    """A line of ``width`` cells from groups of (text, style) pieces.

    The first group is always shown (cropped to the width); each later group only
    whole, and only if it fits, so a legend never shows half an entry.
    """
    segments: list[Segment] = []
    used = 0
    for index, group in enumerate(groups):
        size = sum(len(text) for text, _ in group)
        if index and used + size > width:
            break
        for text, style in group:
            text = text[: max(0, width - used)]
            if text:
                segments.append(Segment(text, base + style if style else base))
                used += len(text)
    return Strip(segments).adjust_cell_length(width, base)


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in the sorted ``rows``."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and row == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], row)
        else:
            runs.append((row, row))
    return runs


def _overwrite(segments: list[Segment], text: str, base: Style, cols: int) -> list[Segment]:
    """Centre ``text`` over a line of cells, replacing the cells under it."""
    line = Strip(segments)
    start = max(0, (cols - len(text)) // 2)
    left = line.crop(0, start)
    right = line.crop(start + len(text), cols)
    return [*left, Segment(text, base + Style(italic=True)), *right]


def _points(X: np.ndarray | None, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Validate points (n, 2) and labels (n,) or (n, 1): class numbers, or a regression's
    targets (one-hot rows (n, K) become class numbers); None if absent or empty."""
    if X is None or y is None:
        return None
    X = np.asarray(X, dtype=np.float64)  # noqa: N806
    labels = np.asarray(y, dtype=np.float64)
    if labels.ndim == 2 and labels.shape[1] > 1:
        labels = labels.argmax(axis=1).astype(np.float64)
    labels = labels.reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), not {X.shape}")
    if len(X) != len(labels):
        raise ValueError("points and labels differ in length")
    if not len(X):
        return None
    return X, labels


PROBABILITY_TITLE = "p(class 1)"
OUTPUT_TITLE = "output"
CLASS_TITLE = "most likely class"
VALUE_TITLE = "prediction"


def _accuracy_now(trainer) -> tuple[float | None, float | None]:
    """(train, test) accuracy at the trainer's current weights (test None: no split)."""
    test = trainer.evaluate("test")["accuracy"] if trainer.data.has_test else None
    return trainer.evaluate("train")["accuracy"], test


class DecisionBoundary(PlaneView):
    """The predicted probability of class 1 over the input plane, with the data on top.

    Feed it with :meth:`set_model` (or :meth:`set_trainer`), then call
    :meth:`refresh_map` whenever the weights changed: the grid (map columns x twice
    the map rows) is evaluated in one vectorised ``predict`` call at the next paint.
    Training points are ``●``, test points ``◆``, both in their label's colour.
    """

    DEFAULT_CSS = """
    DecisionBoundary {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, title: str = "Decision boundary", **options: Any) -> None:
        """``options``: PlaneView's (show_axes, show_legend, show_points, equal_aspect,
        name, id, classes)."""
        super().__init__(title, **options)
        self._predict: Predict | None = None
        self._trainer = None
        self._accuracy: tuple[float | None, float | None] = (None, None)
        self._trainer_accuracy: Callable[[], tuple[float | None, float | None]] = (
            lambda: (None, None))
        self._probability = True  # the output is a probability (sigmoid)
        self.predict_calls = 0
        """How many times ``predict`` was called; for tests."""

    def set_model(
        self,
        predict: Predict,
        X_train_raw: np.ndarray,  # noqa: N803
        y_train: np.ndarray,
        X_test_raw: np.ndarray | None = None,  # noqa: N803
        y_test: np.ndarray | None = None,
        bounds: Bounds | None = None,
        n_classes: int = 2,
    ) -> None:
        """Show ``predict`` (raw (n, 2) coordinates -> probabilities (n,), or (n, K) for
        ``n_classes`` K; a regression's (``n_classes`` 0) predictions) over the data.

        ``bounds`` None: the data bounds (train and test) padded by 10% of the range.
        The arrays are kept by reference; do not change them afterwards.
        """
        self._predict = predict
        self._trainer = None
        self.set_points(X_train_raw, y_train, X_test_raw, y_test, bounds, n_classes)

    def set_trainer(
        self, trainer, accuracy: Callable[[], tuple[float | None, float | None]] | None = None
    ) -> None:
        """``set_model`` from an ``engine.Trainer``; ``refresh_map`` then reads its accuracy:
        ``accuracy()`` (train, test) at the weights the map shows, by default measured
        here (the app hands its session's, the figures its status line shows).

        The title names what is shaded: a sigmoid output's probability of class 1, or
        any other output, clipped to [0, 1] for its colour (the legend's ends say so).
        """
        data = trainer.data
        self.set_model(trainer.predict_raw, data.X_train_raw, data.labels("train"),
                       data.X_test_raw, data.labels("test"), n_classes=data.classes)
        self._trainer = trainer
        self._probability = trainer.config.output_name == "probability"
        self.title = (VALUE_TITLE if self.regression else CLASS_TITLE if self.multiclass
                      else PROBABILITY_TITLE if self._probability else OUTPUT_TITLE)
        self._trainer_accuracy = accuracy or (lambda: _accuracy_now(trainer))
        self._read_trainer_accuracy()

    def clear(self) -> None:
        """Forget the model and the points."""
        self._predict, self._trainer = None, None
        self._accuracy = (None, None)
        self.set_points(None, None)

    def refresh_map(self) -> None:
        """The weights changed: re-evaluate the grid at the next paint."""
        self._read_trainer_accuracy()
        self.model_changed()

    def set_accuracy(self, train: float | None, test: float | None = None) -> None:
        """Show accuracies (fractions in [0, 1]; None or NaN hides one) in the title."""
        self._accuracy = (train, test)
        self._changed()

    def _read_trainer_accuracy(self) -> None:
        if self._trainer is not None:
            self._accuracy = self._trainer_accuracy()

    @property
    def class_field(self) -> bool:
        return self.multiclass

    def ramp_labels(self) -> tuple[str | None, str, str]:
        if self.regression:  # the training targets' range, the ramp's middle between
            low, high = self.value_range
            return f"{low:.2g}", f"{(low + high) / 2:.2g}", f"{high:.2g}"
        if self._probability:
            return super().ramp_labels()
        return "≤0", "0.5", "≥1"  # an unbounded output, clipped for its colour

    def to_values(self, output: np.ndarray) -> np.ndarray:
        """A regression's prediction on its targets' ramp; K classes' probabilities as
        ``c + t``: the winning class and how sure it is, from 1/K (t = 0, the
        background) to certain (t just below 1); else the probability clipped to [0, 1]."""
        out = np.asarray(output, dtype=np.float64)
        if self.regression:
            low, high = self.value_range
            span = high - low if high > low else 1.0
            return np.clip((out.reshape(-1) - low) / span, 0.0, 1.0)
        if self.multiclass and out.ndim == 2:
            k = out.shape[1]
            finite = np.isfinite(out).all(axis=1)
            safe = np.where(finite[:, None], out, 0.0)
            winner, p = safe.argmax(axis=1), safe.max(axis=1)
            t = np.clip((p - 1 / k) / (1 - 1 / k), 0.0, 0.999)
            return np.where(finite, winner + t, np.nan)
        return super().to_values(out)

    @property
    def has_model(self) -> bool:
        return self._predict is not None

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """One call of the model on all grid points."""
        assert self._predict is not None
        self.predict_calls += 1
        out = np.asarray(self._predict(points), dtype=np.float64)
        if out.ndim == 2 and out.shape[1] > 1 and self.multiclass:
            return out  # K classes' probabilities: to_values picks the winner
        if out.ndim == 2:
            out = out[:, 0]
        if out.shape != (len(points),):
            raise ValueError(f"predict returned shape {out.shape} for {len(points)} points")
        return out

    def title_pieces(self) -> list[Group]:
        groups = super().title_pieces()
        for name, value in zip(("train", "test"), self._accuracy, strict=True):
            if value is not None and math.isfinite(value):
                figure = f"R² {value:.4f}" if self.regression else f"{100 * value:.1f}%"
                groups.append([(f"  {name} ", Style(dim=True)), (figure, Style())])
        return groups


__all__ = [
    "Bounds",
    "DecisionBoundary",
    "FieldPalette",
    "Mark",
    "PlaneView",
    "RampWidget",
    "Predict",
    "cells_of",
    "field_palette",
    "grid_points",
    "padded_bounds",
    "render_field",
]
