"""The run archive: every run the app trains is kept on disk, so quitting never loses one.

Each run that finishes, diverges, is stopped to make room for another (reset, apply,
new data, open) or is still going when the app quits is written to
``data_dir()/runs/`` (``~/.local/share/nn-tui/runs`` by default) as a full run file,
the very format ``w`` saves: ``ctrl+o`` and ``nn-tui --open`` reopen it with the same
predictions, and ``nn-tui train --from`` reproduces it. The file carries one more
member, ``summary.npy`` (a JSON string: the runs table's figures and a loss curve of
at most 512 points), so listing the archive reads a few kilobytes per run instead of
the whole history; ``engine.io.runfile.load_run`` ignores it.

Files are named ``000042_2026-11-27T10-31-05_xor_2-4-4-1.npz``: a sequence number, one
more than the highest in the folder, then the local time, dataset and layer sizes. The
archive is ordered by the sequence, which cannot go back when the clock does (the time
is only for reading); names an older nn-tui wrote (``2026-11-27T10-31-05.2_xor_...``,
no sequence) stay readable and sort before every numbered one, by their time.
Every write goes to a temporary file first
and is then linked under a name nobody holds yet (or renamed over the run's own
earlier file), so a crash leaves the old file or the new one, never half of one.

The archive is bounded (``MAX_RUNS`` files, ``MAX_BYTES`` in all): after each write
the oldest files are deleted until both bounds hold. Only files whose names match
``ARCHIVE_NAME`` are ever counted or deleted; anything else in the folder is left
alone.

No Textual here: ``nn-tui runs`` lists the archive without starting the app.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import tempfile
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from engine.io.runfile import run_arrays
from engine.train.trainer import Trainer
from tui.core.confine import served_root
from tui.core.settings import data_dir

MAX_RUNS = 200
"""The archive keeps at most this many run files; the oldest go first."""

MAX_BYTES = 256 * 2**20
"""...and at most this many bytes of them (256 MiB). A run file of the course's networks
takes a few kilobytes to a few hundred (its history is at most 32,768 rows), so the
count is the bound that usually acts; this one stops a few huge networks filling the disk.
The newest file is always kept, however large."""

LISTED_RUNS = 50
"""The app lists the newest this many archived runs at start-up (the runs table's
capacity); older ones stay on disk, and ``nn-tui runs --limit 0`` lists them all."""

RUNS_FOLDER = "runs"
SUMMARY_KEY = "summary"
SUMMARY_MEMBER = SUMMARY_KEY + ".npy"
SUMMARY_FORMAT = "nn-tui-summary"
MAX_SUMMARY_BYTES = 2**20
"""A summary member that would unpack to more than this is not read (ours take ~20 kB)."""

STALE_TEMP_SECONDS = 3600.0
"""A temporary file of a write (``.run-*.tmp``) this old was left by a crash: pruned."""

MAX_NAME_TRIES = 1000
"""How many ``.2``, ``.3`` ... suffixes a name may take before writing gives up."""

STAMP_FORMAT = "%Y-%m-%dT%H-%M-%S"
ARCHIVE_NAME = re.compile(
    r"^(?:(?P<sequence>\d{1,9})_)?"
    r"(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)(?:\.(?P<counter>\d{1,4}))?"
    r"_(?P<dataset>[A-Za-z0-9.+-]{1,40})_(?P<layers>[0-9-]{1,200})\.npz$"
)
"""The names the archive writes, and the only files it lists or prunes."""

_UNSAFE = re.compile(r"[^A-Za-z0-9.+-]+")


class ArchiveError(ValueError):
    """The archive cannot be read or written; the message says which and why."""


SERVED_RUNS_FOLDER = "nn-tui-runs"
"""A served app's archive: this folder inside its served folder (``tui.core.confine``)."""


def runs_dir() -> Path:
    """``data_dir()/runs``: where runs are kept (not created by looking).

    An app served to browsers keeps its runs in ``SERVED_RUNS_FOLDER`` inside the served
    folder instead: its sessions neither fill nor prune the user's own archive, and they
    reopen their runs from where their prompts may look.
    """
    root = served_root()
    return root / SERVED_RUNS_FOLDER if root is not None else data_dir() / RUNS_FOLDER


