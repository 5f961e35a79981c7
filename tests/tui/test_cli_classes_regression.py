"""--classes K with --loss ce, and regression (--task, plane, bumps, a CSV of real targets)
on the command line (issue #15): the log's figures, the printout, JSON, one-line errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tui.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


SPIRAL3 = ("--dataset", "spiral", "--classes", "3", "--loss", "ce", "--hidden", "16,16",
           "--activation", "tanh", "--optimizer", "adam", "--lr", "0.01", "--n", "300",
           "--schedule", "none", "--init", "xavier", "--bias", "--epochs", "5000",
           "--log-every", "1000")
BUMPS = ("--dataset", "bumps", "--loss", "mse", "--hidden", "16,16", "--activation", "tanh",
         "--optimizer", "adam", "--lr", "0.01", "--n", "300", "--schedule", "none", "--init",
         "xavier", "--bias", "--epochs", "3000", "--log-every", "1000", "--test-split", "0.2")


def _last_figure(out: str, name: str) -> float:
    return float(re.findall(rf"{name}=([-\d.]+)%?", out)[0])


def test_three_class_spiral_reaches_95_percent(capsys) -> None:
    code, out, err = run(capsys, "train", *SPIRAL3)
    assert code == 0, err
    assert out.startswith("training 2-16-16-3 tanh,softmax (371 parameters) on spiral "
                          "(300 points, 3 classes)\nwith ce loss, adam lr 0.01")
    assert _last_figure(out, "accuracy") >= 95
    # each point: its class, the predicted class and that class's probability
    assert re.search(r"\[  0\] x=\(.*\) truth [012] predict [012] \(p [01]\.\d{4}\)", out)


def test_a_regression_prints_r2_and_mae(capsys) -> None:
    code, out, err = run(capsys, "train", *BUMPS)
    assert code == 0, err
    assert "on bumps (240 training, 60 test points, real targets)" in out
    epoch = [line for line in out.splitlines() if line.startswith("epoch 3000 ")][0]
    assert re.fullmatch(r"epoch 3000 loss : [\d.]+ R² : 0\.\d{4} MAE : [\d.e-]+ test loss : "
                        r"[\d.]+ test R² : 0\.\d{4} test MAE : [\d.e-]+ lr : 0\.01", epoch)
    assert "accuracy" not in out and "wrong" not in out
    assert _last_figure(out, "R²") >= 0.95
    assert re.search(r"\[  0\] x=\(.*\) truth -?[\d.e-]+ predict -?[\d.e-]+\n", out)


def test_a_regression_in_json_names_r2_and_mae(capsys) -> None:
    code, out, _ = run(capsys, "train", *BUMPS[:-6], "--epochs", "20", "--log-every", "10",
                       "--json", "--test-split", "0.2")
    events = [json.loads(line) for line in out.splitlines()]
    epoch, done = events[1], events[-1]
    assert epoch["event"] == "epoch" and {"r2", "mae", "test_r2", "test_mae"} <= set(epoch)
    assert "accuracy" not in epoch and "accuracy" not in done
    assert done["event"] == "done" and done["mae"] > 0 and done["r2"] < 1


def test_a_csv_of_real_targets(capsys, tmp_path: Path) -> None:
    path = tmp_path / "targets.csv"
    path.write_text("x1,x2,y\n" + "".join(f"{i / 10},{(i % 7) / 7},{i / 5 - 1}\n"
                                          for i in range(20)))
    code, out, err = run(capsys, "train", "--data", str(path), "--task", "regress", "--loss",
                         "mse", "--hidden", "4", "--epochs", "10", "--log-every", "5")
    assert code == 0, err and "R² :" in out
    code, _, err = run(capsys, "train", "--data", str(path), "--epochs", "10")
    assert code == 2
    assert "labels must be 0 or 1, got -1 (for 2 or more" not in err
    assert "labels must be 0 or 1" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("argv", "error"), [
    (("--dataset", "spiral", "--classes", "3"),
     "nn-tui: error: --loss: 3 classes need a softmax output: use --loss ce"),
    (("--dataset", "plane", "--loss", "bce"),
     "nn-tui: error: --loss: a regression learns with mse or sse, not bce; use --loss mse"),
    (("--dataset", "moons", "--classes", "3", "--loss", "ce"),
     "nn-tui: error: --classes: moons has 2 classes; 3 classes work with spiral, gaussian, "
     "pie or a CSV with labels 0..2"),
])
def test_settings_that_do_not_fit_are_one_line(capsys, argv, error) -> None:
    code, out, err = run(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err.strip() == error


def test_help_lists_classes_and_task(capsys) -> None:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "--classes K" in out and "--task NAME" in out
    assert "pie" in out and "bumps" in out and "ce" in out


def test_exports_name_classes_and_targets(capsys, tmp_path: Path) -> None:
    p3, pr, hr = tmp_path / "p3.csv", tmp_path / "pr.csv", tmp_path / "hr.csv"
    code, _, err = run(capsys, "train", "--dataset", "pie", "--classes", "4", "--loss", "ce",
                       "--hidden", "8", "--epochs", "30", "--export-predictions", str(p3))
    assert code == 0, err
    rows = p3.read_text().splitlines()
    assert rows[0] == "split,x1,x2,label,probability,predicted" and len(rows) == 101
    labels = {int(r.split(",")[3]) for r in rows[1:]}
    assert labels == {0, 1, 2, 3} and all(0 < float(r.split(",")[4]) <= 1 for r in rows[1:])
    code, _, err = run(capsys, "train", "--dataset", "plane", "--loss", "mse", "--epochs", "30",
                       "--export-predictions", str(pr), "--export-history", str(hr))
    assert code == 0, err
    assert pr.read_text().splitlines()[0] == "split,x1,x2,target,prediction"
    assert hr.read_text().splitlines()[0] == "epoch,loss,r2,lr,test_loss,test_r2"


def test_a_sweep_of_regressions_scores_by_r2(capsys) -> None:
    code, out, err = run(capsys, "sweep", "--dataset", "plane", "--loss", "mse", "--lr",
                         "0.01,0.1", "--epochs", "100", "--workers", "1")
    assert code == 0, err
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("run"))
    assert header.split() == ["run", "lr", "status", "epochs", "loss", "R²", "seconds"]
    assert re.search(r"lowest loss: run \d \(lr 0\.0?1\): loss [\d.]+ R² -?0\.\d{4}", out)
