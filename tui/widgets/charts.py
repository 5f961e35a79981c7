"""Chart widgets: the loss curve and the ground-truth / prediction scatter pair.

Both widgets draw with plotext 6 into a string of exactly their content size, turn
it into a Rich ``Text`` and return that from ``render()``. plotext never touches
the real terminal here: each draw builds a fresh, private figure (no global state
is shared between widgets or draws), sized with ``plot_size`` and with the
terminal-size clamp switched off.

Colours come from the running app's Textual theme and follow theme changes; with
``NO_COLOR`` set (``App.no_color``) the charts render without colour and tell the
series apart by marker shape instead. The rendered ``Text`` is cached and rebuilt
only when the data, the size or the colours change; data equal to what is shown
already (a paused run refreshed again) keeps the cached plot.

A redraw stays cheap whatever the run's length (bench/tui.py times it after a
million epochs): each curve reaches plotext downsampled to two points a column
(``downsample``, min and max per bucket so spikes stay); plotext's ANSI output is
decoded with a per-style cache (``ansi_to_text``) rather than Rich's code-by-code
parser; and the widget hands Textual ready strips (``render_line``), built once per
plot, instead of a Text that Textual would convert again at every repaint. plotext
itself is imported at the first draw, without its interactive docs (``_plotext``).
"""

from __future__ import annotations

import bisect
import importlib
import math
import re
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.color import Color
from textual.strip import Strip
from textual.theme import Theme
from textual.visual import Visual, visualize
from textual.widget import Widget

from engine.nn.losses import predicted_class
from themes import CLASS_VARIABLES, MAX_CLASS_COLORS
from tui.core.curves import Series, downsample
from tui.widgets.palette import (
    VALUE_GLYPHS,
    PlotColor,
    class_marker,
    parse_color,
    plotext_color,
    ramp_colors,
    value_level,
)

MIN_WIDTH = 10
"""Below this many columns a chart shows a placeholder instead of a plot."""

MIN_HEIGHT = 5
"""Below this many rows a chart shows a placeholder instead of a plot."""

POINTS_PER_COLUMN = 2
"""Downsampling budget: braille markers draw two dots per cell, so 2 points a column."""

MAX_SCATTER_POINTS = 2000
"""A scatter plot draws at most this many points (more than a terminal has dots)."""

LOG_FLOOR = 1e-12
"""The value non-positive losses are clipped to when the data has no positive value."""


# ---------------------------------------------------------------- pure helpers


def nice_ticks(low: float, high: float, max_count: int) -> list[float]:
    """Round tick positions (1, 2 or 5 times a power of ten apart) inside [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or max_count < 1:
        return []
    if high <= low:
        return [low]
    raw_step = (high - low) / max(1, max_count - 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw_step * (1 - 1e-9))
    first = math.ceil(low / step - 1e-9) * step
    count = int(math.floor((high - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(max(0, count))][:max_count]


def scatter_ticks(low: float, high: float, room: int) -> list[float]:
    """Ticks of a scatter axis: at most ``room`` (the caller allows a label 8 columns
    or 4 rows), but never fewer than nice_ticks gives for 4: 0, 0.5 and 1 for the
    course's [0, 1] inputs, where asking for 2 or 3 gives a step of 1 or 2, that is
    "0" alone once the range is padded by 5%."""
    return nice_ticks(low, high, max(4, room))


def log_ticks(low: float, high: float, max_count: int) -> list[float]:
    """Tick positions in log10 space for a log axis spanning [low, high] (both log10).

    Whole decades when at least two fit, else 1-2-5 steps, else every mantissa 1-9,
    else the two ends; thinned to at most ``max_count``.
    """
    if max_count < 1 or not (math.isfinite(low) and math.isfinite(high)):
        return []
    decades = range(math.floor(low) - 1, math.ceil(high) + 1)
    for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
        found = [k + math.log10(m) for k in decades for m in mantissas]
        found = [p for p in found if low - 1e-9 <= p <= high + 1e-9]
        if len(found) >= 2:
            stride = math.ceil(len(found) / max_count)
            return found[::stride]
    return [low, high][:max_count] if high > low else [low]


def format_loss(value: float) -> str:
    """A short tick label for a loss value: 0.01, 0.5, 3, 1e-05 -> '1e-5'."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def format_count(value: float) -> str:
    """A short tick label for an epoch count: 500, 2500, 25k, 1.5M."""
    for divisor, suffix in ((1e6, "M"), (1e4, "k")):
        if abs(value) >= divisor:
            scale = 1e3 if suffix == "k" else divisor
            return f"{value / scale:.4g}{suffix}"
    return f"{value:.6g}"


