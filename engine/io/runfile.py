"""Saving and loading runs: one ``.npz`` holding the config (JSON), weights and history.

Files are written atomically (a temporary file in the same folder, flushed to disk,
then renamed over the target), so a failure halfway leaves the old file intact.
They are read with ``allow_pickle=False``: a file that carries Python objects is
refused without running anything. Only a zip archive (an ``.npz``) is opened at all:
anything else, a bare ``.npy`` or a serialised Python object included, is refused from
its first bytes, and an archive that would unpack to more than ``MAX_RUN_BYTES`` is
refused unread.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.data.files import FileTooLargeError, read_regular_file
from engine.fast.workspace import ARITHMETIC
from engine.io.numerics import KEYS as NUMERICS_KEYS
from engine.io.numerics import fingerprint
from engine.nn.network import Network
from engine.optim.schedules import RateChange
from engine.train.edits import EditError, locate, stored_value
from engine.train.events import WeightEdited
from engine.train.history import COLUMNS, History
from engine.train.trainer import Trainer, make_network

FORMAT = "nn-tui-run"
VERSION = 1
EDITS_VERSION = 2
"""A run with weights edited by hand is written as version 2, which an nn-tui that cannot
replay edits refuses instead of replaying the run without them; any other run stays
version 1, byte for byte what it always was."""
VERSIONS = (VERSION, EDITS_VERSION)
EDIT_FIELDS = ("epoch", "layer", "kind", "row", "col", "old", "new", "loss", "accuracy",
               "rate_changes_before")
# The largest network (engine.config.experiment.MAX_PARAMETERS float64 weights) and a long history
# take well under 100 MB; an archive that unpacks to more is refused, not unpacked.
MAX_RUN_BYTES = 256 * 2**20
# The file itself (compressed, so smaller than what it unpacks to, but for the zip's own
# headers) is bounded before it is read: /dev/zero or a huge file is not read into memory.
MAX_RUN_FILE_BYTES = MAX_RUN_BYTES + 2**20
STALE_TEMP_SECONDS = 3600.0
"""A temporary file of an atomic write this old was left by a crash: deleted."""
ZIP_MAGIC = b"PK\x03\x04"
NPY_MAGIC = b"\x93NUMPY"


class RunFileError(ValueError):
    """A run file that cannot be read or written; the message says which and why."""


@dataclass
class SavedRun:
    config: ExperimentConfig
    network: Network
    history: History
    rate_changes: list[RateChange]
    epoch: int
    lr: float
    status: str
    seconds: float
    arithmetic: int = 1  # the engine's ARITHMETIC when it was saved (1: before it was kept)
    numerics: dict[str, str] | None = None  # engine.io.numerics.fingerprint() of the saver
    # trained in a stack (engine.stack): {"size": K, "member": i}; replayed through one
    stacked: dict[str, int] | None = None
    weight_edits: list[WeightEdited] = field(default_factory=list)  # by hand, in order


def trainer_from_saved(saved: SavedRun) -> Trainer:
    """A trainer that carries on from a saved run: same weights, epoch, rate and history.

    Built from the run's config (so its data is built again, exactly as it was), with
    the saved parameters copied in: its predictions are those of the saved network,
    bit for bit. The optimizer's state and the schedule's start afresh.
    """
    trainer = Trainer(saved.config, history_capacity=saved.history.capacity)
    trainer.restore(saved.network.params, saved.epoch, saved.lr, saved.history,
                    saved.rate_changes, saved.status, saved.seconds)
    trainer.weight_edits = list(saved.weight_edits)  # saved again, the run keeps them
    return trainer


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half.

    The new file keeps the mode of the file it replaces (a private 0600 file stays
    private), and temporary files of earlier writes to the same name that a crash left
    behind (``kill -9`` mid-write) are deleted once they are an hour old.
    """
    path = Path(path)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    remove_stale_temps(path)


def _mode_for(path: Path) -> int:
    """The permissions to write ``path`` with: those of the file it replaces, else the
    usual ones (0666 less the umask)."""
    try:
        info = os.stat(path)
    except OSError:
        return 0o666 & ~_umask()
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else 0o666 & ~_umask()


