"""Optimizers: hand-computed steps, table-driven, and the trainer applying them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from engine.optim.optimizers import OPTIMIZER_NAMES, SGD, Adam, Momentum, make_optimizer

pytestmark = pytest.mark.filterwarnings("error")


def _arrays(*values) -> list[np.ndarray]:
    return [np.array(v, dtype=np.float64) for v in values]


def test_registry_and_factory() -> None:
    assert OPTIMIZER_NAMES == ("sgd", "momentum", "adam")
    params = _arrays([[1.0, 2.0]], [3.0])
    assert isinstance(make_optimizer("sgd", params), SGD)
    mom = make_optimizer("momentum", params, momentum=0.5)
    assert isinstance(mom, Momentum) and mom.mu == 0.5
    assert isinstance(make_optimizer("adam", params), Adam)
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'.*sgd, momentum, adam"):
        make_optimizer("rmsprop", params)


# --- SGD ---------------------------------------------------------------------------------
def test_sgd_passes_gradients_through_because_the_trainer_folds_in_minus_lr() -> None:
    """SGD's step is -lr * g; the trainer multiplies -lr into the backward pass."""
    opt = SGD(_arrays([0.0, 0.0]))
    assert opt.folds_lr is True
    grads = _arrays([0.5, -2.0])
    assert opt.steps(grads, 0.1) is grads
    np.testing.assert_array_equal(grads[0], [0.5, -2.0])
    opt.reset()


# --- Momentum ----------------------------------------------------------------------------
MOMENTUM_TABLE = [
    # (gradient, velocity after the step) for mu = 0.9, lr = 0.1, v0 = 0
    ([1.0, -2.0], [-0.1, 0.2]),
    ([0.5, 0.5], [-0.14, 0.13]),  # 0.9 * v - 0.1 * g
    ([0.0, 0.0], [-0.126, 0.117]),
    ([-1.0, 0.0], [-0.0134, 0.1053]),
]


def test_momentum_velocity_sequence() -> None:
    opt = Momentum(_arrays([0.0, 0.0]), mu=0.9)
    assert opt.folds_lr is False
    for grad, velocity in MOMENTUM_TABLE:
        (step,) = opt.steps(_arrays(grad), 0.1)
        np.testing.assert_allclose(step, velocity, rtol=1e-13, atol=1e-16)
        np.testing.assert_allclose(opt.velocity[0], velocity, rtol=1e-13, atol=1e-16)
    opt.reset()
    np.testing.assert_array_equal(opt.velocity[0], [0.0, 0.0])
    (step,) = opt.steps(_arrays([1.0, -2.0]), 0.1)
    np.testing.assert_allclose(step, [-0.1, 0.2])


def test_momentum_with_mu_zero_is_sgd() -> None:
    opt = Momentum(_arrays([0.0]), mu=0.0)
    for g in (3.0, -1.0, 0.25):
        (step,) = opt.steps(_arrays([g]), 0.2)
        assert step[0] == pytest.approx(-0.2 * g)


# --- Adam --------------------------------------------------------------------------------
def _adam_reference(grads: list[float], lr: float, b1=0.9, b2=0.999, eps=1e-8) -> list[float]:
    """The paper's algorithm 1, one scalar, in plain Python floats."""
    m = v = 0.0
    steps = []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        steps.append(-lr * m_hat / (math.sqrt(v_hat) + eps))
    return steps


ADAM_FIRST_STEPS = [
    # gradient, lr, first step = -lr * g / (|g| + eps) (both moments' corrections cancel)
    (2.0, 0.1, -0.1 * 2.0 / (2.0 + 1e-8)),
    (-3.0, 0.01, 0.01 * 3.0 / (3.0 + 1e-8)),
    (1e-3, 1.0, -1e-3 / (1e-3 + 1e-8)),
    (1e-8, 1.0, -0.5),  # eps-sized gradient: half a step
    (0.0, 1.0, 0.0),
]