@dataclass(frozen=True)
class ChartColors:
    """The colours and marker symbols the charts use; hashable, so it keys caches."""

    axes: PlotColor = None
    train: PlotColor = None
    test: PlotColor = None
    rate_change: PlotColor = None
    overlays: tuple[PlotColor, ...] = (None, None, None, None)
    class0: PlotColor = None
    class1: PlotColor = None
    invalid: PlotColor = None  # an output that is not finite
    monochrome: bool = True
    classes: tuple[PlotColor, ...] = (None,) * MAX_CLASS_COLORS  # class-0 .. class-7
    ramp: tuple[PlotColor, ...] = (None,) * len(VALUE_GLYPHS)  # a regression's values
    shapes: bool = True  # more than two classes drawn by shape too (NO_COLOR, ANSI themes)

    def class_color(self, label: int) -> PlotColor:
        """The colour of class ``label`` (-1: an output that is not finite)."""
        if label < 0:
            return self.invalid
        return self.classes[label % len(self.classes)]

    def line_marker(self, index: int) -> str:
        """Marker of the index-th curve (0 = train).

        In colour: braille dots for every curve (2x4 dots a cell: a line that reads
        as one, where quadrant blocks drew a staircase), told apart by colour, train
        in bold (:meth:`line_style`). Without colour the shape tells the curves apart.
        """
        if self.monochrome:
            return ("braille", "•", "+", "x", "o")[index % 5]
        return "braille"

    @staticmethod
    def line_style(index: int) -> str | None:
        """Text style of the index-th curve: the training curve, the one to watch, bold."""
        return "bold" if index == 0 else None

    def point_marker(self, label: int, n_classes: int = 2) -> str:
        """Marker of a scatter point of class ``label`` (-1: an output that is not finite).

        Two classes: ``●`` (``○`` for class 0 without colour). More: ``●`` in colour,
        the class's own marker (o x + * ...) where colour cannot tell eight apart."""
        if label < 0:
            return "×"
        if n_classes > 2 and self.shapes:
            return class_marker(label)
        return "●" if not self.monochrome or label else "○"

    def value_marker(self, level: int) -> str:
        """Marker of a regression's point at ramp ``level``: ``●`` in its colour, a bar of
        the level's height (▁ .. █) where colours cannot show the ramp."""
        if level < 0:
            return "×"
        return VALUE_GLYPHS[level] if self.shapes else "●"


def colors_from_theme(theme: Theme | None, no_color: bool = False) -> ChartColors:
    """Pick chart colours from a Textual theme (None, or ``no_color``: no colours).

    nn-tui's themes name their chart colours (``class-0``, ``class-1``, ``chart-train``,
    ``chart-test``, ``chart-marker``); ``themes.theme_colors`` falls back to the base
    colours for Textual's built-in themes, so every theme works.
    """
    if theme is None or no_color:
        return ChartColors()
    from themes import theme_colors  # imports Textual, which a chart has loaded already

    c = theme_colors(theme)
    pick = lambda name: plotext_color(c.get(name))  # noqa: E731
    ansi = any(parse_color(c.get(name)) is None or parse_color(c.get(name)).ansi is not None
               for name in ("class-0", "class-1", "foreground", "background"))
    return ChartColors(
        axes=_dimmed(c.get("foreground"), c.get("background")),
        train=pick("chart-train"),
        test=pick("chart-test"),
        rate_change=pick("chart-marker"),
        overlays=tuple(pick(name) for name in ("success", "secondary", "error", "warning")),
        class0=pick("class-0"),
        class1=pick("class-1"),
        invalid=pick("error"),
        monochrome=False,
        classes=tuple(pick(name) for name in CLASS_VARIABLES),
        ramp=_value_ramp(c, ansi),
        shapes=ansi,
    )


def _value_ramp(c: dict[str, str], ansi: bool) -> tuple[PlotColor, ...]:
    """A regression's ramp, ``class-0`` (low) through the dimmed foreground to ``class-1``
    (high), at full strength so that every point stays visible; an ANSI theme cannot
    blend: its low half ``class-0``, its high half ``class-1`` (the bar heights tell
    the levels apart)."""
    levels = len(VALUE_GLYPHS)
    if ansi:
        low, high = plotext_color(c.get("class-0")), plotext_color(c.get("class-1"))
        return tuple(low if i < levels // 2 else high for i in range(levels))
    low, high = Color.parse(c["class-0"]), Color.parse(c["class-1"])
    middle = Color.parse(c["foreground"]).blend(Color.parse(c["background"]), 0.35)
    return tuple(color.rgb for color in ramp_colors(low, middle, high, levels))


def _dimmed(foreground: str | None, background: str | None, amount: float = 0.45) -> PlotColor:
    """The foreground blended ``amount`` of the way towards the background.

    ANSI themes cannot blend: they get palette 8 (bright black, a grey). Never None,
    because plotext paints a colourless ``line()`` in its own default orange.
    """
    fg, bg = plotext_color(foreground), plotext_color(background)
    if not (isinstance(fg, tuple) and isinstance(bg, tuple)):
        return 8
    return Color(*fg).blend(Color(*bg), amount).rgb


def _as_series(series: Series | None) -> Series | None:
    """Validate one (x, y) pair as two equal-length 1-D float arrays (no copy if float)."""
    if series is None:
        return None
    x, y = (np.asarray(a, dtype=float).ravel() for a in series)
    if x.shape != y.shape:
        raise ValueError(f"series x and y differ in length: {x.size} != {y.size}")
    return x, y


def _same_array(a: np.ndarray, b: np.ndarray) -> bool:
    """Same shape and values (NaN equal to NaN); the same object costs nothing."""
    return a is b or (a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=True)))


