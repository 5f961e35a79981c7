"""The experiment config: every hyperparameter in one validated, immutable dataclass.

A config is built from a dict (``ExperimentConfig.from_dict``), a TOML file
(``load_config``), a preset (``preset``), or text fields as typed in the TUI editor
or on the command line (``parse_field``). All of them go through the same
per-field parsers, so a bad value gets the same message everywhere: it names the
field, the value and what is accepted, e.g.
``hidden sizes must be positive integers, got "4,x"``.

What each field is (help, choices, default, section, label, metavar, when it matters)
and the presets are written once, in ``engine.config.fields`` (standard library only,
for ``nn-tui --help``); this module adds each field's parser (``FIELDS``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from engine.config.fields import (
    PRESET_NAMES,
    PRESETS,
    REGRESSION_SETS,
    SETTINGS,
    TASKS,
    Setting,
    default,
    regression_task,
    value_text,
)
from engine.data.datasets import DATASET_NAMES, MAX_CLASSES, classes_error
from engine.data.features import FEATURE_NAMES
from engine.data.files import FileTooLargeError, read_regular_file
from engine.data.scaling import SCALERS
from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.losses import LOSS_NAMES
from engine.nn.network import DTYPES, INITS
from engine.optim.optimizers import OPTIMIZER_NAMES
from engine.optim.schedules import SCHEDULE_NAMES

# Resource bounds: refuse what would freeze the machine rather than try it.
MAX_WIDTH = 4096
MAX_LAYERS = 64
MAX_PARAMETERS = 5_000_000
MAX_POINTS = 1_000_000
MAX_EPOCHS = 1_000_000_000
MAX_LR = 1e6
MAX_PENALTY = 1e3  # l2, l1: a penalty beyond this drives every weight to 0 at once
MAX_CONFIG_BYTES = 2**20  # a config file is a few hundred bytes
SCALE_NAMES = tuple(SCALERS)


class ConfigError(ValueError):
    """A bad config value; ``field`` names the field (or ``None`` for the file as a whole)."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- per-field text parsers --------------------------------------------------------
def _int(name: str, lo: int, hi: int, what: str | None = None) -> Callable[[Any], int]:
    what = what or name.replace("_", " ")

    def parse(value: Any) -> int:
        if isinstance(value, bool):
            raise ConfigError(
                name, f"{what} must be an integer from {lo:,} to {hi:,}, got {value!r}"
            )
        if isinstance(value, str):
            text = value.strip().replace("_", "")
            try:
                if not (text.isascii() and text.lstrip("+-").isdigit()):
                    raise ValueError
                value = int(text)  # also refuses "+-5" and more digits than Python converts
            except ValueError:
                raise ConfigError(
                    name, f'{what} must be an integer from {lo:,} to {hi:,}, got "{value}"'
                ) from None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or not lo <= value <= hi:
            raise ConfigError(
                name, f"{what} must be an integer from {lo:,} to {hi:,}, got {value!r}"
            )
        return value

    return parse


def _float(
    name: str,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
    what: str | None = None,
) -> Callable[[Any], float]:
    what = what or name.replace("_", " ")
    span = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def parse(value: Any) -> float:
        raw = value
        if isinstance(value, bool):
            raise ConfigError(name, f"{what} must be a number in {span}, got {_quoted(raw)}")
        if isinstance(value, str):
            text = value.strip()
            try:
                if not text.isascii():
                    raise ValueError
                value = float(text)
            except ValueError:
                raise ConfigError(name, f'{what} must be a number in {span}, got "{raw}"') from None
        if isinstance(value, int) and abs(value) > 2**1023:  # float() would overflow
            value = math.inf
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ConfigError(name, f"{what} must be a finite number in {span}, got {_quoted(raw)}")
        value = float(value)
        too_low = value <= lo if lo_open else value < lo
        too_high = value >= hi if hi_open else value > hi
        if too_low or too_high:
            raise ConfigError(name, f"{what} must be in {span}, got {_quoted(raw)}")
        return value

    return parse


