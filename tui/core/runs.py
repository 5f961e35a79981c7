"""Kept runs: what the runs table lists and the loss chart overlays.

A :class:`RunRecord` is a small, self-contained summary of one run: its config, a
downsampled copy of its loss curve and its final figures. It holds no reference to
a trainer, so a kept run costs a few kilobytes however long it trained. Records
come from a trainer (``RunRecord.from_trainer``: when a run finishes, diverges or
is stopped to make room for another), from a sweep's CSV (``from_sweep``) or from
the run archive on disk (``from_summary``: what ``to_summary`` stored beside the run).

:class:`RunStore` keeps the last ``capacity`` records, numbers them ``#1``, ``#2``
... in the order they were kept, and remembers which ones are overlaid on the loss
chart. Overlay labels name what differs between the runs shown, so comparing three
learning rates reads ``#1 lr 0.1``, ``#2 lr 0.5``, ``#3 lr 2`` in the legend, and the
current run is named too (``now lr 1``). The chart has ``MAX_OVERLAYS`` colours: choosing
one more overlay takes the oldest off (the runs screen says so), never silently.

No Textual here: the table and the chart are in ``tui.screens.inspect_runs`` and
``tui.widgets.charts``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.config.fields import SETTINGS, regression_task
from engine.experiments.sweep import value_text, varied_fields
from tui.core.curves import downsample
from tui.core.safe_text import printable

CURVE_POINTS = 512
"""A kept loss curve has at most this many points (min/max per bucket, so its shape stays)."""

CAPACITY = 50
"""The store keeps the last this many runs."""

LABEL_WIDTH = 22
"""An overlay's legend label is cut to this many characters."""

IGNORED_IN_LABELS = frozenset({"log_every"})
"""Fields that never tell runs apart in a label (they change no number)."""

MAX_OVERLAYS = 4
"""The loss chart tells this many overlays apart (its overlay colours); one more chosen
takes the oldest off."""

CURRENT_NAME = "now"
"""How the loss chart's legend names the current run among the overlays."""

VALUE_ONLY = frozenset({"dataset", "activation", "loss", "optimizer", "init", "scale",
                        "schedule", "dtype"})
"""Fields whose value names itself in a label: ``#2 relu adam``, not ``#2 activation relu``."""

SHORT_NAMES = {"batch_size": "batch", "test_split": "test", "data_seed": "data seed",
               "halve_every": "halve every", "halve_band": "band", "halve_factor": "factor",
               "plateau_factor": "factor", "min_lr": "min lr"}
"""Shorter names of fields in a label (default: the field's own name)."""

LABEL_ORDER = ("hidden", "lr", "activation", "optimizer", "momentum", "batch_size", "bias",
               "loss", "seed", "init", "epochs", "dataset", "data_path")
"""The fields a label names first: what runs are most often compared by (a long label is
cut at its end). Other fields follow in the config's order."""

SHORT_ACTIVATIONS = {"sigmoid": "sig", "leaky_relu": "lrelu", "linear": "lin"}
"""Activations in a label that lists one per layer (``relu,relu,sig``)."""


def _number(value: Any) -> float:
    """A float from a stored figure; None (not recorded) is NaN."""
    return math.nan if value is None else float(value)


