"""Exports: history and predictions as CSV, the config as TOML, written atomically."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig, load_config
from engine.io.export import (
    HISTORY_COLUMNS,
    PREDICTION_COLUMNS,
    ExportError,
    check_target,
    config_toml,
    history_csv,
    predictions_csv,
    write_text_atomic,
)
from engine.io.runfile import load_run, save_run
from engine.train.history import History
from engine.train.trainer import Trainer


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def cell(text: str) -> float:
    return float(text) if text else math.nan


@pytest.fixture(scope="module")
def split_trainer() -> Trainer:
    config = ExperimentConfig(
        dataset="moons", n=60, noise=0.1, test_split=0.25, hidden=(6,), bias=True,
        activation=("tanh", "sigmoid"), loss="bce", optimizer="adam", lr=0.02, epochs=300,
        scale="standard", schedule="none", log_every=100,
    )
    trainer = Trainer(config)
    trainer.run()
    return trainer


def test_history_csv_reads_back_exactly(split_trainer):
    text = history_csv(split_trainer)
    assert text.splitlines()[0] == ",".join(HISTORY_COLUMNS)
    table = rows(text)
    columns = split_trainer.history.arrays()
    assert len(table) == len(columns["epoch"]) == 300
    for name in HISTORY_COLUMNS:
        back = np.array([cell(r[name]) for r in table])
        assert np.array_equal(back, columns[name], equal_nan=True), name
    assert table[0]["epoch"] == "1"  # epochs are integers, not 1.0


def test_history_csv_leaves_missing_figures_empty():
    trainer = Trainer(ExperimentConfig(epochs=20, log_every=10))
    trainer.run()
    first = text_rows = history_csv(trainer).splitlines()
    assert first[1].endswith(",,")  # no test split: no test loss, no test accuracy
    assert len(text_rows) == 21
    assert "nan" not in history_csv(trainer).lower()


def test_history_csv_takes_a_trainer_a_saved_run_or_a_history(tmp_path, split_trainer):
    saved = load_run(save_run(tmp_path / "run.npz", split_trainer))
    assert history_csv(saved) == history_csv(split_trainer) == history_csv(split_trainer.history)
    assert history_csv(History()) == ",".join(HISTORY_COLUMNS) + "\n"
    with pytest.raises(TypeError):
        history_csv(42)


def test_predictions_csv_lists_every_point_in_raw_coordinates(split_trainer):
    table = rows(predictions_csv(split_trainer))
    data = split_trainer.data
    assert list(table[0]) == list(PREDICTION_COLUMNS)
    train = [r for r in table if r["split"] == "train"]
    test = [r for r in table if r["split"] == "test"]
    assert len(train) == data.n_train and len(test) == len(data.X_test) and len(test) > 0
    assert table[: len(train)] == train  # training points first
    xy = np.array([[float(r["x1"]), float(r["x2"])] for r in train])
    assert np.array_equal(xy, data.X_train_raw)  # raw, not the scaled inputs
    assert [int(r["label"]) for r in test] == data.y_test[:, 0].astype(int).tolist()
    probability = np.array([float(r["probability"]) for r in test])
    assert np.array_equal(probability, split_trainer.evaluate("test")["predictions"])
    assert all(int(r["predicted"]) == (float(r["probability"]) > 0.5) for r in table)


def test_predictions_csv_without_a_test_split():
    trainer = Trainer(ExperimentConfig(epochs=10))
    table = rows(predictions_csv(trainer))
    assert len(table) == 21 and {r["split"] for r in table} == {"train"}


def test_config_toml_loads_back_as_the_same_config(tmp_path, split_trainer):
    path = write_text_atomic(tmp_path / "exp.toml", config_toml(split_trainer.config))
    assert load_config(path) == split_trainer.config
    assert config_toml(split_trainer) == split_trainer.config.to_toml()


def test_write_text_atomic(tmp_path):
    path = tmp_path / "out.csv"
    assert write_text_atomic(path, "a,b\n1,2\n") == path
    assert path.read_text() == "a,b\n1,2\n"
    write_text_atomic(path, "replaced\n")
    assert path.read_text() == "replaced\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temporary file left


def test_write_text_atomic_refuses_a_missing_folder_or_a_folder(tmp_path):
    with pytest.raises(ExportError, match=r"folder .*missing does not exist"):
        write_text_atomic(tmp_path / "missing" / "out.csv", "x")
    assert not (tmp_path / "missing").exists()  # not created
    with pytest.raises(ExportError, match="is a folder"):
        write_text_atomic(tmp_path, "x")
    assert issubclass(ExportError, ValueError)


def test_check_target_refuses_a_folder_it_cannot_write_in(tmp_path, monkeypatch):
    """The one home of the save-path checks: --save, --csv, the exports, the app."""
    import os

    with pytest.raises(ExportError, match=r"is a folder; give a file name such as run\.npz$"):
        check_target(tmp_path, "run.npz")
    monkeypatch.setattr(os, "access", lambda path, mode: False)  # root may write anywhere
    with pytest.raises(ExportError, match=r"cannot write .*run\.npz: folder .* is not writable"):
        check_target(tmp_path / "run.npz")
