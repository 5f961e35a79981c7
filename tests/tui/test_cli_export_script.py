"""``nn-tui train --export-script FILE.py`` (issue #15): the script prints the log the
command printed (all but the timing), and what cannot be written is refused in one line
before any training, never with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import main

FAST = ["--epochs", "3000", "--log-every", "500"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def untimed(lines: list[str]) -> list[str]:
    """The log without its one timed line (``finished 3,000 epochs in 0.05 s (...)``)."""
    return [line.split(" in ")[0] if line.startswith(("finished ", "stopped ")) else line
            for line in lines]


@pytest.mark.parametrize("flags", [
    ["--preset", "dlp-xor"],
    ["--preset", "moons-adam", "--l2", "0.001", "--l1", "0.0001"],
    ["--dataset", "pie", "--classes", "3", "--loss", "ce", "--hidden", "6", "--activation",
     "tanh", "--bias", "--init", "xavier", "--optimizer", "adam", "--lr", "0.02",
     "--test-split", "0.2", "--n", "60", "--batch-size", "16"],
    ["--dataset", "bumps", "--hidden", "6", "--activation", "tanh", "--bias", "--init",
     "xavier", "--loss", "mse", "--optimizer", "momentum", "--lr", "0.05", "--test-split",
     "0.25", "--n", "60", "--scale", "standard"],
], ids=["dlp-xor", "penalties-test-split", "3-classes-mini-batch", "regression"])
def test_the_script_prints_the_log_the_command_printed(capsys, tmp_path, flags):
    target = tmp_path / "homework.py"
    code, out, err = run(capsys, "train", *flags, *FAST, "--export-script", str(target))
    assert code == 0, err
    *log, wrote = out.splitlines()
    assert wrote == (f"wrote the training script to {target} (python homework.py trains it "
                     "again in plain NumPy)")
    script = subprocess.run([sys.executable, str(target)], capture_output=True, text=True,
                            timeout=60)
    assert script.returncode == 0 and not script.stderr, script.stderr
    assert untimed(script.stdout.splitlines()) == untimed(log)
    assert "nn-tui train " in target.read_text()  # the command that made it, in its docstring


def refused(capsys, *argv: str) -> str:
    code, out, err = run(capsys, "train", *FAST, *argv)
    assert code == 2
    assert out == "", "refused before training"
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err.strip()


def test_a_folder_that_does_not_exist_is_refused(capsys, tmp_path):
    target = tmp_path / "missing" / "run.py"
    err = refused(capsys, "--export-script", str(target))
    assert err == (f"nn-tui: error: --export-script: cannot write {target}: folder "
                   f"{target.parent} does not exist")
    assert not target.parent.exists()


def test_a_folder_as_the_target_is_refused(capsys, tmp_path):
    err = refused(capsys, "--export-script", str(tmp_path))
    assert err == f"nn-tui: error: --export-script: {tmp_path} is a folder; give a file name"


def test_too_many_points_are_refused_with_the_fix(capsys, tmp_path):
    err = refused(capsys, "--dataset", "linear", "--n", "20000",
                  "--export-script", str(tmp_path / "big.py"))
    assert err == ("nn-tui: error: --export-script: --n: 20,000 points are too many to write "
                   "into a script (at most 10,000); use --n 10000 or fewer")
    assert not (tmp_path / "big.py").exists()


def test_too_many_weights_are_refused_with_the_fix(capsys, tmp_path):
    err = refused(capsys, "--hidden", "200,200", "--export-script", str(tmp_path / "w.py"))
    assert err.startswith("nn-tui: error: --export-script: hidden 200,200: 40,600 weights ")
    assert err.endswith("use narrower or fewer hidden layers")


def test_a_csv_file_too_big_for_a_script_is_refused_before_training(capsys, tmp_path):
    data = tmp_path / "big.csv"
    data.write_text("".join(f"{i % 7},{i % 5},{i % 2}\n" for i in range(10_001)))
    err = refused(capsys, "--data", str(data), "--export-script", str(tmp_path / "c.py"))
    assert err == ("nn-tui: error: --export-script: --data: 10,001 points are too many to "
                   "write into a script (at most 10,000); use a smaller CSV file")


def test_the_flag_is_in_train_help(capsys):
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0 and "--export-script FILE.py" in out


def test_the_written_script_is_the_only_file(tmp_path, capsys):
    run(capsys, "train", "--preset", "dlp-xor", *FAST, "--quiet",
        "--export-script", str(tmp_path / "a.py"))
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["a.py"]  # no temporary left
