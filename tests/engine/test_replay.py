"""Replaying a saved run from scratch reproduces it bit for bit, manual rate changes too."""

from __future__ import annotations

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig
from engine.experiments.replay import Comparison, ReplayPlan, compare_histories
from engine.io.runfile import load_run, save_run
from engine.train.trainer import Trainer
from tests.engine.replaying import assert_same_run, replay

XOR = ExperimentConfig(epochs=3000, log_every=500, halve_every=500)
# tanh layers, a linear output and momentum: a rate of 50 overflows within a few dozen epochs
UNSTABLE = ExperimentConfig(
    dataset="moons", n=60, hidden=(6,), activation=("tanh", "linear"), bias=True, loss="mse",
    optimizer="momentum", lr=0.05, epochs=2000, schedule="none", log_every=500,
)


def test_a_plain_run_reproduces_exactly(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(epochs=1234)  # stopped part-way: the replay trains as many epochs
    plan, again = replay(tmp_path, trainer)
    assert plan.reproduces and plan.epochs == 1234
    assert_same_run(trainer, again)
    result = plan.compare(again)
    assert result.exact and result.weights_equal
    assert result.message() == "history reproduced exactly (1,234 rows)"


def test_manual_rate_changes_are_replayed_at_their_epochs(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(700)
    trainer.set_lr(2.0)
    trainer.run(300)
    trainer.set_lr(0.1)
    trainer.set_lr(0.05)  # two presses at one epoch
    trainer.run()
    plan, again = replay(tmp_path, trainer)
    assert [c.epoch for c in plan.manual] == [700, 1000, 1000]
    assert_same_run(trainer, again)
    assert [c.new_lr for c in again.rate_changes if c.reason == "manual"] == [2.0, 0.1, 0.05]
    assert plan.compare(again).exact


def test_a_rate_change_after_a_divergence_is_replayed_through_it(tmp_path):
    trainer = Trainer(UNSTABLE)
    trainer.run(200)
    trainer.set_lr(50.0)
    trainer.run()
    assert trainer.status == "diverged"
    trainer.set_lr(0.01)  # the user's rescue, which resumes the run
    trainer.run(300)
    plan, again = replay(tmp_path, trainer)
    assert_same_run(trainer, again)
    assert plan.compare(again).exact


def test_a_run_that_ended_diverged_replays_to_the_same_weights(tmp_path):
    trainer = Trainer(UNSTABLE)
    trainer.run(200)
    trainer.set_lr(50.0)
    trainer.run()
    plan, again = replay(tmp_path, trainer)
    assert again.status == "diverged"
    assert_same_run(trainer, again)


def test_a_changed_config_is_a_rerun_not_a_reproduction(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(500)
    trainer.set_lr(1.0)
    trainer.run(500)
    plan, again = replay(tmp_path, trainer, config=XOR.replace(hidden=(8, 8)))
    assert not plan.reproduces and plan.changed == ("hidden",)
    assert plan.compare(again) is None
    assert again.epoch == 1000 and again.lr == 1.0  # same length, same manual change
    plan, _ = replay(tmp_path, trainer, config=XOR.replace(log_every=100))
    assert plan.reproduces  # what is reported is not what is trained
    plan, again = replay(tmp_path, trainer, epochs=1500)
    assert plan.changed == ("epochs",) and again.epoch == 1500


def test_compare_counts_rows_that_differ_or_are_missing():
    a, b = Trainer(XOR), Trainer(XOR.replace(lr=0.6))
    a.run(100)
    b.run(100)
    assert compare_histories(a.history, a.history) == (0, None)
    differing, first = compare_histories(a.history, b.history)
    assert first == 1 and differing == 100  # every column counts: the rate differs from epoch 1
    same_rate = ExperimentConfig(epochs=3000, log_every=500, halve_every=500, seed=1)
    d = Trainer(same_rate)
    d.run(100)
    assert compare_histories(a.history, d.history) == (100, 1)
    c = Trainer(XOR)
    c.run(90)
    assert compare_histories(a.history, c.history) == (10, 91)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_float32_and_minibatches_reproduce_too(tmp_path, optimizer):
    config = ExperimentConfig(
        dataset="circle", n=80, hidden=(5,), bias=True, batch_size=16, dtype="float32",
        optimizer=optimizer, lr=0.05, epochs=200, schedule="none",
    )
    trainer = Trainer(config)
    trainer.run(120)
    trainer.set_lr(0.02)
    trainer.run()
    plan, again = replay(tmp_path, trainer)
    assert_same_run(trainer, again)


def _saved_by_an_older_engine(tmp_path, trainer: Trainer):
    """The run as an engine before ``ARITHMETIC`` was saved would have stored it: no
    revision in its metadata, and a loss that differs in the last bits from epoch 100."""
    import json

    from engine.io.runfile import run_arrays

    arrays = run_arrays(trainer)
    meta = json.loads(str(arrays["meta"]))
    del meta["arithmetic"]
    arrays["meta"] = np.array(json.dumps(meta))
    arrays["history_loss"] = arrays["history_loss"].copy()
    arrays["history_loss"][99:] = np.nextafter(arrays["history_loss"][99:], np.inf)
    path = tmp_path / "old.npz"
    np.savez_compressed(path, **arrays)
    return load_run(path)


def test_a_run_saved_by_an_engine_that_rounds_differently_says_so(tmp_path):
    trainer = Trainer(XOR)
    trainer.run(epochs=300)
    saved = _saved_by_an_older_engine(tmp_path, trainer)
    assert saved.arithmetic == 1
    plan = ReplayPlan.from_saved(saved)
    again = Trainer(plan.config, history_capacity=plan.history_capacity)
    while not plan.done(again):
        plan.advance(again)
    result = plan.compare(again)
    assert not result.exact and result.first_epoch == 100
    assert result.message().startswith(
        "history differs from the saved run in 201 of 300 rows (first at epoch 100, losses up "
        "to 2e-16 apart); it was saved by an earlier nn-tui, and this one rounds differently"
    )
    # a run saved by this engine that differs gets no such excuse
    current = ReplayPlan.from_saved(load_run(save_run(tmp_path / "new.npz", trainer)))
    assert current.saved_arithmetic == saved.arithmetic + 1
    assert "earlier nn-tui" not in Comparison(300, 1, 5, True).message()


def test_the_loss_gap_says_how_far_apart_two_histories_are():
    from engine.experiments.replay import loss_gap
    from engine.train.history import History

    def history(losses):
        h = History()
        for epoch, loss in enumerate(losses, start=1):
            h.record(epoch, loss, 1.0, 0.1)
        return h

    same = history([1.0, 0.0, float("nan"), 0.5])
    assert loss_gap(same, history([1.0, 0.0, float("nan"), 0.5])) == 0.0
    assert loss_gap(same, history([1.0, 0.0, float("nan"), 0.4])) == pytest.approx(0.2)
    assert loss_gap(same, history([1.0, 0.0, 2.0, 0.5])) == float("inf")
    assert loss_gap(same, history([1.0])) == 0.0  # only the rows both have
    assert Comparison(4, 1, 4, True, loss_gap=0.2).message().startswith(
        "history differs from the saved run in 1 of 4 rows (first at epoch 4, losses up to 20% "
        "apart); the file does not say which NumPy, BLAS and CPU saved it"
    )
    one_sided = Comparison(4, 1, 3, True, loss_gap=float("inf")).message()
    assert "a loss not finite on one side only" in one_sided


HERE = {"numpy": "2.4.6", "blas": "scipy-openblas 0.3.31", "blas_core": "SkylakeX",
        "machine": "x86_64", "simd": "AVX512_ICL"}


def test_a_replay_on_other_arithmetic_says_how_far_it_matched_and_that_it_is_expected():
    """Another BLAS kernel (or SIMD level, or NumPy) is not a failure: the message says
    how many rows matched bit for bit, that the rest is rounding, on which arithmetic
    each side ran, and that the file's weights are exact."""
    other = {**HERE, "blas_core": "Haswell"}
    result = Comparison(300, 120, 181, False, loss_gap=2e-4, matched=180,
                        saved_numerics=other, here_numerics=HERE,
                        final_losses=(0.00025324, 0.00025340))
    assert result.other_arithmetic == ["blas_core"]
    assert result.message() == (
        "history matches the saved run bit for bit for 180 of 300 rows, then drifts by "
        "rounding (from epoch 181, losses up to 0.02% apart; last loss 0.0002534 here, "
        "0.00025324 saved): expected, since it was saved with NumPy 2.4.6, "
        "scipy-openblas 0.3.31 (Haswell), x86_64 AVX512_ICL and this is NumPy 2.4.6, "
        "scipy-openblas 0.3.31 (SkylakeX), x86_64 AVX512_ICL. A re-run matches bit for bit "
        "only with the same NumPy and BLAS on the same kind of CPU; the weights in the file "
        "are exact"
    )
    same = Comparison(300, 1, 5, True, saved_numerics=HERE, here_numerics=HERE)
    assert same.message().endswith("so rounding does not explain it")


def test_a_run_file_records_the_arithmetic_that_saved_it(tmp_path):
    """The fingerprint is saved and read back; a hostile one is cleaned, never refused."""
    from engine.io.numerics import KEYS, fingerprint
    from engine.io.runfile import _numerics

    trainer = Trainer(ExperimentConfig(epochs=10, log_every=5))
    trainer.run()
    saved = load_run(save_run(tmp_path / "run.npz", trainer))
    assert saved.numerics == fingerprint() and set(saved.numerics) == set(KEYS)
    assert fingerprint()["numpy"] == np.__version__
    assert _numerics({"numpy": "2\x1b[31m.0", "blas": 7, "evil": "x"}) == {"numpy": "2[31m.0"}
    assert _numerics(["not", "a", "dict"]) == {}
    plan = ReplayPlan.from_saved(saved)
    again = Trainer(plan.config, history_capacity=plan.history_capacity)
    while not plan.done(again):
        plan.advance(again)
    result = plan.compare(again)
    assert result.exact and result.matched == result.rows and result.other_arithmetic == []
