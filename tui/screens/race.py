"""The race (``v``): the current config against variants of one setting, side by side.

:class:`RaceMenu` asks which setting to vary (``tui.core.race.RACE_KINDS``);
:class:`RaceScreen` shows the race the app trains (``NNApp.race``): one small
decision map per network, titled by what sets it apart ("lr 0.125") in the colour of
its curve, and every network's loss on one chart with a legend. It is a full screen,
so the app's keys keep working: space runs or pauses the race, s and n step it, { }
cap its speed, [ ] halve or double every network's rate (their ratios kept). Leaving
it ends the race; its networks are then kept like any run (the runs table and the
archive, marked "race").

The screen follows the race's updates (``NNApp.race_updated``, ``tui.updates``' scopes)
and the session's (its speed cap is shown here): its status line every update, the
chart and the maps in turns while it trains (``TURN_SECONDS``; every update at a slow
speed cap, as the main screen does), everything on ``all``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from tui.core.race import RACE_KINDS, RaceSession
from tui.core.training import animated
from tui.screens.inspect_runs import BOX_CSS, Box
from tui.screens.prompts import KeyMenu
from tui.updates import SessionUpdate, shown_screen
from tui.widgets.footer import KeyFooter
from tui.widgets.panels import STATE_STYLES, progress_cells
from tui.widgets.race import RaceChart, RaceMap

MIN_PANEL_WIDTH = 16
"""A map panel is at least this wide; more networks than fit go on another row."""

MAX_GRID_SHARE = 0.6
"""The maps take at most this share of the screen's height (the chart the rest)."""

TURN_SECONDS = 0.2
"""While the race trains, one part of the screen redraws this often: the chart, or
every map, in turn; so each is redrawn every 0.4 s (at the next update, which come
every 0.1 s: ``tui.core.training.REFRESH_SECONDS``). Both at once would hold the
event loop, and the race's training, twice as long at a time (bench/tui.py measures
the race's rate and its event-loop lag)."""


