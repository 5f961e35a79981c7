"""Looking inside the network: weights, hidden units and how the norms evolve.

* :class:`WeightsView` shows one layer's augmented matrix ``[W; b]`` as a heatmap, with a
  cursor on one entry when asked (the inspect screen's, to edit a weight by hand).
* :class:`NeuronView` shades one hidden unit's activation over the input plane
  (the decision map's renderer, :func:`tui.widgets.boundary.render_field`).
* :class:`NormsChart` plots per-layer weight and gradient norms against the epoch,
  fed by :class:`engine.train.probes.NormTracker`.

Layers and units are numbered from 1, as the rest of nn-tui shows them: layer ``l``
is the ``l``-th weight matrix and the units it outputs. None of these widgets binds
keys; the app calls ``next_layer()`` / ``next_unit()`` and friends.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.reactive import reactive
from textual.strip import Strip

from engine.nn.network import Network
from engine.train.probes import NormTracker
from tui.widgets.boundary import (
    Bounds,
    Group,
    PlaneView,
    RampWidget,
    text_strip,
)
from tui.widgets.charts import (
    POINTS_PER_COLUMN,
    ChartColors,
    LossChart,
    PlotextChart,
    _Curve,
    _finite,
    _marker,
    _pixel,
    _title,
    downsample,
    format_count,
    format_loss,
    log_ticks,
    matrix_to_text,
    new_figure,
    nice_ticks,
)

WEIGHT_STRENGTH = 0.85
"""The weight heatmap's ramp goes this far towards the class colours (no points on it)."""

MAX_CELL_WIDTH = 7
"""Widest heatmap cell, in columns (enough for ``-12.34``)."""

BOUNDED = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}

CURSOR_STYLE = Style(reverse=True, bold=True, underline=True)
"""The entry under the weights' cursor: reversed (and underlined, which NO_COLOR keeps)."""
"""Activations with a fixed output range: their values are shaded on that range."""


# ------------------------------------------------------------------ weights


def _format_weight(value: float, room: int) -> str:
    """``value`` in at most ``room`` characters ('' if it cannot fit)."""
    if not math.isfinite(value):
        return "nan"[:room] if room >= 3 else ""
    for digits in (2, 1, 0):
        text = f"{value:.{digits}f}"
        if text in ("-0", "-0.0", "-0.00"):
            text = text[1:]
        if len(text) <= room:
            return text
    return ""