# --- names ---------------------------------------------------------------------------
def archive_name(config: Mapping[str, Any], when: datetime, counter: int = 1,
                 sequence: int = 0) -> str:
    """``000042_2026-11-27T10-31-05_xor_2-4-4-1.npz`` for sequence 42 (no sequence: the
    names of older versions, ``T10-31-05.2_`` for counter 2)."""
    stamp = when.strftime(STAMP_FORMAT) + (f".{counter}" if counter > 1 else "")
    stamp = f"{sequence:06d}_{stamp}" if sequence else stamp
    path = str(config.get("data_path") or "")
    dataset = ("csv-" + Path(path).stem) if path else str(config.get("dataset") or "run")
    dataset = _UNSAFE.sub("-", dataset).strip("-.")[:40] or "run"
    hidden = [int(h) for h in config.get("hidden") or ()]
    layers = "-".join(str(size) for size in (2, *hidden, 1))[:200]
    return f"{stamp}_{dataset}_{layers}.npz"


def name_key(name: str) -> tuple[int, str, int, str] | None:
    """The sort key of an archive file name (oldest first), or None for a foreign name:
    the sequence (0 for an older version's name), then the time, counter and name.

    Not the plain name: ``T10-31-05.2_`` sorts before ``T10-31-05_`` as text.
    """
    match = ARCHIVE_NAME.match(name)
    if match is None:
        return None
    return int(match["sequence"] or 0), match["stamp"], int(match["counter"] or 1), name


def saved_at(path: Path) -> datetime | None:
    """When an archived run was written, from its name."""
    match = ARCHIVE_NAME.match(path.name)
    try:
        return datetime.strptime(match["stamp"], STAMP_FORMAT) if match else None
    except ValueError:
        return None


def archived_files(folder: Path) -> list[tuple[Path, int]]:
    """(path, size) of the archive's files, newest first; foreign files are skipped."""
    found: list[tuple[tuple, Path, int]] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                key = name_key(entry.name)
                if key is None:
                    continue
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.append((key, Path(entry.path), entry.stat().st_size))
                except OSError:  # gone meanwhile (another nn-tui pruned it)
                    continue
    except OSError:  # no folder yet, or not readable: an empty archive
        return []
    found.sort(key=lambda item: item[0], reverse=True)
    return [(path, size) for _, path, size in found]