class RaceMenu(KeyMenu):
    """Pick the setting a race varies: returns a key of ``RACE_KINDS`` or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v", "cancel", "Cancel", id="race-menu.cancel"),
        *(Binding(key, f"pick('{kind}')", title, id=f"race-menu.{kind}", show=False)
          for kind, (key, title) in RACE_KINDS.items()),
    ]

    DEFAULT_CSS = "RaceMenu { & > Vertical { width: 58; } }"

    def __init__(self, intro: str = "") -> None:
        super().__init__("Race the current config against", RACE_KINDS, intro)


def grid_shape(k: int, width: int) -> tuple[int, int]:
    """(columns, rows) of ``k`` map panels in ``width`` cells: as few rows as fit
    panels ``MIN_PANEL_WIDTH`` wide, the columns then balanced over the rows."""
    rows = math.ceil(k / max(1, min(k, width // MIN_PANEL_WIDTH)))
    return math.ceil(k / rows), rows


def panel_height(width: int, height: int, k: int) -> int:
    """Rows of one map panel: a near-square map (a cell is twice as tall as wide)
    under its title, within ``MAX_GRID_SHARE`` of the screen for all the rows."""
    cols, rows = grid_shape(k, width)
    square = (width // cols - 2) // 2 + 3  # the map, its title line, the frame
    room = int((height - 2) * MAX_GRID_SHARE) // rows
    return max(3, min(square, room))


class RaceScreen(Screen[None]):
    """The networks of a race: a decision map each, and their losses on one chart."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,v", "close", "Back", id="race.close", key_display="esc",
                tooltip="End the race, keep its runs, back to the main screen"),
    ]

    DEFAULT_CSS = BOX_CSS + """
    RaceScreen {
        layout: vertical;
        background: $background;
        #race-status { height: 1; background: $panel; padding: 0 1; text-wrap: nowrap;
                       text-overflow: ellipsis; }
        #race-grid { layout: grid; grid-gutter: 0 1; height: 14; }
        RaceMap { border: round $foreground 30%; padding: 0; }
        #race-chart-box { height: 1fr; min-height: 6; }
    }
    RaceScreen.-small RaceMap { border: none; }
    """

    PALETTE_KEYS = True
    """A full screen: its keys are offered in the command palette while it shows."""

    def __init__(self, race: RaceSession, *, deterministic: bool = False) -> None:
        super().__init__()
        self.race = race
        self.deterministic = deterministic
        self._due: float | None = None
        """When the next turn is due (perf_counter); None while the race is paused."""
        self._left = 0.0
        """Seconds left to the next turn when the race paused."""
        self._turn = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="race-status", markup=False)
        with Container(id="race-grid"):
            for i, label in enumerate(self.race.labels):
                yield RaceMap(label, i, id=f"race-map-{i}")
        with Box(f"Loss · {self.race.summary()}", id="race-chart-box"):
            yield RaceChart("Loss", id="race-chart")
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        race = self.race
        data = race.data
        for i, view in enumerate(self.maps):
            view.set_model(self._outputs_of(i), data.X_train_raw, data.labels("train"),
                           data.X_test_raw, data.labels("test"), n_classes=data.classes)
        self._layout(self.app.size.width, self.app.size.height)
        self.redraw()
        race_updated = getattr(self.app, "race_updated", None)
        if race_updated is not None:
            race_updated.subscribe(self, self._follow, immediate=True)
        session_updated = getattr(self.app, "session_updated", None)
        if session_updated is not None:  # the speed cap is the session's (shown here)
            session_updated.subscribe(self, self._follow_session, immediate=True)

    def _outputs_of(self, i: int) -> Callable[[np.ndarray], np.ndarray]:
        """Network i's outputs at raw points: its row of the race's one stacked forward
        pass over them (``RaceSession.outputs``), which the first map to draw makes."""
        return lambda points: self.race.outputs(points)[i]

    def on_unmount(self) -> None:
        """However the screen goes (esc, another full screen, quit), the race ends."""
        end = getattr(self.app, "end_race", None)
        if end is not None:
            self.app.call_later(end, self.race)

    @property
    def maps(self) -> list[RaceMap]:
        return list(self.query(RaceMap))

    @property
    def chart(self) -> RaceChart:
        return self.query_one(RaceChart)

    # --- layout -------------------------------------------------------------------------
    def on_resize(self) -> None:
        self._layout(self.size.width or self.app.size.width,
                     self.size.height or self.app.size.height)

    def _layout(self, width: int, height: int) -> None:
        """Columns and rows of maps for this size; the chart takes the rest."""
        k = self.race.k
        cols, rows = grid_shape(k, width)
        each = panel_height(width, height, k)
        grid = self.query_one("#race-grid")
        grid.styles.grid_size_columns, grid.styles.grid_size_rows = cols, rows
        grid.styles.height = each * rows
        self.set_class(each < 8, "-small")

    # --- following the race -------------------------------------------------------------
    def _follow_session(self, _update: SessionUpdate) -> None:
        """The app's session changed: the speed cap (the session's) is in the status line."""
        self.show_status()

    def _follow(self, update: SessionUpdate) -> None:
        """The status line every update; the maps and the chart when due."""
        self.show_status()
        self._pace()
        if update.scope == "all":
            self.redraw()
        elif update.scope == "curves":  # the rates changed: marks on the chart
            self.refresh_chart()
        elif update.scope == "tick" and shown_screen(self.app) is self:
            self._tick()

    def _pace(self) -> None:
        """Stop the turns' clock when the race stops, start it again when it runs."""
        now = time.perf_counter()
        if not self.race.running and self._due is not None:
            self._left, self._due = max(0.0, self._due - now), None
        elif self.race.running and self._due is None:
            self._due = now + self._left

    def _tick(self) -> None:
        """A training tick: at a slow speed cap everything (a demo moves epoch by epoch;
        training mostly sleeps), else the next part in turn (``TURN_SECONDS``).

        The turns' clock stops while the race is paused (``_pace``): a pause does not
        bring the next turn forward (its redraw has just shown everything), so a race
        paused and resumed often redraws as often per second as one that runs on."""
        if animated(self.race.speed):
            self.redraw()
            return
        now = time.perf_counter()
        if self._due is None or now < self._due:
            return
        # from when the turn was due, not from now: updates come every 0.1 s and a time
        # box more, so "now + TURN_SECONDS" would take every other update (0.25 s) and
        # each part would wait 0.5 s; after a stall, no burst of turns to catch up
        self._due = max(self._due + TURN_SECONDS, now + TURN_SECONDS / 2)
        if self._turn % 2:
            self.refresh_maps(range(self.race.k))
        else:
            self.refresh_chart()
        self._turn += 1

    def redraw(self) -> None:
        """Every map at its network's weights now, and every curve."""
        self.refresh_maps(range(self.race.k))
        self.refresh_chart()
        self.show_status()

    def refresh_maps(self, indices: range) -> None:
        """These networks' maps at their weights now (evaluated now, in one stacked pass;
        only the lines that changed are repainted)."""
        race, maps = self.race, self.maps
        accuracies = race.accuracies()
        for i in indices:
            if i < len(maps):
                maps[i].show_network(float(accuracies[i]), race.member_state(i).status)

    def refresh_chart(self) -> None:
        self.chart.set_series(None, None, self.race.rate_change_epochs(), self.race.curves())

    def show_status(self) -> None:
        # one line whatever it says: no layout of the screen (that costs a full repaint)
        self.query_one("#race-status", Static).update(self.status_line(), layout=False)

    def status_line(self) -> Content:
        """``▶ running  epoch 1,234 / 100,000 ━━━  24,000 ep/s  lr ×0.5  lr race · 5
        networks · 1 stack  best lr 0.5 loss 0.0123`` (``lr ×0.5``: after [, every rate
        halved)."""
        race = self.race
        state = race.state
        color, icon = STATE_STYLES.get(state, ("$foreground", "•"))
        dim = "$foreground 60%"
        done = progress_cells(race.epoch / max(race.total, 1), 12)
        parts: list[str | tuple[str, str]] = [
            (f" {icon} {state} ", f"bold reverse {color} on $background"), "  ",
            ("epoch ", dim), (f"{race.epoch:,}", "bold"), (f" / {race.total:,} ", dim),
            ("━" * done, color), ("━" * (12 - done), "$foreground 15%"), "  "]
        rate = race.meter.rate if race.running and not self.deterministic else math.nan
        if math.isfinite(rate):
            parts += [(f"{rate:,.0f}", "bold"), (" ep/s  ", dim)]
        if race.speed is not None:
            parts += [("cap ", dim), (f"{race.speed:g}/s  ", f"bold {color}")]
        if race.lr_scale != 1.0:  # [ ] scaled every rate
            parts += [("lr ", dim), (f"×{race.lr_scale:g}  ", f"bold {color}")]
        parts += [(f"{race.kind} race · {race.summary()}", dim)]
        best = race.best()
        if best is not None:
            loss = race.member_state(best).last_loss
            parts += [("  best ", dim), (race.labels[best], "bold"),
                      (f" loss {loss:.4g}" if loss >= 1e-4 else f" loss {loss:.2e}", dim)]
            if race.regression:  # its score: R^2, not an accuracy
                parts += [(f"  R² {race.accuracies()[best]:.4f}", dim)]
        return Content.assemble(*parts)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["RaceMenu", "RaceScreen", "grid_shape", "panel_height"]
