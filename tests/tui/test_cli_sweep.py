"""``nn-tui sweep``: the flags, the table, the CSV and the closing line."""

from __future__ import annotations

import re
import sys

import pytest

from engine.experiments.sweep import load_sweep_csv
from tui.cli import main
from tui.cli.parser import build_parser
from tui.cli.sweep import sweep_axes

CLOSING = re.compile(
    r"^(\d+) runs? in (\d+(?:\.\d+)?(?:e-\d+)?) s wall, (\d+(?:\.\d+)?(?:e-\d+)?) s of training "
    r"\((\d+\.\d)x parallel speed-up on (\d+) workers?\)$"
)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def axes(*argv: str) -> dict[str, list[str]]:
    parser, commands = build_parser()
    return sweep_axes(parser.parse_args(["sweep", *argv]))


# --- the flags --------------------------------------------------------------------------------
def test_every_flag_takes_values_separated_by_spaces_or_one_comma_list():
    assert axes("--lr", "0.1", "0.5", "1") == {"lr": ["0.1", "0.5", "1"]}
    assert axes("--lr", "0.1,0.5,1") == {"lr": ["0.1", "0.5", "1"]}
    assert axes("--lr", "0.1,", "0.5") == {"lr": ["0.1", "0.5"]}  # a stray comma is dropped
    assert axes("--seed", "0,1", "2", "--optimizer", "sgd,adam") == {
        "optimizer": ["sgd", "adam"], "seed": ["0", "1", "2"],
    }


def test_values_with_commas_inside_are_separated_by_spaces():
    assert axes("--hidden", "4,4", "8,8") == {"hidden": ["4,4", "8,8"]}
    assert axes("--hidden", "") == {"hidden": [""]}  # no hidden layer
    assert axes("--activation", "sigmoid", "linear") == {"activation": ["sigmoid", "linear"]}
    assert axes("--activation", "tanh,tanh,sigmoid") == {"activation": ["tanh,tanh,sigmoid"]}
    assert axes("--halve-band", "0.9,1.1", "0.8,1.2") == {"halve_band": ["0.9,1.1", "0.8,1.2"]}