def _quoted(value: Any) -> str:
    """Text as the user typed it, in double quotes; other values as Python shows them."""
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _choice(name: str, choices: tuple[str, ...], what: str | None = None) -> Callable[[Any], str]:
    what = what or name.replace("_", " ")

    def parse(value: Any) -> str:
        text = str(value).strip().lower().replace("-", "_") if isinstance(value, str) else value
        if text not in choices:
            hint = difflib.get_close_matches(str(text), choices, n=1)
            extra = f' (did you mean "{hint[0]}"?)' if hint else ""
            raise ConfigError(
                name, f'{what} must be one of {", ".join(choices)}, got "{value}"{extra}'
            )
        return text

    return parse


def _bool(name: str) -> Callable[[Any], bool]:
    def parse(value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, f'{name} must be true or false, got "{value}"')

    return parse


def _items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")] if value.strip() else []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _hidden(value: Any) -> tuple[int, ...]:
    parts = _items(value)
    bad = f'hidden sizes must be positive integers separated by commas, got "{_show(value)}"'
    sizes = []
    for part in parts:
        if isinstance(part, bool):
            raise ConfigError("hidden", bad)
        if isinstance(part, str):
            if not (part.isascii() and part.isdigit()):
                raise ConfigError("hidden", bad)
            digits = part.lstrip("0") or "0"
            if len(digits) > 9:  # far too wide (and int() refuses over 4300 digits)
                too_wide = f"a hidden layer may have at most {MAX_WIDTH} units, got {part}"
                raise ConfigError("hidden", too_wide)
            part = int(digits)
        if not isinstance(part, int) or part < 1:
            raise ConfigError("hidden", bad)
        if part > MAX_WIDTH:
            raise ConfigError(
                "hidden", f"a hidden layer may have at most {MAX_WIDTH} units, got {part}"
            )
        sizes.append(part)
    if len(sizes) > MAX_LAYERS:
        raise ConfigError("hidden", f"at most {MAX_LAYERS} hidden layers, got {len(sizes)}")
    return tuple(sizes)


def _activation(value: Any) -> tuple[str, ...]:
    names = _items(value)
    if not names:
        raise ConfigError(
            "activation", f"activation must name one of {', '.join(ACTIVATION_NAMES)}"
        )
    if any(isinstance(n, str) and not n for n in names):  # "sigmoid,,tanh" or "tanh,"
        raise ConfigError(
            "activation",
            f'activations must be names separated by commas, got "{_show(value)}"',
        )
    check = _choice("activation", (*ACTIVATION_NAMES, "softmax"))
    return tuple(check(n) for n in names)


def _features(value: Any) -> tuple[str, ...]:
    """Feature names, e.g. ``x1,x2,x1^2``: known ones, each at most once, in order."""
    names = [str(n).replace(" ", "").lower() if isinstance(n, str) else n
             for n in _items(value)]
    accepted = ", ".join(FEATURE_NAMES)
    if not names or any(n not in FEATURE_NAMES for n in names):
        raise ConfigError(
            "features", f'features must be names from {accepted}, separated by commas, '
                        f'got "{_show(value)}"')
    repeated = [n for i, n in enumerate(names) if n in names[:i]]
    if repeated:
        raise ConfigError("features", f'feature {repeated[0]} is given twice in '
                                      f'"{_show(value)}"')
    return tuple(names)


def _band(value: Any) -> tuple[float, float]:
    parts = _items(value)
    bad = f'halve band must be two numbers low,high with 0 < low < 1 < high, got "{_show(value)}"'
    if len(parts) != 2:
        raise ConfigError("halve_band", bad)
    try:
        lo, hi = (float(p) for p in parts)
    except (TypeError, ValueError, OverflowError):
        raise ConfigError("halve_band", bad) from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < 1 < hi):
        raise ConfigError("halve_band", bad)
    return (lo, hi)


def _optional_path(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str | PurePath):  # data_path = 3 in a config file
        raise ConfigError(
            "data_path", f"data path must be a file name in quotes, got {_quoted(value)}"
        )
    return str(value).strip()