# --- writing -------------------------------------------------------------------------
def run_file_bytes(trainer: Trainer, summary: Mapping[str, Any]) -> bytes:
    """The run file ``save_run`` writes, plus the summary member."""
    arrays = run_arrays(trainer)
    # allow_nan: a diverged run's loss is NaN; Python's json reads it back
    arrays[SUMMARY_KEY] = np.array(json.dumps(
        {"format": SUMMARY_FORMAT, **summary}, allow_nan=True))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def write_run(
    trainer: Trainer,
    summary: Mapping[str, Any],
    folder: Path,
    *,
    replace: Path | None = None,
    now: datetime | None = None,
) -> Path:
    """Write a run into the archive atomically; returns its path.

    ``replace``: the run's own earlier file, rewritten in place (the same run went on).
    Otherwise a new name is claimed; another nn-tui writing at the same second gets
    the next suffix, never this file.

    Raises:
        OSError: the folder or file cannot be written (nothing is left behind).
    """
    data = run_file_bytes(trainer, summary)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(folder, data)
    try:
        if replace is not None:
            os.replace(tmp, replace)
            return replace
        return _claim_name(tmp, folder, trainer.config.to_dict(), now or datetime.now())
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_temp(folder: Path, data: bytes) -> str:
    """A hidden temporary file in ``folder`` holding ``data``, flushed to the disk."""
    # hidden and suffixed .tmp: never matches ARCHIVE_NAME, so never listed or pruned
    fd, tmp = tempfile.mkstemp(prefix=".run-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _claim_name(tmp: str, folder: Path, config: dict, when: datetime) -> Path:
    """Give ``tmp`` the next free archive name; a hard link never replaces a file."""
    first = _next_sequence(folder)
    for sequence in range(first, first + MAX_NAME_TRIES):
        target = folder / archive_name(config, when, sequence=sequence)
        try:
            os.link(tmp, target)
            return target
        except FileExistsError:
            continue
        except OSError:  # a filesystem without hard links: check, then rename
            if target.exists():
                continue
            os.replace(tmp, target)
            return target
    raise FileExistsError(f"no free name in {folder} for a run at {when:%Y-%m-%d %H:%M:%S}")


def _next_sequence(folder: Path) -> int:
    """One more than the highest sequence in the folder: the new file sorts after every
    other, whatever the clock says, and pruning (which always keeps the newest) never
    frees the highest number for reuse."""
    highest = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            match = ARCHIVE_NAME.match(entry.name)
            if match and match["sequence"]:
                highest = max(highest, int(match["sequence"]))
    return highest + 1


def prune(folder: Path, max_runs: int = MAX_RUNS, max_bytes: int = MAX_BYTES,
          keep: Path | None = None) -> list[Path]:
    """Delete the oldest archived runs until at most ``max_runs`` files and ``max_bytes``
    remain; returns the paths deleted.

    The newest file is always kept, and so is ``keep`` (the file just written: if the
    clock went back, its name may sort older than others).
    """
    kept_count = kept_bytes = 0
    doomed: list[Path] = []
    files = archived_files(folder)
    if keep is not None and any(path == keep for path, _ in files):
        files.sort(key=lambda item: item[0] != keep)  # counted first, so never doomed
    for path, size in files:
        fits = kept_count < max_runs and kept_bytes + size <= max_bytes
        if doomed or (kept_count and not fits):
            doomed.append(path)  # oldest first out: everything older than a misfit goes
            continue
        kept_count, kept_bytes = kept_count + 1, kept_bytes + size
    deleted = []
    for path in doomed:
        try:
            path.unlink()
            deleted.append(path)
        except FileNotFoundError:
            continue  # another nn-tui got there first
    remove_stale_temps(folder)
    return deleted


def remove_stale_temps(folder: Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Delete temporary files a crash left behind mid-write (``.run-*.tmp``, hours old:
    a write in progress takes milliseconds, so another nn-tui's file is never hit)."""
    removed = []
    cutoff = time.time() - older_than
    for path in folder.glob(".run-*.tmp"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:  # gone meanwhile, or not ours to delete
            continue
    return removed


# --- reading ---------------------------------------------------------------------------
@dataclass
class ArchivedRun:
    """One archived run as the listing reads it: its file and its summary."""

    path: Path
    summary: dict[str, Any]

    @property
    def saved_at(self) -> datetime | None:
        return saved_at(self.path)


def read_summary(path: Path) -> dict[str, Any]:
    """The summary of an archived run, read without unpacking its weights or history.

    A file without a summary member (a run saved with ``w`` and copied in) is
    summarised from its metadata and the last row of its history.

    Raises:
        ArchiveError: the file is not a readable run file.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if SUMMARY_MEMBER in names:
                summary = json.loads(_read_text_member(archive, SUMMARY_MEMBER))
            else:
                summary = _summary_from_members(archive, names)
    except ArchiveError:
        raise
    except Exception as exc:  # zip, zlib, JSON or .npy header damage: all the same here
        raise ArchiveError(f"{path.name} cannot be read ({exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("config"), dict):
        raise ArchiveError(f"{path.name} is not an nn-tui run file")
    return summary


def _read_member(archive: zipfile.ZipFile, name: str) -> np.ndarray:
    info = archive.getinfo(name)
    if info.file_size > MAX_SUMMARY_BYTES:
        raise ArchiveError(f"{archive.filename}: {name} is too large to list")
    # NumPy's default (since 1.16.3; we need 1.26) refuses object arrays: plain data only
    return np.load(io.BytesIO(archive.read(info)))


def _read_text_member(archive: zipfile.ZipFile, name: str) -> str:
    value = _read_member(archive, name)
    if value.dtype.kind != "U" or value.ndim != 0:
        raise ArchiveError(f"{archive.filename}: {name} is not text")
    return str(value)


def _summary_from_members(archive: zipfile.ZipFile, names: set[str]) -> dict[str, Any]:
    """A summary from ``meta`` and the history's last row (no curve: that would mean
    unpacking the whole history)."""
    meta = json.loads(_read_text_member(archive, "meta.npy"))
    if not isinstance(meta, dict) or meta.get("format") != "nn-tui-run":
        raise ArchiveError(f"{archive.filename} is not an nn-tui run file")

    def last(column: str) -> float | None:
        member = f"history_{column}.npy"
        if member not in names:
            return None
        values = _read_member(archive, member)
        return float(values[-1]) if values.size else None

    return {"config": meta.get("config"), "epochs": [], "losses": [],
            "final_loss": last("loss"), "accuracy": last("accuracy"),
            "test_accuracy": last("test_accuracy"), "epochs_run": meta.get("epoch", 0),
            "seconds": meta.get("seconds", 0.0), "status": meta.get("status", "")}


def list_runs(folder: Path, limit: int = LISTED_RUNS) -> tuple[list[ArchivedRun], list[str]]:
    """The newest ``limit`` archived runs (0: all), newest first, and a line per file
    that could not be read (skipped, never deleted: it may be a newer nn-tui's)."""
    files = archived_files(folder)
    if limit > 0:
        files = files[:limit]
    runs: list[ArchivedRun] = []
    problems: list[str] = []
    for path, _ in files:
        try:
            runs.append(ArchivedRun(path, read_summary(path)))
        except ArchiveError as exc:
            problems.append(str(exc))
    return runs, problems


def resolve(spec: str, folder: Path | None = None) -> Path:
    """The run file ``spec`` names: ``latest`` (the newest archived run), a path, or
    the name of a file in the archive.

    Raises:
        ArchiveError: ``latest`` with an empty archive.
    """
    folder = runs_dir() if folder is None else folder
    path = Path(os.path.expanduser(spec))
    if spec == "latest" and not path.exists():
        files = archived_files(folder)
        if not files:
            raise ArchiveError(f"no runs kept yet in {folder}; train one in the app first")
        return files[0][0]
    if not path.exists() and path.name == spec and (folder / spec).exists():
        return folder / spec
    return path


def listing(run: ArchivedRun) -> dict[str, Any]:
    """What ``nn-tui runs`` shows of a run (plain JSON values; None for a missing figure)."""
    summary, config = run.summary, run.summary.get("config") or {}
    when = run.saved_at
    dataset = str(config.get("dataset") or "")
    if config.get("data_path"):
        dataset = "csv:" + Path(str(config["data_path"])).name
    hidden = config.get("hidden") or ()
    names = [str(a) for a in config.get("activation") or ()]
    return {
        "path": str(run.path),
        "name": run.path.name,
        "saved": when.isoformat() if when else "",
        "dataset": dataset,
        "architecture": "-".join(str(s) for s in (2, *hidden, 1)),
        # what tells two "xor 2-4-4-1" runs apart: their settings, and a digest of all
        "activation": names[0] if len(set(names)) == 1 else ",".join(names),
        "optimizer": str(config.get("optimizer") or ""),
        "lr": _finite(config.get("lr")),
        "bias": bool(config.get("bias")),
        "seed": config.get("seed"),
        "config_digest": config_digest(config),
        "epochs": _whole(summary.get("epochs_run")),
        "status": str(summary.get("status") or ""),
        "final_loss": _finite(summary.get("final_loss")),
        "accuracy": _finite(summary.get("accuracy")),
        "test_accuracy": _finite(summary.get("test_accuracy")),
        "config": config,
    }


def config_digest(config: Mapping[str, Any]) -> str:
    """Eight hex digits that differ between two configs that differ in any setting (the
    same config gives the same digest in every session)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _whole(value: Any) -> int:
    number = _finite(value)
    return int(number) if number is not None else 0


# --- the app's autosave ------------------------------------------------------------------
class Autosaver:
    """Keeps the app's current run in the archive: one file per run, rewritten as it goes on.

    The app tells it about every trainer it adopts (``adopt``); ``save`` then writes
    the trainer's run if it trained here since (an opened run that was only looked at
    is not copied again) and it has not been written at this epoch already, so calling
    it at every finish, replacement and quit costs nothing twice.
    """

    def __init__(self, folder: Path | None, *, max_runs: int = MAX_RUNS,
                 max_bytes: int = MAX_BYTES) -> None:
        self.folder = folder
        """Where runs go; None when autosave is off."""
        self.max_runs, self.max_bytes = max_runs, max_bytes
        self._trainer: Trainer | None = None
        self._start_epoch = 0
        self._start_edits = 0
        self._path: Path | None = None  # the run's file: ours, or the one it was opened from
        self._own = False  # _path was written by us (so it may be rewritten)
        self._saved_at: tuple[int, int] | None = None  # (epoch, edits) last written

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def adopt(self, trainer: Trainer, origin: Path | None = None) -> None:
        """``trainer`` is the app's run now; ``origin``: the file it was opened from."""
        self._trainer, self._start_epoch = trainer, trainer.epoch
        self._start_edits = len(getattr(trainer, "weight_edits", ()))
        self._path, self._own = origin, False
        self._saved_at = (trainer.epoch, self._start_edits) if origin is not None else None

    def pending(self, trainer: Trainer) -> bool:
        """True if ``save`` would write: trained (or a weight edited) here, and not written
        as it stands (at this epoch, with these edits)."""
        if not self.enabled or trainer.epoch < 1:
            return False
        if trainer is not self._trainer:
            return True
        edits = len(getattr(trainer, "weight_edits", ()))  # an edit at a saved epoch is news
        return ((trainer.epoch > self._start_epoch or edits > self._start_edits)
                and (trainer.epoch, edits) != self._saved_at)

    def path_of(self, trainer: Trainer) -> Path | None:
        """The file that holds ``trainer``'s run as it stands, if any."""
        if trainer is self._trainer and not self.pending(trainer):
            return self._path
        return None

    def save(self, trainer: Trainer, summary: Callable[[], Mapping[str, Any]]) -> Path | None:
        """Write ``trainer``'s run if it is pending; returns the file holding it (or None).

        ``summary`` is called only when a file is written.

        Raises:
            OSError: the archive cannot be written (the run stays in memory).
        """
        if not self.pending(trainer):
            return self.path_of(trainer)
        if trainer is not self._trainer:
            self.adopt(trainer)
        assert self.folder is not None  # pending() is False when disabled
        replace = self._path if self._own else None
        path = write_run(trainer, summary(), self.folder, replace=replace)
        self._path, self._own = path, True
        self._saved_at = (trainer.epoch, len(getattr(trainer, "weight_edits", ())))
        prune(self.folder, self.max_runs, self.max_bytes, keep=path)
        return path


TEMP_NAME = re.compile(r"\.run-[a-z0-9_]{8}\.tmp")
"""The temporary files ``_write_temp`` makes (mkstemp's eight random characters)."""


def describe_failure(error: BaseException, folder: Path | None = None) -> str:
    """One line for a failed write: ``could not keep the run on disk in FOLDER: reason``.

    A temporary file's random name is never in it, only its folder: a read-only archive
    fails the same way at every run, and the same line is warned about once.
    """
    reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
    where = getattr(error, "filename", None)
    if where is not None and TEMP_NAME.fullmatch(Path(os.fsdecode(where)).name):
        where = Path(os.fsdecode(where)).parent
    where = where or folder
    return "could not keep the run on disk" + (f" in {where}" if where else "") + f": {reason}"


__all__ = [
    "ARCHIVE_NAME",
    "LISTED_RUNS",
    "MAX_BYTES",
    "MAX_RUNS",
    "ArchiveError",
    "ArchivedRun",
    "Autosaver",
    "archive_name",
    "archived_files",
    "config_digest",
    "describe_failure",
    "list_runs",
    "listing",
    "prune",
    "read_summary",
    "resolve",
    "runs_dir",
    "write_run",
]
