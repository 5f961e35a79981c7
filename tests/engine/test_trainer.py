"""The trainer: the course's results, determinism, chunking, events, divergence, bounds."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings

import numpy as np
import pytest

from engine import (
    ConfigError,
    Diverged,
    EpochReport,
    ExperimentConfig,
    Finished,
    RateChange,
    Trainer,
    preset,
)

pytestmark = pytest.mark.filterwarnings("error")

COURSE = ("dlp-xor", "dlp-linear")


@pytest.fixture(scope="module")
def course_runs() -> dict[str, tuple[Trainer, list]]:
    """Each course preset trained once to its end (100,000 epochs each, a few seconds)."""
    runs = {}
    for name in COURSE:
        trainer = Trainer(preset(name))
        runs[name] = (trainer, trainer.run())
    return runs


def _same_events(a: list, b: list) -> bool:
    """Events equal bit for bit except the wall-clock seconds of ``Finished``; a NaN
    equals a NaN (``==`` on two events would call them different: NaN != NaN)."""
    def field(value):
        return ("nan",) if isinstance(value, float) and math.isnan(value) else value

    def key(e):
        values = dataclasses.astuple(e)
        if isinstance(e, Finished):
            values = values[:-1]
        return (type(e), *map(field, values))
    return [key(e) for e in a] == [key(e) for e in b]


def _assert_same_run(a: Trainer, b: Trainer) -> None:
    ha, hb = a.history.arrays(), b.history.arrays()
    assert ha.keys() == hb.keys()
    for name in ha:
        np.testing.assert_array_equal(ha[name], hb[name])  # bit for bit (NaN == NaN here)
    for p, q in zip(a.network.params, b.network.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert (a.epoch, a.lr, a.status, a.last_loss) == (b.epoch, b.lr, b.status, b.last_loss)


# --- the course's homework -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", COURSE)
def test_course_presets_reach_100_percent(course_runs, name: str) -> None:
    trainer, events = course_runs[name]
    assert trainer.status == "finished" and trainer.epoch == 100_000
    assert trainer.last_accuracy == 1.0
    assert trainer.last_loss < 1e-4
    final = trainer.evaluate()
    assert final["accuracy"] == 1.0 and final["loss"] < 1e-4
    assert final["predictions"].shape == (trainer.data.n_train,)
    assert isinstance(events[-1], Finished) and events[-1].epoch == 100_000
    assert events[-1].accuracy == 1.0 and events[-1].loss == trainer.last_loss


@pytest.mark.slow
@pytest.mark.parametrize("name", COURSE)
def test_course_log_every_5000_epochs_with_halvings(course_runs, name: str) -> None:
    trainer, events = course_runs[name]
    reports = [e for e in events if isinstance(e, EpochReport)]
    changes = [e for e in events if isinstance(e, RateChange)]
    assert [r.epoch for r in reports] == list(range(5000, 100_001, 5000))
    assert all(r.test_loss is None and r.test_accuracy is None for r in reports)
    assert reports[-1].loss < reports[0].loss
    # every halving at a check epoch, each the previous rate halved
    assert changes == trainer.rate_changes
    assert all(c.epoch % 5000 == 0 and c.reason == "halving" for c in changes)
    rates = [0.5] + [c.new_lr for c in changes]
    assert [c.old_lr for c in changes] == rates[:-1]
    assert all(new == old / 2 for old, new in zip(rates, rates[1:], strict=False))
    assert trainer.lr == rates[-1]
    # each report shows the rate its epoch trained with, and the history agrees
    hist = trainer.history.arrays()
    row = {int(e): i for i, e in enumerate(hist["epoch"])}
    for r in reports:
        applied = [c.new_lr for c in changes if c.epoch < r.epoch]
        assert r.lr == (applied[-1] if applied else 0.5)
        assert hist["loss"][row[r.epoch]] == r.loss
        assert hist["accuracy"][row[r.epoch]] == r.accuracy
    assert hist["epoch"][0] == 1 and len(trainer.history) <= trainer.history.capacity


# --- determinism and chunking --------------------------------------------------------------
SHORT = preset("dlp-xor").replace(epochs=3000, log_every=250, halve_every=250)


def test_same_config_and_seed_give_a_bit_identical_run() -> None:
    a, b = Trainer(SHORT), Trainer(SHORT)
    ea, eb = a.run(), b.run()
    _assert_same_run(a, b)
    assert _same_events(ea, eb)
    assert any(isinstance(e, RateChange) for e in ea)  # the halving rule took part
    c = Trainer(SHORT.replace(seed=1))
    c.run()
    assert not np.array_equal(a.history.arrays()["loss"], c.history.arrays()["loss"])


def test_time_boxed_chunks_give_the_same_run_as_one_call() -> None:
    whole = Trainer(SHORT)
    whole_events = whole.run()
    boxed, boxed_events, calls = Trainer(SHORT), [], 0
    while not boxed.done:
        boxed_events += boxed.run(seconds=0.001)
        calls += 1
    assert calls > 3  # it really was cut into pieces
    _assert_same_run(whole, boxed)
    assert _same_events(whole_events, boxed_events)


def test_stepping_and_epoch_chunks_give_the_same_run() -> None:
    whole = Trainer(SHORT)
    whole_events = whole.run()
    for size in (1, 7, 1000):
        stepped, events = Trainer(SHORT), []
        while not stepped.done:
            events += stepped.step(size) if size < 1000 else stepped.run(epochs=size)
        _assert_same_run(whole, stepped)
        assert _same_events(whole_events, events)
    assert Trainer(SHORT).run(epochs=10**9)[-1].epoch == 3000  # clipped to the config's end


MINIBATCH = preset("dlp-linear").replace(batch_size=16, epochs=150, log_every=50, halve_every=50)


def test_mini_batches_are_deterministic_for_a_seed_and_differ_for_another() -> None:
    a, b, c = Trainer(MINIBATCH), Trainer(MINIBATCH), Trainer(MINIBATCH.replace(seed=5))
    assert not a.full_batch and a.data.n_train % 16  # a short last batch is used too
    ea, eb = a.run(), b.run()
    c.run()
    _assert_same_run(a, b)
    assert _same_events(ea, eb)
    assert not np.array_equal(a.history.arrays()["loss"], c.history.arrays()["loss"])
    assert [e.epoch for e in ea if isinstance(e, EpochReport)] == [50, 100, 150]
    # chunking does not change mini-batch training either
    d, events = Trainer(MINIBATCH), []
    while not d.done:
        events += d.step(13)
    _assert_same_run(a, d)


@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_mini_batch_epoch_loss_adds_up_to_the_full_batch_loss(loss: str) -> None:
    """sse sums over the batches, mse weighs each batch's mean by its size: with a rate too
    small to move the weights, an epoch of batches reports the full-batch figure."""
    cfg = MINIBATCH.replace(epochs=1, schedule="none", lr=1e-12, loss=loss)
    batched, full = Trainer(cfg), Trainer(cfg.replace(batch_size=0))
    batched.run()
    full.run()
    assert batched.last_loss == pytest.approx(full.last_loss, rel=1e-9)
    assert batched.last_accuracy == full.last_accuracy


# --- events --------------------------------------------------------------------------------
def test_epoch_reports_every_log_every_and_finished_at_the_end() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=1000, log_every=100))
    events = t.run()
    reports = [e for e in events if isinstance(e, EpochReport)]
    assert [r.epoch for r in reports] == list(range(100, 1001, 100))
    hist = t.history.arrays()
    for r in reports:
        assert hist["loss"][r.epoch - 1] == r.loss and hist["epoch"][r.epoch - 1] == r.epoch
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert (finished.epoch, finished.loss, finished.accuracy) == (1000, reports[-1].loss,
                                                                  reports[-1].accuracy)
    assert [e for e in events if isinstance(e, Finished)] == [finished]
    assert t.done and t.run() == [] and t.status == "finished"
    for e in events:  # every event serialises for the JSON-lines output
        json.dumps(e.to_dict(), allow_nan=False)


def test_the_last_epoch_is_reported_even_off_the_log_grid() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=250, log_every=100))
    events = t.run()
    assert [e.epoch for e in events if isinstance(e, EpochReport)] == [100, 200, 250]
    assert events[-1].loss == events[-2].loss  # Finished repeats the last report's figures


STALLED = ExperimentConfig(dataset="xor", hidden=(4, 4), activation="linear", lr=0.01,
                           epochs=1000, halve_every=100, log_every=500)


def test_rate_change_when_the_rule_fires() -> None:
    t = Trainer(STALLED)
    events = t.run()
    changes = [e for e in events if isinstance(e, RateChange)]
    assert len(changes) >= 5
    assert changes == t.rate_changes
    assert all(c.epoch % 100 == 0 and c.reason == "halving" for c in changes)
    assert all(0.9 < c.ratio < 1.1 for c in changes)
    for prev, c in zip(changes, changes[1:], strict=False):
        assert c.old_lr == prev.new_lr and c.new_lr == c.old_lr / 2
    assert t.lr == changes[-1].new_lr
    lr_col = t.history.arrays()["lr"]
    for c in changes:  # the check epoch trained with the old rate, the next with the new
        assert lr_col[c.epoch - 1] == c.old_lr
        if c.epoch < 1000:
            assert lr_col[c.epoch] == c.new_lr


def test_xor_without_activations_stays_near_chance() -> None:
    """A stack of linear layers is one linear map: it cannot separate XOR."""
    t = Trainer(STALLED.replace(epochs=5000, schedule="none"))
    t.run()
    assert t.status == "finished"
    assert t.last_accuracy <= 0.8
    assert t.evaluate()["accuracy"] <= 0.8


def test_set_lr_is_a_manual_rate_change() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=100, schedule="none"))
    t.step(10)
    change = t.set_lr(0.125)
    assert (change.epoch, change.old_lr, change.new_lr, change.reason) == (10, 0.5, 0.125, "manual")
    assert math.isnan(change.ratio) and change.event == "lr_changed"
    assert t.rate_changes == [change] and t.lr == 0.125
    t.step(10)
    lr_col = t.history.arrays()["lr"]
    assert list(lr_col[:10]) == [0.5] * 10 and list(lr_col[10:20]) == [0.125] * 10


def test_extend_trains_past_the_end() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=20, log_every=10))
    t.run()
    t.extend(5)
    assert t.status == "ready" and t.config.epochs == 25
    events = t.run()
    assert t.epoch == 25 and isinstance(events[-1], Finished) and events[-1].epoch == 25


def test_reports_carry_test_figures_with_a_split() -> None:
    cfg = ExperimentConfig(dataset="linear", n=50, test_split=0.2, hidden=(4,), epochs=200,
                           log_every=100)
    t = Trainer(cfg)
    reports = [e for e in t.run() if isinstance(e, EpochReport)]
    assert t.data.has_test
    for r in reports:
        assert r.test_loss is not None and math.isfinite(r.test_loss)
        assert 0.0 <= r.test_accuracy <= 1.0
        assert "test_loss" in r.to_dict()
    assert np.isfinite(t.history.arrays()["test_loss"]).all()
    assert t.evaluate("test")["predictions"].shape == (len(t.data.X_test),)


def test_float32_training() -> None:
    cfg = preset("dlp-xor").replace(epochs=500)
    t32, t64 = Trainer(cfg.replace(dtype="float32")), Trainer(cfg)
    t32.step(1)
    t64.step(1)
    assert all(p.dtype == np.float32 for p in t32.network.params)
    assert t32.last_loss == pytest.approx(t64.last_loss, rel=1e-5)
    t32.run()
    assert t32.status == "finished" and np.isfinite(t32.history.arrays()["loss"]).all()
    assert all(p.dtype == np.float32 for p in t32.network.params)


def test_predict_raw_uses_the_scaler() -> None:
    t = Trainer(preset("dlp-linear").replace(epochs=10))
    t.run()
    X = np.array([[0.2, 0.7], [0.9, 0.1]])
    expected = t.network.predict(t.data.scaler.transform(X))[:, 0]
    np.testing.assert_array_equal(t.predict_raw(X), expected)


# --- divergence ----------------------------------------------------------------------------
EXPLODING = ExperimentConfig(dataset="linear", hidden=(4, 4), activation="linear", loss="mse",
                             lr=1e3, epochs=1000, schedule="none", log_every=100)


@pytest.mark.parametrize(
    "overrides",
    [{}, {"optimizer": "momentum"}, {"loss": "sse"}, {"batch_size": 10}, {"dtype": "float32"}],
    ids=["sgd", "momentum", "sse", "minibatch", "float32"],
)
def test_divergence_stops_rolls_back_and_warns_nothing(overrides: dict) -> None:
    t = Trainer(EXPLODING.replace(**overrides))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        events = t.run()
        diverged = [e for e in events if isinstance(e, Diverged)]
        assert t.status == "diverged" and t.done
        assert len(diverged) == 1 and events[-1] is diverged[0]
        assert not any(isinstance(e, Finished) for e in events)
        d = diverged[0]
        assert not math.isfinite(d.loss) and d.lr == t.lr
        assert t.epoch == d.rolled_back_to == d.epoch - 1 < 1000
        assert all(np.isfinite(p).all() for p in t.network.params)
        # the figures of the kept weights (none when the very first epoch blew up)
        assert math.isfinite(t.last_loss) if d.rolled_back_to else math.isnan(t.last_loss)
        assert "learning rate" in d.message and f"epoch {d.epoch}" in d.message
        json.dumps(d.to_dict(), allow_nan=False)
        assert t.run() == []  # a diverged run stays stopped
        assert np.isfinite(t.network.predict(t.data.X_train)).all()
        t.evaluate()
    change = t.set_lr(1e-6)  # the manual rate change resumes it
    assert t.status == "ready" and change.reason == "manual"


@pytest.mark.parametrize("chunk", [1, 2, 3])
def test_divergence_is_the_same_in_chunks(chunk: int) -> None:
    whole = Trainer(EXPLODING)
    whole_events = whole.run()
    stepped, events = Trainer(EXPLODING), []
    while not stepped.done:
        events += stepped.step(chunk)
    _assert_same_run(whole, stepped)
    assert _same_events(whole_events, events)
    assert math.isfinite(stepped.last_loss)


def test_divergence_keeps_the_weights_of_the_last_finite_epoch() -> None:
    t = Trainer(EXPLODING)
    (d,) = [e for e in t.run() if isinstance(e, Diverged)]
    # "the weights of epoch k" are the ones epoch k measured its loss with: k - 1 updates
    replay = Trainer(EXPLODING)
    replay.run(epochs=d.rolled_back_to - 1)
    for p, q in zip(t.network.params, replay.network.params, strict=True):
        np.testing.assert_array_equal(p, q)
    replay.step(1)  # epoch k itself: its loss, measured with those weights, was finite
    assert replay.epoch == d.rolled_back_to and math.isfinite(replay.last_loss)


# --- bounded history -----------------------------------------------------------------------
def test_a_long_run_keeps_a_bounded_history() -> None:
    cfg = ExperimentConfig(dataset="xor", hidden=(), epochs=100_000, log_every=50_000,
                           schedule="none")
    t = Trainer(cfg, history_capacity=8)
    t.run()
    cols = t.history.arrays()
    assert t.epoch == 100_000
    assert len(t.history) <= 8
    assert cols["epoch"][0] == 1
    # every row on the stride, or a logged epoch (kept exactly: History.keep_every)
    kept = (cols["epoch"][1:] % t.history.stride == 0) | (cols["epoch"][1:] % cfg.log_every == 0)
    assert (np.diff(cols["epoch"]) > 0).all() and kept.all()
    assert t.history.nbytes <= 6 * 8 * 8


# --- a loss that blows up without overflowing ------------------------------------------
@pytest.mark.parametrize("name", ["dlp-xor", "circle-relu"])
def test_a_huge_rate_is_caught_within_one_report_and_the_best_weights_are_kept(name):
    """Sigmoid units saturate instead of overflowing, so the loss stays finite but rises."""
    config = preset(name).replace(lr=100, epochs=20_000, log_every=1000)
    initial = Trainer(config).network.params
    trainer = Trainer(config)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        events = trainer.run()
    diverged = [e for e in events if isinstance(e, Diverged)]
    assert trainer.status == "diverged" and len(diverged) == 1
    assert diverged[0].epoch <= config.log_every
    assert "rose to" in diverged[0].message and "smaller learning rate" in diverged[0].message
    # nothing better was reported before it rose, so the first epoch's weights are back
    assert diverged[0].rolled_back_to == 1
    for p, q in zip(trainer.network.params, initial, strict=True):
        np.testing.assert_array_equal(p, q)
    assert trainer.last_loss == trainer.history.columns["loss"][0]
    assert not isinstance(events[-1], Finished)


def test_a_healthy_run_never_counts_as_blown_up():
    trainer = Trainer(preset("moons-adam").replace(epochs=3000, log_every=100))
    trainer.run()
    assert trainer.status == "finished"


def test_a_run_whose_buffers_would_not_fit_is_refused_before_allocating():
    from engine.fast.workspace import Workspace, workspace_bytes
    from engine.train.trainer import MAX_WORKSPACE_BYTES

    config = ExperimentConfig(dataset="linear", n=1_000_000, hidden=(1024, 1024), bias=True)
    with pytest.raises(ConfigError) as info:
        Trainer(config)
    assert info.value.field == "n" and "GiB" in info.value.message
    assert workspace_bytes(config.sizes, 1_000_000, True, 8) > MAX_WORKSPACE_BYTES
    # the estimate is what a workspace really allocates
    ws = Workspace(Trainer(ExperimentConfig(hidden=(5, 3), bias=True)).network, 50)
    arrays = [*ws.inputs, *ws.z, *ws.delta, *ws.grads, ws.output, ws.diff, ws.y]
    assert sum(a.nbytes for a in arrays) == workspace_bytes((2, 5, 3, 1), 50, True, 8)


# --- the tapes: one epoch as prebuilt NumPy calls ----------------------------------------------
def _reference_run(config: ExperimentConfig, epochs: int, lr_at: dict[int, float]):
    """Losses, accuracies and final weights by the plain per-epoch algorithm.

    One pass at a time through a fresh workspace, the scale as a Python float and the
    accuracy counted every epoch, as the trainer did before its loop ran on tapes.
    ``lr_at`` sets the rate by hand before the given epochs.
    """
    from engine.fast.workspace import Workspace
    from engine.train.trainer import make_network

    ref = Trainer(config)  # for its data and loss only
    net = make_network(config)
    params, spare = net.params, [p.copy() for p in net.params]
    ws = Workspace(net, len(ref._X))
    ws.load(ref._X, ref._y)
    loss_fn, lr = ref.loss_fn, config.lr
    losses, accuracies = [], []
    for epoch in range(1, epochs + 1):
        lr = lr_at.get(epoch, lr)
        ws.forward(params)
        scale = loss_fn.grad_scale(ws.output.size) * -lr
        losses.append(ws.backward(params, loss_fn, scale))
        accuracies.append(ws.correct() / ws.n)
        for p, g, o in zip(params, ws.grads, spare, strict=True):
            np.add(p, g, o)
        params, spare = spare, params
    return np.array(losses), np.array(accuracies), params


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [False, True])
def test_the_tape_loop_equals_the_plain_algorithm_bit_for_bit(dtype: str, bias: bool) -> None:
    cfg = preset("dlp-linear").replace(
        epochs=300, schedule="none", dtype=dtype, bias=bias, log_every=50
    )
    losses, accuracies, params = _reference_run(cfg, 300, {120: 0.3, 121: 0.7})
    t = Trainer(cfg)
    t.run(epochs=120 - 1)
    t.set_lr(0.3)
    t.run(epochs=1)
    t.set_lr(0.7)
    for chunk in (1, 2, 77, 1000):  # chunks change the tapes' parity at their start
        t.run(epochs=chunk)
    h = t.history.arrays()
    np.testing.assert_array_equal(h["epoch"], np.arange(1, 301))
    np.testing.assert_array_equal(h["loss"], losses)
    np.testing.assert_array_equal(h["accuracy"], accuracies)
    for p, q in zip(t.network.params, params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert t.last_loss == losses[-1] and t.last_accuracy == accuracies[-1]


def test_a_rate_change_reaches_the_scale_the_backward_tape_reads() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=100, schedule="none", loss="mse"))
    t.run(epochs=3)
    grad_scale = t.loss_fn.grad_scale(t._ws.output.size)
    assert t._ws.scale == grad_scale * -0.5
    t.set_lr(0.125)
    t.run(epochs=1)
    assert t._ws.scale == grad_scale * -0.125
    assert t._ws.scale.dtype == t.network.dtype and t._ws.scale.shape == ()


def test_the_schedule_s_halving_reaches_the_scale() -> None:
    t = Trainer(preset("dlp-xor").replace(epochs=20, halve_every=5, halve_band=(1e-9, 1e9)))
    t.run()
    assert t.lr == 0.5 / 2**3  # halved at 5, 10, 15 (not at 20, the end)
    assert t._ws.scale == -t.lr


def test_reported_and_last_accuracy_equal_a_direct_evaluation() -> None:
    """The accuracy is measured only on recorded epochs, reports and each chunk's end: it is
    the accuracy of the weights that epoch's forward pass used."""
    t = Trainer(preset("dlp-xor").replace(epochs=3000, log_every=1000, hidden=(3,)))
    for stop in (999, 1999, 2999):
        t.run(epochs=stop - t.epoch)
        before = t.evaluate()["accuracy"]  # the weights epoch ``stop + 1`` trains from
        (report,) = [e for e in t.run(epochs=1) if isinstance(e, EpochReport)]
        assert report.epoch == stop + 1 and report.accuracy == before
        assert t.last_accuracy == before
    for chunk in (7, 33, 1):
        t.extend(chunk)
        t.run(epochs=chunk - 1)
        before = t.evaluate()["accuracy"]
        t.run(epochs=1)
        assert t.last_accuracy == before