def _show(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)


@dataclass(frozen=True)
class FieldSpec:
    """How one config field is parsed (``parse``) and described (``setting``: its help,
    choices, default, section, label and metavar, from ``engine.config.fields``)."""

    setting: Setting
    parse: Callable[[Any], Any]

    @property
    def help(self) -> str:
        return self.setting.help

    @property
    def choices(self) -> tuple[str, ...]:
        return self.setting.choices


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "dataset": _choice("dataset", DATASET_NAMES),
    "n": _int("n", 2, MAX_POINTS, "number of points"),
    "noise": _float("noise", 0.0, 1.0),
    "data_seed": _int("data_seed", 0, 2**32 - 1, "data seed"),
    "test_split": _float("test_split", 0.0, 0.9, what="test split"),
    "data_path": _optional_path,
    "hidden": _hidden,
    "activation": _activation,
    "loss": _choice("loss", LOSS_NAMES),
    "optimizer": _choice("optimizer", OPTIMIZER_NAMES),
    "momentum": _float("momentum", 0.0, 1.0, hi_open=True),
    "lr": _float("lr", 0.0, MAX_LR, lo_open=True, what="learning rate"),
    "epochs": _int("epochs", 1, MAX_EPOCHS),
    "batch_size": _int("batch_size", 0, MAX_POINTS, "batch size"),
    "seed": _int("seed", 0, 2**32 - 1),
    "bias": _bool("bias"),
    "init": _choice("init", INITS),
    "scale": _choice("scale", SCALE_NAMES),
    "schedule": _choice("schedule", SCHEDULE_NAMES),
    "halve_every": _int("halve_every", 1, MAX_EPOCHS, "halve every"),
    "halve_band": _band,
    "halve_factor": _float("halve_factor", 0.0, 1.0, lo_open=True, hi_open=True,
                           what="halve factor"),
    "min_lr": _float("min_lr", 0.0, MAX_LR, what="minimum learning rate"),
    "patience": _int("patience", 1, MAX_EPOCHS),
    "plateau_factor": _float("plateau_factor", 0.0, 1.0, lo_open=True, hi_open=True,
                             what="plateau factor"),
    "threshold": _float("threshold", 0.0, 1.0, hi_open=True),
    "cooldown": _int("cooldown", 0, MAX_EPOCHS),
    "log_every": _int("log_every", 1, MAX_EPOCHS, "log every"),
    "dtype": _choice("dtype", DTYPES),
    "features": _features,
    "l2": _float("l2", 0.0, MAX_PENALTY, what="l2 penalty"),
    "l1": _float("l1", 0.0, MAX_PENALTY, what="l1 penalty"),
    "task": _choice("task", TASKS),
    "classes": _int("classes", 2, MAX_CLASSES),
}
"""Each field's parser, in the config's order (that of ``to_dict`` and TOML files)."""

FIELDS: dict[str, FieldSpec] = {
    name: FieldSpec(SETTINGS[name], parse) for name, parse in _PARSERS.items()
}


