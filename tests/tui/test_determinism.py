"""Determinism: the same config and seed give the same run, bit for bit, wherever it runs.

For a few presets (the course's XOR with its halving rule, spiral-tanh switched to
halving, moons-adam in mini-batches, circle-relu with momentum), each cut short, the
loss history (every column: epochs, losses, accuracies, rates, test figures) and the
final weights must be identical between

(a) the engine run twice in this process (in one call, and in small time boxes),
(b) the headless CLI in a process of its own (``nn-tui train ... --save RUN.npz``),
(c) the app, driven by Pilot, trained with space to the end in its 15 ms time boxes.

And the comparison can fail: another seed gives another history.
"""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from textual import events

from engine import Trainer, load_run, preset
from engine.train.history import COLUMNS
from tui.app import NNApp

CASES = {
    # name: (preset, changes, CLI flags that make the same changes)
    "dlp-xor": ("dlp-xor", dict(epochs=12_000, halve_every=2000),
                ["--epochs", "12000", "--halve-every", "2000"]),
    "spiral-tanh-halving": ("spiral-tanh",
                            dict(epochs=1500, schedule="halving", halve_every=250,
                                 halve_band=(0.5, 1.5), log_every=250),
                            ["--epochs", "1500", "--schedule", "halving", "--halve-every", "250",
                             "--halve-band", "0.5,1.5", "--log-every", "250"]),
    "moons-adam-minibatch": ("moons-adam", dict(epochs=300, batch_size=32, log_every=100),
                             ["--epochs", "300", "--batch-size", "32", "--log-every", "100"]),
    "circle-relu": ("circle-relu", dict(epochs=800, log_every=200),
                    ["--epochs", "800", "--log-every", "200"]),
}


pytestmark = pytest.mark.usefixtures("sandbox")


def config_of(case: str, **more):
    name, changes, _ = CASES[case]
    return preset(name).replace(**{**changes, **more})


def fingerprint(history, params) -> dict[str, bytes]:
    """Every history column and every parameter array as raw bytes (bit for bit)."""
    columns = history.arrays()
    assert set(columns) == set(COLUMNS)
    prints = {name: (str(col.dtype), col.shape, col.tobytes()) for name, col in columns.items()}
    for i, p in enumerate(params):
        prints[f"param{i}"] = (str(p.dtype), p.shape, np.ascontiguousarray(p).tobytes())
    return prints


def assert_same_run(a: dict, b: dict, what: str) -> None:
    assert a.keys() == b.keys(), what
    different = [name for name in a if a[name] != b[name]]
    assert not different, f"{what}: {different} differ"


def engine_run(config, seconds: float | None = None) -> Trainer:
    """The engine alone: in one call, or (``seconds``) in time boxes like the app's."""
    trainer = Trainer(config)
    if seconds is None:
        trainer.run()
    else:
        while not trainer.done:
            trainer.run(seconds=seconds)
    assert trainer.status == "finished" and trainer.epoch == config.epochs
    return trainer


def cli_run(case: str, path, *extra: str):
    name, _, flags = CASES[case]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "train", "--preset", name, *flags, *extra,
         "--save", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return load_run(path)


async def app_run(config) -> tuple[object, list[np.ndarray]]:
    """Train in the app with space, to the end; the app's trainer's history and weights."""
    app = NNApp(config, deterministic=True)
    async with app.run_test(size=(120, 36)) as pilot:
        app.post_message(events.Key("space", " "))
        deadline = time.monotonic() + 60
        while app.session.trainer.status != "finished":
            assert time.monotonic() < deadline, "the app did not finish in time"
            assert app.session.trainer.status != "diverged"
            await pilot.pause(0.05)
        trainer = app.session.trainer
        assert trainer.epoch == config.epochs
        assert trainer.config == config  # the app trained the config it was given
        await app.training.stop()
        return trainer.history, [p.copy() for p in trainer.network.params]


@pytest.mark.parametrize("case", list(CASES))
async def test_engine_cli_and_app_give_the_same_run(case, tmp_path):
    config = config_of(case)
    first = engine_run(config)
    reference = fingerprint(first.history, first.network.params)
    assert len(first.history) > 100

    again = engine_run(config)
    assert_same_run(reference, fingerprint(again.history, again.network.params), "engine twice")
    boxed = engine_run(config, seconds=0.002)
    assert_same_run(reference, fingerprint(boxed.history, boxed.network.params),
                    "engine in time boxes")

    saved = cli_run(case, tmp_path / "cli.npz")
    assert saved.config == config
    assert saved.epoch == config.epochs and saved.status == "finished"
    assert_same_run(reference, fingerprint(saved.history, saved.network.params), "CLI")

    history, params = await app_run(config)
    assert_same_run(reference, fingerprint(history, params), "app")


def test_the_schedules_fire_in_the_runs_compared():
    """The comparisons cover the rate schedules: halving and adam runs change their rate
    or at least record it every epoch, and mini-batches really are mini-batches."""
    xor = engine_run(config_of("dlp-xor"))
    spiral = engine_run(config_of("spiral-tanh-halving"))
    assert xor.rate_changes or spiral.rate_changes, "no halving in any run compared"
    assert len(set(spiral.history.arrays()["lr"])) > 1
    moons = config_of("moons-adam-minibatch")
    assert 0 < moons.batch_size < moons.n


@pytest.mark.parametrize("case", ["dlp-xor", "moons-adam-minibatch"])
def test_another_seed_gives_another_run(case, tmp_path):
    """The comparison can fail: a different seed (weights, shuffling) changes the history."""
    config = config_of(case)
    reference = engine_run(config)
    other = engine_run(config.replace(seed=config.seed + 1))
    a = fingerprint(reference.history, reference.network.params)
    b = fingerprint(other.history, other.network.params)
    assert a["loss"] != b["loss"] and a["param0"] != b["param0"]
    with pytest.raises(AssertionError):
        assert_same_run(a, b, "another seed")
    saved = cli_run(case, tmp_path / "other.npz", "--seed", str(config.seed + 1))
    assert_same_run(b, fingerprint(saved.history, saved.network.params), "CLI, other seed")


async def test_the_app_pausing_and_resuming_does_not_change_the_run():
    """Pausing (space, space) between time boxes leaves the run as it would have been."""
    config = config_of("dlp-xor", epochs=20_000)
    reference = engine_run(config)
    app = NNApp(config, deterministic=True)
    async with app.run_test(size=(80, 24)) as pilot:
        pauses = 0
        deadline = time.monotonic() + 60
        while app.session.trainer.status != "finished":
            assert time.monotonic() < deadline, "the app did not finish in time"
            app.post_message(events.Key("space", " "))  # run (or pause)
            await pilot.pause(0.02)
            pauses += 1
        trainer = app.session.trainer
        await app.training.stop()
        assert pauses > 4 and trainer.epoch == config.epochs
        assert_same_run(fingerprint(reference.history, reference.network.params),
                        fingerprint(trainer.history, trainer.network.params),
                        "app paused and resumed")
