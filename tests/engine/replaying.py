"""Test helpers shared by the replay tests: save a run, replay it, compare bit for bit."""

from __future__ import annotations

import numpy as np

from engine.experiments.replay import ReplayPlan
from engine.io.runfile import load_run, save_run
from engine.train.trainer import Trainer


def replay(tmp_path, trainer: Trainer, **changes) -> tuple[ReplayPlan, Trainer]:
    """Save ``trainer``'s run, load it and replay it (with ``changes``) from scratch."""
    saved = load_run(save_run(tmp_path / "run.npz", trainer))
    plan = ReplayPlan.from_saved(saved, **changes)
    again = Trainer(plan.config, history_capacity=plan.history_capacity)
    while not plan.done(again):
        plan.advance(again, seconds=0.002)  # small time boxes, as a live display runs it
    return plan, again


def assert_same_run(a: Trainer, b: Trainer) -> None:
    """The same history, weights, epoch, rate, status and weight edits, bit for bit."""
    ha, hb = a.history.arrays(), b.history.arrays()
    for name in ha:
        assert np.array_equal(ha[name], hb[name], equal_nan=True), name
    for pa, pb in zip(a.network.params, b.network.params, strict=True):
        assert np.array_equal(pa, pb)
    assert (a.epoch, a.lr, a.status) == (b.epoch, b.lr, b.status)
    assert a.weight_edits == b.weight_edits
