"""The nn-tui app: the editor, the loss chart, the predictions and the epoch log.

Keyboard first. Every action is an app binding with a description and an id, listed in
the footer, the help screen (``?``) and the command palette (ctrl+p). Training runs in
an asyncio task (``tui.core.training.TrainingLoop``) that steps the engine in 25 ms time
boxes and hands the app the latest state ten times a second (status line every time,
log lines and charts twice a second); every key acts at once while it runs. Anything
that replaces the model (apply, reset, new data seed, next dataset) stops that task
first.

Layout: at 100x30 and up all four panels share the screen (editor and loss chart on
top, predictions and log below); smaller, one panel shows at a time and 1-4 (or a
click on the tab bar) switch between them. Panel 3 shows the scatter pair or, after
``b``, the decision boundary.

Beyond the main screen: ``i`` inspects the network (weights, hidden units, norms),
``R`` lists the kept runs (every run that finished, diverged or was replaced) and
overlays their loss curves, ``g`` checks the gradients, ``w`` / ctrl+o save and open
runs, ``e`` exports, ``L`` loads a CSV dataset. Paths are typed in a prompt that
completes them from the filesystem; a path that does not work is refused there,
with the reason, and nothing changes.

No lost work: every kept run is also written to the run archive on disk
(``tui.core.archive``, ``~/.local/share/nn-tui/runs``), and so is the current run when the
app quits; quitting never asks a question. The archive's newest runs are listed in
the runs table at start-up, and ``l`` there reopens one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import DescendantFocus, Key, Resize
from textual.filter import LineFilter, Monochrome, NoColor
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.widgets import ContentSwitcher

from engine import (
    ConfigError,
    DataError,
    Diverged,
    Event,
    ExperimentConfig,
    Finished,
    Trainer,
    load_run,
    preset,
    save_run,
)
from engine.config.experiment import MAX_LR
from engine.experiments.sweep import load_sweep_csv
from engine.train.probes import NormTracker
from themes import DEFAULT_THEME, load_themes, theme_variables
from tui.core.archive import (
    LISTED_RUNS,
    Autosaver,
    describe_failure,
    list_runs,
    runs_dir,
)
from tui.core.runs import RunRecord, RunStore
from tui.core.settings import load_settings, save_settings, user_themes_dir
from tui.core.training import (
    GRADCHECK_POINTS,
    TrainingLoop,
    TrainingSession,
    arithmetic_note,
    format_accuracies,
    format_lr,
    gradcheck_job,
    trainer_from_saved,
)
from tui.widgets.boundary import DecisionBoundary
from tui.widgets.charts import LossChart, ScatterPair
from tui.widgets.editor import ArchitectureEditor
from tui.widgets.footer import KeyFooter
from tui.widgets.panels import PANEL_TITLES, PANELS, EpochLog, Panel, PanelBar, StatusLine

if TYPE_CHECKING:
    from tui.screens.prompts import PathAction

START_PRESET = "dlp-xor"

COMPACT_WIDTH = 100
COMPACT_HEIGHT = 30
"""Below either size, one panel shows at a time."""

LOG_SECONDS = 0.5
"""While training, log lines are written in batches at most this often."""

CHART_SECONDS = 0.5
"""While training, one chart is redrawn this often (they take turns, and the scatter
pair passes its turn to the loss chart while no point changes class). A redraw of
the loss chart and the scatter pair at 120x36 costs a few ms together (bench/tui.py
prints it); every 0.5 s keeps training at about 90% of the wall time or more
(bench/tui.py: 0.25 s gave an app/engine ratio of 0.85, 0.5 s gave 0.93, when a draw
still cost 12-26 ms)."""

DETERMINISTIC_ENV = "NN_TUI_DETERMINISTIC"
"""Set (to anything non-empty) to hide timings, as snapshot tests do."""

NOISE_STEP = 0.05
"""+ / - change the dataset's noise by this much."""

SPLIT_STEP = 0.1
"""> / < change the test split by this much (up to 0.9)."""

NORM_POINTS = 2048
"""The norms probe measures gradients on at most this many training points (an even
stride over larger datasets), so a big dataset does not slow training down."""

BOUNDARY_TITLE = "Decision boundary"
"""Panel 3's title while it shows the map."""

MAP_TITLE = "p(class 1)"
"""The map's own title (before the accuracies): what its colours show."""

_PANELS = Binding.Group("Panel", compact=True)
_RATE = Binding.Group("Rate", compact=True)


@dataclasses.dataclass(frozen=True)
class HelpBinding(Binding):
    """A binding with its line of help, so that a key and its help are written once.

    ``detail`` explains the binding in a sentence: on the help screen and in the command
    palette beside the ``tooltip``, and in the README's key table (generated from the
    help screen's rows, ``python -m tui.screens.help``).
    """

    detail: str = ""


