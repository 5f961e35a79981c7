"""The nn-tui app: the editor, the loss chart, the scatter pair and the epoch log.

Keyboard first. Every action is an app binding with a description and an id, listed in
the footer, the help screen (``?``) and the command palette (ctrl+p). Training runs in
an asyncio task (``tui.training.TrainingLoop``) that steps the engine in 15 ms time
boxes and hands the app the latest state ten times a second (status line every time,
log lines and charts twice a second); every key acts at once while it runs. Anything
that replaces the model (apply, reset, new data seed, next dataset) stops that task
first.

Layout: at 100x30 and up all four panels share the screen (editor and loss chart on
top, predictions and log below); smaller, one panel shows at a time and 1-4 (or a
click on the tab bar) switch between them.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar

import numpy as np
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Resize
from textual.screen import Screen
from textual.widgets import Footer

from engine import (
    ConfigError,
    DataError,
    Diverged,
    Event,
    ExperimentConfig,
    Finished,
    preset,
)
from engine.config import MAX_LR
from themes import DEFAULT_THEME, load_themes, theme_variables
from tui.charts import LossChart, ScatterPair
from tui.editor import ArchitectureEditor
from tui.help import DETAILS, HelpScreen, key_label
from tui.panels import PANELS, EpochLog, Panel, PanelBar, StatusLine
from tui.settings import load_settings, save_settings, user_themes_dir
from tui.training import TrainingLoop, TrainingSession, format_lr

START_PRESET = "dlp-xor"

COMPACT_WIDTH = 100
COMPACT_HEIGHT = 30
"""Below either size, one panel shows at a time."""

LOG_SECONDS = 0.5
"""While training, log lines are written in batches at most this often."""

CHART_SECONDS = 0.5
"""While training, one chart is redrawn this often (they take turns, and the scatter
pair passes its turn to the loss chart while no point changes class). A plotext draw
at 120x36 costs 12 ms (loss) or 26 ms (scatter pair); every 0.5 s keeps training at
about 90% of the wall time (bench/tui.py: 0.25 s gave an app/engine ratio of 0.85,
0.5 s gave 0.93)."""

DETERMINISTIC_ENV = "NN_TUI_DETERMINISTIC"
"""Set (to anything non-empty) to hide timings, as snapshot tests do."""

_PANELS = Binding.Group("Panel", compact=True)
_RATE = Binding.Group("Rate", compact=True)


class NNApp(App[int]):
    """nn-tui's Textual app."""

    TITLE = "nn-tui"
    CSS_PATH = "app.tcss"
    AUTO_FOCUS = "#loss-panel"
    ENABLE_COMMAND_PALETTE = True

    # description: the footer's short word; tooltip: the command palette's title.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_run", "Run", id="run-pause", key_display="space",
                tooltip="Run or pause training"),
        Binding("s", "step", "Step", id="step-epoch", tooltip="Step one epoch"),
        Binding("n", "step_interval", "Step log", id="step-log",
                tooltip="Step one log interval"),
        Binding("r", "reset", "Reset", id="reset", tooltip="Reset the weights"),
        Binding("d", "new_data_seed", "Seed", id="new-data", tooltip="New data seed"),
        Binding("a,ctrl+s", "apply", "Apply", id="apply", tooltip="Apply the editor's config"),
        Binding("question_mark", "help", "Help", id="help", key_display="?",
                tooltip="Help: every key"),
        Binding("c", "cycle_dataset", "Data", id="cycle-dataset", tooltip="Next dataset"),
        Binding("right_square_bracket", "scale_lr(2)", "Rate ×2", id="lr-double",
                key_display="]", group=_RATE, tooltip="Double the learning rate"),
        Binding("left_square_bracket", "scale_lr(0.5)", "Rate ÷2", id="lr-halve",
                key_display="[", group=_RATE, tooltip="Halve the learning rate"),
        Binding("1", "show_panel('editor')", "Editor", id="panel-editor", group=_PANELS,
                tooltip="Panel 1: architecture editor"),
        Binding("2", "show_panel('loss')", "Loss", id="panel-loss", group=_PANELS,
                tooltip="Panel 2: loss chart"),
        Binding("3", "show_panel('scatter')", "Predictions", id="panel-scatter",
                group=_PANELS, tooltip="Panel 3: predictions"),
        Binding("4", "show_panel('log')", "Log", id="panel-log", group=_PANELS,
                tooltip="Panel 4: epoch log"),
        Binding("t", "change_theme", "Theme", id="theme", tooltip="Change the theme"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit nn-tui"),
        Binding("escape", "leave_field", "Leave field", id="leave-field",
                tooltip="Leave the text field"),
    ]

    def __init__(
        self,
        config: ExperimentConfig | None = None,
        *,
        deterministic: bool | None = None,
    ) -> None:
        super().__init__()
        self.session = TrainingSession(config or preset(START_PRESET))
        self.training = TrainingLoop(
            self.session, self._on_training_update, self._on_training_error
        )
        if deterministic is None:
            deterministic = bool(os.environ.get(DETERMINISTIC_ENV))
        self.deterministic = deterministic
        """Hide timings (epochs per second, seconds) so screenshots are reproducible."""
        self.active_panel = "loss"
        self.compact = False
        self._phase = 0
        self._pending_events: list[Event] = []
        self._log_flushed = 0.0
        self._chart_due = 0.0
        self._scatter_key: tuple | None = None
        self._started = False
        self._startup_warnings: list[str] = []
        self._settings = None
        self._setup_themes()

    # --- themes and settings ------------------------------------------------------
    def _setup_themes(self) -> None:
        themes, warnings = load_themes(user_themes_dir())
        for theme in themes.values():
            self.register_theme(theme)
        self._settings, more = load_settings()
        warnings += more
        wanted = getattr(self._settings, "theme", None) or DEFAULT_THEME
        if wanted not in self.available_themes:
            warnings.append(f'theme "{wanted}" is not available; using {DEFAULT_THEME}')
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        self._startup_warnings = warnings
        self.theme = wanted

    def get_theme_variable_defaults(self) -> dict[str, str]:
        """nn-tui's own variables ($log-rate, $class-0 ...) for Textual's built-in themes too."""
        try:
            return {**super().get_theme_variable_defaults(), **theme_variables(self.current_theme)}
        except Exception:  # a theme our helpers cannot read: Textual's defaults only
            return super().get_theme_variable_defaults()

    def watch_theme(self, name: str) -> None:
        """Remember the theme the user picks (not the one applied at start)."""
        if not self._started or self._settings is None:
            return
        if getattr(self._settings, "theme", None) == name:
            return
        self._settings = dataclasses.replace(self._settings, theme=name)
        try:
            save_settings(self._settings)
        except OSError as error:
            self.notify(f"could not save the theme choice: {error}", severity="warning")

    # --- building -------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        config = self.session.config
        yield StatusLine(id="status")
        yield PanelBar(id="panel-bar")
        with Vertical(id="main"):
            with Horizontal(id="top-row", classes="panel-row"):
                with Panel("editor", focusable=True):
                    yield ArchitectureEditor(config, id="editor")
                with Panel("loss", focusable=True):
                    yield LossChart("Loss", id="loss-chart")
            with Horizontal(id="bottom-row", classes="panel-row"):
                with Panel("scatter", focusable=True):
                    yield ScatterPair(id="scatter")
                with Panel("log"):
                    yield EpochLog(id="log", deterministic=self.deterministic)
        yield Footer(id="footer", compact=True)

    def on_mount(self) -> None:
        self._apply_layout(self.size.width, self.size.height)
        log = self.query_one(EpochLog)
        for warning in self._startup_warnings:
            log.add("error", warning)
        self._welcome()
        self._refresh_all()
        self._started = True

    def _welcome(self) -> None:
        config = self.session.config
        log = self.query_one(EpochLog)
        log.add("note", self._describe(config))
        log.add("dim", "space trains · s, n step · 1-4 panels · ? help")

    @staticmethod
    def _describe(config: ExperimentConfig) -> str:
        acts = ",".join(config.activation)
        return (f"{config.dataset_label} · {config.diagram()} · {acts} · "
                f"{config.optimizer} lr {format_lr(config.lr)} · {config.epochs:,} epochs")

    # --- layout ---------------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self._apply_layout(event.size.width, event.size.height)

    def _apply_layout(self, width: int, height: int) -> None:
        compact = width < COMPACT_WIDTH or height < COMPACT_HEIGHT
        self.compact = compact
        if self.screen_stack:  # the main screen, even while help is on top of it
            self.screen_stack[0].set_class(compact, "-compact")
        self._show_active()

    def _show_active(self) -> None:
        """In the compact layout, display only the active panel (and its row)."""
        main = self.screen_stack[0] if self.screen_stack else None
        panels = {p.panel: p for p in main.query(Panel)} if main is not None else {}
        if not panels:  # not composed yet
            return
        for name, panel in panels.items():
            panel.display = not self.compact or name == self.active_panel
        for row in main.query(".panel-row"):
            row.display = any(child.display for child in row.children)
        bar = main.query_one(PanelBar)
        bar.display = self.compact
        bar.show_active(self.active_panel)

    def action_show_panel(self, name: str) -> None:
        """Show (in the compact layout) and focus a panel."""
        if name not in PANELS:
            return
        self.active_panel = name
        self._show_active()
        self.call_after_refresh(self._focus_panel, name)

    def _focus_panel(self, name: str) -> None:
        if name == "editor":
            editor = self.query_one(ArchitectureEditor)
            try:
                editor.field_widget("hidden").focus()
            except KeyError:
                self.query_one("#editor-panel").focus()
        elif name == "log":
            self.query_one(EpochLog).focus()
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

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "leave field" (escape) only while a field inside a panel has focus."""
        if action == "leave_field":
            return self._field_panel() is not None
        return True

    def _field_panel(self) -> Panel | None:
        """The focusable panel around the focused widget, if the focus is inside one."""
        focused = self.focused
        if focused is None or isinstance(focused, Panel):
            return None
        for node in focused.ancestors:
            if isinstance(node, Panel):
                return node if node.can_focus else None
        return None

    def action_leave_field(self) -> None:
        """Escape: move focus from a field to its panel, so letter keys act again."""
        panel = self._field_panel()
        if panel is not None:
            panel.focus()

    # --- command palette --------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding as a command (title = its description, help = its key)."""
        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.id in ("leave-field", "theme", "quit"):
                continue
            detail = DETAILS.get(binding.id or "", "")
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"{detail}  · key {key_label(binding, self)}".strip(),
                self._command(binding.action),
            )
        yield from super().get_system_commands(screen)

    def _command(self, action: str):
        async def run() -> None:
            await self.run_action(action)

        return run

    # --- training -----------------------------------------------------------------------
    async def action_toggle_run(self) -> None:
        """space: run or pause."""
        if self.training.running:
            await self.training.stop()
            return
        trainer = self.session.trainer
        if trainer.status == "finished":
            self.notify(f"Finished at epoch {trainer.epoch:,}: r resets, a applies a new config.",
                        title="Finished")
            return
        if trainer.status == "diverged":
            self.notify("Diverged: lower the rate with [ then press space to go on.",
                        title="Diverged", severity="warning")
            return
        self.training.start()
        self._refresh_status()

    async def action_step(self) -> None:
        """s: exactly one epoch."""
        await self._step(1)

    async def action_step_interval(self) -> None:
        """n: one log interval."""
        await self._step(self.session.trainer.config.log_every)

    async def _step(self, epochs: int) -> None:
        await self.training.stop()
        self.session.paused = True
        events = self.session.step(epochs)
        self._handle_events(events)
        self._refresh_all()

    def action_scale_lr(self, factor: float) -> None:
        """] / [: double or halve the learning rate, live."""
        trainer = self.session.trainer
        new = min(max(trainer.lr * float(factor), 1e-12), MAX_LR)
        if new == trainer.lr:
            return
        change = self.session.set_lr(new)
        self._handle_events([change])
        self._refresh_status()
        self._refresh_loss()

    async def action_reset(self) -> None:
        """r: fresh weights (from the config's seed), epoch 0."""
        await self._replace(self.session.config, "reset: fresh weights, epoch 0")

    async def action_new_data_seed(self) -> None:
        """d: the dataset again with the next data seed."""
        config = self.session.new_data_seed_config()
        await self._replace(config, f"new data seed {config.data_seed}", update_editor=True)

    async def action_cycle_dataset(self) -> None:
        """c: the next generated dataset."""
        try:
            config = self.session.next_dataset_config()
        except ConfigError as error:
            self._error(error.message)
            return
        await self._replace(config, f"dataset {config.dataset}", update_editor=True)

    def action_apply(self) -> None:
        """a / ctrl+s: apply the editor (it posts Applied, or shows why not)."""
        editor = self.query_one(ArchitectureEditor)
        if not editor.apply():
            errors = editor.errors
            message = next(iter(errors.values()), "the config is invalid")
            self.notify(message, title="Not applied", severity="error")

    @on(ArchitectureEditor.Applied)
    async def _applied(self, event: ArchitectureEditor.Applied) -> None:
        await self._replace(event.config, "applied")

    async def _replace(
        self, config: ExperimentConfig, what: str, update_editor: bool = False
    ) -> None:
        """Stop training, then swap in a fresh trainer for ``config`` (unless it fails)."""
        await self.training.stop()
        try:
            self.session.rebuild(config)
        except (ConfigError, DataError) as error:
            self._error(f"{what}: {getattr(error, 'message', error)}")
            return
        if update_editor:
            self.query_one(ArchitectureEditor).set_config(config)
        log = self.query_one(EpochLog)
        log.add("note", f"— {what} · {self._describe(config)}")
        self._phase = 0
        self._refresh_all()

    def _error(self, message: str) -> None:
        self.query_one(EpochLog).add("error", "✖ " + message)
        self.notify(message, severity="error")

    # --- from the training task ----------------------------------------------------------
    def _on_training_update(self, events: Sequence[Event], final: bool) -> None:
        """Called by the training task every ~100 ms and when it ends.

        The status line follows every update; log lines are written in batches at most
        every LOG_SECONDS; the charts take turns every CHART_SECONDS.
        """
        if not self.is_running:
            return
        self._pending_events.extend(events)
        now = time.perf_counter()
        if final or now - self._log_flushed >= LOG_SECONDS:
            events, self._pending_events = self._pending_events, []
            self._handle_events(events)
            self._log_flushed = now
        if final:
            self._refresh_all()
            return
        self._refresh_status()
        if now >= self._chart_due:
            # the charts take turns; a scatter pair whose picture would not change
            # (no point changed class) gives its turn to the loss chart
            self._phase += 1
            if self._phase % 2 == 0 or not self._refresh_scatter():
                self._refresh_loss()
            self._chart_due = now + CHART_SECONDS

    def _on_training_error(self, error: BaseException) -> None:
        self._error(f"training stopped: {type(error).__name__}: {error}")

    def _handle_events(self, events: Sequence[Event]) -> None:
        if not events:
            return
        log = self.query_one(EpochLog)
        log.add_events(events)
        for event in events:
            if isinstance(event, Finished):
                log.add_summary(self.session.test_summary())
            elif isinstance(event, Diverged):
                self.notify(event.message, title="Diverged", severity="error", timeout=8)

    # --- drawing ----------------------------------------------------------------------------
    def _refresh_all(self) -> None:
        self._refresh_status()
        self._refresh_loss()
        self._refresh_scatter(force=True)

    def _refresh_status(self) -> None:
        status = self.session.status(live_rate=not self.deterministic)
        self.query_one(StatusLine).show(status, self.session.config.dataset_label)

    def _refresh_loss(self) -> None:
        curves = self.session.curves()
        self.query_one(LossChart).set_series(curves.train, curves.test, curves.rate_changes)

    def _refresh_scatter(self, force: bool = False) -> bool:
        """Hand the scatter pair the current predictions; False if nothing would change.

        The pair colours points by rounded prediction, so its picture changes only when
        a point changes class (or the model is replaced).
        """
        points = self.session.points()
        key = (id(self.session.trainer), np.round(points.y_pred).tobytes())
        if key == self._scatter_key and not force:
            return False
        self._scatter_key = key
        # The accuracy goes on the panel's edge rather than into the chart, whose
        # "Predict result" title has no room for it at 120 columns.
        accuracy = "" if math.isnan(points.accuracy) else f"accuracy {100 * points.accuracy:.1f}%"
        self.query_one("#scatter-panel", Panel).show_note(accuracy)
        self.query_one(ScatterPair).set_points(points.X, points.y_true, points.y_pred)
        return True

    # --- the rest -------------------------------------------------------------------------------
    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        await self.training.stop()
        self.exit(0)

    async def on_unmount(self) -> None:
        """However the app ends (q, ctrl+q, an error), the training task ends with it."""
        await self.training.stop()


def run_app(config: ExperimentConfig | None = None) -> int:
    """Run the app (``nn-tui`` with no subcommand); returns the exit status."""
    app = NNApp(config)
    result = app.run()
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
