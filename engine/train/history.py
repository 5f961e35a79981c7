"""A bounded per-epoch history whose whole curve stays drawable.

Recording every epoch of a million-epoch run would cost tens of MB, and a chart
cannot show more points than it has columns anyway. The history therefore keeps
at most ``capacity`` rows: it records every ``stride``-th epoch, and when full it
drops every other row and doubles the stride. The first epoch is always kept, so
the curve still starts where training started. With the default capacity of
32,768 rows a run of any length costs under 2 MB, and a million-epoch run still
keeps one row every 32 epochs.

With ``keep_every`` (the trainer's log interval) the history also keeps every
``keep_every``-th epoch exactly, whatever the stride: ``next_epoch`` asks for it and
thinning spares it, so the logged epochs (the ones the epoch log prints, where the
halving schedule changes the rate) stay in an exported history. Should those rows ever
fill half the capacity, every other one goes and ``keep_every`` doubles.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

COLUMNS = ("epoch", "loss", "accuracy", "lr", "test_loss", "test_accuracy")


class History:
    def __init__(self, capacity: int = 32768, keep_every: int | None = None) -> None:
        if capacity < 4:
            raise ValueError("history capacity must be at least 4")
        if keep_every is not None and keep_every < 1:
            raise ValueError("keep_every must be a positive number of epochs")
        self.capacity = capacity
        self.stride = 1
        self.keep_every = keep_every
        self.columns: dict[str, array] = {name: array("d") for name in COLUMNS}
        self.next_epoch = 1  # the next epoch the trainer should record

    def __len__(self) -> int:
        return len(self.columns["epoch"])

    def record(
        self,
        epoch: int,
        loss: float,
        accuracy: float,
        lr: float,
        test_loss: float = math.nan,
        test_accuracy: float = math.nan,
    ) -> None:
        """Append one row; the caller records only when ``epoch == next_epoch``."""
        c = self.columns
        c["epoch"].append(epoch)
        c["loss"].append(loss)
        c["accuracy"].append(accuracy)
        c["lr"].append(lr)
        c["test_loss"].append(test_loss)
        c["test_accuracy"].append(test_accuracy)
        if len(c["epoch"]) >= self.capacity:
            self._thin()
        self.next_epoch = self._after(epoch)

    def keep_logged(self, every: int) -> None:
        """Keep every ``every``-th epoch from now on (a history read from a run file, which
        does not store ``keep_every``), unless it keeps an interval already."""
        if self.keep_every is None and every >= 1:
            self.keep_every = every
            if len(self):
                self.next_epoch = self._after(int(self.columns["epoch"][-1]))

    def _after(self, epoch: int) -> int:
        """The next epoch to record after ``epoch``: on the stride, or a kept one."""
        following = (epoch // self.stride + 1) * self.stride
        if self.keep_every:
            following = min(following, (epoch // self.keep_every + 1) * self.keep_every)
        return following

    def record_rows(
        self, epochs: np.ndarray, losses: np.ndarray, accuracies: np.ndarray, lr: float
    ) -> None:
        """Append rows with one rate and no test figures (the trainer's fast path), each
        column given as a float64 array. Exactly ``record`` called once per row, as long
        as the rows are the ones ``next_epoch`` asks for and the last one at most fills
        the history: the caller keeps ``len(self) + len(epochs) <= capacity``.
        """
        k = len(epochs)
        if not k:
            return
        nans = np.full(k, math.nan).tobytes()
        for name, values in (
            ("epoch", epochs),
            ("loss", losses),
            ("accuracy", accuracies),
            ("lr", np.full(k, lr)),
        ):
            self.columns[name].frombytes(np.ascontiguousarray(values, np.float64).tobytes())
        self.columns["test_loss"].frombytes(nans)
        self.columns["test_accuracy"].frombytes(nans)
        if len(self) >= self.capacity:
            self._thin()
        self.next_epoch = self._after(int(epochs[-1]))

    def _thin(self) -> None:
        """Keep the first row, every row on the doubled stride and every kept epoch."""
        self.stride *= 2
        while self.keep_every and self._kept_rows() * 2 >= self.capacity:
            self.keep_every *= 2  # kept rows alone would fill the history: keep half
        epochs = self.columns["epoch"]
        keep = [i for i, e in enumerate(epochs) if i == 0 or self._spared(int(e))]
        for name, col in self.columns.items():
            self.columns[name] = array("d", (col[i] for i in keep))

    def _spared(self, epoch: int) -> bool:
        return epoch % self.stride == 0 or bool(self.keep_every and epoch % self.keep_every == 0)

    def _kept_rows(self) -> int:
        every = self.keep_every or 0
        return sum(1 for e in self.columns["epoch"] if every and int(e) % every == 0)

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of every column as float64 arrays (safe to hand to another thread)."""
        return {name: np.array(col, dtype=np.float64) for name, col in self.columns.items()}

    def loss_curve(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array(self.columns["epoch"], dtype=np.float64),
            np.array(self.columns["loss"], dtype=np.float64),
        )

    @property
    def nbytes(self) -> int:
        return sum(col.itemsize * col.buffer_info()[1] for col in self.columns.values())

    @classmethod
    def from_arrays(
        cls, columns: dict[str, np.ndarray], stride: int, capacity: int,
        keep_every: int | None = None,
    ) -> History:
        h = cls(capacity, keep_every)
        h.stride = stride
        for name in COLUMNS:
            h.columns[name] = array("d", np.asarray(columns[name], dtype=np.float64).tolist())
        last = int(h.columns["epoch"][-1]) if len(h) else 0
        h.next_epoch = h._after(last) if len(h) else 1
        return h
