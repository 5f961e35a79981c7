"""``nn-tui train``: train one network headless, report, save and export.

``--from RUN.npz`` re-runs a saved run and says whether it reproduces.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cli.configs import build_config, naming_data_flag, run_file
from tui.cli.errors import CliError
from tui.cli.output import checked_target, json_line
from tui.cli.progress import Screen
from tui.cli.train_report import JsonReport, TextReport
from tui.core.safe_text import printable

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig
    from engine.experiments.replay import ReplayPlan
    from engine.train.trainer import Trainer


def run_train(ns: argparse.Namespace) -> int:
    replay = None
    if ns.from_run:
        config, replay = _replay_plan(ns)
    else:
        config = build_config(ns)
    save_path = checked_target("--save", ns.save, "run.npz") if ns.save else None
    exports = _export_targets(ns)
    if "script" in exports:
        check_script(config)
    figures = _figures_target(ns)
    with naming_data_flag(ns):
        return train(config, json_mode=ns.json, quiet=ns.quiet, save_path=save_path,
                     replay=replay, source=ns.from_run, exports=exports, figures=figures)


def _replay_plan(ns: argparse.Namespace) -> tuple[ExperimentConfig, ReplayPlan]:
    """``--from RUN.npz``: the saved run's config, changed by any other flags, and the plan
    that replays its length and its manual rate changes."""
    if getattr(ns, "preset", None) or getattr(ns, "config", None):
        raise CliError("--from cannot be combined with --preset or --config: the run file "
                       "holds its own config (single flags such as --lr still change it)")
    from engine.config.experiment import FIELDS, ExperimentConfig
    from engine.experiments.replay import ReplayPlan
    from engine.io.runfile import load_run

    saved = load_run(run_file(ns.from_run, "--from"))
    values = {f: v for f in FIELDS if (v := getattr(ns, f, None)) is not None}
    config = ExperimentConfig.from_dict(values, base=saved.config)
    epochs = config.epochs if config.epochs != saved.config.epochs else None
    return config, ReplayPlan.from_saved(saved, config, epochs)


EXPORT_FLAGS = {"history": "--export-history", "predictions": "--export-predictions",
                "config": "--export-config", "script": "--export-script"}


def _export_targets(ns: argparse.Namespace) -> dict[str, str]:
    """The exports asked for, each target checked before training rather than after."""
    targets = {kind: path for kind in EXPORT_FLAGS
               if (path := getattr(ns, f"export_{kind}", None))}
    for kind, path in targets.items():
        checked_target(EXPORT_FLAGS[kind], path)
    return targets


def check_script(config: ExperimentConfig, data=None) -> None:
    """--export-script: refuse a run the script cannot write out, before training."""
    from engine.io.script import ScriptError, check_exportable

    try:
        check_exportable(config, data)
    except ScriptError as exc:
        raise CliError(f"--export-script: {exc}") from None


def _figures_target(ns: argparse.Namespace) -> dict[str, Any] | None:
    """--figures DIR and its options, checked before training: matplotlib, the folder."""
    if not getattr(ns, "figures", None):
        for flag in ("figures_log", "figures_boundary"):
            if getattr(ns, flag, False):
                raise CliError(f"--{flag.replace('_', '-')} needs --figures DIR")
        return None
    from tui.core import figures_png

    try:
        figures_png.load_matplotlib()
        folder = figures_png.prepare_folder(ns.figures)
    except figures_png.MatplotlibMissing:
        raise CliError(f"--figures needs matplotlib: {figures_png.INSTALL_HINT}") from None
    except figures_png.FiguresError as exc:
        raise CliError(f"--figures: {exc}") from None
    return {"folder": folder, "log_scale": ns.figures_log, "boundary": ns.figures_boundary}


def write_figure_files(trainer: Trainer, figures: dict[str, Any]) -> str:
    """Draw the --figures files of a trained run; the line that says so."""
    from tui.core import figures_png

    try:
        return figures_png.describe(figures_png.write_figures(trainer, **figures))
    except figures_png.FiguresError as exc:
        raise CliError(f"--figures: {exc}") from None


def train(
    config: ExperimentConfig,
    *,
    json_mode: bool,
    quiet: bool,
    save_path: str | None,
    replay: ReplayPlan | None = None,
    source: str | None = None,
    exports: dict[str, str] | None = None,
    figures: dict[str, Any] | None = None,
) -> int:
    """``nn-tui train``: train to the end (or divergence), report, optionally save.

    With ``replay`` (an ``engine.experiments.replay.ReplayPlan``, from ``--from RUN.npz``) the run
    follows the plan: its length and the saved run's manual rate changes; when the plan
    is a reproduction, the closing line says whether the history came out identical.
    ``exports`` maps "history", "predictions" or "config" to the file to write.
    """
    from engine.io.runfile import save_run
    from engine.train.trainer import Trainer

    # builds the data: a bad CSV or batch size is reported here
    if replay is not None:
        trainer = Trainer(config, history_capacity=replay.history_capacity)
    else:
        trainer = Trainer(config)
    if "script" in (exports or {}):
        check_script(config, trainer.data)  # a CSV file's points are counted now
    total = replay.epochs if replay is not None else config.epochs
    screen = Screen(trainer, show_bar=sys.stderr.isatty(), total=total)
    report = JsonReport(screen) if json_mode else TextReport(screen, quiet)
    notes = sys.stderr if json_mode else sys.stdout
    try:
        with FirstInterrupt() as interrupt:
            report.start(trainer)
            if replay is not None:
                report.replay(replay, source)
            while not (replay.done(trainer) if replay is not None else trainer.done):
                if interrupt.requested:
                    screen.close()
                    return interrupted(trainer, total, json_mode, save_path, notes)
                if replay is not None:
                    report.events(replay.advance(trainer, seconds=screen.box_seconds))
                else:
                    report.events(trainer.run(seconds=screen.box_seconds))
                screen.update()
    except KeyboardInterrupt:  # a second ctrl-c, mid-epoch: the weights may be half-updated
        screen.close()
        return interrupted(trainer, total, json_mode, None, notes)
    finally:
        screen.close()
    report.finish(trainer, replay.compare(trainer) if replay is not None else None)
    if save_path:
        written = save_run(save_path, trainer)
        print(printable(f"saved run to {written}"), file=notes)
    for line in write_exports(trainer, exports or {}):
        print(printable(line), file=notes)
    if figures:
        print(write_figure_files(trainer, figures), file=notes)
    sys.stdout.flush()
    return 0


class FirstInterrupt:
    """The first ctrl-c asks training to stop after the chunk it is in (at most half a
    second), so the run so far is whole and can be kept; a second one interrupts at once.
    Outside the main thread (no signals there) it does nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous: Any = None

    def _handle(self, _signum: int, _frame: object) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> FirstInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *_exc: object) -> None:
        import signal

        if self._installed:
            signal.signal(signal.SIGINT, self._previous or signal.SIG_DFL)


