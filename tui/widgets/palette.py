"""Colour conversion, in one place: a theme's colour strings for Rich and for plotext.

Themes write colours in Textual's syntax (``#2dd4bf``, ``ansi_bright_red``, with an
alpha). Rich cannot read Textual's ``ansi_*`` names and plotext wants an RGB triple or
a palette index, so every widget converts through these functions. A colour that is
missing, unreadable, the terminal's default or mostly transparent becomes None: no
colour (the terminal's own) rather than a crash or a wrong guess.
"""

from __future__ import annotations

import numpy as np
from rich.color import Color as RichColor
from textual.color import Color, ColorParseError

CLASS_MARKERS = ("o", "x", "+", "*", "#", "@", "%", "&")
"""One marker per class (up to 8), for a run of more than two classes where colour cannot
tell them apart: under NO_COLOR and in 16-colour (ANSI) themes."""

VALUE_GLYPHS = "▁▂▃▄▅▆▇█"
"""A regression's values as bar heights, low to high: the ramp's levels without colour."""


def class_marker(label: int) -> str:
    """The marker of class ``label`` (``CLASS_MARKERS``, wrapping past 8)."""
    return CLASS_MARKERS[label % len(CLASS_MARKERS)]


def value_level(values, low: float, high: float, levels: int = len(VALUE_GLYPHS)):
    """The ramp level 0 .. levels - 1 of each value on [low, high] (clipped outside it;
    -1 where a value is not finite)."""
    v = np.asarray(values, dtype=np.float64)
    span = high - low if high > low else 1.0
    with np.errstate(all="ignore"):
        t = np.clip((v - low) / span, 0.0, 1.0)
        level = np.rint(t * (levels - 1))
    return np.where(np.isfinite(v), level, -1).astype(np.int64)


def ramp_colors(low: Color, middle: Color, high: Color, levels: int) -> list[Color]:
    """``levels`` colours from ``low`` through ``middle`` to ``high`` (a diverging ramp at
    full strength: a regression's values, where each point must stay visible)."""
    out = []
    for i in range(levels):
        t = i / max(levels - 1, 1)
        out.append(low.blend(middle, 2 * t) if t <= 0.5 else middle.blend(high, 2 * t - 1))
    return out


PlotColor = tuple[int, int, int] | int | None
"""A plotext colour: an RGB triple, a 256-colour palette index, or None (default)."""


def parse_color(value: str | None) -> Color | None:
    """A Textual colour from a theme string; None for missing or unreadable values."""
    if not value:
        return None
    try:
        return Color.parse(value)
    except ColorParseError:
        return None


def rich_color(value: str | Color | None) -> RichColor | None:
    """A theme colour (a string or a parsed ``Color``) for Rich; None: no colour."""
    color = parse_color(value) if isinstance(value, str) or value is None else value
    if color is None or (color.ansi is not None and color.ansi < 0):
        return None
    if color.ansi is None and color.a < 0.5:
        return None
    return color.rich_color


def plotext_color(value: str | None) -> PlotColor:
    """A theme colour for plotext: ANSI colours stay palette indices (so ANSI themes stay
    native), others become an RGB triple; None for no colour."""
    color = parse_color(value)
    if color is None:
        return None
    if color.ansi is not None:
        return None if color.ansi < 0 else color.ansi
    return None if color.a < 0.5 else color.rgb


def plot_to_rich(value: PlotColor) -> RichColor | None:
    """A plotext colour (RGB triple or palette index) back as a Rich colour."""
    if isinstance(value, tuple):
        return RichColor.from_rgb(*value)
    if isinstance(value, int):
        return RichColor.from_ansi(value)
    return None


__all__ = ["CLASS_MARKERS", "VALUE_GLYPHS", "class_marker", "ramp_colors", "value_level",
           "PlotColor", "parse_color", "plot_to_rich", "plotext_color", "rich_color"]
