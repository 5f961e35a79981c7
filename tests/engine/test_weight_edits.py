"""A weight edited by hand (``Trainer.edit_weight``): what it changes, the run file that keeps
it, and the replay that makes it again at its epoch, bit for bit."""

from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig
from engine.experiments.replay import ReplayPlan
from engine.io.runfile import RunFileError, load_run, save_run
from engine.stack.trainer import StackTrainer
from engine.train.edits import EditError, parse_value
from engine.train.events import WeightEdited
from engine.train.trainer import Trainer
from tests.engine.replaying import assert_same_run, replay

XOR = ExperimentConfig(epochs=1500, log_every=250, halve_every=250)  # the course's: no bias
BIASED = ExperimentConfig(
    dataset="moons", n=60, hidden=(5,), bias=True, optimizer="momentum", lr=0.1,
    epochs=600, schedule="none", log_every=100, test_split=0.25, l2=0.001,
)
# tanh layers, a linear output and momentum: a large weight overflows within a few epochs
UNSTABLE = ExperimentConfig(
    dataset="moons", n=60, hidden=(6,), activation=("tanh", "linear"), bias=True, loss="mse",
    optimizer="momentum", lr=0.05, epochs=600, schedule="none", log_every=100,
)


# --- the edit itself -------------------------------------------------------------------------
@pytest.mark.parametrize("config", [XOR, BIASED], ids=["sgd", "momentum-l2-test-split"])
def test_an_edit_then_training_is_training_from_weights_set_by_hand(config):
    """The edit changes the one entry in place; the cached passes see it at the next epoch,
    exactly as if the weights had been set directly (the optimizer's state carries on)."""
    edited, by_hand = Trainer(config), Trainer(config)
    edited.run(200)
    by_hand.run(200)
    kind, row, col = ("bias", 1, 2) if config.bias else ("weight", 2, 3)
    event = edited.edit_weight(1, kind, row, col, 1.75)
    entry = (2, 1) if config.bias else (1, 2)  # [W; b] from 0: the bias row is the last one
    by_hand.network.params[0][entry] = 1.75
    assert np.array_equal(edited.network.params[0], by_hand.network.params[0])
    edited.run(300)
    by_hand.run(300)
    ha, hb = edited.history.arrays(), by_hand.history.arrays()
    for name in ha:
        assert np.array_equal(ha[name], hb[name], equal_nan=True), name
    for pa, pb in zip(edited.network.params, by_hand.network.params, strict=True):
        assert np.array_equal(pa, pb)
    assert event.epoch == 200 and (event.layer, event.kind, event.row, event.col) == (
        1, kind, row, col)


def test_the_edit_is_recorded_with_the_figures_of_the_new_weights():
    trainer = Trainer(BIASED)
    trainer.run(100)
    old = float(trainer.network.params[1][3, 0])  # layer 2, input 4 -> the output
    event = trainer.edit_weight(2, "weight", 4, 1, -3)
    assert trainer.weight_edits == [event]
    assert (event.old, event.new, event.rate_changes_before) == (old, -3.0, 0)
    now = trainer.evaluate("train")
    assert (event.loss, event.accuracy) == (now["loss"], now["accuracy"])
    assert (trainer.last_loss, trainer.last_accuracy) == (now["loss"], now["accuracy"])
    test = trainer.evaluate("test")
    assert trainer.last_test == (test["loss"], test["accuracy"])
    assert event.to_dict() == {
        "event": "weight_edited", "epoch": 100, "layer": 2, "kind": "weight", "row": 4,
        "col": 1, "old": old, "new": -3.0, "loss": now["loss"], "accuracy": now["accuracy"]}
    trainer.set_lr(0.05)
    assert trainer.edit_weight(1, "bias", 1, 1, 0.5).rate_changes_before == 1


def test_a_float32_network_stores_the_value_it_can_hold():
    trainer = Trainer(XOR.replace(dtype="float32"))
    event = trainer.edit_weight(1, "weight", 1, 1, 0.1)
    assert event.new == float(np.float32(0.1)) != 0.1
    assert trainer.network.params[0][0, 0] == np.float32(0.1)