def _config_dict(config: ExperimentConfig | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(config, ExperimentConfig):
        return config.to_dict()
    return dict(config)


def dataset_label(config: Mapping[str, Any]) -> str:
    """``xor``, or ``csv:points.csv`` for a loaded file."""
    path = config.get("data_path") or ""
    if path:  # a file's name: escaped, it is shown on the terminal
        return "csv:" + printable(str(path).replace("\\", "/").rsplit("/", 1)[-1])
    return str(config.get("dataset", ""))


def architecture(config: Mapping[str, Any]) -> str:
    """``2-4-4-1``."""
    hidden = [int(h) for h in config.get("hidden") or ()]
    return "-".join(str(s) for s in (2, *hidden, 1))


def activations(config: Mapping[str, Any]) -> str:
    """``sigmoid``, or ``relu,relu,sigmoid`` when the layers differ."""
    names = [str(a) for a in config.get("activation") or ()]
    return names[0] if len(set(names)) == 1 else ",".join(names)


def summary(config: Mapping[str, Any]) -> str:
    """``xor · 2-4-4-1 · sigmoid · sgd lr 0.5``."""
    lr = value_text(config.get("lr"))
    return (f"{dataset_label(config)} · {architecture(config)} · {activations(config)} · "
            f"{config.get('optimizer', '')} lr {lr}")


def first_perfect_epoch(epochs: np.ndarray, accuracy: np.ndarray) -> int | None:
    """The first recorded epoch with 100% training accuracy, or None."""
    hits = np.flatnonzero(np.asarray(accuracy) >= 1.0)
    return int(epochs[hits[0]]) if hits.size else None


def bounded_curve(epochs: Sequence[float], losses: Sequence[float],
                  points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Finite points of a loss curve, downsampled to at most ``points`` (copies)."""
    x = np.asarray(epochs, dtype=np.float64).ravel()
    y = np.asarray(losses, dtype=np.float64).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = downsample(x[ok], y[ok], points)
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


@dataclass
class RunRecord:
    """One kept run: config, a bounded loss curve and its final figures."""

    config: dict[str, Any]
    epochs: np.ndarray
    losses: np.ndarray
    final_loss: float
    accuracy: float
    epoch_100: int | None
    epochs_run: int
    seconds: float
    status: str
    source: str = "app"
    """Where it came from: ``app`` (trained here), ``file`` (opened) or ``sweep``."""
    label: str = ""
    """``#3``; given by the store when the record is added."""
    number: int = 0
    test_accuracy: float | None = None
    summary: str = field(default="")
    path: str = ""
    """The run file that holds this run (the archive's, or the one it was opened from);
    empty when there is none (a sweep's row, autosave off or failed)."""

    def __post_init__(self) -> None:
        self.status = printable(self.status)  # from a file (a summary, a sweep's CSV): shown
        if not self.summary:
            self.summary = summary(self.config)

    # --- building ------------------------------------------------------------------
    @classmethod
    def from_trainer(cls, trainer, *, source: str = "app", state: str | None = None) -> RunRecord:
        """A record of a trainer's run as it stands (a forward pass, nothing touched).

        ``state`` is the status to record (default: the trainer's own, where a run
        that was stopped halfway is ``stopped``).
        """
        columns = trainer.history.arrays()
        epochs, losses = bounded_curve(columns["epoch"], columns["loss"])
        train = trainer.evaluate("train")
        test = trainer.evaluate("test") if trainer.data.has_test else None
        status = state or (trainer.status if trainer.status != "ready" else "stopped")
        config = trainer.config.to_dict()
        if len(columns["lr"]) and math.isfinite(columns["lr"][0]):
            # the rate the run started with: ] and [ at epoch 0 change it from the config's
            config["lr"] = float(columns["lr"][0])
        return cls(
            config=config,
            epochs=epochs,
            losses=losses,
            final_loss=float(train["loss"]),
            accuracy=float(train["accuracy"]),
            epoch_100=(None if trainer.config.regression  # R^2: never "100%"
                       else first_perfect_epoch(columns["epoch"], columns["accuracy"])),
            epochs_run=int(trainer.epoch),
            seconds=float(trainer.seconds),
            status=status,
            source=source,
            test_accuracy=float(test["accuracy"]) if test is not None else None,
        )

    @classmethod
    def from_sweep(cls, result: Mapping[str, Any]) -> RunRecord:
        """A record of one row of a sweep (as ``engine.experiments.sweep.load_sweep_csv``
        reads it)."""
        epochs, losses = bounded_curve(result.get("curve_epochs") or [],
                                       result.get("curve_loss") or [])
        test = result.get("test_accuracy")
        test = None if test is None or not math.isfinite(float(test)) else float(test)
        return cls(
            config=dict(result["config"]),
            epochs=epochs,
            losses=losses,
            final_loss=float(result.get("final_loss", math.nan)),
            accuracy=float(result.get("final_accuracy", math.nan)),
            epoch_100=result.get("perfect_epoch"),
            epochs_run=int(result.get("epochs_run") or 0),
            seconds=float(result.get("seconds") or 0.0),
            status=str(result.get("status", "")),
            source="sweep",
            test_accuracy=test,
        )

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any], path: str = "") -> RunRecord:
        """A record of an archived run, from the summary stored in its file.

        Raises:
            ValueError: a summary whose figures are not numbers (a damaged file).
        """
        epochs, losses = bounded_curve(summary.get("epochs") or [], summary.get("losses") or [])
        perfect = summary.get("epoch_100")
        test = summary.get("test_accuracy")
        try:
            # through the engine's checks: the table's cells may rely on a valid config
            config = ExperimentConfig.from_dict(summary["config"]).to_dict()
            return cls(
                config=config,
                epochs=epochs,
                losses=losses,
                final_loss=_number(summary.get("final_loss")),
                accuracy=_number(summary.get("accuracy")),
                epoch_100=None if perfect is None else int(perfect),
                epochs_run=int(summary.get("epochs_run") or 0),
                seconds=_number(summary.get("seconds")),
                status=str(summary.get("status") or ""),
                source="archive",
                test_accuracy=None if test is None or not math.isfinite(test) else float(test),
                path=str(path),
            )
        except (KeyError, TypeError, OverflowError, ConfigError) as exc:
            raise ValueError(f"a damaged run summary ({exc})") from None

    def to_summary(self) -> dict[str, Any]:
        """What the archive stores beside the run (plain JSON values) to list it quickly."""
        return {
            "config": self.config,
            "epochs": self.epochs.tolist(),
            "losses": self.losses.tolist(),
            "final_loss": self.final_loss,
            "accuracy": self.accuracy,
            "test_accuracy": self.test_accuracy,
            "epoch_100": self.epoch_100,
            "epochs_run": self.epochs_run,
            "seconds": self.seconds,
            "status": self.status,
        }

    # --- the table's cells ---------------------------------------------------------------
    @property
    def regression(self) -> bool:
        """A regression's run: its ``accuracy`` figures are R^2 (as the config says:
        task regress, or auto on a regression dataset)."""
        c = self.config
        return regression_task(c.get("task", "auto"), c.get("dataset"), c.get("data_path"))

    def score_text(self, value: float | None) -> str:
        """An accuracy as the table shows it: ``95.2%``, a regression's ``R² 0.973``."""
        if value is None or not math.isfinite(value):
            return "—"
        return f"R² {value:.3f}" if self.regression else f"{100 * value:.1f}%"

    @property
    def dataset(self) -> str:
        return dataset_label(self.config)

    @property
    def architecture(self) -> str:
        return architecture(self.config)

    @property
    def activation(self) -> str:
        return activations(self.config)

    @property
    def optimizer(self) -> str:
        return str(self.config.get("optimizer", ""))

    @property
    def lr(self) -> float:
        return float(self.config.get("lr", math.nan))

    @property
    def bias(self) -> bool:
        return bool(self.config.get("bias"))

    @property
    def has_curve(self) -> bool:
        return self.epochs.size > 0