def test_bias_flags():
    assert axes("--bias") == {"bias": ["true"]}
    assert axes("--bias", "on", "off") == {"bias": ["on", "off"]}
    assert axes("--no-bias") == {"bias": ["false"]}


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--lr", "0.1,x"], '--lr: learning rate must be a number in (0, 1e+06], got "x"'),
        (["--hidden", "4,4", "4,x"], "--hidden: hidden sizes must be positive integers"),
        (["--dataset", "xor", "moon"], '--dataset: dataset must be one of'),
        (["--bias", "maybe"], '--bias: bias must be true or false, got "maybe"'),
        (["--workers", "0"], "--workers: the number of worker processes must be a whole number"),
        (["--workers", "two"], '--workers: the number of worker processes must be a whole'),
        (["--csv", "no/such/folder/runs.csv"], "--csv: cannot write no/such/folder/runs.csv: "
                                                 "folder no/such/folder does not exist"),
        (["--hidden", "4", "4,4", "--activation", "sigmoid", "tanh,tanh,sigmoid"],
         "--activation: give one activation for every layer or 2 (one per layer incl. the "
         'output), got 3: "tanh,tanh,sigmoid" (in the run with hidden 4, activation '
         "tanh,tanh,sigmoid)"),
        (["--lrr", "1"], "unknown flag --lrr (did you mean --lr?)"),
        (["--save", "x.npz"], "nn-tui sweep has no --save flag"),
    ],
)
def test_bad_input_is_one_line_naming_the_flag(capsys, argv, needle):
    code, out, err = run(capsys, "sweep", *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("nn-tui: error: ")
    assert needle in err


def test_help_explains_the_value_syntax(capsys):
    code, out, _ = run(capsys, "sweep", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "--lr 0.1 0.5 1 --hidden 4,4 8,8 is 3 x 2 = 6 runs" in text
    assert "--activation sigmoid linear is two runs" in text
    assert "--lr RATE ..." in text and "--workers N" in text and "--csv PATH" in text
    code, out, _ = run(capsys, "--help")
    assert re.search(r"^  sweep +\S", out, re.MULTILINE)
    assert re.search(r"^  serve +\S", out, re.MULTILINE)


# --- a sweep ------------------------------------------------------------------------------------
def test_a_six_run_sweep_prints_a_table_writes_csv_and_compares_the_times(capsys, tmp_path):
    path = tmp_path / "runs.csv"
    code, out, err = run(
        capsys, "sweep", "--lr", "0.1,0.5,1", "--hidden", "4,4", "8,8", "--epochs", "300",
        "--workers", "2", "--csv", str(path),
    )
    assert code == 0, err
    assert err == ""  # no live table: stderr is not a terminal
    lines = out.splitlines()
    assert lines[0] == "sweep of 6 runs (hidden x lr: 2 x 3) on xor, 300 epochs each, 2 workers"
    assert lines[1].split() == ["run", "hidden", "lr", "status", "epochs", "loss", "accuracy",
                                "100%", "at", "seconds"]
    rows = [line.split() for line in lines[2:8]]
    assert [r[:4] for r in rows] == [
        ["0", "4,4", "0.1", "finished"], ["1", "4,4", "0.5", "finished"],
        ["2", "4,4", "1", "finished"], ["3", "8,8", "0.1", "finished"],
        ["4", "8,8", "0.5", "finished"], ["5", "8,8", "1", "finished"],
    ]
    assert all(r[4] == "300" for r in rows)
    assert lines[8].startswith("lowest loss: run ")
    closing = CLOSING.match(lines[9])
    assert closing, lines[9]
    count, wall, total, speedup, workers = closing.groups()
    assert (count, workers) == ("6", "2")
    assert float(wall) > 0 and float(total) > 0
    assert lines[10] == f"wrote 6 runs to {path}"
    results = load_sweep_csv(path)
    assert len(results) == 6
    assert [r["varied"] for r in results] == [["hidden", "lr"]] * 6
    assert [(r["config"]["hidden"], r["config"]["lr"]) for r in results] == [
        ([4, 4], 0.1), ([4, 4], 0.5), ([4, 4], 1.0), ([8, 8], 0.1), ([8, 8], 0.5), ([8, 8], 1.0),
    ]
    assert all(r["status"] == "finished" and r["epochs_run"] == 300 for r in results)


def test_a_run_that_fails_is_a_row_and_exit_status_1(capsys):
    code, out, _ = run(capsys, "sweep", "--batch-size", "0", "50", "--epochs", "50",
                       "--workers", "1")
    assert code == 1
    assert re.search(r"^ +0 +0 +finished ", out, re.MULTILINE)
    assert re.search(r"^ +1 +50 +error ", out, re.MULTILINE)
    assert "run 1: batch size must be at most the 21 training points" in out
    assert "1 of 2 runs failed (see their rows)" in out
    assert CLOSING.match(out.splitlines()[-1])


def test_a_test_split_adds_test_columns_and_ranks_by_test_loss(capsys):
    code, out, _ = run(capsys, "sweep", "--preset", "moons-adam", "--epochs", "100",
                       "--seed", "0,1", "--workers", "2")
    assert code == 0
    assert "test loss" in out.splitlines()[1] and "test acc" in out.splitlines()[1]
    assert re.search(r"^lowest test loss: run [01] \(seed [01]\): loss ", out, re.MULTILINE)


def test_a_single_run_is_a_sweep_too(capsys):
    code, out, _ = run(capsys, "sweep", "--epochs", "20")
    assert code == 0
    assert out.splitlines()[0] == "sweep of 1 run on xor, 20 epochs each, 1 worker"
    assert CLOSING.match(out.splitlines()[-1])
    assert "lowest loss" not in out


def test_on_a_terminal_the_live_table_goes_to_stderr(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "sweep", "--lr", "0.1", "1", "--epochs", "3000",
                         "--workers", "2")
    assert code == 0
    assert "finished" in err and "lr" in err  # the live table, last drawn with every result
    # stdout is not a terminal, so it still gets the final table and the closing line
    assert re.search(r"^ +1 +1 +finished ", out, re.MULTILINE)
    assert CLOSING.match(out.splitlines()[-1])


def test_ctrl_c_stops_the_sweep_and_keeps_the_finished_runs(capsys, monkeypatch, tmp_path):
    from engine.experiments import sweep as engine_sweep

    def interrupted(configs, workers, on_result=None, on_progress=None, **options):
        on_result(engine_sweep.run_one(configs[0].to_dict(), run=0))
        raise KeyboardInterrupt

    monkeypatch.setattr(engine_sweep, "run_sweep", interrupted)
    path = tmp_path / "partial.csv"
    code, out, err = run(capsys, "sweep", "--seed", "0,1,2", "--epochs", "10",
                         "--csv", str(path))
    assert code == 130
    assert "nn-tui: sweep interrupted after 1 of 3 runs" in err
    assert f"wrote 1 run to {path}" in err
    assert len(load_sweep_csv(path)) == 1


def test_sweep_and_serve_help_stay_light():
    """--help imports neither NumPy nor the engine (but engine.config.fields, the settings'
    help, standard library only), textual-serve nor the app."""
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import contextlib, io, sys\n"
        "from tui.cli import main\n"
        "for argv in (['sweep', '--help'], ['serve', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        "heavy = {'numpy', 'rich', 'textual', 'textual_serve', 'aiohttp', 'engine'}\n"
        "light = {'engine', 'engine.config', 'engine.config.fields'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy and m not in light))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=root, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("flags, stacked", [([], True), (["--no-stack"], False)])
def test_no_stack_trains_every_run_alone(capsys, monkeypatch, flags, stacked):
    from engine.experiments import sweep as engine_sweep

    seen = {}
    real = engine_sweep.run_sweep

    def spy(configs, workers, **options):
        seen.update(options)
        return real(configs, workers, **options)

    monkeypatch.setattr(engine_sweep, "run_sweep", spy)
    code, out, _ = run(capsys, "sweep", "--seed", "0,1", "--epochs", "10", *flags)
    assert code == 0 and seen["stack"] is stacked
    assert CLOSING.match(out.splitlines()[-1])
