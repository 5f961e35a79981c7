"""A stack of networks trained as one (engine/stack): each network as it trains alone."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig, preset
from engine.io.runfile import load_run, save_run
from engine.stack.trainer import StackTrainer, check_stackable, stack_key
from engine.train.events import Diverged, EpochReport, Finished
from engine.train.trainer import Trainer

BASE = ExperimentConfig(epochs=600, log_every=100)
# one per optimizer, loss and activation family; bias on and off
KINDS = {
    "course-sgd": preset("dlp-xor").replace(epochs=600, log_every=100),
    "bias-sgd-mse": BASE.replace(dataset="moons", n=60, bias=True, loss="mse", lr=0.3),
    "momentum-relu-bce": preset("circle-relu").replace(epochs=400, n=80),
    "adam-tanh-bce": preset("moons-adam").replace(epochs=400, n=80),
    "adam-leaky-split": BASE.replace(dataset="circle", n=80, test_split=0.25, bias=True,
                                     activation=("leaky_relu", "leaky_relu", "sigmoid"),
                                     optimizer="adam", lr=0.02),
    "minibatch-momentum": BASE.replace(dataset="moons", n=90, batch_size=16, bias=True,
                                       optimizer="momentum", lr=0.05, epochs=200),
    "float32": preset("dlp-xor").replace(epochs=600, dtype="float32"),
}


def variants(config: ExperimentConfig, k: int = 3) -> list[ExperimentConfig]:
    """``k`` networks of one stack: other rates and seeds (the momentum, once)."""
    return [config.replace(lr=config.lr * (1 + 0.25 * i), seed=config.seed + i,
                           momentum=0.8 if i == 1 else config.momentum) for i in range(k)]


def columns(history) -> dict[str, np.ndarray]:
    return history.arrays()


def same_history(a, b) -> bool:
    ca, cb = a.arrays(), b.arrays()
    return all(np.array_equal(ca[k], cb[k], equal_nan=True) for k in ca)


def event_kinds(events) -> list[tuple[str, int]]:
    return [(type(e).__name__, e.epoch) for e in events]


# --- stacked and alone ---------------------------------------------------------------------
@pytest.mark.parametrize("name", list(KINDS))
def test_after_one_epoch_every_network_is_its_single_trainer_to_rounding(name):
    configs = variants(KINDS[name])
    stack = StackTrainer(configs)
    stack.run(epochs=1)
    rtol = 1e-5 if configs[0].dtype == "float32" else 1e-12
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone.run(epochs=1)
        for got, want in zip(stack.weights(i), alone.network.params, strict=True):
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


@pytest.mark.parametrize("name", list(KINDS))
def test_every_network_keeps_its_own_history_events_and_rate(name):
    configs = variants(KINDS[name])
    stack = StackTrainer(configs)
    events = stack.run()
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone_events = alone.run()
        member = stack.members[i]
        assert event_kinds(events[i]) == event_kinds(alone_events)
        assert (member.status, member.epoch, member.lr) == (alone.status, alone.epoch, alone.lr)
        mine, theirs = columns(member.history), columns(alone.history)
        np.testing.assert_array_equal(mine["epoch"], theirs["epoch"])
        np.testing.assert_array_equal(mine["lr"], theirs["lr"])
        np.testing.assert_allclose(mine["loss"], theirs["loss"], rtol=1e-6)
        assert member.last_accuracy == pytest.approx(alone.last_accuracy, abs=0.02)


def test_bias_free_networks_are_their_single_trainer_bit_for_bit():
    """Without biases the stack makes the single trainer's very calls, slice by slice."""
    configs = variants(preset("dlp-linear").replace(epochs=2000))
    stack = StackTrainer(configs)
    stack.run()
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone.run()
        assert same_history(stack.members[i].history, alone.history)
        assert all(np.array_equal(a, b)
                   for a, b in zip(stack.weights(i), alone.network.params, strict=True))


@pytest.mark.parametrize("name", ["dlp-xor", "dlp-linear", "circle-relu", "moons-adam"])
def test_the_course_presets_reach_the_same_accuracy_stacked(name):
    config = preset(name)
    if config.epochs > 20_000:
        config = config.replace(epochs=20_000)  # the same curve, cut for the test's time
    configs = [config, config.replace(seed=config.seed + 1)]
    stack = StackTrainer(configs)
    stack.run()
    for i, c in enumerate(configs):
        alone = Trainer(c)
        alone.run()
        assert stack.members[i].status == alone.status == "finished"
        assert stack.member(i).evaluate("train")["accuracy"] == alone.evaluate("train")["accuracy"]
        assert stack.members[i].last_loss == pytest.approx(alone.last_loss, rel=1e-3)


