"""Exports: a run's history and predictions as CSV, its config as TOML.

Every function returns text, so a front end can show it, copy it or write it;
``write_text_atomic`` writes it the way run files are written (a temporary file in
the same folder, then renamed over the target), and refuses a folder that does not
exist instead of creating it.

Numbers are written with ``repr``, the shortest text that reads back as the same
float, so an exported history compares equal to the one in memory. A missing
figure (a test loss without a test split) is an empty cell.

    epoch,loss,accuracy,lr,test_loss,test_accuracy
    1,0.2763048281940483,0.5238095238095238,0.5,,
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from engine.io.runfile import atomic_write_bytes
from engine.nn.losses import predicted_class, true_class
from engine.train.history import COLUMNS, History

HISTORY_COLUMNS = COLUMNS  # epoch,loss,accuracy,lr,test_loss,test_accuracy
PREDICTION_COLUMNS = ("split", "x1", "x2", "label", "probability", "predicted")


class ExportError(ValueError):
    """An export that cannot be written; the message names the path and why."""


def number(value: Any) -> str:
    """A CSV cell: integers as integers, floats exactly (``repr``), NaN as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    value = float(value)
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def csv_text(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV with ``\\n`` line ends; cells that are not strings go through ``number``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(cell if isinstance(cell, str) else number(cell) for cell in row)
    return buffer.getvalue()


def _history_of(source: Any) -> History:
    history = source if isinstance(source, History) else getattr(source, "history", None)
    if not isinstance(history, History):
        raise TypeError(f"expected a Trainer, a SavedRun or a History, got {type(source).__name__}")
    return history


def history_csv(trainer_or_history: Any) -> str:
    """The recorded history (a trainer's, a saved run's or a bare ``History``) as CSV.

    One row per recorded epoch, exactly as recorded: every epoch of a short run; of a
    long one, every ``stride``-th, and, when the history keeps them (``keep_every``, the
    log interval), every logged epoch too (see ``engine.train.history``).
    """
    columns = _history_of(trainer_or_history).arrays()
    rows = zip(*(columns[name] for name in HISTORY_COLUMNS), strict=True)
    header = HISTORY_COLUMNS
    config = getattr(trainer_or_history, "config", None)
    if getattr(config, "regression", False):  # its accuracy column holds R^2
        header = tuple(name.replace("accuracy", "r2") for name in header)
    return csv_text(header, ([int(row[0]), *row[1:]] for row in rows))


def predictions_csv(trainer: Any) -> str:
    """Every training point, then every test point, in the dataset's own coordinates,
    with its label, the network's output and the class it predicts (output > 0.5; empty
    for an output that is not finite).

    The output column is called ``probability`` for a sigmoid output layer and
    ``output`` for any other (a linear output of 1.46 is no probability).
    """
    data = trainer.data
    rows = []
    for split, X_raw, y in (
        ("train", data.X_train_raw, data.y_train),
        ("test", data.X_test_raw, data.y_test),
    ):
        if len(X_raw) == 0:
            continue
        outputs = trainer.evaluate(split)["predictions"]
        if trainer.config.regression:  # target and prediction, nothing to classify
            rows += [[split, float(x1), float(x2), float(t), float(out)]
                     for (x1, x2), t, out in zip(X_raw, y[:, 0], outputs, strict=True)]
            continue
        classes, labels = predicted_class(outputs), true_class(y)
        if outputs.ndim == 2:  # K classes: the predicted class's probability
            outputs = [out[c] if c >= 0 else math.nan for out, c in zip(outputs, classes,
                                                                       strict=True)]
        for (x1, x2), label, out, c in zip(X_raw, labels, outputs, classes, strict=True):
            rows.append([split, float(x1), float(x2), int(label), float(out),
                         int(c) if c >= 0 else ""])
    return csv_text(prediction_columns(trainer.config), rows)


def prediction_columns(config: Any) -> tuple[str, ...]:
    """The header of ``predictions_csv``: its fifth column named for what the output is
    (with K classes, the predicted class's probability); a regression's is
    ``split,x1,x2,target,prediction``."""
    if config.regression:
        return (*PREDICTION_COLUMNS[:3], "target", "prediction")
    return (*PREDICTION_COLUMNS[:4], config.output_name, PREDICTION_COLUMNS[5])


def config_toml(config: Any) -> str:
    """A config (or a trainer's or saved run's) as TOML that ``--config`` reads back.

    A relative ``data_path`` (relative to the folder nn-tui ran in) is written absolute:
    the file may be used from anywhere, and ``--config`` takes a relative path relative
    to the config file's own folder, which need not be the one it was exported from.
    """
    config = getattr(config, "config", config)
    if config.data_path and not os.path.isabs(config.data_path):
        config = config.replace(data_path=os.path.abspath(config.data_path))
    return config.to_toml()


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path written.

    Raises ExportError when the folder does not exist, the path is a folder, or
    the file cannot be written.
    """
    path = Path(path)
    check_target(path)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a name read from a disk that is not UTF-8
        raise ExportError(
            f"cannot write {path}: it would hold {text[exc.start:exc.end]!r}, "
            "which is not UTF-8 text (a file name from a non-UTF-8 disk?)"
        ) from None
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def check_target(path: str | Path, example: str = "") -> Path:
    """Refuse, before any work is done, a target that could not be written: a folder, a
    folder that does not exist (never created: a typo must not make folders), or one that
    cannot be written in. The one home of these checks (the exports, the app's screenshot,
    ``nn-tui``'s ``--save`` and ``--csv``); ``example`` is a file name to suggest for a folder.
    """
    path = Path(path)
    if path.is_dir():
        suggestion = f" such as {example}" if example else ""
        raise ExportError(f"{path} is a folder; give a file name{suggestion}")
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"cannot write {path}: folder {folder} is not writable")
    return path