def _same_series(a, b) -> bool:
    """Two (x, y) pairs, or None, hold the same points."""
    if a is None or b is None:
        return a is None and b is None
    return _same_array(a[0], b[0]) and _same_array(a[1], b[1])


def _finite(x: np.ndarray, y: np.ndarray) -> Series:
    """Drop points whose x or y is NaN or infinite (a diverged run)."""
    ok = np.isfinite(x) & np.isfinite(y)
    return (x, y) if ok.all() else (x[ok], y[ok])


# ------------------------------------------------------------- plotext glue

_plt = None
"""plotext, once :func:`_plotext` has imported it."""

_DOC_MODULE = "plotext._doc.doc"


def _plotext():
    """plotext, imported at the first draw rather than with this module.

    Importing plotext 6.1 costs ~0.2 s, two thirds of it building its interactive
    documentation (``plotext.doc``), which nn-tui never shows: that part is deferred
    until something uses ``plotext.doc`` (:class:`_DeferredDocs`), so the first frame
    comes sooner. Nothing else of plotext changes.
    """
    global _plt
    if _plt is None:
        if "plotext" not in sys.modules and _DOC_MODULE not in sys.modules:
            stub = types.ModuleType(_DOC_MODULE, "stands in for plotext's docs until used")
            stub.docs = _DeferredDocs()
            sys.modules[_DOC_MODULE] = stub
        import plotext

        _plt = plotext
    return _plt


class _DeferredDocs:
    """``plotext.doc`` until first touched; then the real one is built and used."""

    def _real(self):
        stub = sys.modules.get(_DOC_MODULE)
        if stub is not None and getattr(stub, "docs", None) is self:
            del sys.modules[_DOC_MODULE]
        docs = importlib.import_module(_DOC_MODULE).docs
        sys.modules["plotext"].doc = docs
        return docs

    def __getattr__(self, name: str):
        return getattr(self._real(), name)

    def __call__(self, *args, **kwargs):
        return self._real()(*args, **kwargs)



def new_figure(width: int, height: int):
    """A fresh private plotext figure of exactly width x height cells.

    plotext 6 keeps one global figure (``plotext.figure``); a new terminal object owns
    its own master figure, so nothing is shared between widgets or draws. The size
    clamp to the real terminal (read with ``shutil.get_terminal_size``) is turned
    off, since a widget may be larger than what the process thinks the terminal is.
    """
    terminal = type(_plotext().terminal)()
    terminal.limit(False, False)
    figure = terminal._master  # plotext 6.1 has no public accessor for it
    figure.plot_size(width, height)
    figure.theme("colorless")
    return figure


def _pixel(color: PlotColor, style: str | None = None):
    """A plotext pixel object (always pass objects: plotext misreads bare RGB tuples)."""
    return _plotext().pixel(foreground=color, style=style)


def _marker(symbol: str, color: PlotColor, style: str | None = None):
    """A plotext marker with a colour (or none) and a text style (``bold``, or none)."""
    return _plotext().marker(symbol, _pixel(color, style))


def _title(pieces: Sequence[tuple[str, PlotColor, str | None]], width: int,
           more: bool = False):
    """A title of coloured pieces, as many as fit in ``width`` (the first always).

    ``more``: the pieces that do not fit are counted at the end (``  +2 more``), so a
    legend never loses a curve's name without a word.
    """
    pieces = _fitting(pieces, width, more)
    title, used = None, 0
    for text, color, style in pieces:
        text = text[: max(1, width - used)] if title is not None else text[: max(1, width)]
        part = _plotext().colorize(text, _pixel(color, style))
        title, used = (part if title is None else title + part), used + len(text)
    return title


def _fitting(pieces: Sequence[tuple[str, PlotColor, str | None]], width: int,
             more: bool) -> list[tuple[str, PlotColor, str | None]]:
    """The first pieces that fit in ``width`` (the first always), and with ``more`` a
    ``  +N more`` piece for the rest (room made for it by dropping one more if need be)."""
    shown, used = list(pieces[:1]), len(pieces[0][0]) if pieces else 0
    for piece in pieces[1:]:
        if used + len(piece[0]) > width:
            break
        shown.append(piece)
        used += len(piece[0])
    while more and len(shown) < len(pieces):
        note = f"  +{len(pieces) - len(shown)} more"
        if len(shown) == 1 or sum(len(p[0]) for p in shown) + len(note) <= width:
            return [*shown, (note, None, None)]
        shown.pop()
    return shown


def matrix_to_text(matrix, monochrome: bool) -> Text:
    """A plotext matrix as Rich Text, without backgrounds (the widget's shows through).

    plotext fills unset pixel fields from its own defaults, which paints white
    backgrounds behind axes and lines; dropping every background fixes that.
    """
    return ansi_to_text(matrix.string(colorless=monochrome).rstrip("\n"))


