"""The ``nn-tui`` command line: help, output formats, precedence, errors, exit codes.

Most tests call ``main([...])`` in-process with a few thousand epochs. Two run the
course's presets to the end (the product's promise, ~10 s together); two run the
real command in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from tui.cli import fields, main
from tui.cli.parser import build_parser

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--epochs", "2000", "--log-every", "500"]
EPOCH_LINE = re.compile(r"^epoch \d+ loss : \d+\.\d{10} accuracy : +\d+\.\d\d% lr : [\d.e-]+$")
SPLIT_LINE = re.compile(
    r"^epoch \d+ loss : \d+\.\d{10} accuracy : +\d+\.\d\d% test loss : \d+\.\d{10} "
    r"test accuracy : +\d+\.\d\d% lr : [\d.e-]+$"
)
POINT_LINE = re.compile(
    r"^\[ *\d+\] x=\( *-?\d+\.\d{3}, +-?\d+\.\d{3}\) truth [01] predict -?\d+\.\d{8}( {2}wrong)?$"
)
FINAL_LINE = re.compile(r"^loss=(\d+\.\d{10}) accuracy=(\d+\.\d\d)%$")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _no_constants(name: str):
    raise ValueError(f"JSON output contains {name}")


def json_lines(out: str) -> list[dict]:
    """Every stdout line parsed as strict JSON (NaN / Infinity refused)."""
    lines = out.splitlines()
    assert lines, "no output"
    return [json.loads(line, parse_constant=_no_constants) for line in lines]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


# --- version and help ----------------------------------------------------------------
def test_version(capsys):
    code, out, err = run(capsys, "--version")
    assert code == 0
    assert re.fullmatch(r"nn-tui \d+\.\d+\.\d+\n", out)
    assert err == ""


LIGHT_ENGINE = {"engine", "engine.config", "engine.config.fields"}
"""The engine modules --help reads (the settings' help, standard library only)."""


def test_version_and_help_import_neither_numpy_nor_the_ui():
    script = (
        "import contextlib, io, sys\n"
        "from tui.cli import main\n"
        "for argv in (['--version'], ['--help'], ['train', '--help'], ['gradcheck', '--help']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0, argv\n"
        "heavy = {'numpy', 'rich', 'textual', 'plotext', 'engine'}\n"
        f"light = {sorted(LIGHT_ENGINE)!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy and m not in light))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=subprocess_env(),
        cwd=ROOT, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_version_through_the_real_command_imports_no_numpy():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui.cli", "--version"],
        capture_output=True, text=True, env=subprocess_env(), cwd=ROOT, timeout=60,
    )
    assert result.returncode == 0
    assert re.fullmatch(r"nn-tui \d+\.\d+\.\d+\n", result.stdout)
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    heavy = {name for name in imported - LIGHT_ENGINE
             if name.split(".")[0] in {"numpy", "rich", "textual", "engine"}}
    assert heavy == set()


def test_help_lists_each_command_with_a_line(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name in ("train", "gradcheck", "tui"):
        assert re.search(rf"^  {name} +\S.+$", out, re.MULTILINE), name
    assert "usage: nn-tui" in out


def test_train_help_names_every_field_flag_with_its_default(capsys):
    from engine.config.experiment import FIELDS

    code, out, _ = run(capsys, "train", "--help")
    assert code == 0
    text = " ".join(out.split())  # undo the wrapping
    for field in FIELDS:
        assert fields.flag_for(field) in text, field
    assert "[default: 0.5]" in text  # --lr
    assert "[default: 4,4]" in text  # --hidden
    assert "sigmoid, tanh, relu, leaky_relu, linear" in text
    for flag in ("--preset", "--config", "--save", "--json", "--quiet", "--no-bias"):
        assert flag in text


def setting_flags(names: list[str]) -> list[str]:
    """The flags of these settings, in order (``bias``: --bias and --no-bias)."""
    flags = []
    for name in names:
        flags += [fields.flag_for(name), "--no-bias"] if name == "bias" else [fields.flag_for(name)]
    return flags


def test_the_flags_are_the_settings_sections_in_order():
    """--help groups the setting flags as the editor does (engine.config.fields.SECTIONS)."""
    from engine.config.fields import SECTIONS, SETTINGS

    parser, commands = build_parser()
    for command in ("train", "sweep", "gradcheck"):
        groups = {g.title: g for g in commands[command]._action_groups}
        for section in SECTIONS:
            flags = [a.option_strings[0] for a in groups[section.group]._group_actions
                     if a.dest in SETTINGS]
            assert flags == setting_flags([s.name for s in section.settings]), command


def test_flag_help_is_the_settings_help_choices_and_default():
    from engine.config.experiment import FIELDS, PRESET_NAMES, ExperimentConfig

    defaults = ExperimentConfig()
    parser, commands = build_parser()
    helps = {a.option_strings[0]: a.help for a in commands["train"]._actions if a.option_strings}
    for name, spec in FIELDS.items():
        text = helps[fields.flag_for(name)].replace(fields.NBSP, " ")
        assert text.startswith(spec.help), name
        assert all(choice in text for choice in spec.choices), name
        default = defaults.field_text(name)
        assert text.endswith(f"[default: {default}]" if default else spec.help), name
    assert helps["--momentum"] == fields.field_help("momentum", " for --optimizer momentum")
    assert f"a preset: {', '.join(PRESET_NAMES)}" in helps["--preset"]
    assert {field for _, field, _, _ in fields.FLAG_TABLE} == set(FIELDS)
    assert set(FIELDS) >= fields.GRADCHECK_FIELDS | fields.WHOLE_VALUE_FIELDS


def test_flag_names():
    assert fields.flag_for("batch_size") == "--batch-size"
    assert fields.flag_for("data_path") == "--data"
    assert fields.flag_for("lr") == "--lr"
    assert fields.flag_for(None) is None


# --- text output -----------------------------------------------------------------------
def test_text_log_follows_the_course(capsys):
    code, out, err = run(capsys, "train", *FAST)
    assert code == 0
    assert err == ""  # not a terminal: no progress bar
    lines = out.splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert [int(line.split()[1]) for line in epoch_lines] == [500, 1000, 1500, 2000]
    assert all(EPOCH_LINE.match(line) for line in epoch_lines), epoch_lines
    points = [line for line in lines if line.startswith("[")]
    assert len(points) == 21
    assert all(POINT_LINE.match(line) for line in points), points
    assert points[0].startswith("[  0] x=( 0.000,  0.000) truth 0 predict ")
    assert FINAL_LINE.match(lines[-1])
    assert lines[0].startswith("training 2-4-4-1 sigmoid (28 parameters) on xor (21 points)")


def test_quiet_leaves_out_the_listing(capsys):
    code, out, _ = run(capsys, "train", *FAST, "--quiet")
    assert code == 0
    assert not [line for line in out.splitlines() if line.startswith("[")]
    assert FINAL_LINE.match(out.splitlines()[-1])


def test_test_split_adds_test_figures_and_the_held_out_listing(capsys):
    code, out, _ = run(
        capsys, "train", "--dataset", "linear", "--n", "40", "--test-split", "0.25", *FAST
    )
    assert code == 0
    lines = out.splitlines()
    epoch_lines = [line for line in lines if line.startswith("epoch ")]
    assert epoch_lines and all(SPLIT_LINE.match(line) for line in epoch_lines), epoch_lines
    assert "testing the final weights on the test set (10 points):" in lines
    assert len([line for line in lines if line.startswith("[")]) == 40
    assert re.match(r"^test loss=\d+\.\d{10} test accuracy=\d+\.\d\d%$", lines[-1])


def test_rate_change_lines(capsys):
    code, out, _ = run(
        capsys, "train", "--preset", "dlp-xor", "--halve-every", "50", "--epochs", "500",
        "--log-every", "100", "--quiet",
    )
    assert code == 0
    changes = [line for line in out.splitlines() if "learning rate" in line]
    assert re.fullmatch(
        r"epoch 50 learning rate halved 0\.5 -> 0\.25 \(loss ratio \d\.\d{4}\)", changes[0]
    )
    assert len(changes) >= 3


def test_divergence_is_reported_and_the_run_still_ends_cleanly(capsys):
    code, out, err = run(
        capsys, "train", "--activation", "linear", "--lr", "100", "--epochs", "1000", "--quiet"
    )
    assert code == 0
    assert re.search(r"^diverged at epoch \d+: the loss became infinite", out, re.MULTILINE)
    assert re.search(r"^stopped at epoch \d+ of 1,000", out, re.MULTILINE)
    assert "Traceback" not in err


# --- JSON ------------------------------------------------------------------------------
def test_json_lines(capsys):
    code, out, err = run(capsys, "train", *FAST, "--json")
    assert code == 0 and err == ""
    events = json_lines(out)
    assert events[0]["event"] == "start"
    assert events[0]["config"]["hidden"] == [4, 4]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [500, 1000, 1500, 2000]
    assert set(epochs[0]) == {"event", "epoch", "loss", "accuracy", "lr"}
    done = events[-1]
    assert done["event"] == "done" and done["status"] == "finished"
    assert done["epochs"] == 2000
    assert 0.0 <= done["accuracy"] <= 1.0
    assert done["seconds"] > 0
    assert len(done["predictions"]) == 21
    assert all(0.0 <= p <= 1.0 for p in done["predictions"])
    assert not any(e["event"] == "done" for e in events[:-1])


def test_json_with_a_split_and_a_rate_change(capsys):
    code, out, _ = run(
        capsys, "train", "--dataset", "linear", "--n", "40", "--test-split", "0.25",
        "--halve-every", "50", "--halve-band", "0.01,100", "--epochs", "300",
        "--log-every", "100", "--json",
    )
    assert code == 0
    events = json_lines(out)
    epoch = next(e for e in events if e["event"] == "epoch")
    assert {"test_loss", "test_accuracy"} <= set(epoch)
    change = next(e for e in events if e["event"] == "lr_halved")
    assert change["old_lr"] == 0.5 and change["new_lr"] == 0.25
    done = events[-1]
    assert len(done["predictions"]) == 30 and len(done["test_predictions"]) == 10
    assert 0.0 <= done["test_accuracy"] <= 1.0


def test_json_divergence_has_no_nan(capsys):
    code, out, _ = run(
        capsys, "train", "--activation", "linear", "--lr", "100", "--epochs", "1000", "--json"
    )
    assert code == 0
    events = json_lines(out)  # strict: a NaN or Infinity would raise
    assert any(e["event"] == "diverged" for e in events)
    assert events[-1]["status"] == "diverged"


def test_json_safe():
    from tui.cli.output import json_line

    assert json.loads(json_line({"a": math.nan, "b": [math.inf, 1.5], "c": None})) == {
        "a": None, "b": [None, 1.5], "c": None,
    }


# --- precedence: defaults < --preset < --config < flags ---------------------------------
def start_config(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, "train", *argv, "--epochs", "1", "--json")
    assert code == 0, err
    return json_lines(out)[0]["config"]


def test_defaults_are_the_course_xor(capsys):
    config = start_config(capsys)
    assert config["dataset"] == "xor" and config["hidden"] == [4, 4] and config["lr"] == 0.5


def test_flags_override_a_preset(capsys):
    config = start_config(capsys, "--preset", "dlp-linear", "--hidden", "3", "--lr", "0.1")
    assert config["dataset"] == "linear"  # from the preset
    assert config["hidden"] == [3] and config["lr"] == 0.1  # from the flags


def test_preset_before_the_command_counts(capsys):
    code, out, _ = run(capsys, "--preset", "dlp-linear", "train", "--epochs", "1", "--json")
    assert code == 0
    assert json_lines(out)[0]["config"]["dataset"] == "linear"


def test_config_file_sits_between_preset_and_flags(capsys, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('hidden = [6, 3]\nlr = 0.3\nactivation = "tanh"\nloss = "mse"\n')
    config = start_config(capsys, "--preset", "dlp-linear", "--config", str(path), "--lr", "0.2")
    assert config["dataset"] == "linear"  # preset
    assert config["hidden"] == [6, 3] and config["activation"] == ["tanh"]  # file
    assert config["lr"] == 0.2  # flag


def test_config_file_may_name_its_own_preset(capsys, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('preset = "moons-adam"\nepochs = 7\n')
    config = start_config(capsys, "--config", str(path))
    assert config["dataset"] == "moons" and config["optimizer"] == "adam"


def test_a_config_file_trains(capsys, tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("epochs = 1000\nlog_every = 500\nhidden = [8, 8]\n")
    code, out, _ = run(capsys, "train", "--config", str(path), "--quiet")
    assert code == 0
    assert "2-8-8-1" in out.splitlines()[0]
    assert len([line for line in out.splitlines() if EPOCH_LINE.match(line)]) == 2


# --- bad input: exit 2, one line, no traceback ------------------------------------------
def assert_one_error_line(capsys, argv: list[str], *needles: str) -> str:
    code, out, err = run(capsys, *argv)
    assert code == 2, (argv, out, err)
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nn-tui: error: ")
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["--hidden", "4,x"], ['--hidden: hidden sizes must be positive integers', '"4,x"']),
        (["--lr", "0"], ["--lr: learning rate"]),
        (["--lr", "nan"], ["--lr: learning rate", "finite"]),
        (["--epochs", "0"], ["--epochs: epochs must be an integer"]),
        (["--activation", "foo"], ["--activation:", "foo", "sigmoid"]),
        (["--batch-size", "100000"], ["--batch-size: batch size must be at most the 21"]),
        (["--data", "missing.csv"], ["missing.csv"]),
        (["--preset", "nope"], ["--preset:", "dlp-xor"]),
        (["--preset", "dlp-xo"], ['did you mean "dlp-xor"']),
        (["--lrr", "0.1"], ["unknown flag --lrr (did you mean --lr?)"]),
        (["--hidden"], ["--hidden", "expected one argument"]),
        (["--save", "/no/such/folder/run.npz"], ["--save:", "does not exist"]),
    ],
)
def test_bad_train_input(capsys, argv, needles):
    assert_one_error_line(capsys, ["train", *argv], *needles)


def test_bad_input_elsewhere(capsys):
    assert_one_error_line(capsys, ["gradcheck", "--hidden", "0"], "--hidden:")
    assert_one_error_line(capsys, ["gradcheck", "--save", "x"], "nn-tui train has")
    assert_one_error_line(capsys, ["--json"], "--json goes after a command")
    assert_one_error_line(capsys, ["--lr", "1"], "--lr goes after a command")
    assert_one_error_line(capsys, ["trian"], "invalid choice")


def test_bad_config_files_name_the_file(capsys, tmp_path):
    bad_value = tmp_path / "bad_value.toml"
    bad_value.write_text('hidden = "4,x"\n')
    line = assert_one_error_line(capsys, ["train", "--config", str(bad_value)], str(bad_value))
    assert "--hidden" not in line  # the file is at fault, not a flag
    bad_toml = tmp_path / "bad_toml.toml"
    bad_toml.write_text("lr = \n")
    assert_one_error_line(capsys, ["train", "--config", str(bad_toml)], str(bad_toml), "TOML")
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("lrr = 1\n")
    assert_one_error_line(capsys, ["train", "--config", str(unknown)], str(unknown), '"lr"')
    missing = tmp_path / "missing.toml"
    assert_one_error_line(capsys, ["train", "--config", str(missing)], str(missing))
    assert_one_error_line(
        capsys, ["train", "--preset", "dlp-xor", "--config", str(bad_value)], str(bad_value)
    )


def test_a_bad_csv_names_the_file(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x1,x2,label\n0.1,0.2,0\n0.3,0.4,2\n")
    assert_one_error_line(capsys, ["train", "--data", str(path)], str(path), "line 3")


# --- save --------------------------------------------------------------------------------
def test_save_writes_a_loadable_run(capsys, tmp_path):
    from engine.io.runfile import load_run

    code, out, _ = run(
        capsys, "train", "--epochs", "300", "--log-every", "100", "--save", str(tmp_path / "run"),
        "--quiet",
    )
    assert code == 0
    written = tmp_path / "run.npz"
    assert out.splitlines()[-1] == f"saved run to {written}"
    saved = load_run(written)
    assert saved.epoch == 300 and saved.status == "finished"
    assert saved.config.hidden == (4, 4)


def test_save_in_json_mode_reports_on_stderr(capsys, tmp_path):
    path = tmp_path / "run.npz"
    code, out, err = run(capsys, "train", "--epochs", "100", "--json", "--save", str(path))
    assert code == 0
    json_lines(out)  # stdout holds only JSON
    assert err.strip() == f"saved run to {path}"
    assert path.exists()


# --- progress bar and interruption -------------------------------------------------------
def test_progress_bar_goes_to_stderr_and_leaves_stdout_clean(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = run(capsys, "train", *FAST, "--json")
    assert code == 0
    json_lines(out)
    assert "epochs/s" in err


def test_ctrl_c_exits_130_with_a_short_message(capsys, monkeypatch):
    from engine.train.trainer import Trainer

    def interrupted(self, epochs=None, seconds=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "run", interrupted)
    code, _, err = run(capsys, "train")
    assert code == 130
    assert err.strip() == "nn-tui: interrupted at epoch 0 of 100,000"


# --- gradcheck ---------------------------------------------------------------------------
def test_gradcheck_passes_and_prints_each_layer(capsys):
    code, out, _ = run(capsys, "gradcheck")
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(r"layer 1  weights \d\.\de-\d\d  \(8 parameters\)", lines[1])
    assert re.fullmatch(r"layer 3  weights \d\.\de-\d\d  \(4 parameters\)", lines[3])
    assert re.fullmatch(r"gradient check passed: max relative error \d\.\de-\d\d < 1e-06",
                        lines[-1])


def test_gradcheck_with_biases_relu_and_bce(capsys):
    # zero initial biases would put relu units on their kink; the check draws them first
    code, out, _ = run(
        capsys, "gradcheck", "--bias", "--hidden", "8,8", "--activation", "tanh,relu,sigmoid",
        "--loss", "bce",
    )
    assert code == 0, out
    assert re.search(r"^layer 2  weights \S+  biases \S+  \(72 parameters\)$", out, re.MULTILINE)


def test_gradcheck_json(capsys):
    code, out, _ = run(capsys, "gradcheck", "--bias", "--json")
    assert code == 0
    events = json_lines(out)
    assert [e["event"] for e in events] == ["layer", "layer", "layer", "gradcheck"]
    assert events[0]["parameters"] == 12 and events[0]["bias_error"] is not None
    assert events[-1]["passed"] is True and events[-1]["points"] == 20


def test_gradcheck_failure_exits_1(capsys, monkeypatch):
    from engine.nn.network import Network

    backprop = Network.loss_and_gradients

    def wrong(self, X, y, loss="mse", *penalty):
        value, grad_w, grad_b = backprop(self, X, y, loss, *penalty)
        return value, [grad_w[0] * 1.03, *grad_w[1:]], grad_b

    monkeypatch.setattr(Network, "loss_and_gradients", wrong)
    code, out, _ = run(capsys, "gradcheck", "--hidden", "")
    assert code == 1
    assert re.fullmatch(r"layer 1  weights 2\.9e-02  \(2 parameters\)", out.splitlines()[1])
    assert out.splitlines()[-1] == "gradient check FAILED: max relative error 2.9e-02 >= 1e-06"


def test_gradcheck_with_every_gradient_zero_is_not_a_pass(capsys):
    code, out, _ = run(capsys, "gradcheck", "--activation", "relu", "--hidden", "5",
                       "--dataset", "circle")
    assert code == 3  # inconclusive: its own status, neither 0 nor a failure's 1
    assert "inconclusive" in out.splitlines()[-1]


# --- the app -----------------------------------------------------------------------------
@pytest.fixture
def fake_app(monkeypatch):
    calls = []
    module = types.ModuleType("tui.app")
    module.run_app = lambda config: calls.append(config) or 0
    monkeypatch.setitem(sys.modules, "tui.app", module)
    return calls


def test_no_command_opens_the_app(capsys, fake_app, tmp_path):
    assert main([]) == 0
    assert fake_app == [None]
    assert main(["--preset", "dlp-linear"]) == 0
    assert fake_app[-1].dataset == "linear"
    path = tmp_path / "exp.toml"
    path.write_text("hidden = [7]\n")
    assert main(["tui", "--config", str(path)]) == 0
    assert fake_app[-1].hidden == (7,)
    assert capsys.readouterr().err == ""


# --- the real command, and the product's promise -----------------------------------------
def test_the_real_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "train", "--epochs", "1000", "--log-every", "500",
         "--json"],
        capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json_lines(result.stdout)[-1]["event"] == "done"
    bad = subprocess.run(
        [sys.executable, "-m", "tui.cli", "train", "--hidden", "4,x"],
        capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path, timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dlp-xor", "dlp-linear"])
def test_course_presets_reach_100_percent(capsys, name):
    """The course's homework, full length: 100% accuracy and a loss below 1e-4."""
    code, out, _ = run(capsys, "train", "--preset", name, "--quiet")
    assert code == 0
    match = FINAL_LINE.match(out.splitlines()[-1])
    assert match, out
    assert match.group(2) == "100.00"
    assert float(match.group(1)) < 1e-4
    assert re.search(r"^epoch 100000 loss : ", out, re.MULTILINE)
