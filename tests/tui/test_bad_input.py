"""Bad input, everywhere, gets a clear message and changes nothing (the reliability issue).

Every case runs the real command line, ``tui.cli.main([...])``, in-process, and checks the
same contract: exit status 2, stdout empty, stderr exactly one line
``nn-tui: error: ...`` that names the flag (or the file) at fault, no traceback, and no
file created (every bad command also carries ``--save`` into a fresh folder, and the
folder is still empty afterwards). A few go through a real ``python -m tui.cli``
subprocess, to prove that nothing but that one line reaches the terminal.

Where the issue's list is ambiguous, these are the semantics chosen (and tested as valid):

* ``--hidden ""`` (or blanks) means no hidden layer: a 2-1 network, logistic regression.
  It is a documented choice ("empty: no hidden layer"), so it trains; ``4,,4``, ``4,``
  and ``,4`` are refused: an empty size between commas is a typo, not "no layer".
* ``--test-split 0`` means no test set (the default) and trains; ``1`` (nothing left to
  train on) is refused, as is anything above the documented maximum of 0.9.
* ``--batch-size 0`` means full batch; a batch equal to the data is fine, one larger is
  refused once the data is known (it names --batch-size and the number of points).
* A config file without some keys is fine: the missing ones keep their defaults.
* Integer flags refuse ``1e9`` and ``1.5``: only whole numbers in plain digits are read.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tui.cli import main

ROOT = Path(__file__).resolve().parents[2]
FAST = ["--epochs", "20", "--log-every", "10", "--quiet"]


# --- the contract ------------------------------------------------------------------------
def refused(capsys, tmp_path: Path, *argv: str, names: str, command: str = "train") -> str:
    """Run ``nn-tui COMMAND --save ... ARGV`` and check the bad-input contract; return the
    message (the text after ``nn-tui: error: ``)."""
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    save = out_dir / "run.npz"
    extra = ["--save", str(save)] if command == "train" else []
    code = main([command, *extra, *argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("nn-tui: error: "), lines[0]
    message = lines[0].removeprefix("nn-tui: error: ")
    assert names in message, f"{names!r} not named in {message!r}"
    assert not save.exists()
    assert list(out_dir.iterdir()) == []
    return message


def trains(capsys, *argv: str) -> str:
    code = main(["train", *FAST, *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "finished 20 epochs" in captured.out
    return captured.out


# --- flags -------------------------------------------------------------------------------
ARABIC_FOUR, FULLWIDTH_FOUR, DEVANAGARI_FIVE = "\u0664", "\uff14", "\u096b"
TEN_THOUSAND_LAYERS = ",".join(["4"] * 10_000)

BAD_FLAGS: list[tuple[str, str, str]] = [
    # (flag, value, a fragment the message must hold)
    ("--hidden", "4,,4", '"4,,4"'),
    ("--hidden", "4,", "positive integers"),
    ("--hidden", ",4", "positive integers"),
    ("--hidden", "0", "positive integers"),
    ("--hidden", "-3", "positive integers"),
    ("--hidden", "abc", "positive integers"),
    ("--hidden", "4.5", "positive integers"),
    ("--hidden", "0x10", "positive integers"),
    ("--hidden", "1e9", "positive integers"),
    ("--hidden", "1000000000", "at most 4096 units"),
    ("--hidden", "9" * 5000, "at most 4096 units"),  # more digits than int() converts
    ("--hidden", TEN_THOUSAND_LAYERS, "at most 64 hidden layers"),
    ("--hidden", ARABIC_FOUR, "positive integers"),
    ("--hidden", FULLWIDTH_FOUR, "positive integers"),
    ("--hidden", f"4,{DEVANAGARI_FIVE}", "positive integers"),
    ("--lr", "0", "(0, 1e+06]"),
    ("--lr", "-0.5", "(0, 1e+06]"),
    ("--lr", "-3", "(0, 1e+06]"),
    ("--lr", "nan", "finite"),
    ("--lr", "inf", "finite"),
    ("--lr", "-inf", "finite"),  # a value, though argparse alone takes it for a flag
    ("--lr", "-1e-3", "(0, 1e+06]"),
    ("--lr", "1e300", "(0, 1e+06]"),
    ("--lr", "1e400", "finite"),
    ("--lr", "", "learning rate"),
    ("--lr", "abc", "learning rate"),
    ("--lr", "0,5", "learning rate"),  # a decimal comma
    ("--lr", "\u0660.\u0665", "learning rate"),  # Arabic-Indic 0.5
    ("--lr", FULLWIDTH_FOUR, "learning rate"),
    ("--epochs", "0", "from 1 to"),
    ("--epochs", "-3", "from 1 to"),
    ("--epochs", "", "epochs"),
    ("--epochs", "abc", "epochs"),
    ("--epochs", "1.5", "epochs"),
    ("--epochs", "1e9", "epochs"),
    ("--epochs", "10000000000", "1,000,000,000"),
    ("--epochs", ARABIC_FOUR, "epochs"),
    ("--batch-size", "-1", "from 0 to"),
    ("--batch-size", "abc", "batch size"),
    ("--batch-size", "1.5", "batch size"),
    ("--batch-size", "22", "at most the 21 training points"),  # xor has 21 points
    ("--batch-size", "1000000", "at most the 21 training points"),
    ("--batch-size", "1000001", "from 0 to 1,000,000"),
    ("--noise", "-0.1", "[0, 1]"),
    ("--noise", "-3", "[0, 1]"),
    ("--noise", "2", "[0, 1]"),
    ("--noise", "nan", "finite"),
    ("--noise", "inf", "finite"),
    ("--noise", "", "noise"),
    ("--noise", "abc", "noise"),
    ("--test-split", "1", "[0, 0.9]"),
    ("--test-split", "0.95", "[0, 0.9]"),
    ("--test-split", "-0.1", "[0, 0.9]"),
    ("--test-split", "nan", "finite"),
    ("--test-split", "abc", "test split"),
    ("--n", "0", "from 2 to"),
    ("--n", "1", "from 2 to"),
    ("--n", "-3", "from 2 to"),
    ("--n", "", "number of points"),
    ("--n", "abc", "number of points"),
    ("--n", "1e9", "number of points"),
    ("--n", "10000000", "1,000,000"),
    ("--n", ARABIC_FOUR, "number of points"),
    ("--activation", "", "activation"),
    ("--activation", "abc", "sigmoid, tanh, relu"),
    ("--activation", "softmin", "sigmoid, tanh, relu"),
    ("--activation", "softmax", "softmax is only an output layer (with --loss ce)"),
    ("--classes", "3", "xor has 2 classes; 3 classes work with spiral, gaussian, pie"),
    ("--classes", "12", "classes must be"),
    ("--task", "foo", "auto, classify, regress"),
    ("--activation", "sigmoid,,sigmoid", '"sigmoid,,sigmoid"'),
    ("--activation", "relu,relu", "one per layer"),  # 2 hidden layers: 1 or 3 names
    ("--halve-band", "", "0 < low < 1 < high"),
    ("--halve-band", "0.9", "0 < low < 1 < high"),
    ("--halve-band", "0.9,1.1,1.2", "0 < low < 1 < high"),
    ("--halve-band", "1,2", "0 < low < 1 < high"),
    ("--halve-band", "1.1,0.9", "0 < low < 1 < high"),
    ("--halve-band", "nan,2", "0 < low < 1 < high"),
    ("--halve-band", "abc,def", "0 < low < 1 < high"),
    ("--halve-every", "0", "halve every"),
    ("--halve-factor", "0", "(0, 1)"),
    ("--halve-factor", "1", "(0, 1)"),
    ("--min-lr", "-1", "minimum learning rate"),
    ("--momentum", "1", "[0, 1)"),
    ("--momentum", "-0.1", "[0, 1)"),
    ("--patience", "0", "patience"),
    ("--plateau-factor", "1", "plateau factor"),
    ("--threshold", "1", "threshold"),
    ("--cooldown", "-1", "cooldown"),
    ("--log-every", "0", "log every"),
    ("--seed", "-1", "seed"),
    ("--seed", "4294967296", "4,294,967,295"),
    ("--data-seed", "abc", "data seed"),
    ("--dataset", "foo", "linear, xor"),
    ("--dataset", "xorr", 'did you mean "xor"'),
    ("--loss", "foo", "mse"),
    ("--optimizer", "foo", "sgd"),
    ("--init", "foo", "xavier"),
    ("--scale", "foo", "minmax"),
    ("--schedule", "foo", "halving"),
    ("--dtype", "float16", "float64, float32"),
]


@pytest.mark.parametrize(
    ("flag", "value", "fragment"),
    BAD_FLAGS,
    ids=[f"{f}={v[:12]!r}{'...' if len(v) > 12 else ''}" for f, v, _ in BAD_FLAGS],
)
def test_a_bad_flag_value_is_one_line_naming_the_flag(capsys, tmp_path, flag, value, fragment):
    message = refused(capsys, tmp_path, *FAST, flag, value, names=f"{flag}: ")
    assert message.startswith(f"{flag}: ")
    assert fragment in message


@pytest.mark.parametrize("flag", ["--lr", "--hidden", "--epochs"])
def test_the_flag_equals_spelling_is_refused_the_same_way(capsys, tmp_path, flag):
    refused(capsys, tmp_path, f"{flag}=-3", names=f"{flag}: ")


def test_a_rule_between_two_flags_names_the_one_to_change(capsys, tmp_path):
    message = refused(
        capsys, tmp_path, "--loss", "bce", "--activation", "tanh", names="--loss: "
    )
    assert "sigmoid output" in message


def test_a_flag_without_its_value(capsys, tmp_path):
    message = refused(capsys, tmp_path, "--lr", names="--lr")
    assert "expected one argument" in message


def test_json_mode_prints_nothing_on_stdout_for_bad_input(capsys, tmp_path):
    refused(capsys, tmp_path, "--json", "--lr", "nan", names="--lr: ")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--hidden", "4,,4"), ("--lr", "0"), ("--test-split", "1"), ("--activation", "abc")],
)
def test_gradcheck_refuses_the_same_values(capsys, tmp_path, flag, value):
    refused(capsys, tmp_path, flag, value, names=f"{flag}: ", command="gradcheck")


@pytest.mark.parametrize(("flag", "value"), [("--lr", "0 0.5"), ("--hidden", "4,,4")])
def test_sweep_refuses_a_bad_value_before_starting_any_run(capsys, tmp_path, flag, value):
    refused(capsys, tmp_path, "--epochs", "10", flag, *value.split(), names=f"{flag}: ",
            command="sweep")


# --- edges that are valid ----------------------------------------------------------------
def test_an_empty_hidden_is_logistic_regression_and_trains(capsys):
    for empty in ("", "  "):
        out = trains(capsys, "--hidden", empty)
        assert out.startswith("training 2-1 sigmoid (2 parameters)")


def test_a_test_split_of_zero_means_no_test_set_and_trains(capsys):
    out = trains(capsys, "--dataset", "linear", "--test-split", "0")
    assert "test loss" not in out and "test set" not in out and "test accuracy" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--batch-size", "0"],
        ["--batch-size", "21"],  # all of xor's points
        ["--dataset", "linear", "--n", "2"],
        ["--dataset", "linear", "--n", "3", "--test-split", "0.9"],
        ["--epochs", "1"],
        ["--lr", "1e6"],  # the documented maximum (it may diverge; that is not bad input)
        ["--lr", "1e-300"],
        ["--noise", "0"],
        ["--dataset", "linear", "--noise", "1"],
        ["--n", "1_000", "--dataset", "linear"],  # Python's digit grouping
        ["--hidden", " 4 , 4 "],
        ["--activation", "Tanh"],
    ],
    ids=lambda a: " ".join(a),
)
def test_boundary_values_that_are_valid(capsys, argv):
    code = main(["train", "--epochs", "5", "--log-every", "5", "--quiet", *argv])
    captured = capsys.readouterr()
    assert code == 0, captured.err


# --- config files ------------------------------------------------------------------------
BAD_CONFIGS: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("unclosed array", b"lr = 0.5\nhidden = [4, 4\nepochs = 10\n", ("not valid TOML", "line 3")),
    ("missing value", b"lr = 0.5\nepochs = \n", ("not valid TOML", "line 2")),
    ("no equals sign", b"epochs 10\n", ("not valid TOML", "line 1")),
    ("duplicate key", b"lr = 0.5\nlr = 0.1\n", ("not valid TOML", "line 2")),
    ("typo", b"hiden = [4]\n", ('unknown setting "hiden"', 'did you mean "hidden"')),
    ("typo 2", b"lrr = 0.1\n", ('unknown setting "lrr"', 'did you mean "lr"')),
    ("keras name", b"learning_rate = 0.1\n", ('"learning_rate"', 'did you mean "lr"')),
    ("other name", b"n_epochs = 10\n", ('"n_epochs"', 'did you mean "epochs"')),
    ("a section", b"[network]\nhidden = [4]\n", ('"network"', "top level")),
    ("hidden text", b'hidden = "abc"\n', ("hidden sizes", '"abc"')),
    ("hidden floats", b"hidden = [4.5]\n", ("hidden sizes",)),
    ("hidden bool", b"hidden = [true]\n", ("hidden sizes",)),
    ("hidden nested", b"hidden = [[4]]\n", ("hidden sizes",)),
    ("lr text", b'lr = "fast"\n', ("learning rate", '"fast"')),
    ("lr date", b"lr = 1979-05-27\n", ("learning rate",)),
    ("lr nan", b"lr = nan\n", ("learning rate", "finite")),
    ("lr inf", b"lr = inf\n", ("learning rate", "finite")),
    ("epochs float", b"epochs = 1.5\n", ("epochs", "1.5")),
    ("epochs zero", b"epochs = 0\n", ("epochs",)),
    ("bias maybe", b'bias = "maybe"\n', ("bias must be true or false", '"maybe"')),
    ("data_path number", b"data_path = 3\n", ("data path", "3")),
    ("dataset list", b'dataset = ["xor"]\n', ("dataset must be one of",)),
    ("huge seed", b"seed = 99999999999999999999\n", ("seed",)),
    ("bad preset", b'preset = "dlp-xorr"\n', ('did you mean "dlp-xor"',)),
    ("not utf-8", b"lr = 0.5\n# caf\xe9\n", ("not UTF-8", "line 2")),
    ("utf-16", "lr = 0.5\n".encode("utf-16"), ("not UTF-8", "line 1")),
]


@pytest.mark.parametrize(
    ("content", "fragments"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_a_bad_config_file_is_named_with_what_is_wrong(capsys, tmp_path, content, fragments):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    message = refused(capsys, tmp_path, *FAST, "--config", str(path), names=str(path))
    for fragment in fragments:
        assert fragment in message


def test_a_bad_config_file_under_a_preset_is_named_too(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b"hiden = [4]\n")
    message = refused(capsys, tmp_path, "--preset", "dlp-xor", "--config", str(path),
                      names=str(path))
    assert 'did you mean "hidden"' in message


def test_a_missing_config_file(capsys, tmp_path):
    message = refused(capsys, tmp_path, "--config", str(tmp_path / "nope.toml"),
                      names="nope.toml")
    assert "does not exist" in message


def test_a_folder_as_config_file(capsys, tmp_path):
    folder = tmp_path / "configs"
    folder.mkdir()
    message = refused(capsys, tmp_path, "--config", str(folder), names=str(folder))
    assert "folder" in message


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_config_file_is_refused_not_read_forever(capsys, tmp_path):
    start = time.perf_counter()
    message = refused(capsys, tmp_path, "--config", "/dev/zero", names="/dev/zero")
    assert "not a regular file (a character device)" in message  # refused unread
    assert time.perf_counter() - start < 5


def test_a_config_without_some_keys_keeps_the_defaults_for_them(capsys, tmp_path):
    path = tmp_path / "partial.toml"
    path.write_text("epochs = 20\nlog_every = 10\n", encoding="utf-8")
    out = trains(capsys, "--config", str(path))
    assert out.startswith("training 2-4-4-1 sigmoid")  # the default hidden = [4, 4]
    path.write_text("", encoding="utf-8")  # an empty file is all defaults
    trains(capsys, "--config", str(path))


def test_a_config_file_with_a_byte_order_mark_is_read(capsys, tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffhidden = [3]\n".encode())
    assert trains(capsys, "--config", str(path)).startswith("training 2-3-1")
    assert trains(capsys, "--preset", "dlp-xor", "--config", str(path)).startswith(
        "training 2-3-1"
    )


# --- CSV data ----------------------------------------------------------------------------
BAD_CSVS: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("ragged short", b"0,0,0\n1,1\n", ("line 2", "expected 3 columns", "got 2")),
    ("ragged long", b"0,0,0\n1,1,1,1\n", ("line 2", "got 4")),
    ("text in x", b"0,0,0\n1,abc,1\n", ("line 2, column 2 (x2)", "'abc' is not a number")),
    ("text label", b"0,0,0\n1,1,yes\n", ("line 2, column 3 (label)", "labels must be 0 or 1")),
    ("nan", b"0,0,0\n1,nan,1\n", ("line 2, column 2", "not a finite number")),
    ("inf", b"0,0,0\ninf,1,1\n", ("line 2, column 1", "not a finite number")),
    ("overflow", b"0,0,0\n1,1e400,1\n", ("line 2", "not a finite number")),
    ("nan label", b"0,0,0\n1,1,nan\n", ("line 2, column 3", "not a finite number")),
    ("one class", b"0,0,1\n1,1,1\n0,1,1\n", ("every label is 1", "both classes")),
    ("label 2", b"0,0,0\n1,1,2\n", ("line 2, column 3 (label)", "must be 0 or 1, got 2")),
    ("label -1", b"0,0,0\n1,1,-1\n", ("line 2", "got -1")),
    ("label 0.5", b"0,0,0\n1,1,0.5\n", ("line 2", "got 0.5")),
    ("empty", b"", ("no data rows",)),
    ("blank lines", b"\n\n\n", ("no data rows",)),
    ("header only", b"x1,x2,label\n", ("no data rows",)),
    ("one row", b"x1,x2,label\n0,0,1\n", ("only 1 data row",)),
    ("semicolons", b"0;0;0\n1;1;1\n", ("line 1", "separate the values with commas")),
    ("unclosed quote", b'0,0,0\n"1,1,1\n0,1,0\n', ("never closed",)),
    ("digit grouping", b"0,0,0\n1_0,1,1\n", ("line 2, column 1", "'1_0' is not a number")),
    ("arabic digits", "0,0,0\n\u0661,1,1\n".encode(), ("line 2, column 1", "not a number")),
    ("binary", bytes(range(256)) * 8, ("not UTF-8 text",)),
    ("utf-16", "0,0,0\n1,1,1\n".encode("utf-16"), ("not UTF-8 text",)),
    ("nul byte", b"0,0,0\n1,\x00,1\n", ("line 2, column 2",)),
    ("huge field", b"0,0,0\n" + b"1" * 200_000 + b",1,1\n", ("not a readable CSV file",)),
]


@pytest.mark.parametrize(
    ("content", "fragments"), [c[1:] for c in BAD_CSVS], ids=[c[0] for c in BAD_CSVS]
)
def test_a_bad_csv_names_the_flag_the_file_and_the_place(capsys, tmp_path, content, fragments):
    path = tmp_path / "points.csv"
    path.write_bytes(content)
    message = refused(capsys, tmp_path, *FAST, "--data", str(path), names="--data: ")
    assert message.startswith(f"--data: {path}")
    for fragment in fragments:
        assert fragment in message


def test_a_missing_csv_and_a_folder(capsys, tmp_path):
    message = refused(capsys, tmp_path, "--data", str(tmp_path / "nope.csv"), names="--data: ")
    assert "not found" in message
    message = refused(capsys, tmp_path, "--data", str(tmp_path), names="--data: ")
    assert "directory" in message


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_csv_is_refused_not_read_forever(capsys, tmp_path):
    start = time.perf_counter()
    message = refused(capsys, tmp_path, "--data", "/dev/zero", names="--data: ")
    assert "/dev/zero" in message
    assert time.perf_counter() - start < 5


def test_a_bad_csv_in_gradcheck_names_the_flag(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(b"0,0,0\n1,1,2\n")
    refused(capsys, tmp_path, "--data", str(path), names="--data: ", command="gradcheck")


def test_a_csv_named_by_a_config_file_names_the_file(capsys, tmp_path):
    (tmp_path / "points.csv").write_bytes(b"0,0,0\n1,1,2\n")
    config = tmp_path / "run.toml"
    config.write_text('data_path = "points.csv"\n', encoding="utf-8")  # relative to the file
    message = refused(capsys, tmp_path, "--config", str(config), names="points.csv line 2")
    assert not message.startswith("--data")  # no --data flag was given


def test_valid_csv_quirks_train(capsys, tmp_path):
    path = tmp_path / "points.csv"
    path.write_bytes(b"\xef\xbb\xbfx1,x2,label\r\n 0 , 0 , 0 \r\n1,1,1\r\n,,\r\n0,1,1\r\n\r\n")
    out = trains(capsys, "--data", str(path))
    assert "on csv:points.csv (3 points)" in out


def test_a_five_megabyte_csv_trains_a_few_epochs_quickly(capsys, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (150_000, 2))
    y = (X[:, 0] <= X[:, 1]).astype(int)
    path = tmp_path / "big.csv"
    buffer = io.StringIO()
    buffer.write("x1,x2,label\n")
    np.savetxt(buffer, np.column_stack([X, y]), fmt=["%.15f", "%.15f", "%d"], delimiter=",")
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert path.stat().st_size > 5 * 10**6
    start = time.perf_counter()
    code = main(["train", "--data", str(path), "--hidden", "4", "--epochs", "3",
                 "--log-every", "1", "--quiet", "--test-split", "0.2"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "120,000 training, 30,000 test points" in captured.out
    assert "finished 3 epochs" in captured.out
    assert time.perf_counter() - start < 10


# --- run files ---------------------------------------------------------------------------
class Bomb:
    """Unpickling this creates the marker file: proof that a pickle was executed."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("run") / "run.npz"
    assert main(["train", *FAST, "--save", str(path)]) == 0
    return path.read_bytes()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _npy(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def test_the_bomb_goes_off_when_unpickled(tmp_path):
    """Guard for the tests below: loading with pickles allowed does create the marker."""
    marker = tmp_path / "marker"
    pickle.loads(pickle.dumps(Bomb(marker))).close()
    assert marker.exists()


BAD_RUNS: list[tuple[str, str]] = [
    # (case, fragment)
    ("truncated", "damaged or not an nn-tui run file"),
    ("cut to 10 bytes", "damaged or not an nn-tui run file"),
    ("empty", "empty"),
    ("random bytes", "not an nn-tui run file"),
    ("random after a zip's magic", "damaged or not an nn-tui run file"),
    ("another program's npz", "not a complete nn-tui run file"),
    ("npz with a pickled object array", "never loads"),
    ("a run with a pickled object array added", "never loads"),
    ("a plain pickle", "never loads"),
    ("a zipped pickle", "not a complete nn-tui run file"),
    ("a .npy array", "single NumPy array"),
    ("a .npy of objects", "single NumPy array"),
    ("a text file", "not an nn-tui run file"),
]


def _bad_run_bytes(case: str, real: bytes, marker: Path) -> bytes:
    bomb = np.array([Bomb(marker)], dtype=object)
    rng = np.random.default_rng(7)
    if case == "truncated":
        return real[: len(real) // 2]
    if case == "cut to 10 bytes":
        return real[:10]
    if case == "empty":
        return b""
    if case == "random bytes":
        return rng.bytes(4000)
    if case == "random after a zip's magic":
        return b"PK\x03\x04" + rng.bytes(4000)
    if case == "another program's npz":
        return _npz(weights=np.ones((3, 3)), labels=np.arange(3))
    if case == "npz with a pickled object array":
        return _npz(meta=bomb)
    if case == "a run with a pickled object array added":
        with np.load(io.BytesIO(real), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        return _npz(**arrays, extra=bomb)
    if case == "a plain pickle":
        return pickle.dumps(Bomb(marker))
    if case == "a zipped pickle":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as zf:
            zf.writestr("meta.pkl", pickle.dumps(Bomb(marker)))
        return buffer.getvalue()
    if case == "a .npy array":
        return _npy(np.arange(5.0))
    if case == "a .npy of objects":
        return _npy(bomb)
    if case == "a text file":
        return b"epoch 5000 loss : 0.25\n"
    raise AssertionError(case)


@pytest.mark.parametrize(("case", "fragment"), BAD_RUNS, ids=[c for c, _ in BAD_RUNS])
def test_a_bad_run_file_is_refused_without_running_anything(
    capsys, tmp_path, real_run, case, fragment
):
    marker = tmp_path / "marker"
    path = tmp_path / "bad.npz"
    path.write_bytes(_bad_run_bytes(case, real_run, marker))
    message = refused(capsys, tmp_path, "--quiet", "--from", str(path), names=str(path))
    assert fragment in message
    assert "allow_pickle" not in message  # NumPy's advice to load it unsafely is not passed on
    assert not marker.exists()


def test_a_run_file_that_is_a_folder_or_missing(capsys, tmp_path):
    message = refused(capsys, tmp_path, "--from", str(tmp_path), names=str(tmp_path))
    assert "folder" in message
    message = refused(capsys, tmp_path, "--from", str(tmp_path / "no.npz"), names="no.npz")
    assert "does not exist" in message


def test_a_good_run_file_with_a_bad_flag_names_the_flag(capsys, tmp_path, real_run):
    path = tmp_path / "run.npz"
    path.write_bytes(real_run)
    refused(capsys, tmp_path, "--quiet", "--from", str(path), "--lr", "nan", names="--lr: ")


def test_the_real_run_file_still_reproduces(capsys, tmp_path, real_run):
    path = tmp_path / "run.npz"
    path.write_bytes(real_run)
    code = main(["train", "--quiet", "--from", str(path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "reproducing" in captured.out


# --- resource bounds ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "flag", "bound"),
    [
        # per-epoch memory: 1,000,000 points through 1024-wide layers is ~46 GiB of buffers
        (["--dataset", "linear", "--n", "1000000", "--hidden", "1024,1024"], "--n: ", "4 GiB"),
        (["--hidden", "4096,4096,4096"], "--hidden: ", "5,000,000"),  # parameter count
        (["--hidden", ",".join(["4096"] * 64)], "--hidden: ", "5,000,000"),
    ],
    ids=["memory", "parameters", "64 widest layers"],
)
def test_what_would_freeze_the_machine_is_refused_quickly(capsys, tmp_path, argv, flag, bound):
    start = time.perf_counter()
    message = refused(capsys, tmp_path, *FAST, *argv, names=flag)
    assert bound in message and "allowed" in message
    assert time.perf_counter() - start < 5


def test_a_batch_size_is_the_suggested_way_out_of_the_memory_bound(capsys, tmp_path):
    message = refused(capsys, tmp_path, "--dataset", "linear", "--n", "1000000",
                      "--hidden", "1024,1024", names="--n: ")
    assert "batch size" in message


def test_gradcheck_refuses_a_network_it_would_take_an_hour_to_check(capsys, tmp_path):
    start = time.perf_counter()
    message = refused(capsys, tmp_path, "--hidden", "1024,1024", names="--hidden: ",
                      command="gradcheck")
    assert "20,000" in message
    assert time.perf_counter() - start < 5


# --- through a real process: nothing but the one line reaches the terminal ---------------
def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.mark.parametrize(
    ("case", "flag"),
    [("lr", "--lr: "), ("csv", "--data: "), ("run", "not an nn-tui run file"),
     ("config", "unknown setting")],
)
def test_a_real_process_prints_one_line_and_no_traceback(tmp_path, case, flag):
    save = tmp_path / "run.npz"
    argv = ["train", "--save", str(save)]
    if case == "lr":
        argv += ["--lr", "nan"]
    elif case == "csv":
        (tmp_path / "p.csv").write_bytes(b"0,0,0\n1,1,2\n")
        argv += ["--data", str(tmp_path / "p.csv")]
    elif case == "run":
        (tmp_path / "evil.npz").write_bytes(pickle.dumps(Bomb(tmp_path / "marker")))
        argv += ["--from", str(tmp_path / "evil.npz")]
    else:
        (tmp_path / "c.toml").write_bytes(b"hiden = [4]\n")
        argv += ["--config", str(tmp_path / "c.toml")]
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", *argv], capture_output=True, text=True,
        env=_subprocess_env(), cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nn-tui: error: ")
    assert flag in lines[0]
    assert not save.exists()
    assert not (tmp_path / "marker").exists()