SORT_KEYS: dict[str, Any] = {
    "number": lambda r: r.number,
    "dataset": lambda r: r.dataset,
    "architecture": lambda r: (len(r.config.get("hidden") or ()), r.architecture),
    "activation": lambda r: r.activation,
    "optimizer": lambda r: r.optimizer,
    "lr": lambda r: r.lr,
    "bias": lambda r: r.bias,
    "epochs": lambda r: r.epochs_run,
    "loss": lambda r: r.final_loss,
    "accuracy": lambda r: r.accuracy,
    "test_accuracy": lambda r: r.test_accuracy,
    "epoch_100": lambda r: r.epoch_100,
    "seconds": lambda r: r.seconds,
}
"""How each column of the runs table sorts (missing and NaN values go last)."""


def _sort_value(record: RunRecord, column: str) -> tuple:
    value = SORT_KEYS[column](record)
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return (missing, value if not missing else 0)


class RunStore:
    """The last ``capacity`` kept runs, numbered in order, and the overlaid ones."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._records: list[RunRecord] = []
        self._overlaid: list[int] = []  # record numbers, in the order they were chosen
        self._next = 1
        self.version = 0
        self._overlay_memo: tuple[tuple, list] | None = None  # ((version, config), curves)
        """Counts changes (added, replaced, removed, overlay toggled)."""

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self):
        return iter(self._records)

    @property
    def records(self) -> list[RunRecord]:
        """Oldest first."""
        return list(self._records)

    def get(self, number: int) -> RunRecord | None:
        return next((r for r in self._records if r.number == number), None)

    def add(self, record: RunRecord) -> RunRecord:
        """Keep ``record`` as the newest run (the oldest one goes when full)."""
        record.number = self._next
        record.label = f"#{record.number}"
        self._next += 1
        self._records.append(record)
        while len(self._records) > self.capacity:
            gone = self._records.pop(0)
            if gone.number in self._overlaid:
                self._overlaid.remove(gone.number)
        self.version += 1
        return record

    def extend(self, records: Iterable[RunRecord]) -> list[RunRecord]:
        return [self.add(r) for r in records]

    def replace(self, number: int, record: RunRecord) -> RunRecord:
        """Put ``record`` in the place (and under the number) of run ``number``."""
        for index, old in enumerate(self._records):
            if old.number == number:
                record.number, record.label = old.number, old.label
                self._records[index] = record
                self.version += 1
                return record
        return self.add(record)

    def remove(self, number: int) -> None:
        self._records = [r for r in self._records if r.number != number]
        if number in self._overlaid:
            self._overlaid.remove(number)
        self.version += 1

    # --- overlays ------------------------------------------------------------------------
    def is_overlaid(self, number: int) -> bool:
        return number in self._overlaid

    @property
    def overlaid(self) -> list[RunRecord]:
        """The overlaid runs, in the order they were chosen."""
        return [r for n in self._overlaid if (r := self.get(n)) is not None]

    def toggle_overlay(self, number: int) -> bool:
        """Overlay run ``number`` or take it off; True if it is overlaid now.

        A run without a loss curve is not overlaid (False: the caller says why); a
        run beyond ``MAX_OVERLAYS`` takes the oldest overlay off (the caller compares
        ``overlaid`` before and after to say which).
        """
        self.version += 1
        if number in self._overlaid:
            self._overlaid.remove(number)
            return False
        record = self.get(number)
        if record is None or not record.has_curve:
            return False
        self._overlaid.append(number)
        del self._overlaid[:-MAX_OVERLAYS]
        return True

    def clear_overlays(self) -> None:
        self._overlaid.clear()
        self.version += 1

    def overlay_curves(
        self, current: ExperimentConfig | Mapping[str, Any] | None = None
    ) -> Overlays:
        """(label, epochs, losses) of every overlaid run, for the loss chart.

        A label is the run's number and the settings that differ between the runs
        shown (the current run's config included): ``#2 lr 0.1``; the list's
        ``current`` names the current run the same way (``now lr 1``), so the legend
        tells which curve is the run on screen. Worked out again only when the table or
        the current config changed (it is asked at every redraw).
        """
        key = (self.version, current if isinstance(current, ExperimentConfig) else None)
        if key[1] is not None and self._overlay_memo is not None and self._overlay_memo[0] == key:
            return self._overlay_memo[1]
        shown = self.overlaid
        configs = [r.config for r in shown]
        if current is not None:
            configs.append(_config_dict(current))
        fields = label_fields(configs)
        curves = Overlays((overlay_label(r, fields), r.epochs, r.losses) for r in shown)
        if shown and current is not None:
            curves.current = _labelled(CURRENT_NAME, _config_dict(current), fields)
        self._overlay_memo = (key, curves)
        return curves

    # --- sorting -------------------------------------------------------------------------
    def sorted(self, column: str = "number", reverse: bool = False) -> list[RunRecord]:
        """The records ordered by a column of the table (missing values last)."""
        present = [r for r in self._records if not _sort_value(r, column)[0]]
        missing = [r for r in self._records if _sort_value(r, column)[0]]
        present.sort(key=lambda r: (_sort_value(r, column)[1], r.number), reverse=reverse)
        return present + missing


def taken_off(before: Sequence[RunRecord], store: RunStore,
              chosen: int | None = None) -> str | None:
    """A note for the overlays that left the chart since ``before`` (``store.overlaid``
    then), None if none did. ``chosen``: the run just overlaid, which pushed the oldest
    off; without it, the runs left because the full table forgot them."""
    now = {r.number for r in store.overlaid}
    gone = ", ".join(r.label for r in before if r.number not in now and r.number != chosen)
    if not gone:
        return None
    if chosen is not None:
        return f"{gone} taken off the loss chart: it shows {MAX_OVERLAYS} overlays at most"
    return f"{gone} left the loss chart: the runs table keeps the last {store.capacity} runs"


class Overlays(list):
    """The overlays' ``(label, epochs, losses)``, and how the legend names the current
    run (``current``: ``now lr 1``; empty without overlays). A list, so a chart that
    knows nothing of ``current`` draws it as before."""

    current: str = ""


def label_fields(configs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The fields that tell ``configs`` apart in a label: those that differ and matter
    (momentum only where some run uses the momentum optimizer; never log_every)."""
    def matters(name: str) -> bool:
        setting = SETTINGS.get(name)
        return setting is None or any(setting.shown(c.get) for c in configs)

    fields = [f for f in varied_fields(configs) if f not in IGNORED_IN_LABELS and matters(f)]
    rank = {name: i for i, name in enumerate(LABEL_ORDER)}
    return sorted(fields, key=lambda f: rank.get(f, len(rank)))  # stable: config order after


def label_part(config: Mapping[str, Any], name: str) -> str:
    """One field in a label: ``lr 0.1``, ``hidden 2,2``, ``relu``, ``bias on``."""
    if name == "activation":
        names = [str(a) for a in config.get("activation") or ()]
        if len(set(names)) == 1:
            return names[0]
        return ",".join(SHORT_ACTIVATIONS.get(a, a) for a in names)
    if name == "data_path":
        return dataset_label(config)
    value = value_text(config.get(name))
    if name in VALUE_ONLY:
        return value
    return f"{SHORT_NAMES.get(name, name)} {value}"


def _labelled(name: str, config: Mapping[str, Any], fields: Sequence[str],
              width: int = LABEL_WIDTH) -> str:
    """``name`` and the values of ``fields``; a long one is cut after the last whole value
    that fits (``#1 lr 0.1 hidden 2,2…``), or inside the first value if none fits."""
    parts = [name, *(label_part(config, f) for f in fields)]
    text = " ".join(parts)
    if len(text) <= width:
        return text
    kept = 1
    while kept < len(parts) and len(" ".join(parts[: kept + 1])) <= width - 1:
        kept += 1
    return (" ".join(parts[:kept]) if kept > 1 else text[: width - 1]) + "…"


def overlay_label(record: RunRecord, fields: Sequence[str], width: int = LABEL_WIDTH) -> str:
    """``#4 hidden 2,2 lr 0.1``: the number and the values of ``fields``, cut to ``width``."""
    return _labelled(record.label, record.config, fields, width)


__all__ = [
    "CAPACITY",
    "CURVE_POINTS",
    "MAX_OVERLAYS",
    "Overlays",
    "RunRecord",
    "RunStore",
    "SORT_KEYS",
    "architecture",
    "bounded_curve",
    "first_perfect_epoch",
    "label_fields",
    "label_part",
    "overlay_label",
    "summary",
    "taken_off",
]
