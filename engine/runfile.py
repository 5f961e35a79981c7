"""Saving and loading runs: one ``.npz`` holding the config (JSON), weights and history.

Files are written atomically (a temporary file in the same folder, flushed to disk,
then renamed over the target), so a failure halfway leaves the old file intact.
They are read with ``allow_pickle=False``: a file that carries Python objects is
refused without running anything.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.config import ConfigError, ExperimentConfig
from engine.history import COLUMNS, History
from engine.network import Network
from engine.schedules import RateChange
from engine.trainer import Trainer, make_network

FORMAT = "nn-tui-run"
VERSION = 1


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


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    """Everything a run file stores, as plain arrays (no object arrays)."""
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": trainer.epoch,
        "lr": trainer.lr,
        "status": trainer.status,
        "seconds": trainer.seconds,
        "stride": trainer.history.stride,
        "capacity": trainer.history.capacity,
        "config": trainer.config.to_dict(),
    }
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


def save_run(path: str | Path, trainer: Trainer) -> Path:
    """Save a trainer's run atomically; returns the path written."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **run_arrays(trainer))
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError as exc:
        raise RunFileError(f"cannot save run to {path}: {exc.strerror or exc}") from None
    return path


def load_run(path: str | Path) -> SavedRun:
    """Read a run file written by ``save_run``; a foreign or damaged file raises RunFileError."""
    path = Path(path)
    try:
        # our own handle: np.load leaks the file it opened when the zip is damaged
        with open(path, "rb") as fh:
            loaded = np.load(fh, allow_pickle=False)
            if isinstance(loaded, np.ndarray):  # a bare .npy array, not an archive
                raise RunFileError(f"{path} holds a single NumPy array, not an nn-tui run file")
            with loaded as npz:
                files = {k: npz[k] for k in npz.files}
    except RunFileError:
        raise
    except FileNotFoundError:
        raise RunFileError(f"run file {path} does not exist") from None
    except IsADirectoryError:
        raise RunFileError(f"{path} is a folder, not a run file") from None
    except ValueError as exc:  # includes "Object arrays cannot be loaded when allow_pickle=False"
        raise RunFileError(f"{path} is not an nn-tui run file ({exc}); refused") from None
    except Exception as exc:  # damage surfaces as zipfile, zlib, EOF, even SyntaxError
        # from the .npy header parser: whatever it is, the file cannot be read
        raise RunFileError(f"{path} is damaged or not an nn-tui run file ({exc})") from None
    return _from_arrays(path, files)


def _from_arrays(path: Path, files: dict[str, np.ndarray]) -> SavedRun:
    try:
        meta = json.loads(str(files["meta"]))
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise RunFileError(f"{path} is not an nn-tui run file")
        if meta.get("version") != VERSION:
            raise RunFileError(
                f"{path} has run-file version {meta.get('version')}; this nn-tui reads {VERSION}"
            )
        config = ExperimentConfig.from_dict(meta["config"])
        network = make_network(config)
        for i, p in enumerate(network.params):
            stored = files[f"param_{i}"]
            if stored.shape != p.shape:
                raise RunFileError(
                    f"{path}: layer {i + 1} has shape {stored.shape}, expected {p.shape}"
                )
            p[...] = stored
        history = History.from_arrays(
            {name: files[f"history_{name}"] for name in COLUMNS},
            int(meta["stride"]),
            int(meta["capacity"]),
        )
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
            int(meta["epoch"]),
            float(meta["lr"]),
            str(meta["status"]),
            float(meta["seconds"]),
        )
    except RunFileError:
        raise
    except ConfigError as exc:
        raise RunFileError(f"{path}: its config is invalid: {exc.message}") from None
    except (KeyError, IndexError, ValueError, TypeError, ZeroDivisionError) as exc:
        raise RunFileError(
            f"{path} is not a complete nn-tui run file (missing or bad {exc})"
        ) from None
