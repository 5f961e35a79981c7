"""--l2 and --l1 (issue #15): a penalty on the weights, never the biases, in the loss the
log prints (and reported apart), in the gradients of the reference, the fast path and
the stack, in the explainer; with both 0 nothing changes.

    E = E_data + l2/2 sum W^2 + l1 sum |W|,    dE/dW += l2 W + l1 sign(W)
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from engine.config.experiment import ConfigError
from engine.explain import explain
from engine.fast.workspace import Workspace
from engine.io.runfile import load_run, save_run, trainer_from_saved
from engine.nn import reference
from engine.nn.losses import get_loss
from engine.nn.network import Network
from engine.stack.trainer import StackTrainer, check_stackable, stack_key
from engine.train.events import EpochReport
from engine.train.gradcheck import gradient_check
from engine.train.probes import gradient_norms
from engine.train.trainer import make_network
from tui.core.event_text import epoch_text

pytestmark = pytest.mark.filterwarnings("error")

PENALTIES = [(0.05, 0.0), (0.0, 0.02), (0.03, 0.01)]


def _net(bias: bool, loss: str, seed: int = 0) -> Network:
    acts = ["tanh", "tanh", "sigmoid" if loss == "bce" else "tanh"]
    net = Network((3, 5, 4, 1), acts, bias=bias, init="normal", seed=seed)
    if bias:
        rng = np.random.default_rng(seed + 1)
        net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
    return net


def _data(n: int = 11, seed: int = 2):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), (rng.random((n, 1)) > 0.5).astype(float)


def _reports(events) -> list[EpochReport]:
    return [e for e in events if isinstance(e, EpochReport)]


# --- the reference ---------------------------------------------------------------------
@pytest.mark.parametrize(("l2", "l1"), PENALTIES)
@pytest.mark.parametrize(("loss", "bias"), itertools.product(["mse", "sse", "bce"], [True, False]))
def test_gradient_check_passes_with_the_penalty(l2, l1, loss, bias) -> None:
    net, (X, y) = _net(bias, loss), _data()
    check = gradient_check(net, X, y, loss, l2=l2, l1=l1)
    assert check.passed, check.summary()
    plain, _, _ = reference.loss_and_gradients(net, X, y, loss)
    assert check.loss == pytest.approx(plain + reference.penalty(net.weights, l2, l1))


def test_the_penalty_is_on_the_weights_only() -> None:
    net, (X, y) = _net(True, "mse"), _data()
    E0, gW0, gb0 = reference.loss_and_gradients(net, X, y, "mse")
    E, gW, gb = reference.loss_and_gradients(net, X, y, "mse", l2=0.1, l1=0.01)
    expected = sum(0.05 * np.sum(W**2) + 0.01 * np.sum(np.abs(W)) for W in net.weights)
    assert pytest.approx(expected, rel=1e-12) == E - E0
    for g, g0, W in zip(gW, gW0, net.weights, strict=True):
        np.testing.assert_allclose(g - g0, 0.1 * W + 0.01 * np.sign(W), rtol=1e-10, atol=1e-14)
    for g, g0 in zip(gb, gb0, strict=True):
        np.testing.assert_array_equal(g, g0)  # the biases go free


def test_a_weight_at_zero_is_a_kink_of_l1_not_a_failure() -> None:
    net, (X, y) = _net(False, "mse"), _data()
    net.weights[0][0, 0] = 0.0  # sign(0) = 0: the subgradient; finite differences see |h|
    check = gradient_check(net, X, y, "mse", l1=0.1)
    assert check.passed and check[0].n_kinked >= 1


# --- the fast path against the reference ----------------------------------------------
@pytest.mark.parametrize(("l2", "l1"), PENALTIES)
@pytest.mark.parametrize("act", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_the_workspace_computes_the_reference_gradients(l2, l1, act, bias) -> None:
    net = Network((3, 5, 4, 1), act, bias=bias, init="normal", seed=4)
    X, y = _data(37)
    loss = get_loss("mse")
    value, grad_w, grad_b = reference.loss_and_gradients(net, X, y, "mse", l2, l1)
    for factor in (1.0, -0.3):  # a stateful optimizer's plain gradient; SGD's -lr folded
        ws = Workspace(net, len(X), loss, l2, l1)
        ws.load(X, y)
        ws.forward(net.params)
        ws.set_step(factor)
        data = ws.backward(net.params, loss, loss.grad_scale(y.size) * factor)
        assert data + ws.penalty(net.params) == pytest.approx(value, rel=1e-12)
        for i, g in enumerate(ws.grads):
            expected = [grad_w[i]] + ([grad_b[i][None, :]] if bias else [])
            expected = factor * np.vstack(expected)
            np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12 * abs(expected).max())


def test_with_both_zero_the_tapes_are_unchanged() -> None:
    net, loss = Network((2, 4, 4, 1), "tanh", bias=True, seed=0), get_loss("sse")
    plain, zero = Workspace(net, 9, loss), Workspace(net, 9, loss, 0.0, 0.0)
    assert not zero.penalized
    assert len(zero.backward_calls(net.params, loss)) == len(plain.backward_calls(net.params, loss))
    penalized = Workspace(net, 9, loss, 0.1, 0.1)
    extra = len(penalized.backward_calls(net.params, loss)) - len(plain.backward_calls(net.params,
                                                                                        loss))
    assert extra == 3 * 5  # per layer: l2's multiply and add, l1's sign, multiply and add


def _config(**values) -> ExperimentConfig:
    base = dict(dataset="circle", n=60, hidden=(5, 3), activation=("tanh", "tanh", "sigmoid"),
                bias=True, lr=0.1, loss="mse", schedule="none", epochs=300, log_every=100,
                init="xavier", l2=0.02, l1=0.005)
    return ExperimentConfig(**{**base, **values})


def test_the_trainer_follows_the_reference_step_by_step() -> None:
    config = _config()
    trainer = Trainer(config)
    trainer.run()
    net, X, y = make_network(config), trainer.data.X_train, trainer.data.y_train
    losses = []
    for _ in range(config.epochs):
        E, gW, gb = reference.loss_and_gradients(net, X, y, config.loss, config.l2, config.l1)
        losses.append(E)
        for W, g in zip(net.weights + net.biases, gW + gb, strict=True):
            W -= config.lr * g
    got = trainer.history.arrays()["loss"]
    np.testing.assert_allclose(got, losses, rtol=1e-12)
    for mine, theirs in zip(trainer.network.params, net.params, strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("batch_size", [0, 16])
def test_reports_carry_the_penalty_and_the_loss_includes_it(optimizer, batch_size) -> None:
    config = _config(optimizer=optimizer, batch_size=batch_size, lr=0.05)
    trainer = Trainer(config)
    reports = _reports(trainer.run())
    assert [r.epoch for r in reports] == [100, 200, 300]
    last = reports[-1]
    assert last.penalty == pytest.approx(trainer.last_penalty)
    assert last.penalty > 0 and last.to_dict()["penalty"] == last.penalty
    if batch_size == 0:  # the weights of epoch 300's forward pass are the ones before its
        assert trainer.evaluate()["loss"] != last.loss  # update, not the final ones
    # the final weights: evaluate's training loss is their data loss plus their penalty
    data = reference.loss_value(config.loss, trainer.network.predict(trainer.data.X_train),
                                None, trainer.data.y_train)
    penalty = reference.penalty(trainer.network.weights, config.l2, config.l1)
    assert trainer.evaluate()["loss"] == pytest.approx(data + penalty, rel=1e-12)
    assert epoch_text(last).startswith(f"epoch 300 loss : {last.loss:.10f} (penalty "
                                       f"{last.penalty:.10f}) accuracy : ")


def test_without_a_penalty_the_reports_read_as_ever() -> None:
    trainer = Trainer(_config(l2=0.0, l1=0.0))
    report = _reports(trainer.run())[-1]
    assert report.penalty is None and "penalty" not in report.to_dict()
    assert trainer.last_penalty is None
    assert epoch_text(report) == (f"epoch 300 loss : {report.loss:.10f} accuracy : "
                                  f"{100 * report.accuracy:6.2f}% lr : 0.1")


def test_l2_shrinks_the_weights_and_l1_zeroes_some() -> None:
    def weights(**penalty) -> np.ndarray:
        trainer = Trainer(_config(epochs=2000, lr=0.3, **penalty))
        trainer.run()
        return np.concatenate([W.ravel() for W in trainer.network.weights])

    free, l2, l1 = weights(l2=0.0, l1=0.0), weights(l2=0.05, l1=0.0), weights(l2=0.0, l1=0.02)
    assert np.linalg.norm(l2) < 0.7 * np.linalg.norm(free)
    assert np.count_nonzero(np.abs(l1) < 0.01) > np.count_nonzero(np.abs(free) < 0.01)


def test_values_are_checked() -> None:
    assert ExperimentConfig(l2="0.5").l2 == 0.5
    for bad, what in (("-1", "l2 penalty must be in"), ("x", "l2 penalty must be a number"),
                      ("1e9", "l2 penalty must be in")):
        with pytest.raises(ConfigError, match=what) as info:
            ExperimentConfig(l2=bad)
        assert info.value.field == "l2"
    with pytest.raises(ConfigError, match="l1 penalty"):
        ExperimentConfig(l1=-0.1)


# --- the stack ---------------------------------------------------------------------------
@pytest.mark.parametrize("batch_size", [0, 16])
def test_a_stack_trains_regularized_networks_as_the_trainer_does(batch_size) -> None:
    configs = [_config(batch_size=batch_size, seed=s, lr=lr) for s, lr in ((0, 0.05), (1, 0.1))]
    stack = StackTrainer(configs)
    events = stack.run()
    for i, config in enumerate(configs):
        alone = Trainer(config)
        mine = _reports(alone.run())
        theirs = _reports(events[i])
        np.testing.assert_allclose([r.loss for r in theirs], [r.loss for r in mine], rtol=1e-10)
        np.testing.assert_allclose([r.penalty for r in theirs], [r.penalty for r in mine],
                                   rtol=1e-10)
        np.testing.assert_allclose(stack.members[i].history.arrays()["loss"],
                                   alone.history.arrays()["loss"], rtol=1e-10)


def test_configs_with_other_penalties_or_features_do_not_stack() -> None:
    config = _config()
    assert stack_key(config) == stack_key(config.replace(lr=0.3, seed=5))
    for other in (config.replace(l2=0.1), config.replace(l1=0.0),
                  config.replace(features=("x1", "x2", "x1^2"))):
        assert stack_key(other) != stack_key(config)
    with pytest.raises(ValueError, match="differ in l2"):
        check_stackable([config, config.replace(l2=0.1)])


# --- run files and the explainer -----------------------------------------------------------
def test_a_regularized_run_file_keeps_its_penalty(tmp_path) -> None:
    trainer = Trainer(_config(epochs=100))
    trainer.run()
    saved = load_run(save_run(tmp_path / "run.npz", trainer))
    assert (saved.config.l2, saved.config.l1) == (0.02, 0.005)
    again = trainer_from_saved(saved)
    assert again.evaluate()["loss"] == trainer.evaluate()["loss"]


@pytest.mark.parametrize(("optimizer", "batch_size"),
                         [("sgd", 0), ("adam", 0), ("momentum", 0), ("sgd", 16)])
def test_the_explainer_shows_the_penalty_and_lands_on_the_trainers_step(optimizer,
                                                                        batch_size) -> None:
    trainer = Trainer(_config(optimizer=optimizer, batch_size=batch_size))
    trainer.step(3)
    walk = explain(trainer)
    names = [s.name for s in walk.stages]
    for name in ("E_data", "penalty", "E", "dE_data/dW_1", "dpenalty/dW_1", "dE/dW_1"):
        assert name in names
    assert "dpenalty/db_1" not in names
    penalty = reference.penalty(walk.weights, 0.02, 0.005)
    assert walk["penalty"].values[0, 0] == pytest.approx(penalty, rel=1e-12)
    assert walk["E"].values[0, 0] == pytest.approx(walk["E_data"].values[0, 0] + penalty)
    assert walk.agreement < 1e-12


def test_without_a_penalty_the_explainer_has_its_old_stages() -> None:
    walk = explain(Trainer(_config(l2=0.0, l1=0.0)))
    names = [s.name for s in walk.stages]
    assert "E" in names and "dE/dW_1" in names
    assert not [n for n in names if "penalty" in n or "E_data" in n]


def test_the_gradient_norms_probe_includes_the_penalty() -> None:
    net, (X, y) = _net(True, "mse"), _data()
    _, gW, gb = reference.loss_and_gradients(net, X, y, "mse", 0.1, 0.01)
    expected = [np.sqrt(np.sum(w**2) + np.sum(b**2)) for w, b in zip(gW, gb, strict=True)]
    np.testing.assert_allclose(gradient_norms(net, X, y, "mse", 0.1, 0.01), expected, rtol=1e-12)
    assert not np.allclose(gradient_norms(net, X, y, "mse"), expected)
