"""Bad files and values at the engine's edge: each gets its own error, with a clear message.

The reliability issue's list, one layer below the command line (tests/tui/test_bad_input.py
runs the same cases through ``nn-tui``): config files (``load_config``), CSV data
(``load_csv``), run files (``load_run``) and the resource bounds. Then properties, with
Hypothesis (derandomized, so every run tries the same examples):

* any text for any field given to ``parse_field`` raises ConfigError or returns a value
  that ``ExperimentConfig.from_dict`` accepts (rules between fields aside) and that parses
  to itself again;
* any bytes written as a CSV make ``load_csv`` return valid arrays or raise DataError;
* any bytes as a run file make ``load_run`` raise RunFileError; a real run file with a
  byte changed either loads or raises RunFileError, never anything else.
"""

from __future__ import annotations

import io
import json
import math
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine.data.datasets as datasets
import engine.io.runfile as runfile
from engine import ExperimentConfig, RunFileError, Trainer, load_run, save_run
from engine.config.experiment import (
    FIELDS,
    MAX_PARAMETERS,
    ConfigError,
    load_config,
    nearest_setting,
    parse_field,
    read_config,
)
from engine.data.datasets import DataError, load_csv

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- config files ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"lr = 0.5\nhidden = [4, 4\nepochs = 10\n", ("not valid TOML", "line 3")),
        (b"lr = 0.5\n\nepochs = \n", ("not valid TOML", "line 3")),
        (b"hiden = [4]\n", ('unknown setting "hiden"', 'did you mean "hidden"')),
        (b"learning_rate = 0.1\n", ('unknown setting "learning_rate"', 'did you mean "lr"')),
        (b"hidden_layer_sizes = [4]\n", ('did you mean "hidden"',)),
        (b"Batch-Size = 4\n", ('did you mean "batch_size"',)),
        (b"[training]\nlr = 0.1\n", ('unknown setting "training"', "top level")),
        (b"zzzz = 1\n", ('unknown setting "zzzz"',)),
        (b'hidden = "abc"\n', ("hidden sizes", '"abc"')),
        (b'lr = "fast"\n', ("learning rate", '"fast"')),
        (b"epochs = 1.5\n", ("epochs must be an integer", "1.5")),
        (b'bias = "maybe"\n', ("bias must be true or false", '"maybe"')),
        (b"data_path = 3\n", ("data path must be a file name", "3")),
        (b"data_path = [1, 2]\n", ("data path must be a file name",)),
        (b'activation = "sigmoid,,tanh"\n', ('"sigmoid,,tanh"',)),
        (b"lr = 0.5\n\n# caf\xe9\n", ("not UTF-8 text", "byte 0xe9 on line 3")),
    ],
)
def test_load_config_says_what_is_wrong_and_where(tmp_path: Path, content, fragments) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in info.value.message
    for fragment in fragments:
        assert fragment in info.value.message


def test_the_unknown_key_is_the_errors_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(b"lr = 0.1\nepocs = 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.field == "epocs"
    assert 'did you mean "epochs"' in info.value.message


@pytest.mark.parametrize(
    ("key", "nearest"),
    [("hiden", "hidden"), ("lrr", "lr"), ("lr_rate", "lr"), ("learning_rate", "lr"),
     ("epoch", "epochs"), ("n_epochs", "epochs"), ("batch", "batch_size"),
     ("test_size", "test_split"), ("random_state", "seed"), ("LR", "lr"), ("zzzz", None)],
)
def test_nearest_setting(key: str, nearest: str | None) -> None:
    assert nearest_setting(key) == nearest


def test_a_missing_file_a_folder_and_an_endless_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="folder"):
        load_config(tmp_path)
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (2**20) + b"\n")
    with pytest.raises(ConfigError, match="larger than 1024 KiB"):
        load_config(big)


