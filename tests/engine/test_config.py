"""The experiment config: one message per bad value, round trips, presets, and fuzzing."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.config.experiment import (
    FIELDS,
    MAX_LAYERS,
    MAX_WIDTH,
    PRESET_NAMES,
    PRESETS,
    ConfigError,
    ExperimentConfig,
    load_config,
    parse_field,
    preset,
)

pytestmark = pytest.mark.filterwarnings("error")

DETERMINISTIC = settings(
    derandomize=True, database=None, deadline=None, max_examples=150,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _error(values: dict) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.from_dict(values)
    return info.value


# --- defaults and presets ------------------------------------------------------------------
def test_defaults_are_the_course_homework() -> None:
    c = ExperimentConfig()
    assert (c.dataset, c.hidden, c.activation, c.loss, c.lr, c.bias, c.scale) == (
        "xor", (4, 4), ("sigmoid",), "sse", 0.5, False, "max")
    assert (c.schedule, c.halve_every, c.halve_band, c.halve_factor, c.log_every) == (
        "halving", 5000, (0.9, 1.1), 0.5, 5000)
    assert c.sizes == (2, 4, 4, 1)
    assert c.layer_activations == ("sigmoid",) * 3
    assert c.n_parameters == 2 * 4 + 4 * 4 + 4
    assert c.diagram() == "2 → 4 → 4 → 1"


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_loads(name: str) -> None:
    c = preset(name)
    assert isinstance(c, ExperimentConfig)
    for key, value in PRESETS[name].items():
        got = getattr(c, key)
        want = tuple(value) if isinstance(value, list | tuple) else value
        want = (want,) if key == "activation" and isinstance(want, str) else want
        assert got == want, key
    assert ExperimentConfig.from_dict({"preset": name}) == c


def test_course_presets() -> None:
    xor, linear = preset("dlp-xor"), preset("dlp-linear")
    assert xor.dataset == "xor" and xor.hidden == (4, 4)
    assert linear.dataset == "linear" and linear.n == 100 and linear.hidden == (10, 5, 3, 5)
    for c in (xor, linear):
        assert (c.activation, c.bias, c.loss, c.lr, c.optimizer, c.scale) == (
            ("sigmoid",), False, "sse", 0.5, "sgd", "max")
        assert (c.halve_every, c.halve_band, c.log_every, c.epochs) == (
            5000, (0.9, 1.1), 5000, 100_000)


def test_a_preset_with_overrides_and_an_unknown_preset() -> None:
    c = ExperimentConfig.from_dict({"preset": "dlp-linear", "lr": 0.1})
    assert c.lr == 0.1 and c.hidden == (10, 5, 3, 5)
    with pytest.raises(ConfigError, match='did you mean "dlp-xor"') as info:
        preset("dlp-xorr")
    assert info.value.field == "preset"


# --- unknown keys --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("key", "hint"),
    [("lr_rate", "lr"), ("epoch", "epochs"), ("hiden", "hidden"), ("activations", "activation"),
     ("batchsize", "batch_size"), ("optimiser", "optimizer"), ("halve-every", "halve_every")],
)
def test_an_unknown_key_suggests_the_nearest(key: str, hint: str) -> None:
    err = _error({key: 1})
    assert err.field == key
    assert str(err) == f'unknown setting "{key}" (did you mean "{hint}"?)'


def test_an_unknown_key_with_nothing_near() -> None:
    err = _error({"zzzzqqq": 1})
    assert str(err) == 'unknown setting "zzzzqqq"'
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_field("zzzzqqq", "1")


# --- bad values ----------------------------------------------------------------------------
BAD_VALUES = [
    # (field, value, text the message must contain)
    ("hidden", "4,x", '"4,x"'),
    ("hidden", "4,,4", '"4,,4"'),
    ("hidden", "0", '"0"'),
    ("hidden", "-3", '"-3"'),
    ("hidden", "٣", '"٣"'),  # an Arabic-Indic three: a digit, but not ASCII
    ("hidden", "4.5", '"4.5"'),
    ("hidden", "1e3", '"1e3"'),
    ("hidden", [4, 0], '"4,0"'),
    ("hidden", [True], '"True"'),
    ("hidden", str(MAX_WIDTH + 1), f"at most {MAX_WIDTH} units, got {MAX_WIDTH + 1}"),
    ("hidden", "9" * 5000, f"at most {MAX_WIDTH} units"),
    ("hidden", ",".join(["1"] * (MAX_LAYERS + 1)), f"at most {MAX_LAYERS} hidden layers, got 65"),
    ("hidden", "4096,4096", "16,789,504 parameters is more than the 5,000,000 allowed"),
    ("lr", 0, "learning rate must be in (0, 1e+06], got 0"),
    ("lr", -1, "got -1"),
    ("lr", "0", 'got "0"'),
    ("lr", math.nan, "finite number in (0, 1e+06], got nan"),
    ("lr", "nan", 'got "nan"'),
    ("lr", math.inf, "got inf"),
    ("lr", "-inf", 'got "-inf"'),
    ("lr", 1e300, "got 1e+300"),
    ("lr", 10**400, "got 1000"),
    ("lr", "", 'got ""'),
    ("lr", "abc", 'got "abc"'),
    ("lr", "٣", 'got "٣"'),
    ("lr", True, "got True"),
    ("epochs", 0, "epochs must be an integer from 1 to 1,000,000,000, got 0"),
    ("epochs", -5, "got -5"),
    ("epochs", 1.5, "got 1.5"),
    ("epochs", "", 'got ""'),
    ("epochs", "1e3", 'got "1e3"'),
    ("epochs", "+-5", 'got "+-5"'),
    ("epochs", "9" * 5000, "got"),
    ("epochs", 2 * 10**9, "got 2000000000"),
    ("epochs", math.inf, "got inf"),
    ("test_split", 1, "test split must be in [0, 0.9], got 1"),
    ("test_split", -0.1, "got -0.1"),
    ("noise", 2, "noise must be in [0, 1], got 2"),
    ("n", 1, "number of points must be an integer from 2 to 1,000,000, got 1"),
    ("seed", -1, "got -1"),
    ("seed", 2**32, "got 4294967296"),
    ("batch_size", -1, "got -1"),
    ("momentum", 1, "momentum must be in [0, 1), got 1"),
    ("halve_every", 0, "got 0"),
    ("halve_factor", 1, "halve factor must be in (0, 1), got 1"),
    ("halve_band", "1.1,0.9", 'got "1.1,0.9"'),
    ("halve_band", "0.9", 'got "0.9"'),
    ("halve_band", [10**400, 2], "halve band must be two numbers"),
    ("min_lr", -1, "got -1"),
    ("patience", 0, "got 0"),
    ("cooldown", -1, "got -1"),
    ("threshold", 1, "got 1"),
    ("plateau_factor", 0, "got 0"),
    ("log_every", 0, "got 0"),
    ("bias", "maybe", 'bias must be true or false, got "maybe"'),
    ("dataset", "xorr", 'got "xorr" (did you mean "xor"?)'),
    ("activation", "mish", 'got "mish"'),
    ("activation", "", "activation must name one of"),
    ("loss", "mae", 'got "mae"'),
    ("optimizer", "adamw", 'got "adamw" (did you mean "adam"?)'),
    ("init", "zeros", 'got "zeros"'),
    ("scale", "log", 'got "log"'),
    ("schedule", "cosine", 'got "cosine"'),
    ("dtype", "float16", 'got "float16"'),
]


@pytest.mark.parametrize(("field", "value", "expected"), BAD_VALUES,
                         ids=[f"{f}={str(v)[:12]}" for f, v, _ in BAD_VALUES])
def test_bad_values_name_the_field_and_the_value(field: str, value, expected: str) -> None:
    err = _error({field: value})
    assert err.field == field
    assert expected in str(err), str(err)
    assert str(err) == err.message


def test_the_hidden_message_exactly() -> None:
    err = _error({"hidden": "4,x"})
    assert str(err) == 'hidden sizes must be positive integers separated by commas, got "4,x"'


def test_bad_values_through_parse_field_and_the_constructor() -> None:
    with pytest.raises(ConfigError, match='got "4,x"'):
        parse_field("hidden", "4,x")
    with pytest.raises(ConfigError) as info:
        ExperimentConfig(lr=0)
    assert info.value.field == "lr"


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({"hidden": "4,4", "activation": "sigmoid,tanh"}, "activation",
         'give one activation for every layer or 3 (one per layer incl. the output), '
         'got 2: "sigmoid,tanh"'),
        ({"hidden": "", "activation": "tanh,sigmoid"}, "activation", "got 2"),
        ({"activation": "tanh", "loss": "bce"}, "loss", "bce needs a sigmoid output layer"),
        ({"activation": "sigmoid,sigmoid,relu", "loss": "bce"}, "loss", "sigmoid output"),
        ({"hidden": "2000,2000,2000"}, "hidden", "8,006,000 parameters"),
    ],
)
def test_rules_across_fields(values: dict, field: str, expected: str) -> None:
    err = _error(values)
    assert err.field == field
    assert expected in str(err)


# --- good values ---------------------------------------------------------------------------
GOOD_VALUES = [
    ("hidden", "10,5,3,5", (10, 5, 3, 5)),
    ("hidden", " 4 , 4 ", (4, 4)),
    ("hidden", [8], (8,)),
    ("hidden", 3, (3,)),
    ("hidden", "0004", (4,)),
    ("hidden", "", ()),  # documented: empty means no hidden layer (logistic regression)
    ("hidden", ",".join(["1"] * MAX_LAYERS), (1,) * MAX_LAYERS),
    ("hidden", str(MAX_WIDTH), (MAX_WIDTH,)),
    ("lr", "0.5", 0.5),
    ("lr", " 1e-3 ", 0.001),
    ("lr", 2, 2.0),
    ("lr", "1e6", 1e6),
    ("epochs", "1_000", 1000),
    ("epochs", "+7", 7),
    ("epochs", 5.0, 5),
    ("test_split", "0.9", 0.9),
    ("bias", "on", True),
    ("bias", "No", False),
    ("bias", True, True),
    ("activation", "Leaky-ReLU", ("leaky_relu",)),
    ("activation", "tanh, tanh ,sigmoid", ("tanh", "tanh", "sigmoid")),
    ("loss", "MSE", "mse"),
    ("halve_band", "0.8,1.25", (0.8, 1.25)),
    ("halve_band", [0.5, 2], (0.5, 2.0)),
    ("data_path", "  ", None),
    ("data_path", " data.csv ", "data.csv"),
]


@pytest.mark.parametrize(("field", "value", "expected"), GOOD_VALUES,
                         ids=[f"{f}={str(v)[:12]}" for f, v, _ in GOOD_VALUES])
def test_good_values_parse(field: str, value, expected) -> None:
    assert parse_field(field, value) == expected


def test_field_text_is_what_the_editor_shows() -> None:
    c = ExperimentConfig(hidden=(10, 5), activation=("tanh", "tanh", "sigmoid"), bias=True)
    assert c.field_text("hidden") == "10,5"
    assert c.field_text("activation") == "tanh,tanh,sigmoid"
    assert c.field_text("bias") == "on"
    assert c.field_text("lr") == "0.5"
    assert c.field_text("halve_band") == "0.9,1.1"
    assert c.field_text("data_path") == ""
    for name in FIELDS:  # the editor's text parses back to the same value
        assert parse_field(name, c.field_text(name)) == getattr(c, name), name


# --- immutability, replace, round trips ----------------------------------------------------
def test_configs_are_frozen_and_replace_validates() -> None:
    c = ExperimentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.lr = 1.0  # type: ignore[misc]
    d = c.replace(lr="0.25", hidden="8")
    assert (d.lr, d.hidden, c.lr, c.hidden) == (0.25, (8,), 0.5, (4, 4))
    with pytest.raises(ConfigError) as info:
        c.replace(lr=0)
    assert info.value.field == "lr"
    with pytest.raises(ConfigError, match='did you mean "lr"'):
        c.replace(lr_rate=0.1)
    with pytest.raises(ConfigError, match="sigmoid output"):
        c.replace(activation="relu", loss="bce")


CUSTOM = ExperimentConfig(
    dataset="moons", n=321, noise=0.125, data_seed=7, test_split=0.25, data_path="/some dir/x.csv",
    hidden=(16, 8, 3), activation=("relu", "leaky_relu", "tanh", "sigmoid"), loss="bce",
    optimizer="momentum", momentum=0.75, lr=0.0123456789, epochs=1234, batch_size=32, seed=99,
    bias=True, init="he", scale="standard", schedule="plateau", halve_every=77,
    halve_band=(0.95, 1.05), halve_factor=0.3, min_lr=1e-12, patience=11, plateau_factor=0.2,
    threshold=1e-4, cooldown=3, log_every=10, dtype="float32",
)


@pytest.mark.parametrize("config", [CUSTOM, ExperimentConfig()] + [preset(n) for n in PRESET_NAMES],
                         ids=["custom", "default", *PRESET_NAMES])
def test_toml_round_trip(config: ExperimentConfig, tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(config.to_toml(), encoding="utf-8")
    assert load_config(path) == config
    assert ExperimentConfig.from_dict(json.loads(config.to_json())) == config
    assert ExperimentConfig.from_dict(config.to_dict()) == config


def test_a_relative_data_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(ExperimentConfig(data_path="sub/x.csv").to_toml(), encoding="utf-8")
    assert load_config(path).data_path == str(tmp_path / "sub" / "x.csv")


def test_a_toml_file_may_name_a_preset(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text('preset = "dlp-linear"\nepochs = 10\n', encoding="utf-8")
    assert load_config(path) == preset("dlp-linear").replace(epochs=10)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"lr = \n", "not valid TOML"),
        (b"lr = 0\n", "learning rate must be in"),
        (b"lr_rate = 0.1\n", 'did you mean "lr"'),
        (b"\xff\xfe\x00", "cannot read config file"),
        (b"[table]\nlr = 1\n", 'unknown setting "table"'),
    ],
)
def test_load_config_errors_name_the_file(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


# --- fuzzing -------------------------------------------------------------------------------
NUMERIC_TEXT = st.from_regex(r"[ +\-_.,0-9eE٣x]{0,14}", fullmatch=True)
ANY_TEXT = st.one_of(st.text(max_size=30), NUMERIC_TEXT,
                     st.sampled_from(["nan", "inf", "-inf", "1e999", "on", "sigmoid", ","]))
SCALARS = st.one_of(
    ANY_TEXT, st.integers(), st.integers(min_value=10**300, max_value=10**330),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(st.text(max_size=3),
                                                                          SCALARS, max_size=2))


@DETERMINISTIC
@given(name=st.sampled_from(sorted(FIELDS)), text=ANY_TEXT)
def test_parse_field_of_random_text_raises_only_config_errors(name: str, text: str) -> None:
    try:
        parse_field(name, text)
    except ConfigError as err:
        assert err.field == name and err.message


@DETERMINISTIC
@given(values=st.dictionaries(st.sampled_from(sorted(FIELDS)), VALUES, max_size=4))
def test_from_dict_of_random_values_raises_only_config_errors(values: dict) -> None:
    try:
        config = ExperimentConfig.from_dict(values)
    except ConfigError as err:
        assert err.message
    else:
        assert ExperimentConfig.from_dict(config.to_dict()) == config


TOML_LINES = st.lists(
    st.tuples(st.sampled_from([*sorted(FIELDS), "preset", "lr_rate"]),
              st.one_of(ANY_TEXT.map(json.dumps), NUMERIC_TEXT, st.text(max_size=12))),
    max_size=4,
).map(lambda pairs: "\n".join(f"{k} = {v}" for k, v in pairs))


@DETERMINISTIC
@given(text=st.one_of(st.text(max_size=80), TOML_LINES))
def test_load_config_of_random_text_raises_only_config_errors(text: str, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_config(path)
    except ConfigError as err:
        assert str(path) in err.message