_SGR = re.compile(r"(\x1b\[[0-9;]*m)")
"""An ANSI 'select graphic rendition' escape sequence (all that plotext writes)."""

_RESETS = frozenset(("\x1b[0m", "\x1b[m"))

_STYLE_CACHE: dict[str, Style | None] = {}
"""Style (background dropped) of each run of SGR codes since a reset; a chart uses few."""

_STYLE_CACHE_SIZE = 1024


def _sgr_style(codes: str) -> Style | None:
    """The style the SGR ``codes`` (written in order since a reset) select, as Rich reads
    them, without a background; None where Rich would leave the text unstyled."""
    try:
        return _STYLE_CACHE[codes]
    except KeyError:
        pass
    decoded = Text.from_ansi(codes + "x")
    style = _no_background(decoded.spans[0].style) if decoded.spans else None
    if len(_STYLE_CACHE) >= _STYLE_CACHE_SIZE:
        _STYLE_CACHE.clear()
    _STYLE_CACHE[codes] = style
    return style


def ansi_to_text(ansi: str) -> Text:
    """plotext's ANSI output as Rich Text with backgrounds dropped.

    The same Text (plain text and spans) as ``Text.from_ansi`` followed by removing every
    span's background, for the SGR-only output plotext writes, in a fraction of the time:
    Rich parses every code of every run of text (a chart has hundreds), here each
    distinct run of codes is parsed once, by Rich, and its style cached.
    """
    plain: list[str] = []
    spans: list[Span] = []
    position, codes = 0, ""
    for index, piece in enumerate(_SGR.split(ansi)):
        if index % 2:  # an escape sequence
            codes = "" if piece in _RESETS else codes + piece
            continue
        if not piece:
            continue
        style = _sgr_style(codes) if codes else None
        if style is not None:
            # Rich decodes line by line and joins with an unstyled newline
            start = position
            for line in piece.split("\n"):
                if line:
                    spans.append(Span(start, start + len(line), style))
                start += len(line) + 1
        plain.append(piece)
        position += len(piece)
    text = Text("".join(plain), no_wrap=True, overflow="crop", end="")
    text.spans = spans
    return text


def text_to_strips(
    text: Text, width: int, height: int, style_of: Callable[[Style | None], Style]
) -> list[Strip]:
    """``height`` strips of exactly ``width`` cells from the lines of ``text``.

    ``style_of`` maps a Rich style (None for unstyled text) to the style to paint it
    with. Spans must not overlap (as :func:`ansi_to_text` makes them); text past
    ``width`` is cropped, missing lines are blank.
    """
    plain = text.plain
    line_style = text.style if isinstance(text.style, Style) and text.style else None
    base, unstyled = style_of(None), style_of(line_style)
    starts, ends, offset = [], [], 0
    for line in plain.split("\n")[:height]:
        starts.append(offset)
        ends.append(offset + len(line))
        offset += len(line) + 1
    pieces: list[list[tuple[int, int, Style]]] = [[] for _ in starts]
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(span.style)
        style = style_of(line_style + style if line_style else style)
        row = bisect.bisect_right(starts, span.start) - 1
        while 0 <= row < len(starts) and starts[row] < span.end:
            start, end = max(span.start, starts[row]), min(span.end, ends[row])
            if start < end:
                pieces[row].append((start, end, style))
            row += 1
    strips: list[Strip] = []
    for row, (first, last) in enumerate(zip(starts, ends, strict=True)):
        segments, position = [], first
        for start, end, style in sorted(pieces[row], key=lambda piece: piece[0]):
            start = max(start, position)
            if start >= end:
                continue
            if start > position:
                segments.append(Segment(plain[position:start], unstyled))
            segments.append(Segment(plain[start:end], style))
            position = end
        if position < last:
            segments.append(Segment(plain[position:last], unstyled))
        strips.append(Strip(segments).adjust_cell_length(width, base))
    strips += [Strip.blank(width, base)] * (height - len(strips))
    return strips


def _no_background(style: Style | str) -> Style:
    """The style with its background removed."""
    style = Style.parse(style) if isinstance(style, str) else style
    if style.bgcolor is None:
        return style
    return Style(color=style.color, bold=style.bold, dim=style.dim, italic=style.italic)


# ------------------------------------------------------------------ widgets