def test_missing_keys_keep_their_defaults_and_a_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "partial.toml"
    path.write_bytes("\ufeffepochs = 7\n".encode())
    assert load_config(path) == ExperimentConfig(epochs=7)
    path.write_bytes(b"")
    assert load_config(path) == ExperimentConfig()


def test_read_config_makes_a_relative_data_path_relative_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('data_path = "sub/points.csv"\nlr = 0.1\n', encoding="utf-8")
    assert read_config(path) == {"data_path": str(tmp_path / "sub" / "points.csv"), "lr": 0.1}


# --- CSV ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        (b"0,0,0\n1,1\n", ("line 2", "expected 3 columns", "got 2")),
        (b"0,0,0\n1,x,1\n", ("line 2, column 2 (x2)", "'x' is not a number")),
        (b"0,0,0\n1,1,one\n", ("line 2, column 3 (label)", "labels must be 0 or 1")),
        (b"0,0,0\n\n1,NaN,1\n", ("line 3, column 2", "not a finite number")),
        (b"0,0,0\n-inf,1,1\n", ("line 2, column 1", "not a finite number")),
        (b"0,0,1\n1,1,1\n", ("every label is 1",)),
        (b"0,0,0\n1,1,0\n", ("every label is 0",)),
        (b"0,0,0\n1,1,2\n", ("line 2, column 3 (label)", "got 2")),
        (b"0,0,0\n1,1,-1\n", ("got -1",)),
        (b"", ("no data rows",)),
        (b"x1,x2,label\n", ("no data rows",)),
        (b"x1,x2,label\n1,2,1\n", ("only 1 data row",)),
        (b"0,0,0\n1_0,1,1\n", ("line 2, column 1", "'1_0' is not a number")),
        ("0,0,0\n1,\u0661,1\n".encode(), ("line 2, column 2", "is not a number")),
        ("0,0,0\n1,\uff11,1\n".encode(), ("line 2, column 2", "is not a number")),
        (b'0,0,0\n"1,1,1\n', ("never closed",)),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xd8", ("not UTF-8 text",)),
    ],
)
def test_load_csv_says_what_is_wrong_and_where(tmp_path: Path, content, fragments) -> None:
    path = tmp_path / "points.csv"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_csv(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message


def test_a_header_with_underscores_or_accents_is_still_a_header(tmp_path: Path) -> None:
    path = tmp_path / "points.csv"
    path.write_text("x_1,x_2,étiquette\n0,0,0\n1,1,1\n", encoding="utf-8")
    X, y = load_csv(path)
    assert X.tolist() == [[0.0, 0.0], [1.0, 1.0]] and y.ravel().tolist() == [0.0, 1.0]


def test_a_csv_beyond_the_size_bound_is_refused_unread(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 100)
    path = tmp_path / "points.csv"
    path.write_bytes(b"0,0,0\n1,1,1\n" * 10)
    with pytest.raises(DataError, match="larger than"):
        load_csv(path)


def test_a_csv_beyond_the_point_bound_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(datasets, "MAX_POINTS", 5)
    path = tmp_path / "points.csv"
    path.write_bytes(b"0,0,0\n1,1,1\n0,1,1\n")
    assert len(load_csv(path)[0]) == 3
    path.write_bytes(b"0,0,0\n1,1,1\n" * 3)
    with pytest.raises(DataError, match="6 data rows; at most 5"):
        load_csv(path)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_csv_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 2**16)  # keep the read short
    with pytest.raises(DataError, match="/dev/zero"):
        load_csv("/dev/zero")


