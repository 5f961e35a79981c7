"""The main screen: the editor, the loss chart, the predictions and the epoch log.

Layout: at 100x30 and up all four panels share the screen (editor and loss chart on
top, predictions and log below); smaller, one panel shows at a time and 1-4 (or a
click on the tab bar) switch between them. Panel 3 shows the scatter pair or, after
``b``, the decision boundary.

The screen follows the app's session (``tui.updates``): on each update it writes the
new events into the log and redraws what is due. While training runs the charts take
turns every CHART_SECONDS (a few ms each), so drawing never slows training down much.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.events import DescendantFocus
from textual.screen import Screen
from textual.widgets import ContentSwitcher

from engine import Finished
from tui.core.training import animated, format_accuracies
from tui.updates import SessionUpdate, shown_screen
from tui.widgets.boundary import DecisionBoundary
from tui.widgets.charts import LossChart, ScatterPair
from tui.widgets.editor import ArchitectureEditor
from tui.widgets.footer import KeyFooter
from tui.widgets.panels import PANEL_TITLES, PANELS, EpochLog, Panel, PanelBar, StatusLine

COMPACT_WIDTH = 100
COMPACT_HEIGHT = 30
"""Below either size, one panel shows at a time."""

SCATTER_MIN_WIDTH = 54
"""Columns the predictions keep at least, beside the log: two plots of about 21
columns, near square in a 100x30 or 120x36 terminal (a cell is twice as tall as wide)."""

LOG_WIDTH = (40, 70)
"""The log's narrowest and widest: 70 holds its longest lines unwrapped."""

CHART_SECONDS = 0.5
"""While training, one chart is redrawn this often (they take turns, and the scatter
pair passes its turn to the loss chart while no point changes class). A redraw of
the loss chart and the scatter pair at 120x36 costs a few ms together (bench/tui.py
prints it); every 0.5 s keeps training at about 90% of the wall time or more
(bench/tui.py: 0.25 s gave an app/engine ratio of 0.85, 0.5 s gave 0.93, when a draw
still cost 12-26 ms)."""

BOUNDARY_TITLE = "Decision boundary"
"""Panel 3's title while it shows the map."""

MAP_TITLE = "p(class 1)"
"""The map's own title (before the accuracies): what its colours show."""


def log_width(width: int) -> int:
    """The log's columns in a screen ``width`` wide: the predictions, which a student
    watches, keep SCATTER_MIN_WIDTH; the log the rest, within LOG_WIDTH (46 at 100
    columns, 66 at 120, 70 from 124 on; its lines wrap when narrower than 70)."""
    low, high = LOG_WIDTH
    return max(low, min(high, width - SCATTER_MIN_WIDTH))