@dataclass(frozen=True)
class ExperimentConfig:
    """Every hyperparameter of one run. The defaults (``engine.config.fields``) reproduce
    the course's XOR homework."""

    dataset: str = default("dataset")
    n: int = default("n")
    noise: float = default("noise")
    data_seed: int = default("data_seed")
    test_split: float = default("test_split")
    data_path: str | None = default("data_path")
    hidden: tuple[int, ...] = default("hidden")
    activation: tuple[str, ...] = default("activation")
    loss: str = default("loss")
    optimizer: str = default("optimizer")
    momentum: float = default("momentum")
    lr: float = default("lr")
    epochs: int = default("epochs")
    batch_size: int = default("batch_size")
    seed: int = default("seed")
    bias: bool = default("bias")
    init: str = default("init")
    scale: str = default("scale")
    schedule: str = default("schedule")
    halve_every: int = default("halve_every")
    halve_band: tuple[float, float] = default("halve_band")
    halve_factor: float = default("halve_factor")
    min_lr: float = default("min_lr")
    patience: int = default("patience")
    plateau_factor: float = default("plateau_factor")
    threshold: float = default("threshold")
    cooldown: int = default("cooldown")
    log_every: int = default("log_every")
    dtype: str = default("dtype")
    features: tuple[str, ...] = default("features")
    l2: float = default("l2")
    l1: float = default("l1")
    task: str = default("task")
    classes: int = default("classes")

    def __post_init__(self) -> None:
        for name, spec in FIELDS.items():
            object.__setattr__(self, name, spec.parse(getattr(self, name)))
        self._check_together()

    def _check_together(self) -> None:
        """Rules that involve more than one field."""
        n_layers = len(self.hidden) + 1
        if len(self.activation) not in (1, n_layers):
            raise ConfigError(
                "activation",
                f"give one activation for every layer or {n_layers} (one per layer incl. the "
                f'output), got {len(self.activation)}: "{",".join(self.activation)}"',
            )
        self._check_task()
        if self.loss == "bce" and self.layer_activations[-1] != "sigmoid":
            raise ConfigError("loss", "bce needs a sigmoid output layer; use mse or sse otherwise")
        params = self.n_parameters
        if params > MAX_PARAMETERS:
            raise ConfigError(
                "hidden", f"{params:,} parameters is more than the {MAX_PARAMETERS:,} allowed"
            )

    def _check_task(self) -> None:
        """The task, the classes, the loss and the output layer fit together."""
        if "softmax" in self.activation[:-1] or self.activation == ("softmax",):
            raise ConfigError("activation", "softmax is only an output layer (with --loss "
                                            "ce); give the hidden layers another activation")
        if self.regression:
            if self.classes != 2:
                raise ConfigError("classes", "a regression has no classes; leave classes at 2")
            if self.loss not in ("mse", "sse"):
                raise ConfigError("loss", f"a regression learns with mse or sse, not "
                                          f"{self.loss}; use --loss mse")
            if len(self.activation) > 1 and self.activation[-1] != "linear":
                raise ConfigError("activation", "a regression's output layer is linear; end "
                                                "the activations with linear, or give one "
                                                "for the hidden layers")
            return
        if self.task == "classify" and not self.data_path and self.dataset in REGRESSION_SETS:
            raise ConfigError("task", f"{self.dataset} has real-valued targets; use --task "
                                      "regress (or auto)")
        if not self.data_path:
            problem = classes_error(self.dataset, self.classes)
            if problem:
                raise ConfigError("classes", problem)
        if self.classes > 2 and self.loss != "ce":
            raise ConfigError("loss", f"{self.classes} classes need a softmax output: use "
                                      "--loss ce")
        if self.loss != "ce" and self.activation[-1] == "softmax":
            raise ConfigError("loss", "a softmax output learns with ce: use --loss ce")
        if self.loss == "ce" and len(self.activation) > 1 and self.activation[-1] != "softmax":
            raise ConfigError("activation", "ce's output layer is a softmax; end the "
                                            "activations with softmax, or give one for the "
                                            "hidden layers")

    # --- derived -------------------------------------------------------------------
    @property
    def regression(self) -> bool:
        """Real-valued targets: ``task`` regress, or auto on a regression dataset."""
        return regression_task(self.task, self.dataset, self.data_path)

    @property
    def n_outputs(self) -> int:
        """Output units: one per class under ce (a softmax), else one."""
        return self.classes if self.loss == "ce" else 1

    @property
    def sizes(self) -> tuple[int, ...]:
        return (len(self.features), *self.hidden, self.n_outputs)  # the inputs: the features

    @property
    def regularized(self) -> bool:
        """Whether a penalty on the weights joins the loss (``l2`` or ``l1`` above 0)."""
        return self.l2 > 0 or self.l1 > 0

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """One activation per layer. A regression's output is linear and ce's a softmax,
        whatever a single activation name says (it then names the hidden layers')."""
        n_layers = len(self.hidden) + 1
        names = self.activation * n_layers if len(self.activation) == 1 else self.activation
        if self.loss == "ce":
            return (*names[:-1], "softmax")
        if self.regression:
            return (*names[:-1], "linear")
        return names

    @property
    def output_name(self) -> str:
        """What the output unit gives: a sigmoid's is the probability of class 1, a
        softmax's each class's; a regression's is the predicted target; any other
        activation's is an unbounded number, thresholded at 0.5 all the same."""
        if self.regression:
            return "prediction"
        return "probability" if self.layer_activations[-1] in ("sigmoid", "softmax") \
            else "output"

    @property
    def n_parameters(self) -> int:
        s = self.sizes
        return sum((a + int(self.bias)) * b for a, b in zip(s[:-1], s[1:], strict=True))

    @property
    def dataset_label(self) -> str:
        return f"csv:{Path(self.data_path).name}" if self.data_path else self.dataset

    def diagram(self) -> str:
        """``2 → 10 → 5 → 3 → 5 → 1`` as the editor shows it."""
        return " → ".join(str(s) for s in self.sizes)

    # --- building ------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls, values: Mapping[str, Any], base: ExperimentConfig | None = None
    ) -> ExperimentConfig:
        """A config from ``base`` (default: the defaults) with ``values`` replacing fields.

        Unknown keys are refused with the nearest valid key suggested.
        """
        values = dict(values)
        preset_name = values.pop("preset", None)
        if preset_name is not None:
            base = preset(str(preset_name))
        unknown = [k for k in values if k not in FIELDS]
        if unknown:
            key = unknown[0]
            hint = nearest_setting(str(key))
            extra = f' (did you mean "{hint}"?)' if hint else ""
            if isinstance(values[key], Mapping):  # a [section] in a TOML file
                extra += "; sections are not used: write every setting at the top level"
            raise ConfigError(key, f'unknown setting "{key}"{extra}')
        parsed = {k: FIELDS[k].parse(v) for k, v in values.items()}
        return dataclasses.replace(base or cls(), **parsed)

    def replace(self, **values: Any) -> ExperimentConfig:
        """A copy with some fields replaced (validated like ``from_dict``)."""
        return ExperimentConfig.from_dict(values, base=self)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/TOML-ready values (tuples as lists, no ``None``: empty path is "")."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            out[name] = (
                list(value) if isinstance(value, tuple) else ("" if value is None else value)
            )
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    def to_toml(self) -> str:
        """The config as TOML (flat keys; strings, numbers, booleans and arrays only)."""
        from engine.config.toml_text import toml_value  # the one writer (settings use it too)

        lines = ["# nn-tui experiment config: nn-tui train --config THIS_FILE"]
        for name, value in self.to_dict().items():
            lines.append(f"{name} = {toml_value(value)}")
        return "\n".join(lines) + "\n"

    def field_text(self, name: str) -> str:
        """A field as the editor shows it (``hidden`` -> ``"4,4"``)."""
        return value_text(getattr(self, name))