def interrupted(trainer: Trainer, total: int, json_mode: bool, save_path: str | None,
                notes: Any) -> int:
    """Ctrl-c: keep the run so far in ``save_path`` (status ``interrupted``: ``--from`` and
    ``--open`` read it, and it can train on), say so, and end ``--json`` with an
    ``interrupted`` event. Exit status 130, as a shell gives an interrupted command."""
    from engine.io.runfile import save_run

    written = save_run(save_path, trainer, status="interrupted") if save_path else None
    if json_mode:
        print(json_line({"event": "interrupted", "epoch": trainer.epoch, "epochs": total,
                         "saved": str(written) if written else None}))
        sys.stdout.flush()
    print(f"nn-tui: interrupted at epoch {trainer.epoch:,} of {total:,}", file=sys.stderr)
    if written:
        print(printable(f"saved the run so far (interrupted) to {written}"), file=notes)
    return 130


def write_exports(trainer: Trainer, exports: dict[str, str]) -> list[str]:
    """Write the asked-for exports of a trained run; one line per file written."""
    from engine.io import export

    lines = []
    if "history" in exports:
        path = export.write_text_atomic(exports["history"], export.history_csv(trainer))
        lines.append(f"wrote the history ({len(trainer.history):,} rows) to {path}")
    if "predictions" in exports:
        path = export.write_text_atomic(exports["predictions"], export.predictions_csv(trainer))
        points = trainer.data.n_train + len(trainer.data.X_test)
        lines.append(f"wrote the predictions ({points:,} points) to {path}")
    if "config" in exports:
        path = export.write_text_atomic(exports["config"], export.config_toml(trainer.config))
        lines.append(f"wrote the config to {path} (nn-tui train --config {path} reruns it)")
    if "script" in exports:
        lines.append(write_script_file(trainer, exports["script"]))
    return lines


def write_script_file(trainer: Trainer, target: str) -> str:
    """--export-script: the run as one NumPy script; the line that says so."""
    import shlex

    from engine.io.script import write_script
    from tui.cli.train_report import describe

    command = "nn-tui " + shlex.join(sys.argv[1:])
    path = write_script(target, trainer.config, trainer.data, command=command,
                        intro=describe(trainer.config, trainer.data), name=Path(target).name)
    return f"wrote the training script to {path} (python {shlex.quote(path.name)} trains " \
           "it again in plain NumPy)"