class PlotextChart(Widget):
    """Base for widgets drawn by plotext: theme colours, size guard and render cache."""

    DEFAULT_CSS = """
    PlotextChart {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "chart"
    """Text shown when the widget is too small to hold a plot."""

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._version = 0
        self._colors: ChartColors | None = None
        self._cache_key: tuple | None = None
        self._cache = Text()
        self._strips: list[Strip] = []
        self._strips_text: Text | None = None
        self._strips_style = None
        self._style_cache: dict[tuple, Style] = {}
        self.draw_count = 0
        """How many times a plot was actually drawn (cache misses); for tests."""

    def on_mount(self) -> None:
        """Follow theme changes."""
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._colors = None
        self.refresh()

    @property
    def chart_colors(self) -> ChartColors:
        """The colours of the running app's theme (none under NO_COLOR)."""
        if self._colors is None:
            app = self.app
            self._colors = colors_from_theme(app.current_theme, bool(app.no_color))
        return self._colors

    def _data_changed(self) -> None:
        """Mark the data as new and schedule a repaint."""
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        """The cached plot, redrawn only when data, size or colours changed."""
        width, height = self.size
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return Text(self.placeholder[: max(0, width)], no_wrap=True, overflow="crop")
        key = (self._version, width, height, self.chart_colors)
        if key != self._cache_key:
            self._cache, self._cache_key = self._safe_draw(width, height, self.chart_colors), key
        return self._cache

    def render_line(self, y: int) -> Strip:
        """One line of :meth:`render`'s plot, from strips cached with it.

        Textual would turn the plot's Text into strips again at every repaint of the
        widget (through its Content, segment by segment: a few ms at 120x36, more
        than plotext's own drawing); here that happens once per drawn plot, and each
        distinct style is converted once, by Textual itself (:meth:`_textual_style`),
        so the lines are those Textual would paint.
        """
        text = self.render()
        # the widget's style (which its ancestors' backgrounds feed) is checked once a
        # repaint, at its first line: reading it costs more than handing out a line
        if text is not self._strips_text or (y == 0 and self.visual_style != self._strips_style):
            width, height = self.size
            visual_style = self.visual_style
            self._strips = self._finish_strips(text_to_strips(
                text, width, height, lambda style: self._textual_style(style, visual_style)
            ), text, visual_style)
            self._strips_text, self._strips_style = text, visual_style
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)

    def _finish_strips(self, strips: list[Strip], text: Text, visual_style) -> list[Strip]:
        """The strips of a drawn plot (``text``), as painted; a subclass may add to them."""
        return strips

    def notify_style_update(self) -> None:
        """The widget's CSS changed (theme, focus, ...): rebuild the strips."""
        self._strips_text = None
        super().notify_style_update()

    def _textual_style(self, style: Style | None, visual_style) -> Style:
        """The Rich style Textual paints for a span of ``style`` in this widget.

        Found by letting Textual render one character of that style here (the widget's
        colours, background and text style applied as for any Text it renders), then
        cached with the widget's own style (``visual_style``); mouse metadata is left
        out (a chart has no links or selectable text).
        """
        key = (style, visual_style)
        found = self._style_cache.get(key)
        if found is None:
            visual = visualize(self, Text("x", style=style or ""))
            strips = Visual.to_strips(self, visual, 1, 1, visual_style)
            segment = next((seg for seg in strips[0] if seg.text), None) if strips else None
            found = Style() if segment is None or segment.style is None else segment.style
            found = found.clear_meta_and_links()
            if len(self._style_cache) >= 256:
                self._style_cache.clear()
            self._style_cache[key] = found
        return found

    def _safe_draw(self, width: int, height: int, colors: ChartColors) -> Text:
        """Draw, turning a plotting failure into a one-line message instead of a crash."""
        self.draw_count += 1
        try:
            return self.draw(width, height, colors)
        except Exception as error:  # a chart must never take the trainer down
            self.log.error(f"{type(self).__name__} could not draw: {error!r}")
            return Text(f"{self.placeholder}: cannot draw ({type(error).__name__})"[:width])

    def draw(self, width: int, height: int, colors: ChartColors) -> Text:
        """Build the plot for this size; subclasses implement it."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Curve:
    """One curve as drawn: label, points (x, log10 y), colour, marker symbol and style."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: PlotColor
    marker: str
    style: str | None = None

    @property
    def legend(self) -> str:
        """The legend entry: a glyph in the curve's colour (or shape) and the label."""
        glyph = "━" if self.marker in ("hd", "braille") and self.color is not None else None
        glyph = glyph or {"braille": "⣀", "hd": "▄"}.get(self.marker, self.marker)
        return f"  {glyph} {self.label}"