# What other tools call a setting (Keras, scikit-learn, the course's own variables).
_OTHER_NAMES = {
    "lr": "learning_rate learning_rate_init rate eta step_size alpha",
    "hidden": "layers hidden_layers hidden_layer_sizes hidden_sizes hidden_units units "
    "architecture neurons",
    "activation": "activations act",
    "epochs": "epoch n_epochs num_epochs iterations max_iter steps",
    "batch_size": "batch batchsize minibatch",
    "n": "points n_points num_points samples n_samples",
    "data_path": "data csv file path",
    "test_split": "split test_size test_ratio test_fraction validation_split",
    "seed": "random_seed random_state",
    "optimizer": "optim solver",
    "loss": "loss_function criterion",
    "bias": "use_bias biases",
    "init": "initializer initialization weight_init",
    "scale": "scaling scaler normalize",
    "schedule": "lr_schedule",
    "features": "feature inputs input_features",
    "l2": "weight_decay l2_penalty alpha_l2 lambda",
    "l1": "l1_penalty",
}
OTHER_NAMES: dict[str, str] = {
    other: field for field, names in _OTHER_NAMES.items() for other in names.split()
}


def nearest_setting(key: str) -> str | None:
    """The valid setting a mistyped or foreign key most likely meant, or None."""
    norm = key.strip().lower().replace("-", "_").replace(" ", "_")
    if norm in FIELDS:
        return norm  # "Batch-Size" -> "batch_size"
    if norm in OTHER_NAMES:
        return OTHER_NAMES[norm]
    close = difflib.get_close_matches(norm, [*FIELDS, *OTHER_NAMES], n=1)
    if close:
        return OTHER_NAMES.get(close[0], close[0])
    first = norm.split("_")[0]  # a setting that is the key's first word: "lr_rate" -> "lr"
    return first if first in FIELDS else None