@pytest.mark.parametrize("edit, fragment", [
    ((0, "weight", 1, 1, 1.0), "layer 0 does not exist: the network has layers 1 to 3"),
    ((4, "weight", 1, 1, 1.0), "layer 4 does not exist"),
    ((1, "weight", 3, 1, 1.0), "layer 1's weights are 2×4 (rows 1 to 2, columns 1 to 4); "
                               "row 3, column 1 is outside"),
    ((1, "weight", 1, 5, 1.0), "row 1, column 5 is outside"),
    ((3, "weight", 1, 0, 1.0), "row 1, column 0 is outside"),
    ((1, "bias", 1, 1, 1.0), "the network has no biases"),
    ((1, "gain", 1, 1, 1.0), "kind 'gain' is neither 'weight' nor 'bias'"),
    ((1, "weight", 1.5, 1, 1.0), "the row must be a whole number"),
    ((1, "weight", 1, 1, math.nan), "nan is not a finite number"),
    ((1, "weight", 1, 1, -math.inf), "-inf is not a finite number"),
    ((1, "weight", 1, 1, "2"), "'2' is not a number"),
])
def test_bad_edits_are_refused_in_one_line_and_change_nothing(edit, fragment):
    trainer = Trainer(XOR)
    trainer.run(10)
    before = [p.copy() for p in trainer.network.params]
    with pytest.raises(EditError) as info:
        trainer.edit_weight(*edit)
    assert fragment in str(info.value) and "\n" not in str(info.value)
    assert all(np.array_equal(p, q) for p, q in zip(before, trainer.network.params, strict=True))
    assert trainer.weight_edits == []


def test_a_value_too_large_for_float32_is_refused():
    trainer = Trainer(XOR.replace(dtype="float32"))
    with pytest.raises(EditError, match="1e\\+39 is too large for a float32 network"):
        trainer.edit_weight(1, "weight", 1, 1, 1e39)


def test_a_bias_row_other_than_1_is_refused():
    with pytest.raises(EditError, match="layer 1's biases are 1×5"):
        Trainer(BIASED).edit_weight(1, "bias", 2, 1, 0.0)


@pytest.mark.parametrize("text, fragment", [
    ("", "type a number first"), ("abc", "'abc' is not a number"),
    ("nan", "nan is not a finite number"), ("1e999", "1e999 is not a finite number"),
])
def test_typed_values_are_parsed_or_refused(text, fragment):
    with pytest.raises(EditError, match=fragment):
        parse_value(text)
    assert parse_value(" -2.5e-1 ") == -0.25


def test_a_diverged_run_and_a_stacked_network_refuse_edits():
    trainer = Trainer(UNSTABLE)
    trainer.run(50)
    trainer.set_lr(50.0)
    trainer.run()
    assert trainer.status == "diverged"
    with pytest.raises(EditError, match="the run diverged: change its learning rate"):
        trainer.edit_weight(1, "weight", 1, 1, 0.0)
    trainer.set_lr(0.01)  # resumes it: now it can be edited
    trainer.edit_weight(1, "weight", 1, 1, 0.0)
    member = StackTrainer([XOR, XOR.replace(seed=1)]).member(1)
    with pytest.raises(EditError, match="trained in a stack cannot be edited"):
        member.edit_weight(1, "weight", 1, 1, 0.0)


def test_a_divergence_right_after_an_edit_goes_back_to_the_weights_before_it():
    trainer = Trainer(UNSTABLE)
    trainer.run(100)
    before = [p.copy() for p in trainer.network.params]
    trainer.edit_weight(2, "weight", 1, 1, 1e200)  # the output overflows at once
    events = trainer.run(5)
    assert trainer.status == "diverged" and trainer.epoch == 100
    assert events[0].rolled_back_to == 100
    assert all(np.array_equal(p, q) for p, q in zip(before, trainer.network.params, strict=True))


# --- the run file --------------------------------------------------------------------------
def test_the_run_file_keeps_the_edits_exactly(tmp_path):
    trainer = Trainer(BIASED)
    trainer.edit_weight(1, "weight", 2, 3, 0.1 + 0.2)  # a float whose every bit matters
    trainer.run(100)
    trainer.edit_weight(1, "bias", 1, 5, -1e-7)
    saved = load_run(save_run(tmp_path / "run.npz", trainer))
    assert saved.weight_edits == trainer.weight_edits
    with zipfile.ZipFile(tmp_path / "run.npz") as archive:
        meta = json.loads(str(np.load(archive.open("meta.npy"))))
    assert meta["version"] == 2  # an nn-tui that cannot replay edits refuses it
    reopened = load_run(save_run(tmp_path / "again.npz", _reopened(saved)))
    assert reopened.weight_edits == trainer.weight_edits, "saved again, it keeps them"


