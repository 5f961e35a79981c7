"""More than two classes (softmax + ce) and real-valued targets (regression), in the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.data.datasets import MULTICLASS, DataError, load_csv, make_dataset
from engine.nn.losses import get_loss, predicted_class, true_class
from engine.train.bundle import build_data
from engine.train.trainer import Trainer, regression_scores

SPIRAL3 = dict(dataset="spiral", classes=3, loss="ce", hidden=(16, 16), activation=("tanh",),
               n=300, optimizer="adam", lr=0.01, schedule="none", init="xavier", bias=True,
               epochs=5000, log_every=1000)
PLANE = dict(dataset="plane", loss="mse", hidden=(8,), activation=("tanh",), n=200,
             noise=0.05, lr=0.1, schedule="none", init="xavier", bias=True, epochs=2000,
             log_every=500)


# --- data ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MULTICLASS))
@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_multiclass_sets_have_k_balanced_classes(name: str, k: int) -> None:
    X, y = make_dataset(name, n=83, noise=0.05, seed=3, classes=k)
    assert X.shape == (83, 2) and y.shape == (83, 1) and np.isfinite(X).all()
    counts = np.bincount(y[:, 0].astype(int))
    assert len(counts) == k and counts.max() - counts.min() <= 1
    again = make_dataset(name, n=83, noise=0.05, seed=3, classes=k)
    np.testing.assert_array_equal(X, again[0])


@pytest.mark.parametrize("name", ["spiral", "gaussian"])
def test_two_classes_are_the_two_class_sets_point_for_point(name: str) -> None:
    for a, b in zip(make_dataset(name, 40, 0.1, 5), make_dataset(name, 40, 0.1, 5, classes=2),
                    strict=True):
        np.testing.assert_array_equal(a, b)


def test_pie_sectors_hold_their_class() -> None:
    X, y = make_dataset("pie", n=400, seed=0, classes=4)
    angle = np.mod(np.arctan2(X[:, 1], X[:, 0]), 2 * np.pi)
    np.testing.assert_array_equal(np.floor(angle / (np.pi / 2)), y[:, 0])


@pytest.mark.parametrize("name", ["plane", "bumps"])
def test_regression_sets_have_real_targets(name: str) -> None:
    X, y = make_dataset(name, n=200, seed=1)
    assert X.shape == (200, 2) and y.shape == (200, 1)
    assert np.abs(X).max() <= 1 and len(np.unique(y)) == 200 and y.std() > 0.1
    noisy = make_dataset(name, n=200, noise=0.1, seed=1)
    np.testing.assert_array_equal(noisy[0], X)  # the noise is on the targets only
    assert 0.05 < np.std(noisy[1] - y) < 0.15


def test_plane_is_the_plane() -> None:
    X, y = make_dataset("plane", n=50, seed=2)
    np.testing.assert_allclose(y[:, 0], (X[:, 0] + 2 * X[:, 1]) / 3, rtol=1e-15)


@pytest.mark.parametrize(("name", "k", "message"), [
    ("xor", 3, "xor has 2 classes; 3 classes work with spiral, gaussian, pie"),
    ("plane", 3, "plane is a regression set"),
    ("spiral", 9, "classes must be between 2 and 8"),
])
def test_bad_class_counts_are_refused(name: str, k: int, message: str) -> None:
    with pytest.raises(DataError, match=message):
        make_dataset(name, 50, classes=k)


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return path


def test_csv_labels_0_to_k_minus_1(tmp_path: Path) -> None:
    path = _csv(tmp_path, "x1,x2,label\n0,0,0\n1,0,1\n0,1,2\n1,1,2\n")
    X, y = load_csv(path, classes=3)
    assert y[:, 0].tolist() == [0, 1, 2, 2]
    with pytest.raises(DataError, match=r"labels must be 0 or 1, got 2 \(for 3 or more classes "
                                        r"use --classes 3 --loss ce\)"):
        load_csv(path)
    with pytest.raises(DataError, match=r"line 4, column 3 \(label\): labels must be whole "
                                        r"numbers 0..2, got 2.5 \(for real-valued targets"):
        load_csv(_csv(tmp_path, "0,0,0\n1,0,1\n0,1,2\n1,1,2.5\n"), classes=3)


def test_csv_real_targets(tmp_path: Path) -> None:
    X, y = load_csv(_csv(tmp_path, "0,0,0.25\n1,0,-3.5\n0,1,1e3\n"), classes=None)
    assert y[:, 0].tolist() == [0.25, -3.5, 1000.0]
    with pytest.raises(DataError, match="every target is 2; a regression needs targets that vary"):
        load_csv(_csv(tmp_path, "0,0,2\n1,0,2\n"), classes=None)


# --- config -------------------------------------------------------------------------------
def test_ce_has_one_softmax_output_per_class() -> None:
    config = ExperimentConfig(**SPIRAL3)
    assert config.sizes == (2, 16, 16, 3)
    assert config.layer_activations == ("tanh", "tanh", "softmax")
    assert ExperimentConfig(loss="ce").sizes == (2, 4, 4, 2)  # two classes, two outputs


def test_a_regression_has_one_linear_output() -> None:
    config = ExperimentConfig(**PLANE)
    assert config.regression and config.sizes == (2, 8, 1)
    assert config.layer_activations == ("tanh", "linear")
    csv = ExperimentConfig(data_path="x.csv", task="regress", loss="mse")
    assert csv.regression and not ExperimentConfig(data_path="x.csv").regression


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"dataset": "spiral", "classes": 3}, "loss", "3 classes need a softmax output: use --loss ce"),
    ({"dataset": "plane", "loss": "bce"}, "loss", "a regression learns with mse or sse"),
    ({"dataset": "plane", "task": "classify"}, "task", "plane has real-valued targets"),
    ({"dataset": "plane", "classes": 3, "loss": "mse"}, "classes", "a regression has no classes"),
    ({"dataset": "moons", "classes": 4, "loss": "ce"}, "classes", "moons has 2 classes"),
    ({"activation": ("softmax",)}, "activation", "softmax is only an output layer"),
    ({"activation": ("tanh", "tanh", "softmax")}, "loss", "a softmax output learns with ce"),
    ({"loss": "ce", "activation": ("tanh", "tanh", "sigmoid")}, "activation",
     "ce's output layer is a softmax"),
    ({"dataset": "plane", "activation": ("tanh", "tanh", "sigmoid")}, "activation",
     "a regression's output layer is linear"),
    ({"classes": 9}, "classes", "classes must be"),
])
def test_settings_that_do_not_fit_together_are_refused(values, field, message) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        ExperimentConfig(**values)
    assert info.value.field == field


def test_ce_targets_are_one_hot_and_labels_come_back() -> None:
    data = build_data(ExperimentConfig(**SPIRAL3))
    assert data.y_train.shape == (300, 3) and (data.y_train.sum(axis=1) == 1).all()
    assert data.classes == 3 and not data.regression
    labels = data.labels()
    np.testing.assert_array_equal(labels, data.y_train.argmax(axis=1))
    assert build_data(ExperimentConfig(**PLANE)).regression


# --- the loss and the classes -------------------------------------------------------------
def test_ce_is_stable_for_huge_logits() -> None:
    ce = get_loss("ce")
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]])
    y = np.eye(3)[[0, 0]]
    value = ce.value(np.zeros(6), y, z)  # point 0 is sure and right, point 1 sure and wrong
    assert value == pytest.approx((0.0 + 2e4) / 2)
    assert ce.scale(10, 3) == pytest.approx(0.1)  # over the points, not the 30 elements


def test_predicted_and_true_classes() -> None:
    out = np.array([[0.2, 0.7, 0.1], [0.5, 0.1, 0.4], [np.nan, 0.0, 0.0]])
    assert predicted_class(out).tolist() == [1, 0, -1]
    assert predicted_class(np.array([[0.7], [0.2]])).tolist() == [1, 0]
    assert true_class(np.eye(3)[[2, 0]]).tolist() == [2, 0]
    assert true_class(np.array([[1.0], [0.0]])).tolist() == [1, 0]


def test_regression_scores() -> None:
    r2, mae = regression_scores(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    assert r2 == pytest.approx(1 - 1 / (2 * 1**2 + 0 + (4 - 7 / 3) ** 2 - 2 * 1 + 1), rel=0.5)
    assert r2 == pytest.approx(1 - 1.0 / np.sum((np.array([1, 2, 4]) - 7 / 3) ** 2))
    assert mae == pytest.approx(1 / 3)


# --- training -----------------------------------------------------------------------------
def test_three_class_spiral_is_learned() -> None:
    trainer = Trainer(ExperimentConfig(**SPIRAL3))
    trainer.run()
    result = trainer.evaluate()
    assert result["accuracy"] >= 0.95 and result["predictions"].shape == (300, 3)
    np.testing.assert_allclose(result["predictions"].sum(axis=1), 1.0, rtol=1e-12)
    assert trainer.last_accuracy == pytest.approx(result["accuracy"], abs=0.02)
    assert trainer.predict_raw(np.zeros((4, 2))).shape == (4, 3)


def test_a_plane_is_fitted_with_r2_and_mae() -> None:
    trainer = Trainer(ExperimentConfig(**PLANE, test_split=0.25))
    events = trainer.run()
    report = [e for e in events if type(e).__name__ == "EpochReport"][-1]
    assert report.accuracy >= 0.95 and 0 < report.mae < 0.1 and report.test_mae < 0.1
    d = report.to_dict()
    assert d["r2"] == report.accuracy and "accuracy" not in d and d["test_mae"] > 0
    result = trainer.evaluate()
    assert result["accuracy"] == pytest.approx(report.accuracy, abs=1e-3)
    assert result["mae"] == pytest.approx(report.mae, abs=1e-3)


def test_minibatch_regression_scores_the_whole_epoch() -> None:
    trainer = Trainer(ExperimentConfig(**{**PLANE, "batch_size": 16, "epochs": 300,
                                          "log_every": 100, "optimizer": "adam",
                                          "lr": 0.01}))
    trainer.run()
    assert trainer.last_accuracy > 0.9 and trainer.last_mae < 0.15


# --- stacks -------------------------------------------------------------------------------
def test_the_sweep_stacks_k_classes_and_regressions() -> None:
    from engine.experiments.sweep import stack_groups

    spiral = ExperimentConfig(**{**SPIRAL3, "epochs": 5})
    plane = ExperimentConfig(**{**PLANE, "epochs": 5})
    configs = [spiral, spiral.replace(lr=0.02), plane, plane.replace(lr=0.2)]
    assert sorted(stack_groups(configs)) == [[0, 1], [2, 3]]