def _is_screen(screen: object, *names: str) -> bool:
    """``isinstance(screen, tui.screens.inspect_runs.<name>)`` without importing that module.

    The inspect and runs screens (and the prompts, the help, the exports) are imported
    when first opened, not at start-up: the first frame needs none of them. Until
    tui.screens.inspect_runs is imported, no screen can be one of its classes.
    """
    module = sys.modules.get("tui.screens.inspect_runs")
    return module is not None and isinstance(screen, tuple(getattr(module, n) for n in names))


class NNApp(App[int]):
    """nn-tui's Textual app."""

    TITLE = "nn-tui"
    CSS_PATH = "app.tcss"
    AUTO_FOCUS = "#loss-panel"
    ENABLE_COMMAND_PALETTE = True

    # The one home of the main screen's keys and their help: description is the footer's
    # short word; tooltip the title in the command palette, on the help screen and in the
    # README's key table; detail the line of explanation beside it in all three
    # (tests/tui/test_keys_doc.py holds the README to them).
    BINDINGS: ClassVar[list[BindingType]] = [
        HelpBinding("space", "toggle_run", "Run", id="run-pause", key_display="space",
                    tooltip="Run or pause training",
                    detail="Train in the background; every key keeps working meanwhile."),
        HelpBinding("s", "step", "Step", id="step-epoch", tooltip="Step one epoch",
                    detail="Train exactly one epoch (pauses a running training first)."),
        HelpBinding("n", "step_interval", "Step log", id="step-log",
                    tooltip="Step one log interval",
                    detail="Train one log interval (log every) epochs."),
        HelpBinding("r", "reset", "Reset", id="reset", tooltip="Reset the weights",
                    detail="Fresh weights from the config's seed, epoch 0."),
        HelpBinding("d", "new_data_seed", "Seed", id="new-data", tooltip="New data seed",
                    detail="Draw the dataset again with the next data seed, and reset."),
        HelpBinding("a,ctrl+s", "apply", "Apply", id="apply",
                    tooltip="Apply the editor's config",
                    detail="Use the editor's config (refused while a field is invalid)."),
        HelpBinding("question_mark", "help", "Help", id="help", key_display="?",
                    tooltip="Help: every key",
                    detail="Every key and what it does (this screen)."),
        HelpBinding("c", "cycle_dataset", "Data", id="cycle-dataset", tooltip="Next dataset",
                    detail="Switch to the next generated dataset, and reset."),
        HelpBinding("b", "toggle_boundary", "Map", id="boundary", show=False,
                    tooltip="Scatter pair / decision boundary",
                    detail="Panel 3: the scatter pair, or p(class 1) shaded over the plane."),
        HelpBinding("i", "inspect", "Inspect", id="inspect", show=False,
                    tooltip="Inspect weights, units and norms",
                    detail="Weights as a heatmap, one hidden unit over the plane, norms."),
        HelpBinding("R", "runs", "Runs", id="runs", key_display="R", show=False,
                    tooltip="Compare runs, overlay their losses",
                    detail="Kept runs in a sortable table; overlay their loss curves."),
        HelpBinding("g", "gradcheck", "Grad check", id="gradcheck", show=False,
                    tooltip="Gradient check, layer by layer",
                    detail="Backprop against finite differences, per layer, on a copy."),
        HelpBinding("w", "save_run", "Save", id="save-run", show=False,
                    tooltip="Save the run to a file",
                    detail="Config, weights and history to a .npz run file."),
        HelpBinding("ctrl+o", "open_run", "Open", id="open-run", show=False,
                    tooltip="Open a saved run",
                    detail="Reopen a run file: same weights, same predictions."),
        HelpBinding("e", "export", "Export", id="export", show=False,
                    tooltip="Export CSV, TOML or SVG",
                    detail="Loss history or predictions (CSV), config (TOML), screen (SVG)."),
        HelpBinding("L", "load_data", "Load CSV", id="load-data", key_display="L", show=False,
                    tooltip="Load a CSV dataset (x1,x2,label)",
                    detail="Train on your own x1,x2,label CSV file (tab completes paths)."),
        HelpBinding("plus", "noise(1)", "Noise +", id="noise-up", key_display="+", show=False,
                    tooltip="More noise (+0.05)",
                    detail="Draw the data again with 0.05 more noise, and reset."),
        HelpBinding("minus", "noise(-1)", "Noise -", id="noise-down", key_display="-",
                    show=False, tooltip="Less noise (-0.05)",
                    detail="Draw the data again with 0.05 less noise, and reset."),
        HelpBinding("greater_than_sign", "test_split(1)", "Split +", id="split-up",
                    key_display=">", show=False, tooltip="Larger test split (+0.1)",
                    detail="Hold out 0.1 more of the data for testing, and reset."),
        HelpBinding("less_than_sign", "test_split(-1)", "Split -", id="split-down",
                    key_display="<", show=False, tooltip="Smaller test split (-0.1)",
                    detail="Hold out 0.1 less (0: no test set), and reset."),
        HelpBinding("right_square_bracket", "scale_lr(2)", "Rate ×2", id="lr-double",
                    key_display="]", group=_RATE, tooltip="Double the learning rate",
                    detail="Double the learning rate now, even while training."),
        HelpBinding("left_square_bracket", "scale_lr(0.5)", "Rate ÷2", id="lr-halve",
                    key_display="[", group=_RATE, tooltip="Halve the learning rate",
                    detail="Halve it now; also resumes a run that diverged."),
        HelpBinding("1", "show_panel('editor')", "Editor", id="panel-editor", group=_PANELS,
                    tooltip="Panel 1: architecture editor",
                    detail="Show the editor and type in it; enter or tab moves on."),
        HelpBinding("2", "show_panel('loss')", "Loss", id="panel-loss", group=_PANELS,
                    tooltip="Panel 2: loss chart",
                    detail="Show the loss chart: log scale, rate changes dotted."),
        HelpBinding("3", "show_panel('scatter')", "Predictions", id="panel-scatter",
                    group=_PANELS, tooltip="Panel 3: predictions",
                    detail="Show the predictions: truth beside prediction, or the map (b)."),
        HelpBinding("4", "show_panel('log')", "Log", id="panel-log", group=_PANELS,
                    tooltip="Panel 4: epoch log",
                    detail="Show the epoch log; arrows and page keys scroll it."),
        HelpBinding("t", "change_theme", "Theme", id="theme", tooltip="Change the theme",
                    detail="Pick a colour theme; nn-tui remembers it."),
        HelpBinding("q", "quit", "Quit", id="quit", tooltip="Quit nn-tui",
                    detail="Leave nn-tui."),
        HelpBinding("escape", "leave_field", "Leave field", id="leave-field",
                    tooltip="Leave the text field",
                    detail="Leave a text field, so that single keys act again."),
    ]

    def __init__(
        self,
        config: ExperimentConfig | None = None,
        *,
        deterministic: bool | None = None,
        run_path: str | Path | None = None,
        autosave: bool | None = None,
    ) -> None:
        """``run_path``: open on this run file (its config wins over ``config``).
        ``autosave``: keep runs in the archive (None: as the settings say)."""
        super().__init__()
        saved = load_run(run_path) if run_path is not None else None
        opened = trainer_from_saved(saved) if saved is not None else None
        self._open_note = arithmetic_note(saved) if saved is not None else None
        self.session = TrainingSession(opened.config if opened else config or preset(START_PRESET))
        if opened is not None:
            self.session.adopt(opened)
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
        self.runs = RunStore()
        """The kept runs (the runs screen's table, the loss chart's overlays)."""
        self._kept: tuple[Trainer, int] | None = None  # the current trainer's record
        self._source = "app"  # where the current trainer came from: app or file
        self._overlay_key: tuple | None = None
        self._overlays: list = []
        self.prediction_view = "scatter"
        """What panel 3 shows: ``scatter`` (the pair) or ``boundary`` (the map)."""
        self.norms = NormTracker(self.session.trainer.network.n_layers)
        self._norm_data: tuple | None = None
        self.last_run_path = str(run_path or "")
        """The run file last saved or opened (the default of the next prompt)."""
        self.exit_notes: list[str] = []
        """Lines for the terminal once the app has quit (what the quit did with the run)."""
        self._exit_saved = False
        self._autosave_warned: set[str] = set()
        self._no_color_filters = {True: NoColor(), False: Monochrome()}
        """NO_COLOR's filter for ANSI themes (True) and RGB themes (see get_line_filters)."""
        self._setup_themes()
        if autosave is None:
            autosave = getattr(self._settings, "autosave", True)
        self.autosaver = Autosaver(runs_dir() if autosave else None)
        """Writes every kept run (and the current one at quit) into the run archive."""
        if opened is not None:
            self._source = "file"
            self.autosaver.adopt(opened, Path(run_path).absolute())
        else:
            self.autosaver.adopt(self.session.trainer)

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

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, with NO_COLOR's one chosen for the theme now in use.

        Textual picks NO_COLOR's filter once, in ``App.__init__``, for the theme current
        then (``textual-dark``): ``Monochrome``, which turns colours into greys by their
        RGB. ANSI colours carry no RGB (0, 0, 0 stands in), so after a switch to an
        ANSI theme (nn-ansi16) every colour, text and background alike, became black.
        An ANSI theme gets ``NoColor`` (the terminal's own two colours; ``:nocolor``
        rules mark the highlights by reverse video), an RGB theme ``Monochrome``.
        """
        filters = super().get_line_filters()
        if not self.no_color:
            return filters
        wanted = self._no_color_filters[self.native_ansi_color]
        return [
            wanted if isinstance(line_filter, NoColor | Monochrome) else line_filter
            for line_filter in filters
        ]

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
                with (Panel("scatter", focusable=True),
                      ContentSwitcher(initial="scatter", id="predictions")):
                    yield ScatterPair(id="scatter")
                    yield DecisionBoundary(MAP_TITLE, id="boundary")
                with Panel("log"):
                    yield EpochLog(id="log", deterministic=self.deterministic)
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        self._apply_layout(self.size.width, self.size.height)
        log = self.query_one(EpochLog)
        for warning in self._startup_warnings:
            log.add("error", warning)
        self._welcome()
        self._trainer_changed()
        self._refresh_all()
        self._started = True
        # after the first frame, in a thread: listing the archive reads a file per run,
        # and the first frame must not wait for the disk (a cold cache, a network home)
        self.call_after_refresh(self._list_archive)

    def _welcome(self) -> None:
        config = self.session.config
        log = self.query_one(EpochLog)
        log.add("note", self._describe(config))
        if self._source == "file":
            log.add("note", f"opened {self.last_run_path} at epoch {self.session.trainer.epoch:,}")
            if self._open_note:
                log.add("dim", self._open_note)
        log.add("dim", "space trains · s, n step · b map · i inspect · R runs · ? help")

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
    def action_command_palette(self) -> None:
        """ctrl+p: the command palette (ours: ``tui.screens.prompts.CommandPalette`` mends
        races)."""
        from tui.screens.prompts import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """t: the theme picker, in the same palette."""
        from tui.screens.prompts import CommandPalette

        self.push_screen(CommandPalette(providers=[ThemeProvider],
                                        placeholder="Search for themes…"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every binding as a command (title = its description, help = its key), the
        exports one by one, and the keys of the inspect or runs screen when it is shown."""
        from tui.screens.help import key_label
        from tui.screens.prompts import EXPORTS

        for binding in self.BINDINGS:
            if not isinstance(binding, Binding) or binding.id in ("leave-field", "theme", "quit"):
                continue
            detail = getattr(binding, "detail", "")
            yield SystemCommand(
                binding.tooltip or binding.description,
                f"{detail}  · key {key_label(binding, self)}".strip(),
                self._command(binding.action),
            )
        for kind, (key, title, default) in EXPORTS.items():
            yield SystemCommand(f"Export {title}",
                                f"to a file, {default} by default  · key e {key}",
                                self._command(f"export_to('{kind}')"))
        yield SystemCommand("Load a sweep CSV into the runs table",
                            "the CSV nn-tui sweep writes  · key R then o",
                            self._command("load_sweep"))
        if _is_screen(screen, "InspectScreen", "RunsScreen"):
            for binding in screen.BINDINGS:
                if isinstance(binding, Binding) and binding.tooltip and \
                        ".sort-" not in (binding.id or ""):
                    yield SystemCommand(binding.tooltip, f"key {key_label(binding, self)}",
                                        self._screen_command(screen, binding.action))
        yield from super().get_system_commands(screen)

    def _command(self, action: str):
        async def run() -> None:
            await self.run_action(action)

        return run

    @staticmethod
    def _screen_command(screen: Screen, action: str):
        async def run() -> None:
            await screen.run_action(action)

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
        self._observe_norms()
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
        self,
        config: ExperimentConfig,
        what: str,
        update_editor: bool = False,
        trainer: Trainer | None = None,
        source: str = "app",
        origin: Path | None = None,
        note: str | None = None,
    ) -> bool:
        """Stop training, then swap in a fresh trainer for ``config`` (unless it fails).

        ``trainer``: one built already (an opened run, a checked dataset); ``origin``:
        the file it was opened from. The run being replaced is kept (the runs table and
        the archive) if it trained at least one epoch.
        """
        await self.training.stop()
        if trainer is None:
            try:
                trainer = Trainer(config)
            except (ConfigError, DataError) as error:
                self._error(f"{what}: {getattr(error, 'message', error)}")
                return False
        self._keep_run()
        self.session.adopt(trainer)
        self.autosaver.adopt(trainer, origin.absolute() if origin is not None else None)
        self._source = source
        if update_editor:
            self.query_one(ArchitectureEditor).set_config(trainer.config)
        log = self.query_one(EpochLog)
        log.add("note", f"— {what} · {self._describe(trainer.config)}")
        if note:
            log.add("dim", note)
        self._phase = 0
        self._trainer_changed()
        self._refresh_all()
        return True

    def _trainer_changed(self) -> None:
        """A new trainer: the views that hold one by reference follow it."""
        trainer = self.session.trainer
        session = self.session
        self.query_one(DecisionBoundary).set_trainer(
            trainer, lambda: session.figures().accuracies)
        self.norms = NormTracker(trainer.network.n_layers)
        X, y = trainer.data.X_train, trainer.data.y_train  # noqa: N806
        if len(X) > NORM_POINTS:
            keep = np.linspace(0, len(X) - 1, NORM_POINTS).astype(np.int64)
            X, y = X[keep], y[keep]  # noqa: N806
        self._norm_data = (X, y)
        self._observe_norms()
        for screen in self.screen_stack:
            if _is_screen(screen, "InspectScreen"):
                screen.set_trainer(trainer, self.norms)

    def _observe_norms(self) -> None:
        """Record the weight and gradient norms (when due: cheap otherwise)."""
        trainer = self.session.trainer
        if self._norm_data is None or not self.norms.due(trainer.epoch):
            return
        X, y = self._norm_data  # noqa: N806
        try:
            self.norms.observe(trainer.epoch, trainer.network, X, y, trainer.config.loss)
        except ValueError:  # a loss the probe cannot differentiate: weights only
            self.norms.observe(trainer.epoch, trainer.network)

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
        self._observe_norms()
        if final:
            self._refresh_all()
            return
        self._refresh_status()
        if now >= self._chart_due:
            base = self._base_screen()
            if _is_screen(base, "InspectScreen"):
                base.refresh_views(self.norms)
            elif _is_screen(base, "RunsScreen"):
                self._refresh_loss()
            elif self.prediction_view == "boundary":
                # the map costs a few ms (one predict on the grid, a half-block render):
                # it follows every tick, with the loss chart
                self._refresh_scatter()
                self._refresh_loss()
            # the charts take turns; a scatter pair whose picture would not change
            # (no point changed class) gives its turn to the loss chart
            else:
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
                self._keep_run()
                log.add_summary(self.session.test_summary())
            elif isinstance(event, Diverged):
                self.notify(event.message, title="Diverged", severity="error", timeout=8)
                self._keep_run()

    # --- drawing ----------------------------------------------------------------------------
    def _base_screen(self) -> Screen:
        """The topmost screen that is not a modal one (what is shown under any dialog)."""
        for screen in reversed(self.screen_stack):
            if not screen.is_modal:
                return screen
        return self.screen_stack[0]

    def _refresh_all(self) -> None:
        self._refresh_status()
        self._refresh_loss()
        self._refresh_scatter(force=True)
        base = self._base_screen()
        if _is_screen(base, "InspectScreen"):
            base.refresh_views(self.norms)

    def _refresh_status(self) -> None:
        status = self.session.status(live_rate=not self.deterministic)
        label = self.session.config.dataset_label
        self.query_one(StatusLine).show(status, label)
        base = self._base_screen()
        if base is not self.screen_stack[0]:
            for line in base.query(StatusLine):
                line.show(status, label)

    def _refresh_loss(self) -> None:
        curves = self.session.curves()
        overlays = self._overlay_curves()
        self.query_one(LossChart).set_series(curves.train, curves.test, curves.rate_changes,
                                             overlays)
        for screen in self.screen_stack:
            if _is_screen(screen, "RunsScreen"):
                screen.show_curves(curves, overlays)

    def _overlay_curves(self) -> list:
        """The overlaid runs' curves, labelled by what tells them from the current run."""
        key = (self.runs.version, self.session.config)
        if key != self._overlay_key:
            self._overlays = self.runs.overlay_curves(self.session.config)
            self._overlay_key = key
        return self._overlays

    def overlays_changed(self) -> None:
        """The runs screen changed the overlays: redraw the loss charts."""
        self._refresh_loss()

    def _refresh_scatter(self, force: bool = False) -> bool:
        """Hand panel 3 the current predictions; False if nothing would change.

        The scatter pair colours points by rounded prediction, so its picture changes
        only when a point changes class (or the model is replaced). The decision
        boundary changes with every step: it is re-evaluated (at its next paint,
        and only if it is shown) every time.
        """
        if self.prediction_view == "boundary":
            self.query_one(DecisionBoundary).refresh_map()
            return True
        points = self.session.points()
        # The accuracy goes on the panel's edge rather than into the chart, whose
        # "Predict result" title has no room for it at 120 columns. It is that of the
        # weights the status line shows, train and test labelled.
        note = format_accuracies(self.session.figures())
        key = (id(self.session.trainer), points.classes.tobytes(), note)
        if key == self._scatter_key and not force:
            return False
        self._scatter_key = key
        self.query_one("#scatter-panel", Panel).show_note(note)
        self.query_one(ScatterPair).set_points(points.X, points.y_true, points.y_pred,
                                               classes=points.classes)
        return True

    # --- kept runs ------------------------------------------------------------------------
    def _keep_run(self) -> RunRecord | None:
        """Keep the current run in the runs table (once per trainer: later calls update it)."""
        trainer = self.session.trainer
        if trainer.epoch < 1:
            return None
        record = RunRecord.from_trainer(trainer, source=self._source)
        path = self._autosave(trainer, record.to_summary)
        record.path = str(path or "")
        if self._kept is not None and self._kept[0] is trainer:
            record = self.runs.replace(self._kept[1], record)
        else:
            record = self.runs.add(record)
            saved = f", saved as {path.name}" if path is not None else ""
            self.query_one(EpochLog).add(
                "dim", f"kept as run {record.label} ({record.status}){saved}; R lists the runs")
        self._kept = (trainer, record.number)
        self._runs_changed()
        return record

    def _autosave(self, trainer: Trainer, summary: Callable[[], dict]) -> Path | None:
        """Write the run into the archive; a failure is one line in the log, never a crash."""
        try:
            return self.autosaver.save(trainer, summary)
        except (OSError, ValueError) as error:  # ValueError: a run file the engine refuses
            message = describe_failure(error)
            self.query_one(EpochLog).add("error", "✖ " + message)
            if message not in self._autosave_warned:  # a read-only disk: one pop-up, not many
                self._autosave_warned.add(message)
                self.notify(message, severity="warning", timeout=8)
            return None

    def _autosave_at_exit(self) -> None:
        """Keep the run that is open as the app quits (never asks, never raises)."""
        trainer = self.session.trainer
        if self._exit_saved or not self.autosaver.pending(trainer):
            return
        self._exit_saved = True  # q, then the unmount: one attempt, one message
        try:
            path = self.autosaver.save(
                trainer, lambda: RunRecord.from_trainer(trainer, source=self._source).to_summary())
        except Exception as error:  # quitting must go on, whatever failed
            self.exit_notes.append(describe_failure(error))
            return
        if path is not None:
            self.exit_notes.append(
                f"kept the run (epoch {trainer.epoch:,}) in {path}; "
                "nn-tui --open latest reopens it")

    def _list_archive(self) -> None:
        """Start reading the archive (a worker; the table fills in when it is done)."""
        self.run_worker(self._load_archive(), name="archive", group="archive",
                        exit_on_error=False)

    async def _load_archive(self) -> None:
        """List the archive's newest runs in the runs table (oldest first, as if kept)."""
        records, problems = await asyncio.to_thread(read_archive)
        known = {r.path for r in self.runs if r.path}  # kept meanwhile: listed already
        records = [r for r in records if r.path not in known]
        if records:
            self.runs.extend(records)
            self.query_one(EpochLog).add(
                "dim", f"{len(records)} earlier runs listed from {runs_dir()}; "
                       "R shows them, l there reopens one")
            self._runs_changed()
        if problems:
            self.query_one(EpochLog).add(
                "dim", f"{len(problems)} archived runs skipped: {problems[0]}")

    async def reopen_run(self, path: str | Path) -> bool:
        """Open a kept run's file in place of the current run, as ctrl+o does."""
        path = Path(path)
        try:
            saved = load_run(path)
            trainer = trainer_from_saved(saved)
        except (ValueError, OSError) as error:  # RunFileError, ConfigError, DataError
            self._error(f"cannot reopen {path.name}: {error}")
            return False
        while len(self.screen_stack) > 1:  # back to the main screen, to show it
            await self.pop_screen()
        await self._replace(trainer.config, f"reopened {path} at epoch {trainer.epoch:,}",
                            update_editor=True, trainer=trainer, source="file", origin=path,
                            note=arithmetic_note(saved))
        self.last_run_path = str(path)
        return True

    def _runs_changed(self) -> None:
        for screen in self.screen_stack:
            if _is_screen(screen, "RunsScreen"):
                screen.refresh_if_changed()

    # --- panel 3, inspect, runs, gradient check ---------------------------------------------
    def action_toggle_boundary(self) -> None:
        """b: panel 3 shows the scatter pair or the decision boundary."""
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
            self._refresh_scatter(force=True)
        if self.compact and self.active_panel != "scatter":
            self.action_show_panel("scatter")

    async def _open_screen(self, screen: Screen) -> None:
        """Show a full screen; one of them at a time (a second one replaces the first)."""
        while len(self.screen_stack) > 1 and _is_screen(self.screen, "InspectScreen", "RunsScreen"):
            await self.pop_screen()
        await self.push_screen(screen, callback=self._screen_closed)
        self._refresh_all()

    def _screen_closed(self, _result: object = None) -> None:
        """Back from a full screen: the main screen's panels catch up."""
        self._refresh_all()

    async def action_inspect(self) -> None:
        """i: the inspect screen (weights, hidden units, norms) of the live network."""
        from tui.screens.inspect_runs import InspectScreen

        if _is_screen(self.screen, "InspectScreen"):
            return
        await self._open_screen(InspectScreen(self.session.trainer, self.norms))

    async def action_runs(self) -> None:
        """R: the runs screen (kept runs, overlays on the loss chart)."""
        from tui.screens.inspect_runs import RunsScreen

        if _is_screen(self.screen, "RunsScreen"):
            return
        await self._open_screen(RunsScreen(self.runs, deterministic=self.deterministic))

    def action_gradcheck(self) -> None:
        """g: backprop against finite differences on a copy of the current network."""
        from tui.screens.prompts import GradcheckScreen

        trainer = self.session.trainer
        config = trainer.config
        n = min(trainer.data.n_train, GRADCHECK_POINTS)
        intro = (f"{config.diagram()} · {','.join(config.activation)} · {config.loss} loss · "
                 f"weights of epoch {trainer.epoch:,}\n"
                 f"on {n} of {trainer.data.n_train} training points, float64 copy "
                 f"(training is not touched)")
        self.push_screen(GradcheckScreen(gradcheck_job(trainer), intro))

    # --- files ------------------------------------------------------------------------------
    def _prompt(
        self, title: str, action: PathAction, default: str = "", text: str = "",
        writes: Callable[[Path], Path] | None = None,
    ) -> None:
        from tui.screens.prompts import PathPrompt

        self.push_screen(PathPrompt(title, action, default=default, text=text, writes=writes))

    def action_save_run(self) -> None:
        """w: save the run (config, weights, history) to a run file."""
        trainer = self.session.trainer

        def save(path: Path) -> str:
            written = save_run(path, trainer)
            self.last_run_path = str(written)
            self.query_one(EpochLog).add(
                "note", f"saved the run (epoch {trainer.epoch:,}) to {written}")
            return f"Saved the run to {written}"

        self._prompt("Save the run", save, self.last_run_path or "nn-tui-run.npz",
                     f"epoch {trainer.epoch:,} of {self._describe(trainer.config)}",
                     writes=run_file_path)

    def action_open_run(self) -> None:
        """ctrl+o: open a run file in place of the current run (which is kept)."""

        async def open_run(path: Path) -> str:
            saved = load_run(path)
            trainer = trainer_from_saved(saved)  # before anything changes: may refuse
            await self._replace(trainer.config, f"opened {path} at epoch {trainer.epoch:,}",
                                update_editor=True, trainer=trainer, source="file", origin=path,
                                note=arithmetic_note(saved))
            self.last_run_path = str(path)
            return f"Opened {path.name} at epoch {trainer.epoch:,}"

        self._prompt("Open a run", open_run, self.last_run_path or "nn-tui-run.npz",
                     "a .npz run file saved with w (or nn-tui train --save)")

    def action_export(self) -> None:
        """e: the export menu."""
        from tui.screens.prompts import ExportMenu


        def chosen(kind: str | None) -> None:
            if kind:
                self.action_export_to(kind)

        self.push_screen(ExportMenu(), callback=chosen)

    def action_export_to(self, kind: str) -> None:
        """Ask a path and export the history, the predictions, the config or a screenshot."""
        from engine.io.export import (
            check_target,
            config_toml,
            history_csv,
            predictions_csv,
            write_text_atomic,
        )
        from tui.screens.prompts import EXPORTS

        if kind not in EXPORTS:
            return
        _, title, default = EXPORTS[kind]

        def export(path: Path) -> str | None:
            trainer = self.session.trainer
            if kind == "screenshot":
                check_target(path)  # refuse a bad folder while the prompt is open
                self.call_after_refresh(self._write_screenshot, path)
                return None
            text = {"history": history_csv, "predictions": predictions_csv,
                    "config": config_toml}[kind](trainer)
            written = write_text_atomic(path, text)
            self.query_one(EpochLog).add("note", f"exported the {title} to {written}")
            return f"Exported the {title} to {written}"

        self._prompt(f"Export {title}", export, default, writes=lambda path: path)

    def _write_screenshot(self, path: Path) -> None:
        """The screen as it is now (the prompt closed) as an SVG file."""
        from engine.io.export import write_text_atomic

        try:
            written = write_text_atomic(path, self.export_screenshot(title="nn-tui"))
        except ValueError as error:
            self._error(str(error))
            return
        self.notify(f"Saved a screenshot to {written}")

    def action_load_data(self) -> None:
        """L: train on a CSV file of x1,x2,label rows (sets the editor's csv path)."""

        async def load(path: Path) -> str:
            path = path.absolute()
            config = self.session.config.replace(data_path=str(path))
            trainer = Trainer(config)  # reads the file: refuses it before anything changes
            await self._replace(config, f"loaded {path.name} ({trainer.data.n_train} "
                                        f"training points)", update_editor=True, trainer=trainer)
            return f"Loaded {path.name}"

        current = self.session.config.data_path or ""
        self._prompt("Load a CSV dataset", load, current,
                     "rows of x1,x2,label (label 0 or 1), an optional header")

    def action_load_sweep(self) -> None:
        """Load a sweep's CSV (``nn-tui sweep --csv``) into the runs table."""

        def load(path: Path) -> str:
            results = load_sweep_csv(path)
            if not results:
                raise ValueError(f"{path} holds no runs")
            records = self.runs.extend(RunRecord.from_sweep(r) for r in results)
            self.query_one(EpochLog).add(
                "note", f"loaded {len(records)} runs of a sweep from {path} "
                        f"({records[0].label}-{records[-1].label})")
            self._runs_changed()
            return f"Loaded {len(records)} runs from {path.name}"

        self._prompt("Load a sweep CSV", load, "", "the CSV written by nn-tui sweep --csv")

    # --- data keys --------------------------------------------------------------------------
    async def action_noise(self, direction: int) -> None:
        """+ / -: more or less noise, and the dataset drawn again."""
        config = self.session.config
        if config.data_path:
            self.notify("Noise applies to generated data; this run reads a CSV file.",
                        severity="warning")
            return
        noise = round(min(max(config.noise + NOISE_STEP * int(direction), 0.0), 1.0), 6)
        if noise == config.noise:
            self.notify(f"The noise is already {noise:g}.")
            return
        await self._replace(config.replace(noise=noise), f"noise {noise:g}", update_editor=True)

    async def action_test_split(self, direction: int) -> None:
        """> / <: a larger or smaller test split, and the data split again."""
        config = self.session.config
        split = round(min(max(config.test_split + SPLIT_STEP * int(direction), 0.0), 0.9), 6)
        if split == config.test_split:
            self.notify(f"The test split is already {split:g}.")
            return
        await self._replace(config.replace(test_split=split), f"test split {split:g}",
                            update_editor=True)

    # --- the rest -------------------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def _on_key(self, event: Key) -> None:
        # A key still queued while the app shuts down (the screens already gone) made
        # Textual 8.2.8's App._on_key raise ScreenStackError looking for bindings. Textual
        # calls this handler, then App's (each class's in the MRO) unless the default is
        # prevented: so this drops the key instead.
        if not self.screen_stack:
            event.prevent_default()

    async def action_quit(self) -> None:
        """q: stop training, keep the run in the archive (no question asked), quit."""
        await self.training.stop()
        self._autosave_at_exit()
        self.exit(0)

    async def on_unmount(self) -> None:
        """However the app ends (q, ctrl+q, an error), the training task ends with it,
        and the run is kept (a second call writes nothing: it is saved at this epoch)."""
        await self.training.stop()
        self._autosave_at_exit()


def read_archive() -> tuple[list[RunRecord], list[str]]:
    """The archive's newest runs as records, oldest first, and a line per unreadable one."""
    runs, problems = list_runs(runs_dir(), LISTED_RUNS)
    records = []
    for run in reversed(runs):
        try:
            records.append(RunRecord.from_summary(run.summary, str(run.path)))
        except ValueError as error:
            problems.append(f"{run.path.name}: {error}")
    return records, problems


def run_file_path(path: Path) -> Path:
    """The file ``save_run`` writes for ``path`` (it adds ``.npz`` when missing)."""
    if path.suffix == ".npz":
        return path
    return path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")


def run_app(
    config: ExperimentConfig | None = None,
    *,
    run_path: str | Path | None = None,
    autosave: bool | None = None,
) -> int:
    """Run the app (``nn-tui`` with no subcommand); returns the exit status.

    Once the app has quit, what the quit did with the run (kept, or why not) is
    printed to stderr, one line each.
    """
    app = NNApp(config, run_path=run_path, autosave=autosave)
    result = app.run()
    for note in app.exit_notes:
        print(f"nn-tui: {note}", file=sys.stderr)
    return int(result or 0) if app.return_code in (None, 0) else int(app.return_code or 1)
