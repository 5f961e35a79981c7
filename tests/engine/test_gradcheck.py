"""The gradient check's verdict (``engine.train.gradcheck``): passed, FAILED or inconclusive.

The reported case: relu,relu,sigmoid with biases, adam at lr 0.01 on the xor data,
trained to a loss of about 1e-11. Its gradients are about 1e-10, which finite
differences cannot resolve to a relative 1e-6 at that loss; the old check called
the rounding a failure ("FAILED: max relative error 4.5e-06"). Figures that come
from training differ between machines, so these tests assert verdicts and bounds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.network import Network
from engine.train.gradcheck import (
    GRADCHECK_TOLERANCE,
    GradientCheck,
    LayerCheck,
    gradient_check,
    loss_rounding,
)

pytestmark = pytest.mark.filterwarnings("error")

TRAINED_EPOCHS = 40_000  # the loss reaches a few 1e-11 (about a second)
POINTS = 20  # as the app and the CLI check


def reported_config() -> ExperimentConfig:
    return ExperimentConfig().replace(
        hidden=(4, 4), activation=("relu", "relu", "sigmoid"), bias=True, optimizer="adam",
        lr=0.01,
    )


def _problem(trainer: Trainer) -> tuple[Network, np.ndarray, np.ndarray]:
    """The trainer's network (float64) and the points the check runs on; a fresh
    network's zero biases get small random ones, as the app's check does."""
    net = trainer.network
    rng = np.random.default_rng(7)
    for bias in net.biases:
        if not np.any(bias):
            bias[...] = rng.normal(0.0, 0.1, bias.shape)
    return net, trainer.data.X_train[:POINTS], trainer.data.y_train[:POINTS]


@pytest.fixture(scope="module")
def trained() -> Trainer:
    trainer = Trainer(reported_config())
    trainer.run(epochs=TRAINED_EPOCHS)
    assert trainer.status == "ready" and trainer.last_loss < 1e-9  # the regime, not digits
    return trainer


@pytest.fixture
def fresh() -> Trainer:
    return Trainer(reported_config())


def wrong_backprop(monkeypatch, layer: int, factor: float = 1.01, bias: bool = False) -> None:
    """Backprop with one layer's weight (or bias) gradient scaled by ``factor``."""
    backprop = Network.loss_and_gradients

    def scaled(self, X, y, loss="mse", *penalty):
        value, grad_w, grad_b = backprop(self, X, y, loss, *penalty)
        grads = grad_b if bias else grad_w
        grads[layer] = grads[layer] * factor
        return value, grad_w, grad_b

    monkeypatch.setattr(Network, "loss_and_gradients", scaled)


# --- the reported case ---------------------------------------------------------------------
def test_a_network_trained_to_a_tiny_loss_is_inconclusive_not_failed(trained):
    net, X, y = _problem(trained)
    check = gradient_check(net, X, y, "sse")
    assert check.verdict == "inconclusive", check.summary
    assert check.largest < check.floor  # every gradient below what FD resolve here
    for layer in check:
        assert layer.verdict == "inconclusive" and layer.n_resolved == 0
        assert layer.error < GRADCHECK_TOLERANCE  # FD and backprop agree to within δ
    assert check.noise == pytest.approx(check.floor * GRADCHECK_TOLERANCE)
    assert check.summary == (
        f"inconclusive: the gradients (max {check.largest:.1e}) are below what finite "
        f"differences resolve to 1e-06 at this loss ({check.floor:.1e})"
        + (f"; {sum(c.n_kinked for c in check)} skipped at relu kinks"
           if any(c.n_kinked for c in check) else "")
    )


def test_the_same_network_at_epoch_0_passes(fresh):
    net, X, y = _problem(fresh)
    check = gradient_check(net, X, y, "sse")
    assert check.verdict == "passed", check.summary
    assert all(c.verdict == "pass" for c in check)
    assert check.worst < GRADCHECK_TOLERANCE
    assert check.summary.startswith("passed: max relative error ")


def test_the_floor_comes_from_the_loss_rounding_not_the_loss(trained):
    """At a loss of 1e-11 the loss is known to about eps·|a - y| (its outputs are of
    size 1), not eps·|f|: the floor is set by the former."""
    net, X, y = _problem(trained)
    value, _, _ = net.loss_and_gradients(X, y, "sse")
    sigma = loss_rounding(net, X, y, "sse")
    residual = np.linalg.norm(net.predict(X) - y.reshape(len(X), -1))
    assert sigma > 1e3 * np.finfo(float).eps * value
    assert sigma <= 4 * np.finfo(float).eps * residual


# --- a wrong backprop still fails ------------------------------------------------------------
@pytest.mark.parametrize("layer", [0, 1, 2])
def test_a_one_percent_error_in_one_layer_fails_at_epoch_0(fresh, monkeypatch, layer):
    net, X, y = _problem(fresh)
    wrong_backprop(monkeypatch, layer)
    check = gradient_check(net, X, y, "sse")
    assert check.verdict == "FAILED"
    assert [c.verdict for c in check][layer] == "fail"
    assert check[layer].error == pytest.approx(0.01 / 1.01, rel=1e-3)
    assert check.summary.startswith("FAILED: max relative error 9.9e-03 >= 1e-06")