class LossChart(PlotextChart):
    """Training (and test) loss against epoch on a log axis, with learning-rate marks.

    Feed it with :meth:`set_series`. Each curve is downsampled to about two points a
    column before plotting, so a redraw costs the same for a million epochs as for a
    thousand. Values are plotted as log10 of the loss (non-positive values clipped
    to a tenth of the smallest positive one) on a linear axis with decade labels.
    """

    DEFAULT_CSS = """
    LossChart {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "loss"

    def __init__(
        self,
        title: str = "Loss",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._title = title
        self._train: Series | None = None
        self._test: Series | None = None
        self._rate_changes = np.empty(0)
        self._overlays: list[tuple[str, np.ndarray, np.ndarray]] = []
        self._current = ""
        self.plotted_lengths: dict[str, int] = {}
        """Points handed to plotext per curve label at the last draw; for tests."""

    @property
    def title(self) -> str:
        """The chart title, first in the title line (setting it redraws)."""
        return self._title

    @title.setter
    def title(self, value: str) -> None:
        self._title = value
        self._data_changed()

    def set_series(
        self,
        train: Series,
        test: Series | None = None,
        rate_changes: Sequence[float] = (),
        overlays: Sequence[tuple[str, np.ndarray, np.ndarray]] = (),
    ) -> None:
        """Replace the data: each curve is (epochs, losses).

        The arrays are kept by reference (no copy), so do not change their contents
        afterwards; views of an append-only buffer are fine. ``rate_changes`` are the
        epochs at which the learning rate changed; ``overlays`` are extra named
        curves (label, epochs, losses), e.g. a previous run, drawn under the others.
        """
        train, test = _as_series(train), _as_series(test)
        rate_changes = np.asarray(rate_changes, dtype=float).ravel()
        # how the legend names the current run among overlays (tui.core.runs.Overlays)
        current = (getattr(overlays, "current", "") or "now") if overlays else ""
        overlays = [(label, *_as_series((x, y))) for label, x, y in overlays]
        if (
            _same_series(train, self._train)
            and _same_series(test, self._test)
            and _same_array(rate_changes, self._rate_changes)
            and current == self._current
            and len(overlays) == len(self._overlays)
            and all(a[0] == b[0] and _same_series(a[1:], b[1:])
                    for a, b in zip(overlays, self._overlays, strict=True))
        ):
            return  # nothing new (a paused or finished run): the cached plot stands
        self._train, self._test = train, test
        self._rate_changes, self._overlays = rate_changes, overlays
        self._current = current
        self._data_changed()

    def _train_name(self) -> str:
        """``train``, or with overlays ``train (now lr 1)``: which curve is the run on
        screen, and what sets it apart from the overlaid runs (the test curve is the
        current run's alone)."""
        return f"train ({self._current})" if self._current else "train"

    def clear(self) -> None:
        """Forget all data (the chart shows an empty frame)."""
        self._train, self._test, self._overlays = None, None, []
        self._rate_changes = np.empty(0)
        self._data_changed()

    def _curves(self, colors: ChartColors, budget: int) -> list[_Curve]:
        """Curves in legend order (train, test, overlays): finite, downsampled, log10."""
        named = [(self._train_name(), self._train, colors.train),
                 ("test", self._test, colors.test)]
        named += [
            (label, (x, y), colors.overlays[i % len(colors.overlays)])
            for i, (label, x, y) in enumerate(self._overlays)
        ]
        # the marker goes by the curve's place in this list (train 0, test 1, overlays
        # after), not by its place among the curves drawn: an overlay keeps its fine
        # dots when there is no training curve yet
        named = [(i, label, downsample(*_finite(*s), budget), c)
                 for i, (label, s, c) in enumerate(named) if s]
        named = [(i, label, s, c) for i, label, s, c in named if s[0].size]
        positive = [y[y > 0].min() for _, _, (_, y), _ in named if (y > 0).any()]
        floor = min(positive) / 10 if positive else LOG_FLOOR
        return [
            _Curve(label, x, np.log10(np.maximum(y, floor)), color, colors.line_marker(i),
                   colors.line_style(i))
            for i, label, (x, y), color in named
        ]

    def draw(self, width: int, height: int, colors: ChartColors) -> Text:
        """Plot the curves, the learning-rate marks, the ticks and a title legend."""
        figure = new_figure(width, height)
        curves = self._curves(colors, POINTS_PER_COLUMN * width)
        self.plotted_lengths = {curve.label: int(curve.x.size) for curve in curves}
        xlim, ylim = self._limits(curves)
        self._plot_curves(figure, curves, xlim, ylim)
        marks = self._marks(xlim, width) if curves else []
        for epoch in marks:
            figure.line(epoch, "vertical", pixel=_pixel(colors.rate_change), style="dotted")
        self._dress(figure, width, height, colors, xlim, ylim, bool(curves))
        pieces = [(self.title, None, "bold")] + [(c.legend, c.color, None) for c in curves]
        if marks:
            pieces.append(("  ┊ lr change", colors.rate_change, None))
        figure.title(_title(pieces, width, more=True))
        return matrix_to_text(figure.build(), colors.monochrome)

    def _plot_curves(self, figure, curves: list[_Curve], xlim, ylim) -> None:
        """Draw the curves on the figure (its limits ``xlim``, ``ylim``), train last, on top."""
        for curve in reversed(curves):
            marker = _marker(curve.marker, curve.color, curve.style)
            figure.draw(figure.signal(curve.x, curve.y, marker=marker).lines())

    @staticmethod
    def _limits(curves: list[_Curve]) -> tuple[tuple[float, float], tuple[float, float]]:
        """Axis ranges covering all curves, never empty (1 epoch / half a decade pad)."""
        if not curves:
            return (0.0, 1.0), (-1.0, 0.0)
        xs = np.concatenate([curve.x for curve in curves])
        ys = np.concatenate([curve.y for curve in curves])
        (x0, x1), (y0, y1) = (xs.min(), xs.max()), (ys.min(), ys.max())
        if x1 - x0 < 1e-9:
            x0, x1 = x0 - 1, x1 + 1
        if y1 - y0 < 1e-9:
            y0, y1 = y0 - 0.5, y1 + 0.5
        return (float(x0), float(x1)), (float(y0), float(y1))

    def _marks(self, xlim: tuple[float, float], width: int) -> list[float]:
        """Learning-rate-change epochs inside the x range, at most one per column."""
        marks = np.unique(self._rate_changes[np.isfinite(self._rate_changes)])
        marks = marks[(marks >= xlim[0]) & (marks <= xlim[1])]
        if marks.size > width:
            marks = marks[np.linspace(0, marks.size - 1, width).astype(int)]
        return [float(m) for m in marks]

    @staticmethod
    def _dress(figure, width: int, height: int, colors: ChartColors, xlim, ylim, ticks: bool):
        """Limits, ticks (none without data), axis labels and the axes colour."""
        figure.ruler("x").lim(*xlim)
        figure.ruler("y").lim(*ylim)
        xticks = nice_ticks(*xlim, max(2, width // 9)) if ticks else []
        figure.ruler("x").ticks(xticks, [format_count(t) for t in xticks])
        yticks = log_ticks(*ylim, max(2, (height - 5) // 2)) if ticks else []
        figure.ruler("y").ticks(yticks, [format_loss(10**t) for t in yticks])
        if width >= 30 and height >= 8:  # below that the labels would crowd the plot
            figure.label("epoch", "x").label("loss (log)", "y")
        if colors.axes is not None:
            figure.axes(pixel=_pixel(colors.axes))


class ScatterPair(PlotextChart):
    """Side-by-side "Ground truth" and "Predict result" scatter plots.

    Like the course's ``show_result``: the 2-D inputs coloured by class, the true
    labels on the left and the predicted classes (output above 0.5, or the most probable
    of K) on the right. A regression's points are coloured by value on one ramp
    (``class-0`` low, ``class-1`` high; bar heights ▁..█ without colour), the target on
    the left and the prediction on the right, the ramp's range in the left title.
    Feed it with :meth:`set_points`.
    """

    DEFAULT_CSS = """
    ScatterPair {
        width: 1fr;
        height: 1fr;
    }
    """

    placeholder = "scatter"

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._points = np.empty((0, 2))
        self._truth = np.empty(0, dtype=int)
        self._predicted = np.empty(0, dtype=int)
        self._accuracy: float | None = None
        self.n_classes = 2
        """The classes K (0: a regression, whose labels are ramp levels)."""
        self.value_range: tuple[float, float] = (0.0, 1.0)
        """A regression's ramp: the targets' lowest and highest value."""

    def set_points(
        self,
        X: np.ndarray,  # noqa: N803 (the course's name)
        y_true: np.ndarray,
        y_pred: np.ndarray,
        accuracy: float | None = None,
        classes: np.ndarray | None = None,
        n_classes: int = 2,
    ) -> None:
        """Replace the data.

        ``X`` is (n, 2); ``y_true`` holds the class numbers (n,) and ``y_pred`` the
        network's outputs, (n,) or (n, 1), or (n, K) for K classes. Every point is
        drawn: predictions are coloured by the class they predict, by the rule the
        accuracy counts with (``classes``, default
        ``engine.nn.losses.predicted_class(y_pred)``), and an output that is not finite
        is drawn as ``×``. ``n_classes`` 0: a regression, ``y_true`` the targets and
        ``y_pred`` the predictions, both drawn on the targets' ramp. ``accuracy`` is a
        fraction in [0, 1], shown as a percentage in the right title. More than
        MAX_SCATTER_POINTS points are thinned by an even stride.
        """
        points = np.asarray(X, dtype=float)
        truth = np.asarray(y_true, dtype=float).ravel()
        predicted = np.asarray(y_pred, dtype=float)
        predicted = predicted.reshape(len(predicted), -1) if predicted.ndim else predicted
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"X must have shape (n, 2), not {points.shape}")
        if not len(points) == truth.size == len(predicted):
            raise ValueError("X, y_true and y_pred must have the same number of rows")
        if n_classes == 0:  # a regression: both sides as levels of the targets' ramp
            finite = truth[np.isfinite(truth)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0, 1)
            value_range = (low, high)
            truth = value_level(truth, low, high).astype(float)
            classes = value_level(predicted[:, 0], low, high)
        else:
            value_range = self.value_range
            if classes is None:
                classes = predicted_class(predicted)
            classes = np.asarray(classes).ravel()
        if classes.size != len(predicted):
            raise ValueError("classes and y_pred must have the same number of rows")
        keep = np.linspace(0, len(points) - 1, min(len(points), MAX_SCATTER_POINTS)).astype(int)
        points, truth, classes = points[keep], np.round(truth[keep]), classes[keep]
        if (
            accuracy == self._accuracy
            and n_classes == self.n_classes
            and value_range == self.value_range
            and _same_array(points, self._points)
            and _same_array(truth, self._truth)
            and _same_array(classes, self._predicted)
        ):
            return  # the same picture: the cached plot stands
        self._points, self._truth, self._predicted = points, truth, classes
        self._accuracy, self.n_classes, self.value_range = accuracy, n_classes, value_range
        self._data_changed()

    @property
    def regression(self) -> bool:
        return self.n_classes == 0

    def _limits(self, column: int) -> tuple[float, float]:
        """The range of one input column, padded 5% so no point sits on the frame."""
        values = self._points[:, column]
        values = values[np.isfinite(values)]
        if values.size == 0:
            return 0.0, 1.0
        low, high = float(values.min()), float(values.max())
        pad = 0.05 * (high - low) if high > low else 0.5
        return low - pad, high + pad

    def _key(self, colors: ChartColors,
             room: int = 1000) -> list[tuple[str, PlotColor, str | None]]:
        """The left title's key: each class's marker and number (``● 0  ● 1``; for more,
        ``●0 ●1 ●2``, or where that does not fit in ``room`` the markers in class order,
        ``●●●●●●●● 0-7``), or a regression's ramp between its ends."""
        if self.regression:  # the bars in the ramp's colours: the points' colour key
            low, high = self.value_range
            ramp = [(VALUE_GLYPHS[level], color, None) for level, color in enumerate(colors.ramp)]
            return [(f" {low:.2g} ", None, None), *ramp, (f" {high:.2g}", None, None)]
        k = max(self.n_classes, 2)
        if k == 2:
            return [(f"  {colors.point_marker(c)} {c}", colors.class_color(c), None)
                    for c in (0, 1)]
        key = [(f"{' ' if c else '  '}{colors.point_marker(c, k)}{c}", colors.class_color(c),
                None) for c in range(k)]
        if sum(len(piece[0]) for piece in key) <= room:
            return key
        return [("  ", None, None),
                *[(colors.point_marker(c, k), colors.class_color(c), None) for c in range(k)],
                (f" 0-{k - 1}", None, None)]

    def _titles(self, colors: ChartColors, half: int) -> list:
        """Left: 'Ground truth' and a class key; right: 'Predict result' and accuracy."""
        right = "Prediction" if self.regression else "Predict result"
        if self._accuracy is not None:
            right += f"  acc {100 * self._accuracy:.1f}%"
        invalid = int(np.count_nonzero(self._predicted < 0))
        flagged = [(f"  {colors.point_marker(-1)} {invalid} not finite", colors.invalid, None)]
        left = "Ground truth"
        key = self._key(colors, half - 1 - len(left))
        length = sum(len(piece[0]) for piece in key)
        if len(left) + length > half - 1:  # the key whole rather than the long title
            left = "Truth"
        if self.regression and len(left) + length > half - 1:  # the ramp's ends closer
            key = [(key[0][0].rstrip(), *key[0][1:]), *key[1:-1],
                   (key[-1][0].lstrip(), *key[-1][1:])]
        return [
            _title([(left, None, "bold"), *key], half - 1, more=self.n_classes > 2),
            _title([(right, None, "bold"), *(flagged if invalid else [])], half - 1),
        ]

    def _groups(self, colors: ChartColors) -> list[tuple[int, PlotColor, str]]:
        """(label, colour, marker) of each group of points drawn, the invalid last."""
        if self.regression:
            groups = [(level, color, colors.value_marker(level))
                      for level, color in enumerate(colors.ramp)]
        else:
            k = max(self.n_classes, 2)
            groups = [(c, colors.class_color(c), colors.point_marker(c, k)) for c in range(k)]
        return [*groups, (-1, colors.invalid, colors.point_marker(-1))]

    def draw(self, width: int, height: int, colors: ChartColors) -> Text:
        """Two subplots of the same points, coloured by true and predicted class."""
        figure = new_figure(width, height)
        figure.subplots(1, 2)
        figure.theme("colorless")
        xlim, ylim = self._limits(0), self._limits(1)
        titles = self._titles(colors, width // 2)
        groups = self._groups(colors)
        for col, labels in ((1, self._truth), (2, self._predicted)):
            sub = figure.subplot(1, col)
            for label, color, marker in groups:
                mask = labels == label
                if mask.any():
                    x, y = self._points[mask, 0], self._points[mask, 1]
                    sub.draw(sub.signal(x, y, marker=_marker(marker, color)))
            self._dress(sub, titles[col - 1], colors, xlim, ylim, width // 2, height)
        return matrix_to_text(figure.build(), colors.monochrome)

    @staticmethod
    def _dress(sub, title, colors, xlim, ylim, width: int, height: int) -> None:
        """Shared limits and ticks, the title and the axes colour of one subplot."""
        sub.title(title)
        for axis, lim, room in (("x", xlim, width // 8), ("y", ylim, height // 4)):
            ticks = scatter_ticks(*lim, room)
            sub.ruler(axis).lim(*lim).ticks(ticks, [f"{t:g}" for t in ticks])
        if colors.axes is not None:
            sub.axes(pixel=_pixel(colors.axes))
