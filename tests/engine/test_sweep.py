"""Sweeps: the grid, one run as plain data, many runs in worker processes, the CSV."""

from __future__ import annotations

import json
import math
import multiprocessing
import time

import pytest

from engine.config.experiment import ConfigError, ExperimentConfig
from engine.experiments.sweep import (
    MAX_RUNS,
    RESULT_COLUMNS,
    SweepError,
    downsample_indices,
    expand_grid,
    load_sweep_csv,
    run_one,
    run_sweep,
    sweep_csv,
    varied_fields,
)

BASE = ExperimentConfig(epochs=400, log_every=100)


# --- the grid ----------------------------------------------------------------------------
def test_expand_grid_is_the_product_first_axis_slowest():
    configs = expand_grid(BASE, {"lr": ["0.1", "0.5", "1"], "hidden": ["4,4", "8,8"]})
    assert [(c.lr, c.hidden) for c in configs] == [
        (0.1, (4, 4)), (0.1, (8, 8)), (0.5, (4, 4)), (0.5, (8, 8)), (1.0, (4, 4)), (1.0, (8, 8)),
    ]
    assert all(c.epochs == 400 for c in configs)  # the base's other fields stay
    assert varied_fields(configs) == ["hidden", "lr"]  # in the config's field order


def test_expand_grid_takes_parsed_values_and_drops_repeats():
    configs = expand_grid(BASE, {"activation": [("tanh",), "tanh", "sigmoid"], "bias": ["on"]})
    assert [c.activation for c in configs] == [("tanh",), ("sigmoid",)]
    assert all(c.bias for c in configs)  # a one-value axis is just an override
    assert varied_fields(configs) == ["activation"]
    assert expand_grid(BASE, {}) == [BASE]


@pytest.mark.parametrize(
    ("axes", "field", "needle"),
    [
        ({"lr": ["0.1", "x"]}, "lr", 'learning rate must be a number in (0, 1e+06], got "x"'),
        ({"hidden": ["4,4", "4,x"]}, "hidden", "hidden sizes must be positive integers"),
        ({"dataset": ["xor", "moon"]}, "dataset", 'did you mean "moons"'),
        ({"lr": []}, "lr", "give at least one value"),
        ({"lrate": ["1"]}, "lrate", 'unknown setting "lrate"'),
    ],
)
def test_a_bad_value_names_its_field(axes, field, needle):
    with pytest.raises(ConfigError) as info:
        expand_grid(BASE, axes)
    assert info.value.field == field
    assert needle in info.value.message


def test_a_combination_the_config_refuses_names_its_run():
    with pytest.raises(ConfigError) as info:
        expand_grid(BASE, {"hidden": ["4", "4,4"], "activation": ["sigmoid", "tanh,tanh,sigmoid"]})
    assert info.value.field == "activation"
    assert "(in the run with hidden 4, activation tanh,tanh,sigmoid)" in info.value.message


def test_the_grid_size_is_bounded():
    axes = {"seed": [str(i) for i in range(200)], "data_seed": [str(i) for i in range(51)]}
    assert MAX_RUNS < 200 * 51
    with pytest.raises(ConfigError, match=r"the grid has 10,200 runs \(200 x 51\)"):
        expand_grid(BASE, axes)


# --- one run ------------------------------------------------------------------------------
def test_run_one_returns_plain_data():
    result = run_one(BASE.replace(epochs=2000).to_dict(), run=3)
    assert result["run"] == 3 and result["status"] == "finished" and result["message"] == ""
    assert result["epochs_run"] == 2000
    assert result["config"] == BASE.replace(epochs=2000).to_dict()
    assert 0 < result["final_loss"] < 1 and result["final_accuracy"] == 1.0
    assert math.isnan(result["test_loss"])  # no test split
    assert result["seconds"] >= result["train_seconds"] > 0
    assert len(result["curve_epochs"]) == len(result["curve_loss"]) == 200
    assert result["curve_epochs"][0] == 1 and result["curve_epochs"][-1] == 2000
    # plain data: JSON can hold it all (NaN aside), no NumPy types anywhere
    json.dumps(result)
    assert all(type(v) in (int, float, str, list, dict, type(None)) for v in result.values())


def test_perfect_epoch_is_the_first_recorded_epoch_at_100_percent():
    from engine.train.trainer import Trainer

    config = BASE.replace(epochs=2000)
    trainer = Trainer(config)
    trainer.run()
    accuracy = trainer.history.arrays()["accuracy"]
    first = int(next(i for i, a in enumerate(accuracy) if a == 1.0)) + 1
    assert run_one(config.to_dict())["perfect_epoch"] == first
    assert run_one(BASE.replace(epochs=5).to_dict())["perfect_epoch"] is None


