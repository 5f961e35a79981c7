"""Sweeps in stacks: which runs train together, how stacks spread over workers, and that a
stacked sweep gives the rows a sweep of single runs gives."""

from __future__ import annotations

import pytest

from engine.config.experiment import preset
from engine.experiments.sweep import (
    MAX_STACK,
    RESULT_COLUMNS,
    expand_grid,
    run_one,
    run_stack,
    run_sweep,
    stack_groups,
)

XOR = preset("dlp-xor").replace(epochs=300, log_every=100)


def sizes(groups: list[list[int]]) -> list[int]:
    return [len(g) for g in groups]


def covers(groups: list[list[int]], n: int) -> bool:
    return sorted(i for g in groups for i in g) == list(range(n))


def test_rates_seeds_schedules_and_momentum_stack():
    configs = expand_grid(XOR, {"lr": ["0.1", "0.5"], "seed": ["0", "1"],
                                "halve_every": ["100", "200"], "momentum": ["0.5", "0.9"]})
    assert stack_groups(configs) == [list(range(16))]


@pytest.mark.parametrize("axis, values", [
    ("hidden", ["4,4", "8,8"]),
    ("optimizer", ["sgd", "adam"]),
    ("activation", ["sigmoid", "tanh"]),
    ("batch_size", ["0", "7"]),
    ("epochs", ["100", "200"]),
    ("data_seed", ["0", "1"]),
])
def test_other_settings_go_to_separate_stacks(axis, values):
    configs = expand_grid(XOR, {axis: values, "lr": ["0.1", "0.5", "1"]})
    groups = stack_groups(configs)
    assert sizes(groups) == [3, 3] and covers(groups, 6)
    for group in groups:
        assert len({str(getattr(configs[i], axis)) for i in group}) == 1


def test_a_grid_of_one_stack_is_split_for_the_workers():
    configs = expand_grid(XOR, {"lr": [str(0.1 * i) for i in range(1, 9)],
                                "seed": [str(s) for s in range(8)]})
    assert sizes(stack_groups(configs, workers=1)) == [64]
    assert sizes(stack_groups(configs, workers=2)) == [32, 32]
    assert sizes(stack_groups(configs, workers=3)) == [22, 21, 21]
    assert covers(stack_groups(configs, workers=3), 64)


def test_stacks_are_at_most_a_workers_share_and_longest_first():
    configs = expand_grid(XOR, {"hidden": ["4,4", "8,8"],
                                "lr": [str(i) for i in range(1, 31)]})
    configs += expand_grid(XOR.replace(hidden=(2,)), {"lr": ["0.1", "0.2"]})
    groups = stack_groups(configs, workers=2)
    assert covers(groups, 62)
    assert max(sizes(groups)) <= 31
    assert sizes(groups) == sorted(sizes(groups), reverse=True)


def test_stacks_hold_at_most_max_stack_runs():
    configs = [XOR.replace(lr=0.001 * (i + 1)) for i in range(MAX_STACK + 10)]
    assert sizes(stack_groups(configs)) == [MAX_STACK, 10]


def test_more_workers_than_runs_leaves_every_run_alone():
    configs = expand_grid(XOR, {"lr": ["0.1", "0.5", "1"]})
    assert sorted(stack_groups(configs, workers=8)) == [[0], [1], [2]]


def test_a_config_that_is_not_valid_stays_alone():
    good = XOR.to_dict()
    bad = dict(good, hidden="4,x")
    assert stack_groups([good, bad, good]) == [[0, 2], [1]]


def test_run_stack_gives_one_result_per_run_as_run_one_does():
    configs = [XOR.replace(lr=lr, seed=s).to_dict() for lr in (0.5, 2.0) for s in (0, 1)]
    results = run_stack(configs, [10, 11, 12, 13])
    assert [r["run"] for r in results] == [10, 11, 12, 13]
    for result, config in zip(results, configs, strict=True):
        alone = run_one(config, result["run"])  # the course's networks: the same floats
        assert set(RESULT_COLUMNS) <= set(result)
        for key in ("status", "epochs_run", "final_loss", "final_accuracy", "perfect_epoch",
                    "curve_epochs", "curve_loss", "config"):
            assert result[key] == alone[key], key
        assert result["cpu_seconds"] > 0


def test_run_stack_reports_a_diverged_network_with_its_message():
    configs = [XOR.to_dict(), XOR.replace(lr=50, schedule="none").to_dict()]
    ok, bad = run_stack(configs, [0, 1])
    assert ok["status"] == "finished"
    assert bad["status"] == "diverged" and "diverged at epoch 100" in bad["message"]


def test_run_stack_of_a_bad_data_file_reports_each_run():
    configs = [XOR.replace(data_path="/nonexistent.csv", lr=lr).to_dict() for lr in (0.1, 0.2)]
    results = run_stack(configs, [0, 1])
    assert [r["status"] for r in results] == ["error", "error"]
    assert all("nonexistent" in r["message"] for r in results)


def test_a_stacked_sweep_gives_the_rows_of_a_sweep_of_single_runs():
    configs = expand_grid(XOR, {"lr": ["0.5", "1", "2"], "hidden": ["4,4", "3"],
                                "seed": ["0", "1"]})
    progress = []
    stacked = run_sweep(configs, workers=2, on_progress=progress.append)
    alone = run_sweep(configs, workers=2, stack=False)
    assert [r["run"] for r in stacked] == list(range(12))
    assert {p["run"] for p in progress} == set(range(12))
    for a, b in zip(stacked, alone, strict=True):
        for key in ("config", "status", "final_loss", "final_accuracy", "curve_loss"):
            assert a[key] == b[key], key


def test_the_stack_option_defaults_on():
    import inspect

    assert inspect.signature(run_sweep).parameters["stack"].default is True
