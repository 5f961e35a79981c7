"""The app's file keys: save and open runs (``w``, ctrl+o), export (``e``), load a CSV
dataset (``L``) or a sweep's CSV (runs screen ``o``).

Paths are typed in a prompt that completes them from the filesystem
(``tui.screens.prompts.PathPrompt``); a path that does not work is refused there, with
the reason, and nothing changes. Mixed into ``NNApp``: these are its actions.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from engine import Trainer, load_run, save_run
from engine.experiments.sweep import load_sweep_csv
from tui.core.confine import confine
from tui.core.runs import RunRecord, taken_off
from tui.core.training import arithmetic_note, trainer_from_saved

if TYPE_CHECKING:
    from engine import ExperimentConfig
    from tui.core.runs import RunStore
    from tui.core.training import TrainingSession
    from tui.screens.prompts import PathAction


FIGURES_NEED_MATPLOTLIB = 'needs matplotlib: pip install "nn-tui[figures]", then restart nn-tui'
"""The prompt's one line when the figures extra is not installed."""


def run_file_path(path: Path) -> Path:
    """The file ``save_run`` writes for ``path`` (it adds ``.npz`` when missing)."""
    if path.suffix == ".npz":
        return path
    return path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")


def confined(action: PathAction, writes: Callable[[Path], Path] | None) -> PathAction:
    """``action``, run only on a path (and on the file it writes) inside a served app's
    folder: checked again as the file is about to be touched, whatever prompt asked for
    it (``tui.core.confine``; a no-op in a terminal)."""

    def run(path: Path) -> Awaitable[str | None] | str | None:
        confine(path)
        if writes is not None:
            confine(writes(path))
        return action(path)

    return run


