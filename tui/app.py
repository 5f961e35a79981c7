"""The nn-tui app: it owns the training session, composes the screens and routes keys.

Keyboard first. Every action is an app binding with a description and an id, listed in
the footer, the help screen (``?``) and the command palette (ctrl+p). Training runs in
an asyncio task (``tui.core.training.TrainingLoop``) that steps the engine in 25 ms time
boxes and hands the app the latest state ten times a second; every key acts at once
while it runs. Anything that replaces the model (apply, reset, new data seed, next
dataset, open) stops that task first.

The app publishes each change of the session on ``session_updated`` (``tui.updates``);
the screens (``tui.screens.main`` with its four panels, inspect, runs) and the status
lines follow it and read the session themselves. Where to read on:

* ``tui.screens.main``: the four panels and their layout; ``tui.screens.inspect_runs``:
  ``i`` (weights, hidden units, norms) and ``R`` (kept runs, overlays).
* ``tui.file_actions``: ``w`` / ctrl+o save and open runs, ``e`` exports, ``L`` loads a CSV.
* ``tui.app_race``: ``v`` races variants of the config as stacks; ``tui.app_palette``:
  the command palette's commands; ``tui.app_themes``: themes, settings, NO_COLOR.
* ``tui.core.keeper``: no lost work. Every kept run is also written to the run archive
  (``~/.local/share/nn-tui/runs``), and so is the current run when the app quits;
  quitting never asks a question. The archive's newest runs are listed in the runs
  table at start-up, and ``l`` there reopens one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import App
from textual.binding import BindingType
from textual.events import Key, Resize
from textual.filter import Monochrome, NoColor
from textual.screen import Screen
from textual.signal import Signal

from engine import (
    ConfigError,
    DataError,
    Diverged,
    Event,
    ExperimentConfig,
    Finished,
    Trainer,
    WeightEdited,
    load_run,
    preset,
)
from engine.config.experiment import MAX_LR
from tui.app_palette import PaletteCommands
from tui.app_race import RaceActions
from tui.app_themes import ThemeSupport
from tui.core.archive import Autosaver, runs_dir
from tui.core.confine import OutsideRootError, confine_data_path
from tui.core.event_text import DIVERGED_HINT, diverged_hint
from tui.core.keeper import Kept, RunKeeper, read_archive
from tui.core.norms import NormWatch
from tui.core.race import RaceSession
from tui.core.runs import RunStore
from tui.core.training import (
    GRADCHECK_POINTS,
    TrainingLoop,
    TrainingSession,
    animated,
    arithmetic_note,
    format_lr,
    gradcheck_job,
    next_speed,
    speed_text,
    trainer_from_saved,
)
from tui.file_actions import FileActions, run_file_path
from tui.keys import KEYS, HelpBinding
from tui.screens.main import COMPACT_HEIGHT, COMPACT_WIDTH, MainScreen
from tui.updates import Scope, SessionUpdate
from tui.widgets.editor import ArchitectureEditor

START_PRESET = "dlp-xor"

LOG_SECONDS = 0.5
"""While training, log lines are written in batches at most this often."""

DETERMINISTIC_ENV = "NN_TUI_DETERMINISTIC"
"""Set (to anything non-empty) to hide timings, as snapshot tests do."""

NOISE_STEP = 0.05
"""+ / - change the dataset's noise by this much."""

SPLIT_STEP = 0.1
"""> / < change the test split by this much (up to 0.9)."""