def remove_stale_temps(path: str | Path, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Delete the temporary files ``atomic_write_bytes`` left beside ``path`` when killed
    mid-write: only names it makes (``.NAME.`` + mkstemp's 8 characters + ``.tmp``), only
    regular files, only those older than ``older_than`` seconds (a write takes
    milliseconds, so another writer's file in progress is never hit). Returns them."""
    path = Path(path)
    ours = re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")
    cutoff = time.time() - older_than
    removed = []
    try:
        with os.scandir(path.parent or ".") as entries:
            for entry in entries:
                try:
                    if (ours.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
                            and entry.stat(follow_symlinks=False).st_mtime < cutoff):
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:  # gone meanwhile, or not ours to delete
                    continue
    except OSError:
        pass
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_arrays(trainer: Trainer, status: str | None = None) -> dict[str, np.ndarray]:
    """Everything a run file stores, as plain arrays (no object arrays); ``status``, when
    given, is stored instead of the trainer's (``interrupted``: ctrl-c mid-run)."""
    edits = getattr(trainer, "weight_edits", [])
    meta = {
        "format": FORMAT,
        "version": EDITS_VERSION if edits else VERSION,
        "arithmetic": ARITHMETIC,
        "numerics": fingerprint(),
        "epoch": trainer.epoch,
        "lr": trainer.lr,
        "status": status or trainer.status,
        "seconds": trainer.seconds,
        "stride": trainer.history.stride,
        "capacity": trainer.history.capacity,
        "config": trainer.config.to_dict(),
    }
    stacked = getattr(trainer, "stacked", None)  # a member of a stack (StackTrainer.member)
    if stacked:
        meta["stacked"] = dict(stacked)
    if edits:  # JSON keeps a float's every bit (its shortest repr); NaN is written null
        meta["weight_edits"] = [_edit_record(edit) for edit in edits]
    arrays = {"meta": np.array(json.dumps(meta))}
    for i, p in enumerate(trainer.network.params):
        arrays[f"param_{i}"] = p
    for name, col in trainer.history.arrays().items():
        arrays[f"history_{name}"] = col
    arrays["rate_changes"] = np.array(
        [[c.epoch, c.old_lr, c.new_lr, c.ratio] for c in trainer.rate_changes], dtype=np.float64
    ).reshape(-1, 4)
    arrays["rate_reasons"] = np.array([c.reason for c in trainer.rate_changes] or [""])
    return arrays


def save_run(path: str | Path, trainer: Trainer, status: str | None = None) -> Path:
    """Save a trainer's run atomically; returns the path written. ``status``: stored
    instead of the trainer's own (see ``run_arrays``; read back, an unknown status is a
    run that can go on)."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **run_arrays(trainer, status))
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise RunFileError(f"cannot save run to {path}: {exc.strerror or exc}") from None
    return path


def load_run(path: str | Path) -> SavedRun:
    """Read a run file written by ``save_run``; a foreign or damaged file raises RunFileError."""
    path = Path(path)
    try:
        # read whole first: only a regular file (a pipe would hang), and no bigger than the
        # most it may unpack to; np.load of a path also leaks the file when the zip is damaged
        fh = io.BytesIO(read_regular_file(path, MAX_RUN_FILE_BYTES))
        _check_archive(path, fh)
        with np.load(fh, allow_pickle=False) as npz:
            files = {k: npz[k] for k in npz.files}
    except RunFileError:
        raise
    except FileTooLargeError:
        raise RunFileError(
            f"{path} is larger than the {MAX_RUN_FILE_BYTES / 2**20:,.0f} MiB a run file can "
            "take; refused"
        ) from None
    except FileNotFoundError:
        raise RunFileError(f"run file {path} does not exist") from None
    except IsADirectoryError:
        raise RunFileError(f"{path} is a folder, not a run file") from None
    except OSError as exc:  # a pipe, a device, no permission
        raise RunFileError(f"cannot read run file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        if "Object arrays" in str(exc):  # NumPy's advice, to load them unsafely, is not ours
            raise RunFileError(
                f"{path} is not an nn-tui run file: it holds Python objects, which nn-tui "
                "never loads (loading them could run code); refused"
            ) from None
        raise RunFileError(f"{path} is damaged or not an nn-tui run file ({exc})") from None
    except Exception as exc:  # damage surfaces as zipfile, zlib, EOF, even SyntaxError
        # from the .npy header parser: whatever it is, the file cannot be read
        raise RunFileError(f"{path} is damaged or not an nn-tui run file ({exc})") from None
    return _from_arrays(path, files)


def _check_archive(path: Path, fh) -> None:
    """Refuse, from its first bytes and its zip directory, what is not a run file's archive.

    Only a zip gets as far as ``np.load``: handed anything else, NumPy would try it as a
    ``.npy`` array or, failing that, as a serialised Python object (which it refuses with
    ``allow_pickle=False``, advising to load it unsafely: advice we do not pass on).
    """
    head = fh.read(len(NPY_MAGIC))
    fh.seek(0)
    if not head:
        raise RunFileError(f"{path} is empty, not an nn-tui run file")
    if head.startswith(NPY_MAGIC):
        raise RunFileError(f"{path} holds a single NumPy array (.npy), not an nn-tui run file")
    if head[:1] == b"\x80":  # Python's object serialisation, protocol 2 and later
        raise RunFileError(
            f"{path} is not an nn-tui run file: it holds a Python object, which nn-tui never "
            "loads (loading it could run code); refused"
        )
    if not head.startswith(ZIP_MAGIC):
        raise RunFileError(f"{path} is not an nn-tui run file (not a NumPy .npz archive)")
    try:
        with zipfile.ZipFile(fh) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise RunFileError(
            f"{path} is damaged or not an nn-tui run file ({exc}; cut short?)"
        ) from None
    fh.seek(0)
    if unpacked > MAX_RUN_BYTES:
        raise RunFileError(
            f"{path} would unpack to {unpacked / 2**20:,.0f} MiB, more than the "
            f"{MAX_RUN_BYTES // 2**20} MiB a run file can take; refused"
        )


def _numerics(value: object) -> dict[str, str]:
    """The saver's fingerprint as far as it is readable: known keys, short printable text
    (it is shown on the terminal); anything else is dropped, never refused."""
    if not isinstance(value, dict):
        return {}
    kept = {}
    for key in NUMERICS_KEYS:
        text = value.get(key)
        if isinstance(text, str):
            kept[key] = "".join(c for c in text if c.isprintable())[:80]
    return kept


def _stacked(value: object) -> dict[str, int] | None:
    """The stack a run was trained in, as far as it is readable (else None: not stacked)."""
    if not isinstance(value, dict):
        return None
    size, member = value.get("size"), value.get("member")
    if not (isinstance(size, int) and isinstance(member, int) and 0 <= member < size):
        return None
    return {"size": size, "member": member}


def _edit_record(edit: WeightEdited) -> dict:
    record = {name: getattr(edit, name) for name in EDIT_FIELDS}
    return {k: None if isinstance(v, float) and v != v else v for k, v in record.items()}


def _weight_edits(
    path: Path, records: object, config: ExperimentConfig, epoch: int
) -> list[WeightEdited]:
    """The edits by hand, checked: entries of this network, finite new values it can hold,
    epochs rising and not beyond the run's own. A replay applies each at its epoch, so a
    bad one is refused here rather than half-way through it."""
    if not isinstance(records, list):
        raise _refuse(path, "its weight edits are not a list")
    edits, last = [], 0
    for number, record in enumerate(records, 1):
        try:
            if not isinstance(record, dict) or set(record) != set(EDIT_FIELDS):
                raise EditError(f"it is not an object with the fields {', '.join(EDIT_FIELDS)}")
            ints = [record[name] for name in ("epoch", "layer", "row", "col",
                                              "rate_changes_before")]
            if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints):
                raise EditError("an epoch or index is not a whole number")
            if not last <= record["epoch"] <= epoch:
                raise EditError(f"its epoch {record['epoch']} is not between {last} and {epoch}")
            locate(config.sizes, config.bias, record["layer"], record["kind"], record["row"],
                   record["col"])
            new = stored_value(record["new"], np.dtype(config.dtype))
            if new != record["new"]:
                raise EditError(f"its value {record['new']!r} does not fit {config.dtype}")
            figures = [record[name] for name in ("old", "loss", "accuracy")]
            if not all(v is None or isinstance(v, int | float) for v in figures):
                raise EditError("a figure is not a number")
        except EditError as exc:
            raise _refuse(path, f"weight edit {number}: {exc}") from None
        old, loss, accuracy = (float("nan") if v is None else float(v) for v in figures)
        edits.append(WeightEdited(record["epoch"], record["layer"], record["kind"],
                                  record["row"], record["col"], old, new, loss, accuracy,
                                  record["rate_changes_before"]))
        last = record["epoch"]
    return edits


def _refuse(path: Path, what: str) -> RunFileError:
    return RunFileError(f"{path} is not a complete nn-tui run file ({what})")


def _history_columns(
    path: Path, files: dict[str, np.ndarray], epoch: int, capacity: int
) -> dict[str, np.ndarray]:
    """The history's columns, checked against each other and the run: the app indexes one
    column by another's rows, so columns of different lengths would crash it later, far
    from the file. One-dimensional numbers of one length, at most ``capacity`` rows, and
    epochs that are whole, rising and not beyond the run's own ``epoch``."""
    columns = {name: files[f"history_{name}"] for name in COLUMNS}
    lengths = {name: col.shape for name, col in columns.items()}
    if len(set(lengths.values())) != 1 or len(lengths["epoch"]) != 1:
        shown = ", ".join(f"{name} {shape}" for name, shape in lengths.items())
        raise _refuse(path, f"its history columns differ in shape ({shown})")
    bad = [name for name, col in columns.items() if col.dtype.kind not in "fiu"]
    if bad:
        raise _refuse(path, f"its history column {bad[0]} holds {columns[bad[0]].dtype}")
    epochs = columns["epoch"].astype(np.float64)
    if len(epochs) > capacity:
        raise _refuse(path, f"{len(epochs):,} history rows, more than its capacity {capacity:,}")
    if epoch < 0:
        raise _refuse(path, f"epoch {epoch}")
    if len(epochs) and not (
        np.isfinite(epochs).all() and (epochs == np.round(epochs)).all() and epochs[0] >= 1
        and (np.diff(epochs) > 0).all() and epochs[-1] <= epoch
    ):
        raise _refuse(path, f"its history's epochs are not whole, rising epochs up to {epoch}")
    return columns


def _check_rate_changes(path: Path, changes: np.ndarray, reasons: np.ndarray) -> None:
    """Rate changes: rows of (epoch, old rate, new rate, ratio), one reason each (a lone
    empty reason when there are none: NumPy cannot store an empty string array's type)."""
    if changes.ndim != 2 or changes.shape[1] != 4 or changes.dtype.kind not in "fiu":
        raise _refuse(path, f"its rate changes are {changes.dtype} {changes.shape}, not (n, 4)")
    if reasons.ndim != 1 or reasons.dtype.kind != "U" or len(reasons) != max(len(changes), 1):
        raise _refuse(
            path, f"{len(changes)} rate changes with {reasons.size} reasons ({reasons.dtype})"
        )


def _from_arrays(path: Path, files: dict[str, np.ndarray]) -> SavedRun:
    try:
        meta = json.loads(str(files["meta"]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise RunFileError(f"{path} is not an nn-tui run file")
        if meta.get("version") not in VERSIONS:
            raise RunFileError(
                f"{path} has run-file version {meta.get('version')}; this nn-tui reads "
                f"{' and '.join(map(str, VERSIONS))}"
            )
        config = ExperimentConfig.from_dict(meta["config"])
        network = make_network(config)
        for i, p in enumerate(network.params):
            stored = files[f"param_{i}"]
            if stored.shape != p.shape:
                raise RunFileError(
                    f"{path}: layer {i + 1} has shape {stored.shape}, expected {p.shape}"
                )
            if stored.dtype.kind != "f":
                raise RunFileError(f"{path}: layer {i + 1} holds {stored.dtype}, not numbers")
            p[...] = stored
        epoch = int(meta["epoch"])
        columns = _history_columns(path, files, epoch, int(meta["capacity"]))
        history = History.from_arrays(columns, int(meta["stride"]), int(meta["capacity"]))
        _check_rate_changes(path, files["rate_changes"], files["rate_reasons"])
        reasons = [str(r) for r in files["rate_reasons"]]
        changes = [
            RateChange(int(e), float(o), float(n), float(r), reasons[i])
            for i, (e, o, n, r) in enumerate(files["rate_changes"])
        ]
        return SavedRun(
            config,
            network,
            history,
            changes,
            epoch,
            float(meta["lr"]),
            str(meta["status"]),
            float(meta["seconds"]),
            int(meta.get("arithmetic", 1)),
            _numerics(meta.get("numerics")),
            _stacked(meta.get("stacked")),
            _weight_edits(path, meta.get("weight_edits", []), config, epoch),
        )
    except RunFileError:
        raise
    except ConfigError as exc:
        raise RunFileError(f"{path}: its config is invalid: {exc.message}") from None
    except KeyError as exc:
        raise RunFileError(f"{path} is not a complete nn-tui run file (no {exc})") from None
    except (
        IndexError,
        ValueError,
        TypeError,
        ArithmeticError,  # int() of an infinite epoch, a zero stride
        RecursionError,  # JSON nested thousands deep
    ) as exc:
        raise RunFileError(
            f"{path} is not a complete nn-tui run file (a bad value: {exc})"
        ) from None