# --- schedules ----------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [
    dict(schedule="halving", halve_every=50, halve_band=(0.05, 20.0)),
    dict(schedule="plateau", patience=20, threshold=0.05, cooldown=5),
])
def test_each_network_changes_its_rate_on_its_own_schedule(schedule):
    base = BASE.replace(dataset="moons", n=60, bias=True, lr=0.5, epochs=500, **schedule)
    configs = [base, base.replace(lr=0.8, seed=3), base.replace(schedule="none", seed=5)]
    if schedule["schedule"] == "halving":
        configs[1] = configs[1].replace(halve_every=120)
    stack = StackTrainer(configs)
    events = stack.run()
    changes = [[(e.epoch, e.new_lr) for e in ev if type(e).__name__ == "RateChange"]
               for ev in events]
    assert changes[0] and changes[1] and not changes[2]
    assert changes[0] != changes[1]
    for i, config in enumerate(configs):
        alone = Trainer(config)
        alone_events = alone.run()
        assert changes[i] == [(e.epoch, e.new_lr) for e in alone_events
                              if type(e).__name__ == "RateChange"]
        mine, theirs = stack.members[i].rate_changes, alone.rate_changes
        assert [(c.epoch, c.old_lr, c.new_lr, c.reason) for c in mine] == [
            (c.epoch, c.old_lr, c.new_lr, c.reason) for c in theirs]
        assert [c.ratio for c in mine] == pytest.approx([c.ratio for c in theirs], rel=1e-6)


# --- divergence -----------------------------------------------------------------------------
DIVERGING = {
    "not finite": BASE.replace(dataset="linear", activation=("linear",), loss="mse", lr=1e3,
                               schedule="none"),
    "blew up": BASE.replace(dataset="xor", hidden=(4, 4), lr=50, schedule="none",
                            epochs=400),
    "mini-batch": BASE.replace(dataset="moons", n=90, batch_size=16, activation=("linear",),
                               loss="mse", lr=30, schedule="none", epochs=200),
}


@pytest.mark.parametrize("kind", list(DIVERGING))
def test_a_network_that_diverges_stops_alone_and_the_others_go_on_unaffected(kind):
    bad = DIVERGING[kind]
    good = [bad.replace(lr=bad.lr / 1e4, seed=1), bad.replace(lr=bad.lr / 3e4, seed=2)]
    with_it = StackTrainer([good[0], bad, good[1]])
    events = with_it.run()
    without = StackTrainer(good)
    without.run()
    alone = Trainer(bad)
    alone_events = alone.run()
    member = with_it.members[1]
    assert member.status == alone.status == "diverged"
    assert member.epoch == alone.epoch
    diverged = [e for e in events[1] if isinstance(e, Diverged)]
    want = [e for e in alone_events if isinstance(e, Diverged)]
    assert [(e.epoch, e.rolled_back_to, e.reason) for e in diverged] == [
        (e.epoch, e.rolled_back_to, e.reason) for e in want]
    assert not any(isinstance(e, Finished) for e in events[1])
    kept = with_it.weights(1)
    assert all(np.isfinite(w).all() for w in kept)
    np.testing.assert_allclose(kept[0], alone.network.params[0], rtol=1e-9, atol=1e-9)
    for i, j in ((0, 0), (2, 1)):  # the others: exactly as in a stack without it
        assert with_it.members[i].status == "finished"
        assert same_history(with_it.members[i].history, without.members[j].history)
        assert all(np.array_equal(a, b)
                   for a, b in zip(with_it.weights(i), without.weights(j), strict=True))


# --- determinism ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["adam-leaky-split", "minibatch-momentum", "momentum-relu-bce"])
def test_a_network_rounds_alike_in_a_stack_of_any_size(name):
    configs = variants(KINDS[name], 6)
    big = StackTrainer(configs)
    big.run()
    for i in (0, 4):
        one = StackTrainer([configs[i]])
        one.run()
        assert same_history(big.members[i].history, one.members[0].history)
        assert all(np.array_equal(a, b)
                   for a, b in zip(big.weights(i), one.weights(0), strict=True))


def test_time_boxes_and_chunks_do_not_change_the_numbers():
    configs = variants(KINDS["adam-leaky-split"])
    whole = StackTrainer(configs)
    whole.run()
    pieces = StackTrainer(configs)
    while not pieces.done:
        pieces.run(epochs=37)
    for a, b in zip(whole.members, pieces.members, strict=True):
        assert same_history(a.history, b.history)


@pytest.mark.parametrize("capacity, log_every", [(64, 100), (16, 50), (40, 7)])
def test_histories_thin_as_the_single_trainers_do(capacity, log_every):
    """The stack thins its members' full histories at once (NumPy), to the same rows."""
    configs = variants(preset("dlp-xor").replace(epochs=3000, log_every=log_every))
    stack = StackTrainer(configs, history_capacity=capacity)
    stack.run()
    for i, config in enumerate(configs):
        alone = Trainer(config, history_capacity=capacity)
        alone.run()
        mine, theirs = stack.members[i].history, alone.history
        assert same_history(mine, theirs)
        assert (mine.stride, mine.keep_every, mine.next_epoch) == (
            theirs.stride, theirs.keep_every, theirs.next_epoch)