class NNApp(ThemeSupport, PaletteCommands, RaceActions, FileActions, App[int]):
    """nn-tui's Textual app."""

    TITLE = "nn-tui"
    CSS_PATH = "app.tcss"
    AUTO_FOCUS = "#loss-panel"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS: ClassVar[list[BindingType]] = KEYS

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
        self.session_updated: Signal[SessionUpdate] = Signal(self, "session-updated")
        """Every change of the session, for the screens that follow it (tui.updates)."""
        self.race_updated: Signal[SessionUpdate] = Signal(self, "race-updated")
        """Every change of the race (``v``), for the race screen: the session's screens
        hidden under it do not hear the race's ticks (``tui.app_race``)."""
        if deterministic is None:
            deterministic = bool(os.environ.get(DETERMINISTIC_ENV))
        self.deterministic = deterministic
        """Hide timings (epochs per second, seconds) so screenshots are reproducible."""
        self._pending_events: list[Event] = []
        self._diverged: tuple[int, float] | None = None
        """(epoch, rate) of the last divergence, for space's reminder of what recovers."""
        self._log_flushed = 0.0
        self._started = False
        self._startup_warnings: list[str] = []
        self._settings = None
        self.runs = RunStore()
        """The kept runs (the runs screen's table, the loss chart's overlays)."""
        self.norm_watch = NormWatch()
        self.last_run_path = str(run_path or "")
        """The run file last saved or opened (the default of the next prompt)."""
        self.exit_notes: list[str] = []
        """Lines for the terminal once the app has quit (what the quit did with the run)."""
        self._no_color_filters = {True: NoColor(), False: Monochrome()}
        """NO_COLOR's filter for ANSI themes (True) and RGB themes (see get_line_filters)."""
        self._setup_themes()
        if autosave is None:
            autosave = getattr(self._settings, "autosave", True)
        self.keeper = RunKeeper(self.runs, Autosaver(runs_dir() if autosave else None))
        """Keeps every run in the runs table and the archive (and the current one at quit)."""
        self.race: RaceSession | None = None
        """The race on the race screen (``v``), trained by ``race_loop`` instead of the run."""
        self.race_loop: TrainingLoop | None = None
        if opened is not None:
            self.keeper.adopt(opened, Path(run_path), source="file")
        else:
            self.keeper.adopt(self.session.trainer)

    @property
    def autosaver(self) -> Autosaver:
        return self.keeper.autosaver

    @property
    def norms(self):
        """The current network's weight and gradient norms over time (the inspect screen)."""
        return self.norm_watch.tracker

    @property
    def main(self) -> MainScreen:
        return self.screen_stack[0]

    # --- building -------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return MainScreen()

    def main_ready(self) -> None:
        """The main screen is mounted (before the first frame): fill it in."""
        for warning in self._startup_warnings:
            self.say("error", warning)
        self._welcome()
        self.norm_watch.follow(self.session.trainer)
        self.publish("all", new_trainer=True)
        self._started = True
        # after the first frame, in a thread: listing the archive reads a file per run,
        # and the first frame must not wait for the disk (a cold cache, a network home)
        self.call_after_refresh(self._list_archive)

    def _welcome(self) -> None:
        self.say("note", self.describe(self.session.config))
        if self.keeper.source == "file":
            self.say("note", f"opened {self.last_run_path} at epoch "
                             f"{self.session.trainer.epoch:,}")
            if self._open_note:
                self.say("dim", self._open_note)
        self.say("dim", "space trains · s, n step · b map · i inspect · R runs · ? help")

    @staticmethod
    def describe(config: ExperimentConfig) -> str:
        """One line naming a config: ``xor · 2-4-4-1 · sigmoid · sgd lr 0.5 · 100,000 epochs``."""
        acts = ",".join(config.activation)
        return (f"{config.dataset_label} · {config.diagram()} · {acts} · "
                f"{config.optimizer} lr {format_lr(config.lr)} · {config.epochs:,} epochs")

    def say(self, kind: str, text: str) -> None:
        """A line in the epoch log (``note``, ``dim``, ``error`` ...)."""
        self.main.say(kind, text)

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Every pop-up, escaped and never read as markup (``markup`` is ignored): messages
        name files, whose names may hold escape sequences or ``[bold]``."""
        from tui.core.safe_text import printable

        super().notify(printable(message), title=printable(title),
                       severity=severity,  # type: ignore[arg-type]
                       timeout=timeout, markup=False)

    def error(self, message: str) -> None:
        """An error: in the log, and as a pop-up."""
        self.say("error", "✖ " + message)
        self.notify(message, severity="error")

    def publish(self, scope: Scope = "all", events: Sequence[Event] = (),
                new_trainer: bool = False, kept: Kept | None = None) -> None:
        """Tell the screens that follow the session what changed (``tui.updates``)."""
        self.session_updated.publish(SessionUpdate(scope, tuple(events), new_trainer, kept))

    def runs_changed(self) -> None:
        """Rows were added to or removed from the runs table (or its overlays changed)."""
        self.publish("curves")

    # --- layout -------------------------------------------------------------------------
    def on_resize(self, event: Resize) -> None:
        self.main.apply_layout(event.size.width, event.size.height)

    def action_show_panel(self, name: str) -> None:
        """1-4: show (in the compact layout) and focus a panel."""
        self.main.show_panel(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer "leave field" (escape) only while a field inside a panel has focus."""
        if action == "leave_field":
            return self.screen is self.main and self.main.field_panel() is not None
        return True

    def action_leave_field(self) -> None:
        """Escape: move focus from a field to its panel, so letter keys act again."""
        panel = self.main.field_panel()
        if panel is not None:
            panel.focus()

    def action_toggle_boundary(self) -> None:
        """b: panel 3 shows the scatter pair or the decision boundary."""
        self.main.toggle_boundary()

    # --- training -----------------------------------------------------------------------
    async def action_toggle_run(self) -> None:
        """space: run or pause (the race, while the race screen shows)."""
        if self.race_loop is not None:
            if self.race_loop.running:
                await self.race_loop.stop()
            elif not self.race_loop.start():
                self.notify("The race is over: esc keeps its runs.", title="Finished")
            self.publish_race("status")
            return
        if self.training.running:
            await self.training.stop()
            return
        trainer = self.session.trainer
        if trainer.status == "finished":
            self.notify(f"Finished at epoch {trainer.epoch:,}: r resets, a applies a new config.",
                        title="Finished")
            return
        if trainer.status == "diverged":
            epoch, lr = self._diverged or (trainer.epoch, trainer.lr)
            self.notify(diverged_hint(epoch, lr), title="Diverged", severity="warning",
                        timeout=8)
            return
        self.training.start()
        self.publish("status")

    async def action_step(self) -> None:
        """s: exactly one epoch."""
        await self._step(1)

    async def action_step_interval(self) -> None:
        """n: one log interval."""
        config = self.race.configs[0] if self.race is not None else self.session.config
        await self._step(config.log_every)

    async def _step(self, epochs: int) -> None:
        if self.race is not None and self.race_loop is not None:
            await self.race_loop.stop()
            self.race.paused = True
            self.race.step(epochs)
            if self.race.done:
                self._keep_race(self.race)
            self.publish_race("all")
            return
        await self.training.stop()
        self.session.paused = True
        events = self.session.step(epochs)
        self.norm_watch.observe()
        self._events(events, "all")

    def action_scale_lr(self, factor: float) -> None:
        """] / [: double or halve the learning rate, live (every rate of the race, while
        the race screen shows)."""
        if self.race is not None:
            self.scale_race_lr(float(factor))
            return
        trainer = self.session.trainer
        new = min(max(trainer.lr * float(factor), 1e-12), MAX_LR)
        if new == trainer.lr:
            return
        self._events([self.session.set_lr(new)], "curves")

    async def pause(self) -> bool:
        """Stop training for something done by hand (a weight edit); True if it ran."""
        if not self.training.running:
            return False
        await self.training.stop()
        self.session.paused = True
        self.publish("status")
        return True

    def edit_weight(self, layer: int, kind: str, row: int, col: int, text: str) -> WeightEdited:
        """Set one weight or bias to a typed value (the inspect screen's prompt; training
        is paused first): the event goes to the log, and the loss, the predictions and the
        map follow at once, measured at the new weights. EditError says what is wrong."""
        event = self.session.edit_weight(layer, kind, row, col, text)
        self._events([event], "all")
        return event

    def action_change_speed(self, direction: int) -> None:
        """} / {: the next faster or slower speed cap (``tui.core.training.SPEEDS``)."""
        self.action_set_speed(next_speed(self.session.speed, int(direction)) or 0)

    def action_set_speed(self, speed: float) -> None:
        """Cap training at ``speed`` epochs per second (0: unlimited), live; the cap is
        the session's, so it outlives resets and applies."""
        self.session.speed = float(speed) if speed else None
        self.notify(f"Speed: {speed_text(self.session.speed)}", timeout=2)
        self.publish("status")

    async def action_reset(self) -> None:
        """r: fresh weights (from the config's seed), epoch 0, at the rate last set by hand
        with [ or ] if there is one (into the editor too): so that after a divergence,
        [ then r starts afresh at the lower rate, which is what recovers."""
        config = self.session.config
        lr = next((change.new_lr for change in reversed(self.session.trainer.rate_changes)
                   if change.reason == "manual"), config.lr)
        if lr == config.lr:
            await self.replace(config, "reset: fresh weights, epoch 0")
            return
        await self.replace(config.replace(lr=lr), f"reset: fresh weights, epoch 0, lr "
                           f"{format_lr(lr)} (set by hand)", update_editor=True)

    async def action_new_data_seed(self) -> None:
        """d: the dataset again with the next data seed."""
        config = self.session.new_data_seed_config()
        await self.replace(config, f"new data seed {config.data_seed}", update_editor=True)

    async def action_cycle_dataset(self) -> None:
        """c: the next generated dataset."""
        try:
            config = self.session.next_dataset_config()
        except ConfigError as error:
            self.error(error.message)
            return
        await self.replace(config, f"dataset {config.dataset}", update_editor=True)

    async def action_use_preset(self, name: str) -> None:
        """Palette "Preset: NAME": the preset's config, in the editor too."""
        await self.replace(preset(name), f"preset {name}", update_editor=True)

    async def action_use_dataset(self, name: str) -> None:
        """Palette "Dataset: NAME": this generated dataset, as ``c`` picks the next one."""
        try:
            config = self.session.config.replace(dataset=name, data_path="", batch_size=0)
        except ConfigError as error:
            self.error(error.message)
            return
        await self.replace(config, f"dataset {name}", update_editor=True)

    def action_apply(self) -> None:
        """a / ctrl+s: apply the editor (it posts Applied, or shows why not)."""
        editor = self.main.query_one(ArchitectureEditor)
        if not editor.apply():
            errors = editor.errors
            message = next(iter(errors.values()), "the config is invalid")
            self.notify(message, title="Not applied", severity="error")

    @on(ArchitectureEditor.Applied)
    async def _applied(self, event: ArchitectureEditor.Applied) -> None:
        await self.replace(event.config, "applied")

    async def replace(
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
                confine_data_path(config.data_path)  # served: only the served folder's files
                trainer = Trainer(config)
            except (ConfigError, DataError, OutsideRootError) as error:
                self.error(f"{what}: {getattr(error, 'message', error)}")
                return False
        self._keep_run()
        self.session.adopt(trainer)
        self.keeper.adopt(trainer, origin, source)
        if update_editor:
            self.main.query_one(ArchitectureEditor).set_config(trainer.config)
        self.say("note", f"— {what} · {self.describe(trainer.config)}")
        if note:
            self.say("dim", note)
        self.norm_watch.follow(trainer)
        self.publish("all", new_trainer=True)
        return True

    # --- from the training task ----------------------------------------------------------
    def _on_training_update(self, events: Sequence[Event], final: bool) -> None:
        """Called by the training task every ~100 ms and when it ends: the status lines
        follow every update, log lines are written in batches at most every LOG_SECONDS
        (every update at a slow speed cap, where there are few), and the charts redraw at
        their own pace (``tui.screens.main``)."""
        if not self.is_running:
            return
        self._pending_events.extend(events)
        now = time.perf_counter()
        due = []
        if final or animated(self.session.speed) or now - self._log_flushed >= LOG_SECONDS:
            due, self._pending_events = self._pending_events, []
            self._log_flushed = now
        self.norm_watch.observe()
        self._events(due, "all" if final else "tick")

    def _on_training_error(self, error: BaseException) -> None:
        self.error(f"training stopped: {type(error).__name__}: {error}")

    def _events(self, events: Sequence[Event], scope: Scope) -> None:
        """Publish new events (the log writes them); a run that ended is kept first."""
        ended = any(isinstance(event, Finished | Diverged) for event in events)
        kept = self.keeper.keep(self.session.trainer) if ended else None
        self.publish(scope, events, kept=kept)
        for event in events:
            if isinstance(event, Diverged):  # the engine's words, then what recovers
                self._diverged = (event.epoch, event.lr)
                self.say("note", f"what recovers: {DIVERGED_HINT}")
                self.notify(diverged_hint(event.epoch, event.lr), title="Diverged",
                            severity="error", timeout=10)
        if kept is not None:
            self._kept(kept, lines=False)

    # --- kept runs ------------------------------------------------------------------------
    def _keep_run(self) -> None:
        """Keep the current run in the runs table and the archive (see tui.core.keeper)."""
        self._kept(self.keeper.keep(self.session.trainer))

    def _kept(self, kept: Kept, lines: bool = True) -> None:
        """Say what keeping a run did (unless an update carried its lines to the log)."""
        for kind, text in kept.lines if lines else ():
            self.say(kind, text)
        if kept.warning:
            self.notify(kept.warning, severity="warning", timeout=8)
        if kept.record is not None:
            self.runs_changed()

    def _list_archive(self) -> None:
        """Start reading the archive (a worker; the table fills in when it is done)."""
        self.run_worker(self._load_archive(), name="archive", group="archive",
                        exit_on_error=False)

    async def _load_archive(self) -> None:
        """List the archive's newest runs in the runs table (oldest first, as if kept)."""
        records, problems = await asyncio.to_thread(read_archive)
        for kind, text in self.keeper.list_archived(records, problems):
            self.say(kind, text)
        if records:
            self.runs_changed()

    async def reopen_run(self, path: str | Path) -> bool:
        """Open a kept run's file in place of the current run, as ctrl+o does."""
        path = Path(path)
        try:
            await self.open_run_file(path, "reopened", back_to_main=True)
        except (ValueError, OSError) as error:  # RunFileError, ConfigError, DataError
            self.error(f"cannot reopen {path.name}: {error}")
            return False
        return True

    # --- inspect, runs, gradient check --------------------------------------------------------
    async def _open_screen(self, screen: Screen) -> None:
        """Show a full screen; one of them at a time (a second one replaces the first)."""
        while len(self.screen_stack) > 1 and getattr(self.screen, "PALETTE_KEYS", False):
            await self.pop_screen()
        await self.push_screen(screen, callback=self._screen_closed)

    def _screen_closed(self, _result: object = None) -> None:
        """Back from a full screen: the main screen's panels catch up."""
        self.publish("all")

    async def action_inspect(self) -> None:
        """i: the inspect screen (weights, hidden units, norms) of the live network."""
        from tui.screens.inspect_runs import InspectScreen

        if not isinstance(self.screen, InspectScreen):
            await self._open_screen(InspectScreen())

    async def action_runs(self) -> None:
        """R: the runs screen (kept runs, overlays on the loss chart)."""
        from tui.screens.inspect_runs import RunsScreen

        if not isinstance(self.screen, RunsScreen):
            await self._open_screen(RunsScreen(self.runs, deterministic=self.deterministic))

    async def action_explain(self) -> None:
        """x: the backprop explainer on the live run (training pauses, as for s)."""
        from tui.screens.explain import ExplainScreen

        if isinstance(self.screen, ExplainScreen):
            return
        if self.training.running:
            await self.training.stop()
            self.session.paused = True
        await self._open_screen(ExplainScreen())

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
        await self.replace(config.replace(noise=noise), f"noise {noise:g}", update_editor=True)

    async def action_test_split(self, direction: int) -> None:
        """> / <: a larger or smaller test split, and the data split again."""
        config = self.session.config
        split = round(min(max(config.test_split + SPLIT_STEP * int(direction), 0.0), 0.9), 6)
        if split == config.test_split:
            self.notify(f"The test split is already {split:g}.")
            return
        await self.replace(config.replace(test_split=split), f"test split {split:g}",
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
        await self.end_race(self.race)
        self._keep_at_exit()
        self.exit(0)

    async def on_unmount(self) -> None:
        """However the app ends (q, ctrl+q, an error), the training task ends with it,
        and the run is kept (a second call writes nothing: it is saved at this epoch)."""
        await self.training.stop()
        await self.end_race(self.race)
        self._keep_at_exit()

    def _keep_at_exit(self) -> None:
        note = self.keeper.keep_at_exit(self.session.trainer)
        if note:
            self.exit_notes.append(note)


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


__all__ = ["COMPACT_HEIGHT", "COMPACT_WIDTH", "HelpBinding", "NNApp", "run_app", "run_file_path"]