@pytest.mark.parametrize(("layer", "bias"), [(0, False), (1, False), (2, False), (2, True)])
def test_a_one_percent_error_fails_on_the_trained_network_too(trained, monkeypatch, layer, bias):
    """At a loss of ~4e-11 finite differences are good to δ ≈ 5e-15 and the gradients
    are ~1e-10: a 1% error (~1e-12) is far above δ and fails, though every gradient is
    below the floor. An error below δ / max|g|, a relative 4e-5 or so at this loss,
    cannot be told from rounding: it would be inconclusive, not failed."""
    net, X, y = _problem(trained)
    wrong_backprop(monkeypatch, layer, bias=bias)
    check = gradient_check(net, X, y, "sse")
    assert check.verdict == "FAILED", check.summary
    assert check[layer].verdict == "fail"


def test_an_error_below_the_noise_is_not_a_failure(trained, monkeypatch):
    """The other side of the same rule: a relative error of 1e-7 on gradients of 1e-10
    is 1e-17, below what finite differences resolve here, so it cannot fail."""
    net, X, y = _problem(trained)
    wrong_backprop(monkeypatch, 2, factor=1 + 1e-7)
    assert gradient_check(net, X, y, "sse").verdict == "inconclusive"


# --- a correct backprop never fails ----------------------------------------------------------
def _random_case(rng: np.random.Generator):
    loss = str(rng.choice(["mse", "sse", "bce"]))
    hidden = [int(h) for h in rng.integers(1, 12, size=int(rng.integers(0, 3)))]
    n_in, n_out = int(rng.integers(1, 4)), 1 if loss == "bce" else int(rng.integers(1, 3))
    acts = [str(a) for a in rng.choice(ACTIVATION_NAMES, size=len(hidden) + 1)]
    if loss == "bce":
        acts[-1] = "sigmoid"
    net = Network([n_in, *hidden, n_out], acts, bias=True, init="normal",
                  seed=int(rng.integers(2**31)))
    scale = float(rng.choice([0.3, 1.0, 3.0, 10.0]))
    net.set_parameters([w * scale for w in net.weights],
                       [rng.normal(size=b.shape) * scale for b in net.biases])
    X = rng.normal(size=(int(rng.integers(1, 21)), n_in))
    y = (rng.random((len(X), n_out)) > 0.5).astype(float)
    if loss != "bce" and rng.random() < 0.5:  # fitted to a tiny loss, steep outputs and all
        y = net.predict(X) + rng.normal(size=y.shape) * 10.0 ** -int(rng.integers(3, 9))
    return net, X, y, loss


def test_a_correct_backprop_never_fails_on_random_networks():
    """Networks of every activation, weights up to 10× the usual, half of them fitted to
    losses down to 1e-16 (where a nudge of h changes the residual more than the fit):
    the finite differences' error stays within the noise the check allows for."""
    rng = np.random.default_rng(2024)
    verdicts = []
    with np.errstate(over="ignore"):
        for _ in range(60):
            net, X, y, loss = _random_case(rng)
            check = gradient_check(net, X, y, loss)
            assert check.verdict != "FAILED", (net.sizes, net.activation_names, loss,
                                               check.summary)
            verdicts.append(check.verdict)
    assert verdicts.count("passed") > len(verdicts) // 2  # and most of them are checked


# --- the words -------------------------------------------------------------------------------
def _layer(n: int, error: float, largest: float, resolved: int, kinked: int = 0) -> LayerCheck:
    return LayerCheck(n, error, None, 8, largest, resolved, kinked)


def test_the_verdict_rule_and_its_words():
    def check(*layers: LayerCheck) -> GradientCheck:
        return GradientCheck(tuple(layers), loss=1e-11, noise=2e-15, floor=2e-9)

    passed = check(_layer(1, 3e-8, 0.5, 8), _layer(2, 1e-8, 1e-10, 0))
    assert passed.verdict == "passed" and passed.passed and not passed.inconclusive
    assert passed.summary == "passed: max relative error 3.0e-08 < 1e-06; layer 2 too small"

    failed = check(_layer(1, 3e-2, 0.5, 8), _layer(2, 1e-8, 1e-10, 0))
    assert failed.summary == "FAILED: max relative error 3.0e-02 >= 1e-06"
    assert not failed.passed and not failed.inconclusive

    tiny = check(_layer(1, 2e-8, 3e-12, 0), _layer(2, 1e-7, 1e-11, 0, kinked=2))
    assert tiny.summary == ("inconclusive: the gradients (max 1.0e-11) are below what finite "
                            "differences resolve to 1e-06 at this loss (2.0e-09); "
                            "2 skipped at relu kinks")

    dead = check(_layer(1, 0.0, 0.0, 0), _layer(2, 0.0, 0.0, 0))
    assert dead.summary == ("inconclusive: every gradient is zero at these weights "
                            "(dead relu units?)")

    # a disagreement bigger than the noise fails even below the floor
    below = check(_layer(1, 5e-3, 1e-11, 0))
    assert below.verdict == "FAILED"

    nan = check(_layer(1, math.nan, math.nan, 0), _layer(2, 1e-8, 0.5, 8))
    assert nan.verdict == "FAILED" and math.isnan(nan.worst)
    assert check().verdict == "FAILED"  # nothing checked is no pass
