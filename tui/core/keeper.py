"""No lost work: the runs the app keeps, in the runs table and in the archive on disk.

Every run that trained at least one epoch is kept when it finishes, diverges or is
replaced (a row of the runs table, ``tui.core.runs``, and a file in the run archive,
``tui.core.archive``), and so is the current run when the app quits. The keeper says
what it did in words for the log; it never raises for a disk that refuses a file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from engine.train.trainer import Trainer
from tui.core.archive import LISTED_RUNS, Autosaver, describe_failure, list_runs, runs_dir
from tui.core.runs import RunRecord, RunStore, taken_off


@dataclass
class Kept:
    """What keeping a run did: log lines ``(kind, text)``, and a warning to pop up once."""

    record: RunRecord | None = None
    lines: list[tuple[str, str]] = field(default_factory=list)
    warning: str | None = None


class RunKeeper:
    """Keeps the session's runs: one row per trainer (updated when kept again), one file."""

    def __init__(self, runs: RunStore, autosaver: Autosaver) -> None:
        self.runs = runs
        self.autosaver = autosaver
        self.source = "app"
        """Where the current trainer came from: ``app`` or ``file``."""
        self._kept: tuple[Trainer, int] | None = None  # the current trainer's row
        self._warned: set[str] = set()
        self._exit_saved = False

    def adopt(self, trainer: Trainer, origin: Path | None = None, source: str = "app") -> None:
        """A new current trainer (``origin``: the file it was opened from)."""
        self.autosaver.adopt(trainer, origin.absolute() if origin is not None else None)
        self.source = source

    def keep(self, trainer: Trainer) -> Kept:
        """Keep ``trainer``'s run in the runs table and the archive (once per trainer:
        later calls update its row). A run that never trained is not kept."""
        kept = Kept()
        if trainer.epoch < 1:
            return kept
        record = RunRecord.from_trainer(trainer, source=self.source)
        path = self._save(trainer, record.to_summary, kept)
        record.path = str(path or "")
        row = self._row_of(trainer, path)
        if row is not None:
            record.source = row.source  # an archived run reopened stays "from an earlier session"
            record = self.runs.replace(row.number, record)
        else:
            before = self.runs.overlaid
            record = self.runs.add(record)
            saved = f", saved as {path.name}" if path is not None else ""
            kept.lines.append(
                ("dim", f"kept as run {record.label} ({record.status}){saved}; R lists the runs"))
            if note := taken_off(before, self.runs):
                kept.lines.append(("dim", note))
        self._kept = (trainer, record.number)
        kept.record = record
        return kept

    def _row_of(self, trainer: Trainer, path: Path | None) -> RunRecord | None:
        """The row ``trainer``'s run has already: the one it was kept in, or the row of
        the file that holds it (a run reopened from the table and not trained further
        is that row's run, not a second one)."""
        if self._kept is not None and self._kept[0] is trainer:
            return self.runs.get(self._kept[1])
        if path is None:
            return None
        return next((r for r in self.runs if r.path and same_file(r.path, path)), None)

    def _save(self, trainer: Trainer, summary: Callable[[], dict], kept: Kept) -> Path | None:
        """Write the run into the archive; a failure is a log line (and one pop-up per
        kind of failure: a read-only disk warns once, not at every run)."""
        try:
            return self.autosaver.save(trainer, summary)
        except (OSError, ValueError) as error:  # ValueError: a run file the engine refuses
            message = describe_failure(error, self.autosaver.folder)
            kept.lines.append(("error", "✖ " + message))
            if message not in self._warned:
                self._warned.add(message)
                kept.warning = message
            return None

    def keep_at_exit(self, trainer: Trainer) -> str | None:
        """Keep the run open as the app quits; the line for the terminal, if any.
        Never raises (quitting must go on), and writes once however often called."""
        if self._exit_saved or not self.autosaver.pending(trainer):
            return None
        self._exit_saved = True
        try:
            path = self.autosaver.save(
                trainer, lambda: RunRecord.from_trainer(trainer, source=self.source).to_summary())
        except Exception as error:  # quitting must go on, whatever failed
            return describe_failure(error, self.autosaver.folder)
        if path is None:
            return None
        return f"kept the run (epoch {trainer.epoch:,}) in {path}; nn-tui --open latest reopens it"

    def list_archived(
        self, records: list[RunRecord], problems: list[str]
    ) -> list[tuple[str, str]]:
        """Add the archive's runs (``read_archive``, read in a thread) not listed yet to
        the runs table, oldest first as if kept; the log lines that say so."""
        known = [r.path for r in self.runs if r.path]  # kept meanwhile: listed already
        records = [r for r in records if not any(same_file(r.path, k) for k in known)]
        lines = []
        if records:
            before = self.runs.overlaid
            self.runs.extend(records)
            lines.append(("dim", f"{len(records)} earlier runs listed from {runs_dir()}; "
                                 "R shows them, l there reopens one"))
            if note := taken_off(before, self.runs):
                lines.append(("dim", note))
        if problems:
            lines.append(("dim", f"{len(problems)} archived runs skipped: {problems[0]}"))
        return lines


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (relative ones from the current folder)."""
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


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