def test_run_one_reports_errors_and_divergence_instead_of_raising():
    bad_batch = run_one(BASE.replace(batch_size=50).to_dict())
    assert bad_batch["status"] == "error"
    assert "batch size must be at most the 21 training points" in bad_batch["message"]
    bad_config = run_one({**BASE.to_dict(), "lr": "fast"})
    assert bad_config["status"] == "error" and "learning rate" in bad_config["message"]
    diverged = run_one(
        BASE.replace(activation=("linear",), loss="mse", lr=1e5, schedule="none").to_dict()
    )
    assert diverged["status"] == "diverged" and "diverged at epoch" in diverged["message"]


def test_downsample_indices():
    assert downsample_indices(5, 200).tolist() == [0, 1, 2, 3, 4]
    picked = downsample_indices(10_000, 200)
    assert len(picked) == 200 and picked[0] == 0 and picked[-1] == 9_999


# --- many runs ----------------------------------------------------------------------------
def test_run_sweep_runs_six_configs_in_worker_processes():
    configs = expand_grid(BASE, {"lr": ["0.1", "0.5", "1"], "hidden": ["4,4", "8,8"]})
    finished, progress = [], []
    results = run_sweep(configs, workers=2, on_result=finished.append,
                        on_progress=progress.append)
    assert [r["run"] for r in results] == list(range(6))
    assert sorted(r["run"] for r in finished) == list(range(6))
    assert all(r["status"] == "finished" for r in results)
    assert [r["config"] for r in results] == [c.to_dict() for c in configs]
    assert progress and {p["run"] for p in progress} <= set(range(6))
    # a worker process trains exactly as this one does
    here = run_one(configs[4].to_dict(), run=4)
    for key in ("final_loss", "final_accuracy", "perfect_epoch", "curve_loss", "epochs_run"):
        assert results[4][key] == here[key], key


def test_run_sweep_of_nothing():
    assert run_sweep([], workers=2) == []


def test_run_sweep_stops_its_workers_when_a_callback_raises():
    configs = expand_grid(BASE.replace(epochs=200_000), {"seed": ["0", "1", "2"]})

    def stop(update):
        raise KeyboardInterrupt

    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_sweep(configs, workers=2, on_progress=stop)
    assert time.perf_counter() - start < 5  # well before the runs' 200,000 epochs
    assert multiprocessing.active_children() == []  # the workers were stopped, not left


# --- the CSV --------------------------------------------------------------------------------
def test_sweep_csv_reads_back(tmp_path):
    configs = expand_grid(BASE, {"lr": ["0.1", "0.123456789"], "bias": ["off", "on"]})
    results = [run_one(c.to_dict(), run=i) for i, c in enumerate(configs)]
    results.append(run_one(BASE.replace(batch_size=99).to_dict(), run=4))  # an error row
    path = tmp_path / "sweep.csv"
    path.write_text(sweep_csv(results, varied=["lr", "bias"]))
    header = path.read_text().splitlines()[0].split(",")
    assert header[:4] == ["run", "varied", "lr", "bias"]
    assert header[-len(RESULT_COLUMNS):] == list(RESULT_COLUMNS)
    back = load_sweep_csv(path)
    assert len(back) == 5
    for b, r in zip(back, results, strict=True):
        assert b["varied"] == ["lr", "bias"]
        assert b["config"] == r["config"]  # 0.123456789 survives: floats are written exactly
        for key in ("run", "status", "message", "epochs_run", "perfect_epoch"):
            assert b[key] == r[key], key
        for key in ("final_loss", "final_accuracy", "test_loss", "seconds"):
            assert b[key] == r[key] or (math.isnan(b[key]) and math.isnan(r[key])), key
        assert b["curve_epochs"] == r["curve_epochs"]
        assert b["curve_loss"] == pytest.approx(r["curve_loss"], rel=1e-5)
    assert back[4]["status"] == "error" and "batch size" in back[4]["message"]


def test_load_sweep_csv_refuses_other_files(tmp_path):
    with pytest.raises(SweepError, match="does not exist"):
        load_sweep_csv(tmp_path / "nothing.csv")
    other = tmp_path / "history.csv"
    other.write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(SweepError, match="not an nn-tui sweep file"):
        load_sweep_csv(other)
    result = run_one(BASE.replace(epochs=3).to_dict(), run=0)
    damaged = tmp_path / "damaged.csv"
    damaged.write_text(sweep_csv([result]).replace(",sse,", ",sse2,"))
    with pytest.raises(SweepError, match="line 2: loss must be one of"):
        load_sweep_csv(damaged)


def test_run_sweep_from_a_thread_can_be_stopped_and_keeps_the_finished_runs():
    """As the app would run it: off the main thread, stopped by a flag."""
    import threading

    configs = [BASE.replace(epochs=10).to_dict(), BASE.replace(epochs=300_000).to_dict()]
    stop = threading.Event()
    out: list = []

    def sweep():
        out.append(run_sweep(configs, workers=2, should_stop=stop.is_set,
                             on_result=lambda r: stop.set()))  # stop after the first result

    start = time.perf_counter()
    thread = threading.Thread(target=sweep)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.perf_counter() - start < 10  # the 300,000-epoch run was cut short
    assert [r["run"] for r in out[0]] == [0]
    assert multiprocessing.active_children() == []
