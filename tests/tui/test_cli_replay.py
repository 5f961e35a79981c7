"""``nn-tui train --from RUN.npz`` reproduces a saved run; ``--export-*`` write its parts."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from engine.config.experiment import ExperimentConfig
from engine.io.runfile import load_run, save_run
from engine.train.trainer import Trainer
from tui.cli import main

SHORT = ["--epochs", "1500", "--log-every", "500", "--halve-every", "500", "--quiet"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def histories_equal(a, b) -> bool:
    ha, hb = a.history.arrays(), b.history.arrays()
    return ha.keys() == hb.keys() and all(
        np.array_equal(ha[k], hb[k], equal_nan=True) for k in ha
    )


def test_from_reproduces_a_saved_run_exactly(capsys, tmp_path):
    first, again = tmp_path / "first.npz", tmp_path / "again.npz"
    assert run(capsys, "train", *SHORT, "--save", str(first))[0] == 0
    code, out, _ = run(capsys, "train", "--from", str(first), "--quiet", "--save", str(again))
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == f"reproducing {first}: 1,500 epochs"
    assert "history reproduced exactly (1,500 rows)" in lines
    a, b = load_run(first), load_run(again)
    assert np.array_equal(a.history.loss_curve()[1], b.history.loss_curve()[1])
    assert histories_equal(a, b)
    assert all(np.array_equal(p, q) for p, q in zip(a.network.params, b.network.params,
                                                    strict=True))


def test_from_replays_the_manual_rate_changes(capsys, tmp_path):
    trainer = Trainer(ExperimentConfig(epochs=3000, log_every=1000, halve_every=1000))
    trainer.run(800)
    trainer.set_lr(1.0)
    trainer.run(700)
    trainer.set_lr(0.125)
    trainer.run(200)  # saved part-way, as the app would
    path = save_run(tmp_path / "manual.npz", trainer)
    again = tmp_path / "again.npz"
    code, out, _ = run(capsys, "train", "--from", str(path), "--quiet", "--save", str(again))
    assert code == 0
    assert f"reproducing {path}: 1,700 epochs, replaying 2 learning-rate changes by hand" in out
    assert "epoch 800 learning rate doubled 0.5 -> 1 (by hand)" in out
    assert "epoch 1500 learning rate reduced 1 -> 0.125 (by hand)" in out
    assert "history reproduced exactly (1,700 rows)" in out
    replayed = load_run(again)
    assert np.array_equal(trainer.history.arrays()["loss"], replayed.history.arrays()["loss"])
    assert histories_equal(trainer, replayed)
    assert [(c.epoch, c.new_lr) for c in replayed.rate_changes] == [(800, 1.0), (1500, 0.125)]


def test_without_the_manual_changes_it_would_not_reproduce(capsys, tmp_path):
    """The check has teeth: the same config without the changes differs, and says so."""
    trainer = Trainer(ExperimentConfig(epochs=1000, log_every=500))
    trainer.run(400)
    trainer.set_lr(2.0)
    trainer.run()
    trainer.rate_changes.clear()  # as if the file had lost them
    path = save_run(tmp_path / "lost.npz", trainer)
    code, out, _ = run(capsys, "train", "--from", str(path), "--quiet")
    assert code == 0
    # the gap is measured by training: its digits differ between machines
    assert re.search(r"history differs from the saved run in 600 of 1,000 rows \(first at "
                     r"epoch 401, losses up to \d+(\.\d+)?% apart\); saved with the same "
                     r"NumPy, BLAS and CPU as this \(NumPy .*\), so rounding does not "
                     r"explain it\n", out), out
    assert "earlier nn-tui" not in out  # saved by this very engine


def test_other_flags_make_it_a_rerun(capsys, tmp_path):
    path = tmp_path / "first.npz"
    run(capsys, "train", *SHORT, "--save", str(path))
    code, out, _ = run(capsys, "train", "--from", str(path), "--lr", "1", "--hidden", "8,8",
                       "--quiet")
    assert code == 0
    assert (f"re-running {path} with --hidden, --lr changed (not a reproduction): "
            "1,500 epochs") in out
    assert "reproduced" not in out and "differs" not in out
    assert "training 2-8-8-1" in out
    code, out, _ = run(capsys, "train", "--from", str(path), "--epochs", "2000", "--quiet")
    assert "with --epochs changed" in out and "finished 2,000 epochs" in out
    code, out, _ = run(capsys, "train", "--from", str(path), "--log-every", "100", "--quiet")
    assert "history reproduced exactly (1,500 rows)" in out  # reporting is not training


def test_from_in_json_mode(capsys, tmp_path):
    path = tmp_path / "first.npz"
    run(capsys, "train", *SHORT, "--save", str(path))
    code, out, _ = run(capsys, "train", "--from", str(path), "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert events[1] == {"event": "replay", "from": str(path), "reproduction": True,
                         "changed": [], "epochs": 1500, "manual_rate_changes": []}
    assert events[-2]["event"] == "reproduction" and events[-2]["exact"] is True
    assert events[-2]["rows"] == 1500 and events[-2]["weights_equal"] is True
    assert events[-1]["event"] == "done"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--from", "missing.npz"], "run file missing.npz does not exist"),
        (["--from", "x.npz", "--preset", "dlp-xor"], "--from cannot be combined with --preset"),
    ],
)
def test_bad_from(capsys, argv, needle):
    code, out, err = run(capsys, "train", *argv)
    assert code == 2 and out == "" and needle in err


# --- exports ------------------------------------------------------------------------------------
def test_exports_write_history_predictions_and_config(capsys, tmp_path):
    history, points, config = tmp_path / "h.csv", tmp_path / "p.csv", tmp_path / "c.toml"
    code, out, _ = run(
        capsys, "train", *SHORT, "--test-split", "0.3", "--dataset", "moons", "--n", "40",
        "--export-history", str(history), "--export-predictions", str(points),
        "--export-config", str(config),
    )
    assert code == 0
    assert f"wrote the history (1,500 rows) to {history}" in out
    assert f"wrote the predictions (40 points) to {points}" in out
    assert f"wrote the config to {config} (nn-tui train --config {config} reruns it)" in out
    rows = list(csv.DictReader(history.open()))
    assert len(rows) == 1500 and rows[0]["test_loss"] != ""
    predictions = list(csv.DictReader(points.open()))
    assert {r["split"] for r in predictions} == {"train", "test"} and len(predictions) == 40
    assert "test_split = 0.3" in config.read_text()


def test_an_exported_config_trains_the_identical_history(capsys, tmp_path):
    config, first, second = tmp_path / "exp.toml", tmp_path / "a.npz", tmp_path / "b.npz"
    run(capsys, "train", *SHORT, "--hidden", "5,3", "--lr", "0.7", "--seed", "4",
        "--export-config", str(config), "--save", str(first))
    code, out, _ = run(capsys, "train", "--config", str(config), "--quiet", "--save", str(second))
    assert code == 0
    a, b = load_run(first), load_run(second)
    assert a.config == b.config
    assert np.array_equal(a.history.arrays()["loss"], b.history.arrays()["loss"])
    assert histories_equal(a, b)


def test_export_targets_are_checked_before_training(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--export-history", str(tmp_path / "no" / "h.csv"))
    assert code == 2 and out == ""
    assert "--export-history: cannot write" in err and "does not exist" in err
    code, out, err = run(capsys, "train", "--export-config", str(tmp_path))
    assert code == 2 and "--export-config:" in err and "is a folder" in err


def test_exports_in_json_mode_report_on_stderr(capsys, tmp_path):
    path = tmp_path / "h.csv"
    code, out, err = run(capsys, "train", *SHORT, "--json", "--export-history", str(path))
    assert code == 0
    assert all(json.loads(line) for line in out.splitlines())
    assert f"wrote the history (1,500 rows) to {path}" in err


AVX2_LEVEL = "SSE SSE2 SSE3 SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2"


def _fingerprint_under(env: dict[str, str]) -> dict[str, str]:
    code = ("import json; from engine.io.numerics import fingerprint; "
            "print(json.dumps(fingerprint()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    return json.loads(out.stdout)


def test_a_replay_on_another_simd_level_reads_as_rounding_not_failure(tmp_path):
    """A run saved here and replayed with NumPy's SIMD narrowed to AVX2 (as on an older
    CPU): its history drifts in the last bits, and the message says that this is
    expected, how far it matched, and that the file's weights are exact."""
    from engine.io.numerics import fingerprint

    env = {**os.environ, "NPY_ENABLE_CPU_FEATURES": AVX2_LEVEL}
    if _fingerprint_under(env) == fingerprint():
        pytest.skip("this CPU's NumPy dispatches to AVX2 at most: narrowing changes nothing")
    trainer = Trainer(ExperimentConfig(epochs=3000, log_every=1000))
    trainer.run()
    path = save_run(tmp_path / "here.npz", trainer)
    out = subprocess.run([sys.executable, "-m", "tui.cli", "train", "--from", str(path),
                          "--quiet"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    line = out.stdout.splitlines()[-1]
    if line.startswith("history reproduced exactly"):
        pytest.skip("the narrowed SIMD level rounded this run identically")
    assert re.fullmatch(
        r"history matches the saved run bit for bit for [\d,]+ of 3,000 rows, then drifts by "
        r"rounding \(from epoch [\d,]+, .*\): expected, since it was saved with NumPy .+ and "
        r"this is NumPy .+\. A re-run matches bit for bit only with the same NumPy and BLAS "
        r"on the same kind of CPU; the weights in the file are exact", line), line