def test_mini_batches_follow_each_seeds_own_order():
    """Two networks with one seed and one with another: each gets its solo batches."""
    config = KINDS["minibatch-momentum"].replace(bias=False, epochs=30)
    configs = [config, config.replace(lr=0.02), config.replace(seed=9)]
    stack = StackTrainer(configs)
    stack.run()
    for i, c in enumerate(configs):
        alone = Trainer(c)
        alone.run()
        assert same_history(stack.members[i].history, alone.history)


# --- the API ------------------------------------------------------------------------------
def test_only_configs_that_differ_in_their_own_settings_stack():
    base = preset("dlp-xor")
    check_stackable([base, base.replace(lr=2, seed=4, halve_every=100, momentum=0.5)])
    assert stack_key(base) == stack_key(base.replace(lr=0.1, schedule="plateau"))
    for other in (base.replace(hidden=(8, 8)), base.replace(optimizer="adam"),
                  base.replace(epochs=10), base.replace(data_seed=3)):
        assert stack_key(other) != stack_key(base)
        with pytest.raises(ValueError, match="cannot stack"):
            StackTrainer([base, other])


def test_member_is_a_trainer_at_the_networks_state():
    configs = variants(KINDS["adam-tanh-bce"])
    stack = StackTrainer(configs)
    stack.run(epochs=150)
    trainer = stack.member(2)
    assert isinstance(trainer, Trainer) and trainer.epoch == 150
    assert trainer.stacked == {"size": 3, "member": 2}
    assert trainer.history is stack.members[2].history
    assert all(np.array_equal(a, b)
               for a, b in zip(trainer.network.params, stack.weights(2), strict=True))
    assert len(stack.trainers()) == 3
    events = stack.run()[0]
    assert [type(e) for e in events] == [EpochReport, Finished] and events[0].epoch == 400


def test_request_stop_ends_a_run_early():
    stack = StackTrainer(variants(preset("dlp-xor")))
    stack.request_stop()
    stack.run()
    assert stack.epoch < preset("dlp-xor").epochs
    stack.run(epochs=10)  # the flag is spent: training goes on
    assert stack.epoch >= 10


# --- run files ------------------------------------------------------------------------------
def test_a_stacked_run_saved_and_replayed_from_its_file_reproduces_exactly(tmp_path, capsys):
    from tui.cli import main

    config = KINDS["adam-leaky-split"].replace(epochs=300)
    stack = StackTrainer(variants(config, 5))
    stack.run()
    path = save_run(tmp_path / "member3.npz", stack.member(3))
    saved = load_run(path)
    assert saved.stacked == {"size": 5, "member": 3}
    # the single trainer rounds a biased network differently: the stack path is needed
    alone = Trainer(saved.config)
    alone.run()
    assert not same_history(alone.history, saved.history)
    assert main(["train", "--from", str(path), "--quiet", "--save", str(tmp_path / "again")]) == 0
    out = capsys.readouterr().out
    assert "history reproduced exactly (300 rows)" in out
    assert "weights differ" not in out
    assert load_run(tmp_path / "again.npz").stacked == {"size": 5, "member": 3}


# --- predictions of the whole stack ------------------------------------------------------
def network_of(config: ExperimentConfig, weights: list[np.ndarray]):
    from engine.train.trainer import make_network

    network = make_network(config)
    for target, source in zip(network.params, weights, strict=True):
        target[...] = source
    return network


@pytest.mark.parametrize("name", ["course-sgd", "bias-sgd-mse", "adam-tanh-bce", "float32"])
def test_predict_gives_every_networks_outputs_in_one_pass(name):
    configs = variants(KINDS[name], 4)
    stack = StackTrainer(configs)
    stack.run(epochs=37)
    X = np.vstack([stack.data.X_train, stack.data.X_train[:5] * 3])  # noqa: N806
    out = stack.predict(X)
    assert out.shape == (4, len(X))
    for i, config in enumerate(configs):  # as each network alone predicts, to rounding
        alone = network_of(config, stack.weights(i)).predict(X)[:, 0]
        np.testing.assert_allclose(out[i], alone, rtol=1e-12, atol=1e-12)


def test_predict_covers_the_networks_that_left_the_stack():
    bad = DIVERGING["not finite"]
    configs = [bad.replace(lr=bad.lr / 1e4, seed=1), bad, bad.replace(lr=bad.lr / 3e4, seed=2)]
    stack = StackTrainer(configs)
    stack.run(epochs=50)
    assert stack.members[1].status == "diverged" and not stack.members[0].done
    X = stack.data.X_train  # noqa: N806
    for done in (False, True):  # one network left; then all of them (finished)
        out = stack.predict(X)
        for i, config in enumerate(configs):
            alone = network_of(config, stack.weights(i)).predict(X)[:, 0]
            np.testing.assert_allclose(out[i], alone, rtol=1e-12, atol=1e-12)
        if not done:
            stack.run()
    assert stack.done