# --- run files ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> bytes:
    trainer = Trainer(ExperimentConfig(epochs=30, log_every=10, halve_every=10))
    trainer.run()
    return save_run(tmp_path_factory.mktemp("run") / "run.npz", trainer).read_bytes()


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _arrays(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _with_meta(data: bytes, **changes) -> bytes:
    arrays = _arrays(data)
    meta = json.loads(str(arrays["meta"]))
    meta.update(changes)
    arrays["meta"] = np.array(json.dumps(meta))
    return _npz(**arrays)


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda real: real[: len(real) // 2], "damaged or not an nn-tui run file"),
        (lambda real: b"", "empty"),
        (lambda real: b"\x93NUMPY\x01\x00" + b"x" * 100, "single NumPy array"),
        (lambda real: b"\x80\x04\x95" + b"x" * 100, "never loads"),
        (lambda real: b"hello", "not a NumPy .npz archive"),
        (lambda real: _npz(a=np.arange(3)), "not a complete nn-tui run file (no 'meta')"),
        (lambda real: _with_meta(real, epoch=math.inf), "not a complete nn-tui run file"),
        (lambda real: _with_meta(real, stride=1e400), "not a complete nn-tui run file"),
        (lambda real: _with_meta(real, lr=None), "not a complete nn-tui run file"),
        (lambda real: _with_meta(real, config={"lrr": 1}), 'did you mean "lr"'),
        (lambda real: _with_meta(real, config={"hidden": [4096] * 3}), "5,000,000"),
        (
            lambda real: _npz(**{**_arrays(real), "meta": np.array("[" * 100_000)}),
            "not a complete nn-tui run file",
        ),
    ],
    ids=["truncated", "empty", "npy header", "pickle protocol 4", "text", "foreign npz",
         "infinite epoch", "overflowing stride", "null rate", "bad config", "huge config",
         "json nested deep"],
)
def test_load_run_refuses_with_a_run_file_error(tmp_path: Path, real_run, make, fragment) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(make(real_run))
    with pytest.raises(RunFileError) as info:
        load_run(path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_an_archive_that_would_unpack_too_big_is_refused_unread(
    tmp_path: Path, real_run, monkeypatch
) -> None:
    path = tmp_path / "run.npz"
    path.write_bytes(real_run)
    assert load_run(path).epoch == 30
    monkeypatch.setattr(runfile, "MAX_RUN_BYTES", 1000)
    with pytest.raises(RunFileError, match="would unpack to"):
        load_run(path)


def test_a_zip_bomb_is_refused_without_unpacking(tmp_path: Path) -> None:
    """A member claiming 300 MiB (compressed to ~300 KiB) is refused from the directory."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open(
        "meta.npy", "w", force_zip64=True
    ) as member:
        chunk = bytes(2**20)
        for _ in range(300):
            member.write(chunk)
    assert path.stat().st_size < 2**20
    with pytest.raises(RunFileError, match="would unpack to 300 MiB"):
        load_run(path)


# --- resource bounds ---------------------------------------------------------------------
def test_the_parameter_bound_is_exact() -> None:
    # 2 -> w -> 1 without biases has 3w parameters
    width = MAX_PARAMETERS // 3
    ExperimentConfig(hidden=(min(width, 4096),))
    wide = ExperimentConfig(hidden=(2000, 2000))  # 2*2000 + 2000*2000 + 2000 = 4,006,000
    assert wide.n_parameters <= MAX_PARAMETERS
    with pytest.raises(ConfigError, match="more than the 5,000,000 allowed") as info:
        ExperimentConfig(hidden=(2000, 2000, 2000))
    assert info.value.field == "hidden"


def test_the_memory_bound_names_the_field_and_the_way_out() -> None:
    config = ExperimentConfig(dataset="linear", n=1_000_000, hidden=(1024, 1024), epochs=1)
    with pytest.raises(ConfigError) as info:
        Trainer(config)
    assert info.value.field == "n"
    assert "4 GiB allowed" in info.value.message and "batch size" in info.value.message


def test_the_memory_bound_also_counts_the_test_set(monkeypatch) -> None:
    import engine.train.trainer as trainer

    monkeypatch.setattr(trainer, "MAX_WORKSPACE_BYTES", 2 * 2**20)  # small, so this is safe
    config = ExperimentConfig(
        dataset="linear", n=20_000, hidden=(64,), batch_size=100, test_split=0.5, epochs=1
    )
    with pytest.raises(ConfigError):  # 10,000 test points need ~15 MiB of buffers
        Trainer(config)


# --- properties --------------------------------------------------------------------------
FIELD_TEXT = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"[ +\-_.,0-9eEinfa٣４]{0,16}", fullmatch=True),
    st.lists(st.integers(-5, 5000).map(str), max_size=6).map(",".join),
    st.sampled_from(["", " ", "nan", "-inf", "1e300", "4,,4", "0", "-3", "1e9", "on", "maybe",
                     "sigmoid,,tanh", "tanh,tanh,sigmoid", "0.9,1.1", "9" * 5000]),
)
TOGETHER_RULES = {"hidden", "activation", "loss"}  # fields checked against other fields


@PROPERTY
@given(name=st.sampled_from(sorted(FIELDS)), text=FIELD_TEXT)
def test_parse_field_gives_a_config_error_or_a_value_from_dict_accepts(name, text) -> None:
    try:
        value = parse_field(name, text)
    except ConfigError as err:
        assert err.field == name and err.message
        return
    assert FIELDS[name].parse(value) == value  # a parsed value parses to itself
    try:
        config = ExperimentConfig.from_dict({name: value})
    except ConfigError as err:
        assert name in TOGETHER_RULES, err.message  # e.g. 2 activations for 2 hidden layers
    else:
        assert getattr(config, name) == value


CSV_CELLS = st.one_of(
    st.sampled_from(["0", "1", "0.5", "-1", "2", "nan", "inf", "1e400", "", " ", "x1", "label",
                     "1_0", "١", '"', '"1"', "0x1", "1e5", "-0", "\x00"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=4),
)
CSV_TEXT = st.lists(
    st.lists(CSV_CELLS, min_size=0, max_size=4).map(",".join), max_size=12
).map("\n".join)
CSV_BYTES = st.one_of(
    st.binary(max_size=300),
    CSV_TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.sampled_from([b"0,0,0", b"1,1,1", b"0,1,1", b"x1,x2,label", b"", b"\xef\xbb\xbf",
                              b"1,1,2", b"\r", b",,"]), max_size=8).map(b"\n".join),
)


@PROPERTY
@given(data=CSV_BYTES)
def test_any_bytes_as_a_csv_load_valid_arrays_or_raise_data_error(tmp_path, data) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_bytes(data)
    try:
        X, y = load_csv(path)
    except DataError as err:
        assert str(path) in str(err)
        return
    n = len(X)
    assert n >= 2 and X.shape == (n, 2) and y.shape == (n, 1)
    assert X.dtype == y.dtype == np.float64
    assert np.isfinite(X).all()
    assert set(np.unique(y)) == {0.0, 1.0}


@PROPERTY
@given(
    data=st.one_of(
        st.binary(max_size=400),
        st.binary(max_size=400).map(lambda b: b"PK\x03\x04" + b),
        st.binary(max_size=400).map(lambda b: b"\x93NUMPY" + b),
        st.binary(max_size=400).map(lambda b: b"\x80" + b),
    )
)
def test_any_bytes_as_a_run_file_raise_run_file_error(tmp_path, data) -> None:
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    with pytest.raises(RunFileError):
        load_run(path)


@PROPERTY
@given(
    cut=st.integers(0, 10**6),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), max_size=3),
)
def test_a_damaged_real_run_file_loads_or_raises_run_file_error(
    tmp_path, real_run, cut, flips
) -> None:
    data = bytearray(real_run[: max(1, cut % (len(real_run) + 1))])
    for offset, mask in flips:
        data[offset % len(data)] ^= mask
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data))
    try:
        run = load_run(path)
    except RunFileError as err:
        assert str(path) in str(err)
    else:  # the damage missed everything that matters (or only hit a stored value)
        assert bytes(data[:4]) == b"PK\x03\x04"
        assert isinstance(run.config, ExperimentConfig)
