"""A run saved on other arithmetic (NumPy, BLAS kernel, CPU) opens with a plain note."""

from __future__ import annotations

import pytest

from engine import ExperimentConfig, Trainer, save_run
from tui.app import NNApp
from tui.core import training
from tui.widgets.panels import EpochLog


def _saved_run(tmp_path):
    trainer = Trainer(ExperimentConfig(epochs=200, log_every=100))
    trainer.run(100)
    return save_run(tmp_path / "run.npz", trainer)


@pytest.mark.asyncio
async def test_a_run_from_another_machine_says_its_weights_are_exact(tmp_path, monkeypatch):
    path = _saved_run(tmp_path)
    here = dict(training.fingerprint())
    monkeypatch.setattr(training, "fingerprint", lambda: {**here, "numpy": "9.9.9"})
    app = NNApp(run_path=path, autosave=False)
    async with app.run_test(size=(120, 36)):
        texts = [text for _, text in app.query_one(EpochLog).entries]
    note = next(t for t in texts if t.startswith("saved with "))
    assert f"saved with NumPy {here['numpy']}," in note and "this is NumPy 9.9.9," in note
    assert "the weights are exact" in note


@pytest.mark.asyncio
async def test_a_run_from_this_machine_opens_without_a_note(tmp_path):
    app = NNApp(run_path=_saved_run(tmp_path), autosave=False)
    async with app.run_test(size=(120, 36)):
        texts = [text for _, text in app.query_one(EpochLog).entries]
    assert not any(t.startswith("saved with ") for t in texts)