class MainScreen(Screen):
    """The four panels, laid out for the terminal's size, following the app's session."""

    def __init__(self) -> None:
        super().__init__()
        self.active_panel = "loss"
        self.compact = False
        self.prediction_view = "scatter"
        """What panel 3 shows: ``scatter`` (the pair) or ``boundary`` (the map)."""
        self._phase = 0
        self._chart_due = 0.0
        self._scatter_key: tuple | None = None

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield PanelBar(id="panel-bar")
        with Vertical(id="main"):
            with Horizontal(id="top-row", classes="panel-row"):
                with Panel("editor", focusable=True):
                    yield ArchitectureEditor(self.app.session.config, id="editor")
                with Panel("loss", focusable=True):
                    yield LossChart("Loss", id="loss-chart")
            with Horizontal(id="bottom-row", classes="panel-row"):
                with (Panel("scatter", focusable=True),
                      ContentSwitcher(initial="scatter", id="predictions")):
                    yield ScatterPair(id="scatter")
                    yield DecisionBoundary(MAP_TITLE, id="boundary")
                with Panel("log"):
                    yield EpochLog(id="log", deterministic=self.app.deterministic)
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        self.apply_layout(self.app.size.width, self.app.size.height)
        self.app.session_updated.subscribe(self, self.follow, immediate=True)
        self.app.main_ready()  # the log is there: the app says hello, the panels fill in

    @property
    def log_panel(self) -> EpochLog:
        return self.query_one(EpochLog)

    def say(self, kind: str, text: str) -> None:
        """A line in the epoch log (``note``, ``dim``, ``error`` ...)."""
        self.log_panel.add(kind, text)

    # --- layout ---------------------------------------------------------------------
    def apply_layout(self, width: int, height: int) -> None:
        self.compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.set_class(self.compact, "-compact")
        self._split_bottom_row(width)
        self._show_active()

    def _split_bottom_row(self, width: int) -> None:
        """The log gets what the predictions leave (an inline width; compact: the CSS's)."""
        try:
            log = self.query_one("#log-panel")
        except NoMatches:  # not composed yet
            return
        log.styles.width = None if self.compact else log_width(width)

    def _show_active(self) -> None:
        """In the compact layout, display only the active panel (and its row)."""
        panels = {p.panel: p for p in self.query(Panel)}
        if not panels:  # not composed yet
            return
        for name, panel in panels.items():
            panel.display = not self.compact or name == self.active_panel
        for row in self.query(".panel-row"):
            row.display = any(child.display for child in row.children)
        bar = self.query_one(PanelBar)
        bar.display = self.compact
        bar.show_active(self.active_panel)

    def show_panel(self, name: str) -> None:
        """Show (in the compact layout) and focus a panel."""
        if name not in PANELS:
            return
        self.active_panel = name
        self._show_active()
        self.call_after_refresh(self._focus_panel, name)

    def _focus_panel(self, name: str) -> None:
        if name == "editor":
            try:
                self.query_one(ArchitectureEditor).field_widget("hidden").focus()
            except KeyError:
                self.query_one("#editor-panel").focus()
        elif name == "log":
            self.log_panel.focus()
        else:
            self.query_one(f"#{name}-panel").focus()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        """Clicking or tabbing into a panel makes it the active one."""
        for node in event.widget.ancestors_with_self:
            if isinstance(node, Panel):
                if node.panel != self.active_panel:
                    self.active_panel = node.panel
                    if self.compact:
                        self._show_active()
                    else:
                        self.query_one(PanelBar).show_active(node.panel)
                break

    def field_panel(self) -> Panel | None:
        """The focusable panel around the focused widget, if the focus is inside one."""
        focused = self.focused
        if focused is None or isinstance(focused, Panel):
            return None
        for node in focused.ancestors:
            if isinstance(node, Panel):
                return node if node.can_focus else None
        return None

    def toggle_boundary(self) -> None:
        """Panel 3 shows the scatter pair or the decision boundary."""
        boundary = self.prediction_view != "boundary"
        self.prediction_view = "boundary" if boundary else "scatter"
        self.query_one("#predictions", ContentSwitcher).current = self.prediction_view
        panel = self.query_one("#scatter-panel", Panel)
        if boundary:
            panel.set_title(BOUNDARY_TITLE)
            panel.show_note("")
            self.query_one(DecisionBoundary).refresh_map()
        else:
            panel.set_title(PANEL_TITLES["scatter"])
            self.refresh_scatter(force=True)
        if self.compact and self.active_panel != "scatter":
            self.show_panel("scatter")

    # --- following the session ------------------------------------------------------
    def follow(self, update: SessionUpdate) -> None:
        """Write the new events and redraw what the update says is due."""
        self._log_events(update)
        if update.new_trainer:
            self._phase = 0
            self._follow_trainer()
        if update.scope == "all":
            self.refresh_loss()
            self.refresh_scatter(force=True)
        elif update.scope == "curves":
            self.refresh_loss()
        elif update.scope == "tick" and shown_screen(self.app) is self:
            self._tick()

    def _log_events(self, update: SessionUpdate) -> None:
        """The events, what keeping the run did, and the course's test printout at the end."""
        log = self.log_panel
        log.add_events(update.events)
        for kind, text in update.kept.lines if update.kept else ():
            log.add(kind, text)
        if any(isinstance(event, Finished) for event in update.events):
            log.add_summary(self.app.session.test_summary())

    def _follow_trainer(self) -> None:
        session = self.app.session
        self.query_one(DecisionBoundary).set_trainer(
            session.trainer, lambda: session.figures().accuracies)

    def _tick(self) -> None:
        """A training tick: one chart when due (the charts take turns). At a slow speed
        cap (``tui.core.training.animated``) both follow every tick, so a demo moves
        epoch by epoch: training is then mostly asleep and the redraws cost nothing."""
        now = time.perf_counter()
        if animated(self.app.session.speed):
            self.refresh_scatter()
            self.refresh_loss()
            return
        if now < self._chart_due:
            return
        if self.prediction_view == "boundary":
            # the map costs a few ms (one predict on the grid, a half-block render):
            # it follows every tick, with the loss chart
            self.refresh_scatter()
            self.refresh_loss()
        else:
            # a scatter pair whose picture would not change (no point changed class)
            # gives its turn to the loss chart
            self._phase += 1
            if self._phase % 2 == 0 or not self.refresh_scatter():
                self.refresh_loss()
        self._chart_due = now + CHART_SECONDS

    def refresh_loss(self) -> None:
        """The current run's curves, and the overlaid runs' (labelled by what differs)."""
        app = self.app
        curves = app.session.curves()
        self.query_one(LossChart).set_series(curves.train, curves.test, curves.rate_changes,
                                             app.runs.overlay_curves(app.session.config))

    def refresh_scatter(self, force: bool = False) -> bool:
        """Hand panel 3 the current predictions; False if nothing would change.

        The scatter pair colours points by predicted class, so its picture changes
        only when a point changes class (or the model is replaced). The decision
        boundary changes with every step: it is re-evaluated (at its next paint,
        and only if it is shown) every time.
        """
        if self.prediction_view == "boundary":
            self.query_one(DecisionBoundary).refresh_map()
            return True
        session = self.app.session
        points = session.points()
        # The accuracy goes on the panel's edge rather than into the chart, whose
        # "Predict result" title has no room for it at 120 columns. It is that of the
        # weights the status line shows, train and test labelled.
        note = format_accuracies(session.figures())
        # a regression's picture changes with the predictions' values, not their classes
        shown = points.y_pred if points.n_classes == 0 else points.classes
        key = (id(session.trainer), shown.tobytes(), note)
        if key == self._scatter_key and not force:
            return False
        self._scatter_key = key
        self.query_one("#scatter-panel", Panel).show_note(note)
        self.query_one(ScatterPair).set_points(points.X, points.y_true, points.y_pred,
                                               classes=points.classes,
                                               n_classes=points.n_classes)
        return True


__all__ = ["BOUNDARY_TITLE", "COMPACT_HEIGHT", "COMPACT_WIDTH", "MAP_TITLE", "MainScreen",
           "log_width"]