def test_accuracy_after_a_divergence_is_that_of_the_kept_weights() -> None:
    t = Trainer(preset("dlp-xor").replace(activation=("linear",), bias=True, lr=5.0))
    events = t.run(epochs=50)
    assert t.status == "diverged" and isinstance(events[-1], Diverged)
    assert t.epoch >= 1 and math.isfinite(t.last_loss)
    assert t.last_accuracy == t.evaluate()["accuracy"]


def test_a_restored_snapshot_trains_on_with_new_tapes() -> None:
    """The replay restores a deep copy of the trainer's state: new parameter arrays, which
    the cached tapes (keyed by the arrays they hold) must not be used on."""
    import copy

    from engine.experiments.replay import _SCRATCH

    cfg = preset("dlp-xor").replace(epochs=400, schedule="none")
    a, b = Trainer(cfg), Trainer(cfg)
    a.run(epochs=150)
    b.run(epochs=150)
    state = copy.deepcopy({k: v for k, v in vars(a).items() if k not in _SCRATCH})
    a.run(epochs=10)
    vars(a).update(state)
    assert a.network.params[0] is state["network"].params[0]
    a.run()
    b.run()
    _assert_same_run(a, b)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_stateful_optimizers_on_the_tape_loop_match_one_epoch_at_a_time(optimizer: str) -> None:
    cfg = preset("dlp-xor").replace(optimizer=optimizer, lr=0.05, epochs=500, schedule="plateau")
    a, b = Trainer(cfg), Trainer(cfg)
    a.run()
    while not b.done:
        b.step(1)
    _assert_same_run(a, b)
