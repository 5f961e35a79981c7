"""The exported loss history keeps every logged epoch exactly (issue #13).

The history is thinned (every ``stride``-th epoch once it fills); with ``keep_every``
set to the log interval it also keeps every logged epoch, so the CSV has each epoch the
epoch log printed, with the same figures, and each epoch where the halving schedule
changed the rate.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from engine import Trainer, preset
from engine.io.export import history_csv
from engine.train.events import EpochReport
from engine.train.history import History

# 333 is odd: once the history thins (capacity 64), the stride alone would drop every
# logged epoch but the first.
CONFIG = preset("dlp-xor").replace(epochs=4000, log_every=333, halve_every=333,
                                   halve_band=(0.001, 1000))


def _train(history: History | None) -> tuple[Trainer, list]:
    trainer = Trainer(CONFIG, history_capacity=64)
    if history is not None:
        trainer.history = history
    events = []
    while not trainer.done:
        events += trainer.run(epochs=250)  # in several stretches, as the app runs
    return trainer, events


def _rows(text: str) -> dict[int, dict[str, str]]:
    return {int(r["epoch"]): r for r in csv.DictReader(io.StringIO(text))}


@pytest.mark.parametrize("history", ["set by hand", "the trainer's own"])
def test_the_csv_keeps_every_logged_epoch_exactly(history):
    """The trainer keeps its log interval (``History(keep_every=log_every)``)."""
    small = History(64, keep_every=CONFIG.log_every) if history == "set by hand" else None
    trainer, events = _train(small)
    reports = [e for e in events if isinstance(e, EpochReport)]
    assert len(reports) == 4000 // 333 + 1  # every 333rd epoch and the last
    rows = _rows(history_csv(trainer))
    for report in reports[:-1]:  # the last epoch (4000) is on the stride or not: see below
        row = rows[report.epoch]
        assert float(row["loss"]) == report.loss  # exactly, not rounded
        assert float(row["accuracy"]) == report.accuracy and float(row["lr"]) == report.lr
    assert trainer.history.stride > 1  # it did thin
    changes = [c.epoch for c in trainer.rate_changes]
    assert changes and all(epoch in rows for epoch in changes)
    assert len(trainer.history) < 64


def test_keeping_the_logged_epochs_changes_no_arithmetic():
    kept, _ = _train(History(64, keep_every=CONFIG.log_every))
    plain, _ = _train(History(64))
    assert all(np.array_equal(a, b) for a, b in zip(kept.network.params, plain.network.params,
                                                     strict=True))
    assert kept.rate_changes == plain.rate_changes
    k, p = kept.history.arrays(), plain.history.arrays()
    # the kept rows fill the history sooner (a wider stride), but every epoch both kept
    # has the same figures
    common, back = np.isin(k["epoch"], p["epoch"]), np.isin(p["epoch"], k["epoch"])
    assert common.sum() > 10
    assert np.array_equal(k["loss"][common], p["loss"][back])
    assert np.array_equal(k["accuracy"][common], p["accuracy"][back])
    # without keep_every the odd logged epochs were lost to the stride
    assert not np.isin(np.arange(333, 4000, 666), p["epoch"]).any()


def test_kept_rows_never_outgrow_the_history():
    h = History(16, keep_every=3)
    for epoch in range(1, 100_000):
        if epoch == h.next_epoch:
            h.record(epoch, 1.0 / epoch, 0.5, 0.1)
    assert len(h) < 16
    assert h.keep_every > 3 and h.keep_every % 3 == 0
    epochs = h.arrays()["epoch"][1:].astype(int)
    assert all(e % h.stride == 0 or e % h.keep_every == 0 for e in epochs)


def test_a_history_without_keep_every_is_as_before():
    h = History(8)
    for epoch in range(1, 100):
        if epoch == h.next_epoch:
            h.record(epoch, 1.0, 1.0, 0.1)
    assert h.stride == 16 and h.keep_every is None
    assert h.arrays()["epoch"].tolist() == [1, 16, 32, 48, 64, 80, 96]
    back = History.from_arrays(h.arrays(), h.stride, h.capacity, keep_every=10)
    assert back.next_epoch == 100  # the next multiple of 10 before the next stride (112)


def test_a_reopened_run_keeps_its_logged_epochs(tmp_path):
    """A run file does not store keep_every: the restored trainer keeps its log interval."""
    from engine.io.runfile import load_run, save_run, trainer_from_saved

    first = Trainer(CONFIG, history_capacity=64)
    first.run(epochs=1000)
    saved = load_run(save_run(tmp_path / "run.npz", first))
    trainer = trainer_from_saved(saved)
    assert trainer.history.keep_every == CONFIG.log_every
    trainer.run()
    epochs = set(trainer.history.arrays()["epoch"].astype(int))
    assert {e for e in range(333, 4000, 333) if e > 1000} <= epochs