@pytest.mark.parametrize(("g", "lr", "expected"), ADAM_FIRST_STEPS)
def test_adam_first_step(g: float, lr: float, expected: float) -> None:
    opt = Adam(_arrays([0.0]))
    (step,) = opt.steps(_arrays([g]), lr)
    assert step[0] == pytest.approx(expected, rel=1e-12, abs=1e-300)
    assert opt.t == 1
    assert opt.m[0][0] == pytest.approx(0.1 * g)
    assert opt.v[0][0] == pytest.approx(0.001 * g * g)


def test_adam_second_step_by_hand() -> None:
    opt = Adam(_arrays([0.0]))
    opt.steps(_arrays([2.0]), 0.1)
    (step,) = opt.steps(_arrays([1.0]), 0.1)
    m = 0.9 * 0.2 + 0.1 * 1.0  # 0.28
    v = 0.999 * 0.004 + 0.001 * 1.0  # 0.004996
    expected = -0.1 * (m / (1 - 0.81)) / (math.sqrt(v / (1 - 0.998001)) + 1e-8)
    assert step[0] == pytest.approx(expected, rel=1e-12)


def test_adam_matches_the_paper_over_many_steps_elementwise() -> None:
    rng = np.random.default_rng(0)
    sequence = rng.normal(size=(30, 3)) * np.array([1e-4, 1.0, 100.0])
    opt = Adam(_arrays([0.0, 0.0, 0.0]), b1=0.8, b2=0.99, eps=1e-6)
    got = np.array([opt.steps([g.copy()], 0.05)[0].copy() for g in sequence])
    for j in range(3):
        expected = _adam_reference(list(sequence[:, j]), 0.05, b1=0.8, b2=0.99, eps=1e-6)
        np.testing.assert_allclose(got[:, j], expected, rtol=1e-10)


def test_adam_reset_starts_over() -> None:
    opt = Adam(_arrays([0.0, 0.0]))
    first = opt.steps(_arrays([1.0, -4.0]), 0.1)[0].copy()
    opt.steps(_arrays([3.0, 2.0]), 0.1)
    opt.reset()
    assert opt.t == 0 and not opt.m[0].any() and not opt.v[0].any()
    np.testing.assert_array_equal(opt.steps(_arrays([1.0, -4.0]), 0.1)[0], first)


def test_steps_have_the_parameters_shapes() -> None:
    params = _arrays(np.zeros((3, 4)), np.zeros((5, 1)))
    for name in OPTIMIZER_NAMES:
        opt = make_optimizer(name, params)
        steps = opt.steps([np.ones((3, 4)), np.ones((5, 1))], 0.1)
        assert [s.shape for s in steps] == [(3, 4), (5, 1)]


# --- the trainer applies them ------------------------------------------------------------
def _first_epoch(optimizer: str, loss: str, lr: float):
    cfg = ExperimentConfig(
        dataset="linear", n=30, hidden=(5, 3), activation=("tanh", "tanh", "sigmoid"),
        loss=loss, optimizer=optimizer, lr=lr, bias=True, init="xavier", epochs=10,
        schedule="none", log_every=10, seed=3,
    )
    trainer = Trainer(cfg)
    before = [p.copy() for p in trainer.network.params]
    _, gw, gb = trainer.network.loss_and_gradients(trainer.data.X_train, trainer.data.y_train, loss)
    grads = [np.vstack([w, b[None, :]]) for w, b in zip(gw, gb, strict=True)]
    trainer.step(1)
    after = trainer.network.params
    return before, grads, after


@pytest.mark.parametrize("loss", ["mse", "sse", "bce"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
def test_trainer_first_step_is_minus_lr_times_gradient(optimizer: str, loss: str) -> None:
    before, grads, after = _first_epoch(optimizer, loss, 0.3)
    for b, g, a in zip(before, grads, after, strict=True):
        np.testing.assert_allclose(a - b, -0.3 * g, rtol=1e-9, atol=1e-15)


def test_trainer_first_adam_step() -> None:
    before, grads, after = _first_epoch("adam", "bce", 0.01)
    for b, g, a in zip(before, grads, after, strict=True):
        np.testing.assert_allclose(a - b, -0.01 * g / (np.abs(g) + 1e-8), rtol=1e-7, atol=1e-15)