class FileActions:
    """The actions of the keys that read or write files (a mixin of ``NNApp``)."""

    session: TrainingSession
    runs: RunStore
    last_run_path: str
    say: Callable[[str, str], None]
    describe: Callable[[ExperimentConfig], str]
    replace: Callable[..., Awaitable[bool]]
    runs_changed: Callable[[], None]

    def _prompt(
        self, title: str, action: PathAction, default: str = "", text: str = "",
        writes: Callable[[Path], Path] | None = None,
    ) -> None:
        from tui.screens.prompts import PathPrompt

        self.push_screen(PathPrompt(title, confined(action, writes), default=default,
                                    text=text, writes=writes))

    def action_save_run(self) -> None:
        """w: save the run (config, weights, history) to a run file."""
        trainer = self.session.trainer

        def save(path: Path) -> str:
            written = save_run(path, trainer)
            self.last_run_path = str(written)
            self.say("note", f"saved the run (epoch {trainer.epoch:,}) to {written}")
            return f"Saved the run to {written}"

        self._prompt("Save the run", save, self.last_run_path or "nn-tui-run.npz",
                     f"epoch {trainer.epoch:,} of {self.describe(trainer.config)}",
                     writes=run_file_path)

    def action_open_run(self) -> None:
        """ctrl+o: open a run file in place of the current run (which is kept)."""

        async def open_run(path: Path) -> str:
            trainer = await self.open_run_file(path, "opened", back_to_main=False)
            return f"Opened {path.name} at epoch {trainer.epoch:,}"

        self._prompt("Open a run", open_run, self.last_run_path or "nn-tui-run.npz",
                     "a .npz run file saved with w (or nn-tui train --save)")

    async def open_run_file(self, path: Path, verb: str, back_to_main: bool) -> Trainer:
        """Open a run file in place of the current run; raises (RunFileError, ConfigError,
        DataError, OSError) before anything changes if the file cannot be used."""
        saved = load_run(path)
        trainer = trainer_from_saved(saved)
        if back_to_main:
            while len(self.screen_stack) > 1:  # back to the main screen, to show it
                await self.pop_screen()
        await self.replace(trainer.config, f"{verb} {path} at epoch {trainer.epoch:,}",
                           update_editor=True, trainer=trainer, source="file", origin=path,
                           note=arithmetic_note(saved))
        self.last_run_path = str(path)
        return trainer

    def action_export(self) -> None:
        """e: the export menu."""
        from tui.screens.prompts import ExportMenu

        def chosen(kind: str | None) -> None:
            if kind:
                self.action_export_to(kind)

        self.push_screen(ExportMenu(), callback=chosen)

    def action_export_to(self, kind: str) -> None:
        """Ask a path and export the history, the predictions, the config, a screenshot or
        (a folder) the figures."""
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
        if kind == "figures":
            self.export_figures()
            return
        if kind == "script":
            self.export_script()
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
            self.say("note", f"exported the {title} to {written}")
            return f"Exported the {title} to {written}"

        self._prompt(f"Export {title}", export, default, writes=lambda path: path)

    def export_script(self) -> None:
        """Ask a path and write the run's config as one plain NumPy script that trains it
        again from epoch 0 and prints the same log (engine/io/script.py)."""
        from engine.io.script import check_exportable, write_script
        from tui.cli.train_report import describe
        from tui.screens.prompts import EXPORTS

        trainer = self.session.trainer
        _, title, default = EXPORTS["script"]

        def export(path: Path) -> str:
            config, data = trainer.config, trainer.data
            written = write_script(path, config, data, intro=describe(config, data),
                                   command="the app's export menu, e t, at epoch "
                                           f"{trainer.epoch:,}")
            note = f"exported the {title} to {written} (python {written.name} trains " \
                   f"{config.epochs:,} epochs from the start in plain NumPy)"
            by_hand = sum(change.reason == "manual" for change in trainer.rate_changes)
            if by_hand:
                note += f"; the {by_hand} rate change{'s' if by_hand > 1 else ''} made by " \
                        "hand are not in it"
            self.say("note", note)
            return f"Exported the {title} to {written}"

        try:
            check_exportable(trainer.config, trainer.data)
            text = "python FILE.py trains this run's config from epoch 0 in plain NumPy"
        except ValueError as error:
            text = f"✖ {error}"
        self._prompt(f"Export {title}", export, default, text, writes=lambda path: path)

    def export_figures(self) -> None:
        """Ask a folder and draw the course's figures of the run into it (matplotlib)."""
        from tui.core import figures_png

        def export(folder: Path) -> Awaitable[str]:
            # a copy, taken between two training steps: the drawing runs in a thread
            # (about a second) while the run may go on training
            return self._write_figures(copy.deepcopy(self.session.trainer), folder)

        files = ", ".join(figures_png.FILES.values())
        text = f"a folder for {files} (created if missing)"
        if importlib.util.find_spec("matplotlib") is None:
            text = "✖ " + FIGURES_NEED_MATPLOTLIB
        self._prompt("Export the figures (PNG)", export, "nn-tui-figures", text,
                     writes=lambda folder: folder / figures_png.FILES["loss"])

    async def _write_figures(self, trainer: Trainer, folder: Path) -> str:
        """Draw the figures in a thread; a missing matplotlib or a bad folder is a
        ValueError, which the prompt shows in one line."""
        from tui.core import figures_png

        try:
            written = await asyncio.to_thread(figures_png.write_figures, trainer, folder,
                                              boundary=True)
        except figures_png.MatplotlibMissing:
            raise ValueError(FIGURES_NEED_MATPLOTLIB) from None
        self.say("note", f"exported the figures (epoch {trainer.epoch:,}): "
                         + ", ".join(str(path) for path in written))
        return figures_png.describe(written).capitalize()

    def _write_screenshot(self, path: Path) -> None:
        """The screen as it is now (the prompt closed) as an SVG file."""
        from engine.io.export import write_text_atomic

        try:
            written = write_text_atomic(path, self.export_screenshot(title="nn-tui"))
        except ValueError as error:
            self.error(str(error))
            return
        self.notify(f"Saved a screenshot to {written}")

    def action_load_data(self) -> None:
        """L: train on a CSV file of x1,x2,label rows (sets the editor's csv path)."""

        async def load(path: Path) -> str:
            path = path.absolute()
            config = self.session.config.replace(data_path=str(path))
            trainer = Trainer(config)  # reads the file: refuses it before anything changes
            await self.replace(config, f"loaded {path.name} ({trainer.data.n_train} "
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
            before = self.runs.overlaid
            records = self.runs.extend(RunRecord.from_sweep(r) for r in results)
            self.say("note", f"loaded {len(records)} runs of a sweep from {path} "
                             f"({records[0].label}-{records[-1].label})")
            if note := taken_off(before, self.runs):
                self.say("note", note)
            self.runs_changed()
            return f"Loaded {len(records)} runs from {path.name}"

        self._prompt("Load a sweep CSV", load, "", "the CSV written by nn-tui sweep --csv")
