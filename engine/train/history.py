"""A bounded per-epoch history whose whole curve stays drawable.

Recording every epoch of a million-epoch run would cost tens of MB, and a chart
cannot show more points than it has columns anyway. The history therefore keeps
at most ``capacity`` rows: it records every ``stride``-th epoch, and when full it
drops every other row and doubles the stride. The first epoch is always kept, so
the curve still starts where training started. With the default capacity of
32,768 rows a run of any length costs under 2 MB, and a million-epoch run still
keeps one row every 32 epochs.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

COLUMNS = ("epoch", "loss", "accuracy", "lr", "test_loss", "test_accuracy")


class History:
    def __init__(self, capacity: int = 32768) -> None:
        if capacity < 4:
            raise ValueError("history capacity must be at least 4")
        self.capacity = capacity
        self.stride = 1
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
        self.next_epoch = (epoch // self.stride + 1) * self.stride

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
        self.next_epoch = (int(epochs[-1]) // self.stride + 1) * self.stride

    def _thin(self) -> None:
        """Keep the first row and every row on the doubled stride."""
        self.stride *= 2
        epochs = self.columns["epoch"]
        keep = [i for i, e in enumerate(epochs) if i == 0 or int(e) % self.stride == 0]
        for name, col in self.columns.items():
            self.columns[name] = array("d", (col[i] for i in keep))

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
    def from_arrays(cls, columns: dict[str, np.ndarray], stride: int, capacity: int) -> History:
        h = cls(capacity)
        h.stride = stride
        for name in COLUMNS:
            h.columns[name] = array("d", np.asarray(columns[name], dtype=np.float64).tolist())
        last = int(h.columns["epoch"][-1]) if len(h) else 0
        h.next_epoch = (last // stride + 1) * stride if len(h) else 1
        return h