def _reopened(saved):
    from engine.io.runfile import trainer_from_saved

    return trainer_from_saved(saved)


def test_a_run_without_edits_stays_version_1(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(10)
    with zipfile.ZipFile(save_run(tmp_path / "run.npz", trainer)) as archive:
        meta = json.loads(str(np.load(archive.open("meta.npy"))))
    assert meta["version"] == 1 and "weight_edits" not in meta
    assert load_run(tmp_path / "run.npz").weight_edits == []


def _with_edits(tmp_path, edits) -> object:
    """A saved run whose metadata holds these edit records."""
    trainer = Trainer(XOR)
    trainer.run(20)
    path = save_run(tmp_path / "run.npz", trainer)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["meta"]))
    meta.update(version=2, weight_edits=edits)
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    return path


GOOD = {"epoch": 10, "layer": 1, "kind": "weight", "row": 1, "col": 1, "old": 0.5, "new": 2.0,
        "loss": 0.25, "accuracy": 0.75, "rate_changes_before": 0}


@pytest.mark.parametrize("change, fragment", [
    ({"layer": 5}, "weight edit 1: layer 5 does not exist"),
    ({"kind": "bias"}, "weight edit 1: the network has no biases"),
    ({"col": 9}, "row 1, column 9 is outside"),
    ({"new": None}, "None is not a number"),
    ({"new": 1e309}, "not a finite number"),
    ({"epoch": 21}, "its epoch 21 is not between 0 and 20"),
    ({"epoch": -1}, "an epoch or index is not a whole number"),
    ({"row": True}, "an epoch or index is not a whole number"),
    ({"old": "x"}, "a figure is not a number"),
])
def test_a_damaged_edit_is_refused_on_load(tmp_path, change, fragment):
    path = _with_edits(tmp_path, [{**GOOD, **change}])
    with pytest.raises(RunFileError) as info:
        load_run(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_edits_out_of_order_or_misshapen_are_refused(tmp_path):
    path = _with_edits(tmp_path, [GOOD, {**GOOD, "epoch": 5}])
    with pytest.raises(RunFileError, match="weight edit 2: its epoch 5 is not between 10"):
        load_run(path)
    with pytest.raises(RunFileError, match="weight edit 1: it is not an object"):
        load_run(_with_edits(tmp_path, [{"epoch": 1}]))
    with pytest.raises(RunFileError, match="its weight edits are not a list"):
        load_run(_with_edits(tmp_path, {"epoch": 1}))
    assert load_run(_with_edits(tmp_path, [GOOD, {**GOOD, "old": None}])).weight_edits[1].old != 0


# --- the replay ----------------------------------------------------------------------------
def test_a_replay_makes_each_edit_at_its_epoch_and_reproduces_the_run_exactly(tmp_path):
    trainer = Trainer(XOR)
    trainer.edit_weight(1, "weight", 1, 1, 0.75)  # before any training
    trainer.run(400)
    trainer.edit_weight(2, "weight", 3, 2, -1.5)
    trainer.run(333)
    trainer.edit_weight(3, "weight", 4, 1, 2.0)
    trainer.edit_weight(3, "weight", 4, 1, 2.5)  # twice at one epoch
    trainer.run(100)
    plan, again = replay(tmp_path, trainer)
    assert plan.reproduces and len(plan.edits) == 4
    assert_same_run(trainer, again)
    result = plan.compare(again)
    assert result.exact and result.weights_equal
    assert result.message() == "history reproduced exactly (833 rows)"


def test_without_its_edits_the_replay_would_differ(tmp_path):
    """The check has teeth: the same run with its edits dropped does not reproduce."""
    trainer = Trainer(XOR)
    trainer.run(300)
    trainer.edit_weight(1, "weight", 2, 2, 1.0)
    trainer.run(300)
    trainer.weight_edits.clear()
    plan, again = replay(tmp_path, trainer)
    assert not plan.compare(again).exact


def test_edits_and_rate_changes_at_one_epoch_keep_their_order(tmp_path):
    trainer = Trainer(BIASED)
    trainer.run(150)
    trainer.set_lr(0.2)
    trainer.edit_weight(1, "bias", 1, 2, 0.5)
    trainer.set_lr(0.05)
    trainer.run(150)
    trainer.edit_weight(2, "weight", 1, 1, -0.5)
    trainer.set_lr(0.3)
    trainer.run()  # to the end: an edit at the last epoch is made too
    trainer.edit_weight(1, "weight", 1, 1, 0.25)
    plan, again = replay(tmp_path, trainer)
    assert [e.rate_changes_before for e in plan.edits] == [1, 2, 3]
    assert_same_run(trainer, again)
    assert plan.compare(again).exact


def test_an_edit_after_a_rescued_divergence_and_a_divergence_after_an_edit_replay(tmp_path):
    trainer = Trainer(UNSTABLE)
    trainer.run(100)
    trainer.set_lr(50.0)
    trainer.run()
    assert trainer.status == "diverged"
    trainer.set_lr(0.01)  # the rescue, then an edit at the same epoch
    trainer.edit_weight(1, "weight", 2, 3, 0.5)
    trainer.run(30)  # (no report yet: the weights kept are too large to reach one)
    assert trainer.status == "ready"
    trainer.edit_weight(2, "weight", 1, 1, 1e200)
    trainer.run()  # diverges at once: the run ends diverged, back before the edit
    assert trainer.status == "diverged"
    plan, again = replay(tmp_path, trainer)
    assert_same_run(trainer, again)
    assert plan.compare(again).exact


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float32_minibatch_runs_with_edits_reproduce_too(tmp_path, optimizer):
    config = ExperimentConfig(
        dataset="circle", n=80, hidden=(5,), bias=True, batch_size=16, dtype="float32",
        optimizer=optimizer, lr=0.05, epochs=200, schedule="none",
    )
    trainer = Trainer(config)
    trainer.run(120)
    trainer.edit_weight(1, "bias", 1, 4, 0.3)
    trainer.run()
    plan, again = replay(tmp_path, trainer)
    assert_same_run(trainer, again)


def test_a_rerun_on_a_changed_network_leaves_out_the_edits_that_do_not_fit(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(100)
    trainer.edit_weight(1, "weight", 1, 4, 1.0)  # unit 4 of layer 1: not in a 2-3-... net
    trainer.edit_weight(1, "weight", 1, 1, 1.0)
    trainer.run(100)
    plan, again = replay(tmp_path, trainer, config=XOR.replace(hidden=(3, 4)))
    assert not plan.reproduces and plan.left_out == 1 and len(plan.edits) == 1
    assert [(e.layer, e.row, e.col) for e in again.weight_edits] == [(1, 1, 1)]


def test_a_stacked_run_with_edits_is_refused_by_the_replay(tmp_path):
    member = StackTrainer([XOR, XOR.replace(seed=1)]).member(0)
    member.weight_edits.append(WeightEdited(0, 1, "weight", 1, 1, 0.5, 1.0))
    saved = load_run(save_run(tmp_path / "stacked.npz", member))
    assert saved.stacked and saved.weight_edits
    with pytest.raises(RunFileError, match="trained in a stack and has 1 weight edits"):
        ReplayPlan.from_saved(saved)
    plan = ReplayPlan.from_saved(saved, epochs=10)  # a re-run goes through one trainer
    assert plan.stacked is None and len(plan.edits) == 1


def test_the_committed_run_without_edits_still_loads_and_replays(tmp_path):
    """A version-1 file saved before edits existed: no edits, and its replay is exact where
    the arithmetic is the saver's (elsewhere rounding may drift, and the message says so)."""
    from pathlib import Path

    from engine.io.numerics import differences, fingerprint

    path = Path(__file__).parents[1] / "tui" / "runs" / "dlp-xor-15000.npz"
    saved = load_run(path)
    assert saved.weight_edits == [] and saved.epoch == 15_000
    plan = ReplayPlan.from_saved(saved)
    again = Trainer(plan.config, history_capacity=plan.history_capacity)
    while not plan.done(again):
        plan.advance(again)
    result = plan.compare(again)
    if not differences(saved.numerics or {}, fingerprint()):
        assert result.exact and result.weights_equal, result.message()
    else:
        assert result.exact or "drifts by rounding" in result.message()