def parse_field(name: str, text: Any) -> Any:
    """Parse one field's text (as typed in the editor or given as a flag)."""
    if name not in FIELDS:
        raise ConfigError(name, f'unknown setting "{name}"')
    return FIELDS[name].parse(text)


def _line_of(data: bytes, offset: int) -> int:
    """The 1-based line number of byte ``offset``."""
    return data.count(b"\n", 0, offset) + 1


def read_config(path: str | Path) -> dict[str, Any]:
    """A TOML config file's settings, not yet checked (``load_config`` checks them).

    Every problem with the file itself is a ConfigError naming it: missing, a folder,
    larger than any config, not a regular file (a pipe would hang, ``/dev/zero`` never
    ends; engine.data.files), nested too deep for the TOML reader, not UTF-8
    (with the line), not TOML (with the line and column). A relative ``data_path`` is
    made relative to the file's own folder.
    """
    path = Path(path)
    try:
        data = read_regular_file(path, MAX_CONFIG_BYTES)  # a pipe or a device: refused
    except FileTooLargeError:
        raise ConfigError(
            None,
            f"cannot read config file {path}: it is larger than "
            f"{MAX_CONFIG_BYTES // 2**10} KiB, far too big for a config",
        ) from None
    except FileNotFoundError:
        raise ConfigError(None, f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(
            None, f"cannot read config file {path}: it is a folder, not a .toml file"
        ) from None
    except OSError as exc:
        raise ConfigError(None, f"cannot read config file {path}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")  # -sig: Notepad may start the file with a BOM
    except UnicodeDecodeError as exc:
        raise ConfigError(
            None,
            f"cannot read config file {path}: it is not UTF-8 text (byte "
            f"0x{data[exc.start]:02x} on line {_line_of(data, exc.start)}); save it as UTF-8",
        ) from None
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(None, f"{path}: not valid TOML: {exc}") from None
    except (RecursionError, MemoryError):  # tomllib recurses once per [ of x = [[[[...]]]]
        raise ConfigError(None, f"{path}: not a config: its values are nested too deep") from None
    data_path = values.get("data_path")
    if isinstance(data_path, str) and data_path.strip() and not Path(data_path).is_absolute():
        values["data_path"] = str(path.parent / data_path)
    return values


def load_config(path: str | Path, base: ExperimentConfig | None = None) -> ExperimentConfig:
    """Read a TOML config file (keys as in ``to_toml``; ``preset = "..."`` allowed).

    Its values replace those of ``base`` (default: the defaults), unless it names a
    preset. A relative ``data_path`` is taken relative to the file's own folder.
    """
    values = read_config(path)
    try:
        return ExperimentConfig.from_dict(values, base=base)
    except ConfigError as exc:
        raise ConfigError(exc.field, f"{path}: {exc.message}") from None


# --- presets (their values: engine.config.fields.PRESETS) ------------------------
def preset(name: str) -> ExperimentConfig:
    """The named preset as a config."""
    if name not in PRESETS:
        hint = difflib.get_close_matches(name, PRESET_NAMES, n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise ConfigError(
            "preset", f'preset must be one of {", ".join(PRESET_NAMES)}, got "{name}"{extra}'
        )
    return ExperimentConfig.from_dict(PRESETS[name], base=ExperimentConfig())
