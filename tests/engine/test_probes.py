"""Tests for engine.train.probes: per-layer norms and the bounded NormTracker."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine
from engine.nn.network import Network
from engine.train.probes import NormTracker, gradient_norms, weight_norms


def small_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(float).reshape(-1, 1)
    return Network([2, 5, 3, 1], ["tanh", "relu", "sigmoid"], seed=seed), X, y


def test_weight_norms_are_the_frobenius_norms_of_the_augmented_parameters():
    net, _, _ = small_problem()
    np.testing.assert_allclose(weight_norms(net), [np.linalg.norm(p) for p in net.params])


@pytest.mark.parametrize("bias", [True, False])
def test_gradient_norms_match_loss_and_gradients(bias):
    net = Network([2, 4, 1], "sigmoid", bias=bias, seed=3)
    _, X, y = small_problem()
    _, gw, gb = net.loss_and_gradients(X, y, "mse")
    expected = [
        np.linalg.norm(np.concatenate([w.ravel(), *([b.ravel()] if bias else [])]))
        for w, b in zip(gw, gb or [None] * len(gw), strict=True)
    ]
    np.testing.assert_allclose(gradient_norms(net, X, y, "mse"), expected, rtol=1e-12)


def test_observe_records_both_norms_and_skips_epochs_already_seen():
    net, X, y = small_problem()
    tracker = NormTracker(net.n_layers)
    assert tracker.observe(0, net, X, y, "bce")
    assert not tracker.observe(0, net, X, y, "bce"), "the same epoch twice is not due"
    net.params[0] *= 2.0
    assert tracker.observe(5, net, X, y, "bce")
    data = tracker.arrays()
    np.testing.assert_array_equal(data["epoch"], [0, 5])
    assert data["weight"].shape == data["gradient"].shape == (3, 2)
    np.testing.assert_allclose(data["weight"][:, 1], [np.linalg.norm(p) for p in net.params])
    np.testing.assert_allclose(data["gradient"][:, 1], gradient_norms(net, X, y, "bce"))
    assert data["weight"][0, 1] == pytest.approx(2 * data["weight"][0, 0])


def test_without_data_only_weight_norms_are_measured():
    net, _, _ = small_problem()
    tracker = NormTracker(net.n_layers)
    tracker.observe(1, net)
    data = tracker.arrays()
    assert np.isfinite(data["weight"]).all() and np.isnan(data["gradient"]).all()


def test_memory_stays_bounded_and_the_whole_run_stays_covered():
    net, X, y = small_problem()
    tracker = NormTracker(net.n_layers, capacity=16)
    recorded = sum(tracker.observe(epoch, net, X, y) for epoch in range(0, 100_000, 7))
    assert len(tracker) < 16
    assert recorded < 14_286, "once thinned, most calls are skipped before any work"
    epochs = tracker.arrays()["epoch"]
    assert epochs[0] == 0 and epochs[-1] > 90_000, "first and recent epochs are kept"
    assert np.all(np.diff(epochs) > 0)
    gaps = np.diff(epochs)
    assert gaps.max() < 4 * np.median(gaps), "rows stay roughly evenly spread"
    assert tracker.nbytes <= 16 * (1 + 2 * net.n_layers) * 8


def test_record_validates_and_clear_forgets():
    tracker = NormTracker(2, capacity=4)
    with pytest.raises(ValueError):
        tracker.record(1, [1.0], [1.0, 2.0])
    tracker.record(1, [1.0, 2.0], [0.1, math.nan])
    version = tracker.version
    tracker.clear()
    assert len(tracker) == 0 and tracker.version > version and tracker.due(1)
    with pytest.raises(ValueError):
        NormTracker(0)
    with pytest.raises(ValueError):
        NormTracker(2, capacity=3)
    with pytest.raises(ValueError):
        tracker.observe(1, Network([2, 1], seed=0))  # one layer, the tracker follows two


def test_observe_trainer_between_training_chunks():
    config = engine.preset("circle-relu").replace(epochs=200)
    trainer = engine.Trainer(config)
    tracker = NormTracker(trainer.network.n_layers)
    tracker.observe_trainer(trainer)
    while not trainer.done:
        trainer.run(epochs=50)
        tracker.observe_trainer(trainer)
    data = tracker.arrays()
    np.testing.assert_array_equal(data["epoch"], [0, 50, 100, 150, 200])
    np.testing.assert_allclose(data["weight"][:, -1], weight_norms(trainer.network))
    d = trainer.data
    expected = gradient_norms(trainer.network, d.X_train, d.y_train, config.loss)
    np.testing.assert_allclose(data["gradient"][:, -1], expected)
    assert data["gradient"][-1, -1] < data["gradient"][-1, 0], "training shrinks the gradient"