class WeightsView(RampWidget):
    """One layer's weights as a heatmap: rows are inputs, columns are units, bias last.

    A diverging ramp scaled by the largest ``|w|`` of the layer: negative weights in
    the ``class-0`` colour, zero the background, positive ones ``class-1``. Values
    are printed in the cells when they fit. Call :meth:`set_network` once, then
    ``refresh()`` after training steps: the drawing is rebuilt only if the layer's
    numbers (or the size, or the theme) changed.
    """

    palette_strength = WEIGHT_STRENGTH  # a diverging ramp: - class-0, 0 background, + class-1

    DEFAULT_CSS = """
    WeightsView {
        width: 1fr;
        height: 1fr;
    }
    """

    selected_layer: reactive[int] = reactive(1)
    """The layer shown, from 1 (clamped to the network's layers).

    Not called ``layer``: ``Widget.layer`` is Textual's CSS layer of the widget, and
    shadowing it breaks the layout of the widget's container."""

    cursor_row: reactive[int] = reactive(0)
    """The cursor's row in the layer's ``[W; b]`` (from 0; the last is the bias row)."""

    cursor_col: reactive[int] = reactive(0)
    """The cursor's column (the unit, from 0)."""

    def __init__(
        self, *, cursor: bool = False, name: str | None = None, id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """``cursor``: show a cursor on one entry (moved by ``move_cursor``)."""
        super().__init__(name=name, id=id, classes=classes)
        self.cursor = cursor
        self._network: Network | None = None
        self._lines_key: tuple | None = None
        self._lines: list[Strip] = []
        self.draw_count = 0
        """How many times the lines were rebuilt (cache misses); for tests."""

    # --- data ----------------------------------------------------------------
    def set_network(self, network: Network | None, layer: int | None = None) -> None:
        """Show ``network`` (kept by reference: its current weights are read at each paint)."""
        self._network = network
        if layer is not None:
            self.selected_layer = layer
        else:
            self.selected_layer = self.validate_selected_layer(self.selected_layer)
        self._clamp_cursor()
        self.refresh()

    @property
    def n_layers(self) -> int:
        """Layers of the network shown (0 without one)."""
        return self._network.n_layers if self._network is not None else 0

    def validate_selected_layer(self, layer: int) -> int:
        """Clamp to 1 .. n_layers."""
        return max(1, min(int(layer), max(1, self.n_layers)))

    def next_layer(self) -> None:
        """Show the next layer (after the last: the first)."""
        if self.n_layers:
            self.selected_layer = self.selected_layer % self.n_layers + 1
            self._clamp_cursor()

    def previous_layer(self) -> None:
        """Show the previous layer (before the first: the last)."""
        if self.n_layers:
            self.selected_layer = (self.selected_layer - 2) % self.n_layers + 1
            self._clamp_cursor()

    # --- the cursor ------------------------------------------------------------
    def _shape(self) -> tuple[int, int]:
        """Rows and columns of the selected layer's ``[W; b]`` ((0, 0) without a network)."""
        if self._network is None:
            return 0, 0
        rows, cols = self._network.params[self.selected_layer - 1].shape
        return int(rows), int(cols)

    def _clamp_cursor(self) -> None:
        rows, cols = self._shape()
        self.cursor_row = max(0, min(self.cursor_row, rows - 1))
        self.cursor_col = max(0, min(self.cursor_col, cols - 1))

    def move_cursor(self, rows: int, cols: int) -> bool:
        """Move the cursor; past the last column it goes on in the next layer's first one,
        before the first in the previous layer's last (rows stay inside the matrix).
        False if it could not move (an edge of the network)."""
        if self._network is None:
            return False
        row, col = self.cursor_row + rows, self.cursor_col + cols
        n_rows, n_cols = self._shape()
        if col >= n_cols and self.selected_layer < self.n_layers:
            self.selected_layer += 1
            self.cursor_row, self.cursor_col = row, 0
        elif col < 0 and self.selected_layer > 1:
            self.selected_layer -= 1
            self.cursor_row, self.cursor_col = row, self._shape()[1] - 1
        elif 0 <= row < n_rows and 0 <= col < n_cols:
            self.cursor_row, self.cursor_col = row, col
        else:
            return False
        self._clamp_cursor()
        return True

    def cursor_entry(self) -> tuple[int, str, int, int] | None:
        """The entry under the cursor as an edit names it (``engine.train.edits``): (layer,
        ``weight`` or ``bias``, row, column), every index from 1; None without a network."""
        net = self._network
        if net is None:
            return None
        fan_in = net.sizes[self.selected_layer - 1]
        if self.cursor_row >= fan_in:
            return self.selected_layer, "bias", 1, self.cursor_col + 1
        return self.selected_layer, "weight", self.cursor_row + 1, self.cursor_col + 1

    def cursor_value(self) -> float:
        """The number under the cursor (NaN without a network)."""
        if self._network is None:
            return math.nan
        return float(self._network.params[self.selected_layer - 1][self.cursor_row,
                                                                   self.cursor_col])

    def cursor_label(self) -> str:
        """``x2 → 3``, ``b → y``: the cursor's row and column labels, as the heatmap shows them."""
        rows, cols = self._shape()
        if not rows:
            return ""
        row_labels, col_labels = self._labels(rows, cols)
        return f"{row_labels[self.cursor_row]} → {col_labels[self.cursor_col]}"

    def matrix(self) -> np.ndarray | None:
        """The layer's augmented parameters ``[W; b]`` (a copy), or None."""
        if self._network is None:
            return None
        return np.array(self._network.params[self.selected_layer - 1], dtype=np.float64)

    def caption(self, width: int | None = None) -> str:
        """``layer 2: 4×4 weights, |w| max 3.21, bias shown as the last row``.

        With a ``width``, the longest of three wordings that fits it.
        """
        net = self._network
        if net is None:
            return "weights: no network yet"
        fan_in, fan_out = net.sizes[self.selected_layer - 1], net.sizes[self.selected_layer]
        weights = np.abs(np.asarray(net.weights[self.selected_layer - 1], dtype=np.float64))
        biggest = float(np.nanmax(weights)) if weights.size else 0.0
        bias = "bias shown as the last row" if net.bias else "no bias"
        head = f"layer {self.selected_layer}: {fan_in}×{fan_out}"
        wordings = [
            f"{head} weights, |w| max {biggest:.3g}, {bias}",
            f"{head}, |w| max {biggest:.3g}, " + ("last row: bias" if net.bias else "no bias"),
            f"{head}, |w|≤{biggest:.3g}",
        ]
        return next((w for w in wordings if width is None or len(w) <= width), wordings[-1])

    # --- rendering ------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        """One line of the cached heatmap (rebuilt when numbers, size or colours change)."""
        width, height = self.size
        if width <= 0 or height <= 0:
            return Strip.blank(max(0, width))
        matrix = self.matrix()
        fingerprint = None if matrix is None else (matrix.shape, matrix.tobytes())
        cursor = (self.cursor_row, self.cursor_col) if self.cursor else None
        key = (id(self._network), self.selected_layer, fingerprint, width, height, self.palette,
               cursor)
        if key != self._lines_key:
            self.draw_count += 1
            try:
                self._lines = self._build(matrix, width, height)
            except Exception as error:  # never take the app down
                self.log.error(f"WeightsView could not draw: {error!r}")
                self._lines = [text_strip([[("cannot draw weights", Style())]], width, Style())]
            self._lines_key = key
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(width, self.rich_style)

    def _labels(self, rows: int, cols: int) -> tuple[list[str], list[str]]:
        """Row labels (inputs, then ``b``) and column labels (units) of the layer."""
        net = self._network
        assert net is not None
        fan_in = net.sizes[self.selected_layer - 1]
        prefix = "x" if self.selected_layer == 1 else ""
        row_labels = [f"{prefix}{i + 1}" for i in range(fan_in)] + ["b"] * (rows - fan_in)
        if self.selected_layer == net.n_layers:
            col_labels = ["y"] if cols == 1 else [f"y{j + 1}" for j in range(cols)]
        else:
            col_labels = [str(j + 1) for j in range(cols)]
        return row_labels, col_labels

    def _build(self, matrix: np.ndarray | None, width: int, height: int) -> list[Strip]:
        base, palette = self.rich_style, self.palette
        lines = [text_strip([[(self.caption(width), Style(bold=True))]], width, base)]
        if matrix is None or height < 3:
            return lines[:height]
        rows, cols = matrix.shape
        row_labels, col_labels = self._labels(rows, cols)
        gutter = max(len(label) for label in row_labels) + 1
        cell = max(1, min(MAX_CELL_WIDTH, (width - gutter) // cols))
        shown_cols = max(0, min(cols, (width - gutter) // cell))
        first_col = self._first_shown(shown_cols)
        legend = height >= rows + 3
        room = max(1, height - 2 - legend)
        if rows <= room:
            shown_rows = list(range(rows))
        elif self.cursor and room > 1 and room - 2 < self.cursor_row < rows - 1:
            # the rows up to the cursor that fit, then the bias row
            start = self.cursor_row - (room - 2)
            shown_rows = list(range(start, self.cursor_row + 1)) + [rows - 1]
        else:  # the first rows that fit, then the bias row
            shown_rows = list(range(room - 1)) + [rows - 1] if room > 1 else [rows - 1]
            row_labels = list(row_labels)
            if room > 1:
                row_labels[room - 2] = "⋮"
        finite = np.abs(matrix[np.isfinite(matrix)])
        scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        values = 0.5 + 0.5 * matrix / scale
        levels = palette.level_of(values)
        dim = base + Style(dim=True)
        header = [Segment(" " * gutter, base)]
        for j in range(first_col, first_col + shown_cols):
            more = j == first_col + shown_cols - 1 and j < cols - 1
            label = "…" if more and not (self.cursor and j == self.cursor_col) else col_labels[j]
            header.append(Segment(label[:cell].center(cell), dim))
        lines.append(Strip(header).adjust_cell_length(width, base))
        for i in shown_rows:
            segments = [Segment(row_labels[i].rjust(gutter - 1)[: gutter - 1] + " ", dim)]
            for j in range(first_col, first_col + shown_cols):
                segment = self._cell(float(matrix[i, j]), int(levels[i, j]), cell)
                if self.cursor and (i, j) == (self.cursor_row, self.cursor_col):
                    segment = Segment(segment.text, (segment.style or base) + CURSOR_STYLE)
                segments.append(segment)
            lines.append(Strip(segments).adjust_cell_length(width, base))
        if legend:
            lines.append(text_strip(self._legend(scale), width, base))
        return lines[:height]

    def _first_shown(self, shown_cols: int) -> int:
        """The first column shown: 0, or as far right as the cursor needs."""
        if not self.cursor or shown_cols <= 0:
            return 0
        return max(0, self.cursor_col - shown_cols + 1)

    def _cell(self, value: float, level: int, width: int) -> Segment:
        """One matrix entry: its colour (or glyph) and, when there is room, its value."""
        palette, base = self.palette, self.rich_style
        text = _format_weight(value, width - 1) if width >= 4 else ""
        padded = text.rjust(width - 1) + " " if text else ""
        if palette.mode == "pixel":
            back = palette.levels[level]
            style = Style(bgcolor=back)
            if text and back is not None:
                under = Color(*back.get_truecolor())
                style += Style(color=under.blend(under.get_contrast_text(), 0.85).rich_color)
            return Segment(padded or " " * width, base + style)
        if text:
            side = palette.low if value < 0 else palette.high
            strong = abs(level - palette.steps) > palette.steps // 2
            style = Style(bold=strong) if palette.monochrome else Style(color=side, bold=strong)
            return Segment(padded, base + style)
        glyph, style = palette.cell(level)
        return Segment(glyph * width, base + style)

    def _legend(self, scale: float) -> list[Group]:
        palette = self.palette
        ramp: Group = [(f"-{scale:.3g} ", Style())]
        ramp += [palette.swatch(level) for level in range(palette.steps)]
        ramp += [(" 0 ", Style())]
        ramp += [palette.swatch(level) for level in range(palette.steps + 1, 2 * palette.steps + 1)]
        ramp += [(f" +{scale:.3g}", Style())]
        return [ramp]


# ------------------------------------------------------------------ neurons


class NeuronView(PlaneView):
    """One hidden unit's activation over the input plane.

    Same renderer as the decision map. Bounded activations are shaded on their own
    range (sigmoid 0 … 1, tanh -1 … 1, the middle in the background colour);
    unbounded ones (relu, leaky_relu, linear) diverge from 0 and are scaled by the
    largest ``|a|`` on the plane. One ``hidden_outputs`` call evaluates every hidden
    unit at once, so cycling through units never re-runs the network.
    """

    DEFAULT_CSS = """
    NeuronView {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "no hidden units"

    selected_layer: reactive[int] = reactive(1)
    """Hidden layer of the unit shown, from 1 (``layer`` is Textual's CSS layer)."""

    selected_unit: reactive[int] = reactive(1)
    """The unit shown within its layer, from 1."""

    def __init__(self, **options: Any) -> None:
        """``options``: PlaneView's (show_axes, show_legend, show_points, equal_aspect,
        name, id, classes); the title is set per neuron."""
        super().__init__("", **options)
        self._network: Network | None = None
        self._transform: Callable[[np.ndarray], np.ndarray] | None = None
        self._range: tuple[float, float] = (math.nan, math.nan)

    # --- data ----------------------------------------------------------------
    def set_network(
        self,
        network: Network | None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        X_train_raw: np.ndarray | None = None,  # noqa: N803
        y_train: np.ndarray | None = None,
        bounds: Bounds | None = None,
    ) -> None:
        """Show ``network``'s hidden units over the plane of raw coordinates.

        ``transform`` maps raw (n, 2) points to the network's input (the data's
        scaler, then its features); ``X_train_raw`` / ``y_train`` are drawn as points and set the
        bounds (padded by 10%) unless ``bounds`` is given.
        """
        self._network = network
        self._transform = transform
        self.select(self.selected_layer, self.selected_unit)
        self.set_points(X_train_raw, y_train, bounds=bounds)

    def set_trainer(self, trainer) -> None:
        """``set_network`` from an ``engine.Trainer`` (its network, scaler and points)."""
        data = trainer.data
        self.set_network(trainer.network, data.inputs, data.X_train_raw, data.y_train)

    def refresh_map(self) -> None:
        """The weights changed: re-evaluate the hidden units at the next paint."""
        self.model_changed()

    @property
    def units(self) -> list[tuple[int, int]]:
        """Every hidden unit as (layer, unit), in order."""
        net = self._network
        if net is None:
            return []
        return [
            (layer, unit)
            for layer in range(1, net.n_layers)
            for unit in range(1, net.sizes[layer] + 1)
        ]

    def select(self, layer: int, unit: int) -> None:
        """Show ``unit`` of hidden ``layer`` (clamped to the network's hidden units)."""
        units = self.units
        if not units:
            return
        net = self._network
        assert net is not None
        layer = max(1, min(int(layer), net.n_layers - 1))
        unit = max(1, min(int(unit), net.sizes[layer]))
        self.selected_layer, self.selected_unit = layer, unit

    def next_unit(self) -> None:
        """The next hidden unit, through every layer (after the last: the first)."""
        self._step(1)

    def previous_unit(self) -> None:
        """The previous hidden unit (before the first: the last)."""
        self._step(-1)

    def _step(self, delta: int) -> None:
        units = self.units
        if units:
            current = (self.selected_layer, self.selected_unit)
            index = units.index(current) if current in units else 0
            self.selected_layer, self.selected_unit = units[(index + delta) % len(units)]

    # --- PlaneView hooks ------------------------------------------------------------
    @property
    def has_model(self) -> bool:
        return self._network is not None and self._network.n_layers > 1

    def selection_key(self) -> tuple:
        return (self.selected_layer, self.selected_unit)

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Every hidden unit at every grid point: (n, total hidden units), one pass."""
        assert self._network is not None
        inputs = self._transform(points) if self._transform is not None else points
        hidden = self._network.hidden_outputs(inputs)[:-1]
        return np.concatenate([np.asarray(h, dtype=np.float64) for h in hidden], axis=1)

    def _column(self) -> int:
        assert self._network is not None
        return sum(self._network.sizes[1 : self.selected_layer]) + self.selected_unit - 1

    @property
    def activation(self) -> str:
        """The activation function of the selected unit's layer."""
        if self._network is None:
            return ""
        return self._network.activation_names[self.selected_layer - 1]

    def to_values(self, output: np.ndarray) -> np.ndarray:
        a = output[:, min(self._column(), output.shape[1] - 1)]
        finite = a[np.isfinite(a)]
        self._range = (float(finite.min()), float(finite.max())) if finite.size else (math.nan,) * 2
        low_high = BOUNDED.get(self.activation)
        if low_high is not None:
            low, high = low_high
            return (a - low) / (high - low)
        biggest = float(np.abs(finite).max()) if finite.size else 0.0
        return 0.5 + 0.5 * a / biggest if biggest > 0 else np.full_like(a, 0.5)

    def ramp_labels(self) -> tuple[str | None, str, str]:
        bounded = BOUNDED.get(self.activation)
        if bounded is not None:
            low, high = bounded
            return f"{low:g}", f"{(low + high) / 2:g}", f"{high:g}"
        low, high = self._range
        biggest = max(abs(low), abs(high)) if math.isfinite(low) else 0.0
        if self.activation == "relu":  # never negative: only the upper half of the ramp
            return None, "0", f"{biggest:.3g}"
        return f"-{biggest:.3g}", "0", f"{biggest:.3g}"

    def title_pieces(self) -> list[Group]:
        net = self._network
        if net is None or net.n_layers < 2:
            return [[("hidden unit: none", Style(bold=True))]]
        count = net.sizes[self.selected_layer]
        groups: list[Group] = [
            [(f"layer {self.selected_layer} unit {self.selected_unit}/{count}", Style(bold=True))],
            [(f"  {self.activation}", Style())],
        ]
        low, high = self._range
        if math.isfinite(low):
            note = ""
            if self.activation == "relu" and high <= 0:
                note = " (dead here)"
            groups.append([(f"  range {low:.3g} … {high:.3g}{note}", Style(dim=True))])
        return groups

    def _build(self, width: int, height: int) -> list[Strip]:
        self._range = (math.nan, math.nan)  # found again by to_values, before the title
        return super()._build(width, height)


# -------------------------------------------------------------------- norms


class NormsChart(PlotextChart):
    """Per-layer weight norms ``‖[W; b]‖`` and gradient norms against the epoch (log y).

    One colour per layer; weight norms are drawn bold, gradient norms fine. Feed it
    with :meth:`set_tracker` after each :meth:`NormTracker.observe`; a tracker that
    recorded nothing new does not cause a redraw.
    """

    DEFAULT_CSS = """
    NormsChart {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "norms"

    MONO_MARKERS = {"weight": ("•", "+", "x", "o", "*"), "gradient": ("·", "-", "'", ":", "˙")}
    """Without colour the marker tells the layers (and the two kinds) apart."""

    def __init__(
        self,
        title: str = "Norms",
        *,
        weights: bool = True,
        gradients: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._title = title
        self.show_weights = weights
        self.show_gradients = gradients
        self._data: dict[str, np.ndarray] | None = None
        self._seen: tuple[int, int] | None = None
        self.plotted_lengths: dict[str, int] = {}
        """Points handed to plotext per curve label at the last draw; for tests."""

    def set_tracker(self, tracker: NormTracker | None) -> None:
        """Show a snapshot of ``tracker``'s rows (no redraw if nothing new was recorded)."""
        seen = None if tracker is None else (id(tracker), tracker.version)
        if seen == self._seen:
            return
        self._seen = seen
        self._data = None if tracker is None else tracker.arrays()
        self._data_changed()

    def clear(self) -> None:
        """Forget the data."""
        self.set_tracker(None)

    def _layer_color(self, colors: ChartColors, layer: int):
        success, secondary, error, warning = colors.overlays
        palette = (colors.train, colors.test, secondary, success, warning, error)
        return palette[layer % len(palette)]

    def _curves(self, colors: ChartColors, budget: int, kinds: tuple[str, ...]) -> list[_Curve]:
        """Finite, downsampled, log10 curves of the given kinds, one per layer."""
        data = self._data
        if data is None or data["epoch"].size == 0:
            return []
        named = []
        for kind in kinds:
            for layer, values in enumerate(data[kind]):
                x, y = _finite(data["epoch"], values)
                if (y > 0).any():
                    named.append((kind, layer, *downsample(x, y, budget)))
        positive = [y[y > 0].min() for *_, y in named]
        floor = min(positive) / 10 if positive else 1e-12
        curves = []
        for kind, layer, x, y in named:
            if colors.monochrome:
                markers = self.MONO_MARKERS[kind]
                marker = markers[layer % len(markers)]
            else:
                marker = "braille"
            label = f"{'W' if kind == 'weight' else '∇'}{layer + 1}"
            color = self._layer_color(colors, layer)
            curves.append(_Curve(label, x, np.log10(np.maximum(y, floor)), color, marker))
        return curves

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of norm shown: ``weight`` and/or ``gradient``."""
        shown = (("weight", self.show_weights), ("gradient", self.show_gradients))
        return tuple(kind for kind, on in shown if on)

    def draw(self, width: int, height: int, colors: ChartColors) -> Text:
        """One panel per kind of norm when there is room (each its own log range), else one."""
        figure = new_figure(width, height)
        budget = POINTS_PER_COLUMN * width
        kinds = self.kinds
        self.plotted_lengths = {}
        if len(kinds) == 2 and height >= 16:
            figure.subplots(2, 1)
            figure.theme("colorless")
            panels = [
                (figure.subplot(1, 1), ("weight",), height // 2, False),
                (figure.subplot(2, 1), ("gradient",), height - height // 2, True),
            ]
        else:
            panels = [(figure, kinds, height, True)]
        for index, (panel, panel_kinds, panel_height, bottom) in enumerate(panels):
            curves = self._curves(colors, budget, panel_kinds)
            self.plotted_lengths.update({c.label: int(c.x.size) for c in curves})
            for curve in curves:
                marker = _marker(curve.marker, curve.color)
                panel.draw(panel.signal(curve.x, curve.y, marker=marker).lines())
            self._dress(panel, curves, colors, width, panel_height, bottom)
            pieces = self._legend(colors) if index == 0 else []
            pieces += self._kind_titles(panel_kinds, colors)
            panel.title(_title(pieces, width))
        return matrix_to_text(figure.build(), colors.monochrome)

    @staticmethod
    def _dress(panel, curves, colors: ChartColors, width: int, height: int, bottom: bool):
        """Limits, ticks (log y), axis labels and the axes colour of one panel."""
        xlim, ylim = LossChart._limits(curves)
        panel.ruler("x").lim(*xlim)
        panel.ruler("y").lim(*ylim)
        xticks = nice_ticks(*xlim, max(2, width // 9)) if curves else []
        panel.ruler("x").ticks(xticks, [format_count(t) for t in xticks])
        yticks = log_ticks(*ylim, max(2, (height - 4) // 2)) if curves else []
        panel.ruler("y").ticks(yticks, [format_loss(10**t) for t in yticks])
        if bottom and width >= 30 and height >= 8:
            panel.label("epoch", "x")
        if colors.axes is not None:
            panel.axes(pixel=_pixel(colors.axes))

    def _kind_titles(self, kinds: tuple[str, ...], colors: ChartColors) -> list:
        """What a panel shows: weight and/or gradient norms (and the markers, without colour)."""
        names = {"weight": "‖[W;b]‖", "gradient": "‖∇‖ gradient"}
        pieces: list = []
        for kind in kinds:
            if colors.monochrome:
                markers = self.MONO_MARKERS[kind][: self._n_layers()]
                key = " ".join(f"{m}L{i + 1}" for i, m in enumerate(markers))
                pieces.append((f"  {names[kind]} {key}", None, None))
            else:
                pieces.append((f"  {names[kind]} (log)", None, None))
        return pieces

    def _n_layers(self) -> int:
        return 0 if self._data is None else int(self._data["weight"].shape[0])

    def _legend(self, colors: ChartColors) -> list:
        """The title and, in colour, one swatch per layer."""
        pieces: list = [(self._title, None, "bold")]
        if not colors.monochrome:
            n = self._n_layers()
            pieces += [(f"  ■ L{i + 1}", self._layer_color(colors, i), None) for i in range(n)]
        return pieces


__all__ = ["NeuronView", "NormsChart", "WeightsView"]
