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
from typing import Any

from rich.style import Style

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


class RaceChart(LossChart):
    """Every network's training loss, one colour each, the legend in the title.

    One point per column per curve (the loss chart takes two): plotext's cost grows
    with the points, and eight curves at two a column took 23 ms a draw at 120x36
    (12 at one a column), all of it time the race's training waits for.
    """

    def _curves(self, colors: ChartColors, budget: int) -> list:
        return super()._curves(colors, max(2, budget // POINTS_PER_COLUMN))

    @property
    def chart_colors(self) -> ChartColors:
        if self._colors is None:
            self._colors = race_colors(self.app)
        return self._colors


class RaceMap(DecisionBoundary):
    """One network's decision boundary, titled ``━━ lr 0.125  100%``."""

    DEFAULT_CSS = """
    RaceMap {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, label: str, index: int, **options: Any) -> None:
        options.setdefault("show_axes", False)
        options.setdefault("show_legend", False)
        super().__init__(label, **options)
        self.index = index
        self._key: tuple[str, Style] | None = None
        self.state = ""
        """The network's state when it is over (``diverged``), shown in the title."""

    def title_pieces(self) -> list[Group]:
        glyph, style = self.key
        groups: list[Group] = [[(glyph + " ", style), (self.title, Style(bold=True))]]
        train = self._accuracy[0]
        if train is not None and math.isfinite(train):
            groups.append([(f"  {100 * train:.0f}%", Style())])
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


__all__ = ["RACE_COLORS", "RaceChart", "RaceMap", "curve_key", "race_colors"]
