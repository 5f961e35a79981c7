"""Stacks of K-class (softmax, ce) and regression networks: each network as it trains alone."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig
from engine.io.runfile import load_run, save_run
from engine.stack.trainer import StackTrainer
from engine.train.events import EpochReport
from engine.train.trainer import Trainer

SPIRAL3 = ExperimentConfig(dataset="spiral", classes=3, loss="ce", hidden=(8,),
                           activation=("tanh",), n=120, optimizer="adam", lr=0.01,
                           schedule="none", init="xavier", bias=True, epochs=200, log_every=50)
PLANE = ExperimentConfig(dataset="plane", loss="mse", hidden=(8,), activation=("tanh",), n=100,
                         noise=0.05, lr=0.1, schedule="none", init="xavier", bias=True,
                         epochs=200, log_every=50)
KINDS = {
    "spiral3-adam": SPIRAL3,
    "spiral3-sgd-split": SPIRAL3.replace(optimizer="sgd", lr=0.5, test_split=0.25),
    "spiral3-minibatch": SPIRAL3.replace(batch_size=32, epochs=40, log_every=10),
    "plane-mse": PLANE,
    "plane-sse-split": PLANE.replace(loss="sse", lr=0.005, test_split=0.25),
    "plane-minibatch": PLANE.replace(batch_size=16, optimizer="momentum", lr=0.02,
                                     epochs=40, log_every=10),
}


def variants(config: ExperimentConfig, k: int = 3) -> list[ExperimentConfig]:
    return [config.replace(lr=config.lr * (1 + 0.25 * i), seed=config.seed + i)
            for i in range(k)]


@pytest.mark.parametrize("name", list(KINDS))
def test_after_one_epoch_every_network_is_its_single_trainer_to_rounding(name):
    configs = variants(KINDS[name])
    stack = StackTrainer(configs)
    stack.run(epochs=1)
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone.run(epochs=1)
        for got, want in zip(stack.weights(i), alone.network.params, strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("name", list(KINDS))
def test_a_short_run_ends_with_each_networks_own_score_and_reports(name):
    configs = variants(KINDS[name])
    stack = StackTrainer(configs)
    events = stack.run()
    regression = configs[0].regression
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone_events = alone.run()
        member = stack.members[i]
        assert member.status == alone.status == "finished"
        assert member.last_loss == pytest.approx(alone.last_loss, rel=1e-9)
        assert member.last_accuracy == pytest.approx(alone.last_accuracy, rel=1e-9, abs=1e-12)
        mine = [e for e in events[i] if isinstance(e, EpochReport)]
        theirs = [e for e in alone_events if isinstance(e, EpochReport)]
        assert [e.epoch for e in mine] == [e.epoch for e in theirs]
        for a, b in zip(mine, theirs, strict=True):
            assert (a.mae is None) == (b.mae is None) == (not regression)
            assert (a.test_mae is None) == (b.test_mae is None)
            if regression:
                assert a.mae == pytest.approx(b.mae, rel=1e-9)
            if b.test_accuracy is not None:
                assert a.test_accuracy == pytest.approx(b.test_accuracy, rel=1e-9, abs=1e-12)
            if b.test_mae is not None:
                assert a.test_mae == pytest.approx(b.test_mae, rel=1e-9)
        trainer = stack.member(i)
        assert trainer.last_mae == pytest.approx(alone.last_mae, rel=1e-9) if regression \
            else trainer.last_mae is None
        assert trainer.evaluate("train")["accuracy"] == pytest.approx(
            alone.evaluate("train")["accuracy"], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("name", ["spiral3-adam", "plane-mse"])
def test_predict_gives_every_networks_outputs_in_one_pass(name):
    configs = variants(KINDS[name], 4)
    stack = StackTrainer(configs)
    stack.run(epochs=30)
    X = stack.data.X_train  # noqa: N806
    out = stack.predict(X)
    classes = configs[0].classes if configs[0].loss == "ce" else 1
    assert out.shape == ((4, len(X), classes) if classes > 1 else (4, len(X)))
    for i in range(4):
        want = stack.member(i).network.predict(X)
        np.testing.assert_allclose(out[i], want if classes > 1 else want[:, 0], rtol=1e-12,
                                   atol=1e-12)


@pytest.mark.parametrize("name", ["spiral3-sgd-split", "plane-minibatch"])
def test_a_stacked_run_replays_from_its_file_bit_for_bit(name, tmp_path, capsys):
    from tui.cli import main

    stack = StackTrainer(variants(KINDS[name]))
    stack.run()
    path = save_run(tmp_path / "member1.npz", stack.member(1))
    assert load_run(path).stacked == {"size": 3, "member": 1}
    assert main(["train", "--from", str(path), "--quiet", "--save", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "history reproduced exactly" in out
    assert "weights differ" not in out


@pytest.mark.parametrize("name", ["spiral3-sgd-split", "plane-sse-split"])
def test_the_sweep_trains_them_as_one_stack_with_each_runs_own_figures(name):
    from engine.experiments.sweep import run_one, run_stack, stack_groups

    configs = [c.to_dict() for c in variants(KINDS[name].replace(epochs=100))]
    assert stack_groups(configs) == [[0, 1, 2]]
    for result, config in zip(run_stack(configs, [0, 1, 2]), configs, strict=True):
        alone = run_one(config, result["run"])
        assert result["status"] == alone["status"] == "finished"
        for key in ("final_loss", "final_accuracy", "test_loss", "test_accuracy"):
            assert result[key] == pytest.approx(alone[key], rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize("whole", [True, False])
def test_a_network_that_diverges_in_a_minibatch_keeps_its_last_epochs_figures(whole) -> None:
    """As the single trainer does: the figures of the last epoch it finished (not NaN, not
    those of the end of an earlier ``run`` call)."""
    base = ExperimentConfig(dataset="plane", loss="mse", hidden=(8,), activation=("tanh",),
                            bias=True, init="xavier", n=100, batch_size=16, epochs=40,
                            log_every=10, schedule="none", lr=0.05)
    configs = [base, base.replace(lr=50.0)]
    stack = StackTrainer(configs)
    alone = Trainer(configs[1])
    for trainer in (stack, alone):
        if whole:
            trainer.run()
        else:
            for _ in range(40):
                trainer.run(epochs=1)
    m = stack.members[1]
    assert alone.status == m.status == "diverged" and alone.epoch == m.epoch
    assert m.last_loss == pytest.approx(alone.last_loss, rel=1e-9)
    assert m.last_accuracy == pytest.approx(alone.last_accuracy, rel=1e-9)
