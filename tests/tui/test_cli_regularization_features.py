"""--features, --l2 and --l1 on the command line (issue #15): flags from the settings,
one-line errors, the log's penalty, gradcheck and sweep taking them."""

from __future__ import annotations

import json

import pytest

from tui.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CIRCLE = ("--dataset", "circle", "--n", "200", "--hidden", "", "--features", "x1^2,x2^2",
          "--bias", "--loss", "bce", "--optimizer", "adam", "--lr", "0.1", "--epochs", "2000",
          "--log-every", "1000", "--scale", "standard", "--schedule", "none")


@pytest.mark.parametrize(("argv", "error"), [
    (("--features", "x3"), 'nn-tui: error: --features: features must be names from x1, x2, '
                           'x1^2, x2^2, x1*x2, sin(x1), sin(x2), separated by commas, got "x3"'),
    (("--features", "x1,x1"), 'nn-tui: error: --features: feature x1 is given twice in '
                              '"x1,x1"'),
    (("--l2", "-1"), 'nn-tui: error: --l2: l2 penalty must be in [0, 1000], got "-1"'),
    (("--l1", "lots"), 'nn-tui: error: --l1: l1 penalty must be a number in [0, 1000], got '
                       '"lots"'),
])
def test_bad_values_are_one_line_naming_the_flag(capsys, argv, error) -> None:
    code, out, err = run(capsys, "train", *argv)
    assert code == 2 and out == ""
    assert err.strip() == error and len(err.strip().splitlines()) == 1


def test_help_lists_the_new_flags(capsys) -> None:
    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    for flag in ("--features NAMES", "--l2 LAMBDA", "--l1 LAMBDA"):
        assert flag in out
    assert "sin(x2)" in out


def test_no_hidden_layer_on_the_squares_separates_the_circle(capsys) -> None:
    code, out, _ = run(capsys, "train", *CIRCLE)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("training 2-1 sigmoid (3 parameters) on circle (200 points, "
                               "features x1^2,x2^2)")
    final = lines[-1]
    assert final.startswith("loss=") and float(final.split("accuracy=")[1].rstrip("%")) >= 95


def test_the_log_shows_the_penalty_apart(capsys) -> None:
    code, out, _ = run(capsys, "train", *CIRCLE, "--l2", "0.001", "--l1", "0.0005")
    assert code == 0
    assert "with bce loss, l2 0.001, l1 0.0005, adam lr 0.1" in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert epochs and all(" (penalty 0.0" in line for line in epochs)
    code, out, _ = run(capsys, "train", *CIRCLE, "--l2", "0.001", "--json")
    reports = [json.loads(line) for line in out.splitlines()]
    reports = [r for r in reports if r.get("event") == "epoch"]
    assert reports and all(r["penalty"] > 0 for r in reports)


def test_without_a_penalty_the_course_log_is_unchanged(capsys) -> None:
    code, out, _ = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "10000")
    assert code == 0
    assert "penalty" not in out and "features" not in out
    assert "epoch 5000 loss : " in out


def test_gradcheck_takes_the_penalty_and_the_features(capsys) -> None:
    code, out, _ = run(capsys, "gradcheck", "--features", "x1,x2,x1*x2,sin(x1)", "--hidden", "3",
                       "--activation", "gelu,sigmoid", "--bias", "--l2", "0.1", "--l1", "0.01",
                       "--json")
    assert code == 0, out
    verdict = [json.loads(line) for line in out.splitlines()][-1]
    assert verdict["passed"] is True


def test_a_sweep_varies_the_penalty_and_the_features(capsys) -> None:
    code, out, err = run(capsys, "sweep", "--preset", "dlp-xor", "--epochs", "300",
                         "--l2", "0", "0.01", "--features", "x1,x2", "x1,x2,x1*x2",
                         "--workers", "1")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "x1,x2" in line and "finished" in line]
    assert len(rows) == 4
    assert "lowest loss: run" in out
