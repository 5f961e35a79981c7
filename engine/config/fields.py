"""Every config setting described once: its help, choices, default, section, editor
label, command-line metavar and when it matters; and the presets.

The editor (``tui.widgets.editor``), the command-line flags and ``--help``
(``tui.cli.flags``) and the config itself (``engine.config.experiment``, which adds
each field's parser) all read this one table. It imports only the standard library,
no NumPy and no other engine module (``typing`` rather than ``dataclasses``, whose
``inspect`` costs ~8 ms), so ``nn-tui --help`` stays light. The choice lists are the
engine registries' names, written out here; tests/engine/test_config_fields.py checks
them against the registries, and ``shown_when`` against what the schedules and the
optimizers read.

``SECTIONS`` is the one layout, shared by the editor's form and ``--help``'s groups.
It is the editor's grouping: ``scale`` is with the data it scales, the weights'
``seed`` with ``init``, and ``log_every`` with training (the command line used to
put them under network, training and output).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class ShownWhen(NamedTuple):
    """A setting matters only while another one (``field``) has one of ``values``."""

    field: str
    values: tuple[str, ...]


class Setting(NamedTuple):
    """What is known of one config setting, but how to parse it."""

    name: str
    help: str
    default: Any
    label: str  # the editor's row label (at most 10 characters)
    metavar: str = ""  # the flag's value in --help ("" for --bias, which takes none)
    choices: tuple[str, ...] = ()
    shown_when: ShownWhen | None = None  # None: always

    def shown(self, value_of: Callable[[str], Any]) -> bool:
        """Whether the setting matters, ``value_of(field)`` giving the other fields' values."""
        if self.shown_when is None:
            return True
        return str(value_of(self.shown_when.field)) in self.shown_when.values


class Section(NamedTuple):
    """A group of settings: a heading in the editor, an argument group in ``--help``."""

    title: str  # the editor's heading
    group: str  # the --help group's title
    settings: tuple[Setting, ...]


# --- the choices (the engine registries' names, in their order) --------------------
DATASETS = ("linear", "xor", "circle", "spiral", "gaussian", "moons", "checkerboard", "pie",
            "plane", "bumps")
REGRESSION_SETS = ("plane", "bumps")  # real-valued targets (engine.data.datasets')
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "elu", "softplus", "swish",
               "gelu")
LOSSES = ("mse", "sse", "bce", "ce")
TASKS = ("auto", "classify", "regress")
OPTIMIZERS = ("sgd", "momentum", "adam")
INITS = ("xavier", "he", "normal", "uniform")
SCALES = ("max", "minmax", "standard", "none")
SCHEDULES = ("halving", "plateau", "none")
DTYPES = ("float64", "float32")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")

_MOMENTUM = ShownWhen("optimizer", ("momentum",))
_HALVING = ShownWhen("schedule", ("halving",))
_PLATEAU = ShownWhen("schedule", ("plateau",))
_SCHEDULED = ShownWhen("schedule", ("halving", "plateau"))
_SIZED = ShownWhen("dataset", tuple(d for d in DATASETS if d != "xor"))  # xor: always 21

# --- the settings, in the layout's order (the defaults: the course's XOR homework) ----
SECTIONS: tuple[Section, ...] = (
    Section("Data", "data", (
        Setting("dataset", "generated dataset", "xor", "dataset", "NAME", DATASETS),
        Setting("task", "classify, or regress on a real-valued target (auto: regress on "
                "plane and bumps)", "auto", "task", "NAME", TASKS),
        Setting("classes", "classes K, 2..8 (spiral, gaussian, pie or a CSV of labels "
                "0..K-1); more than 2 need --loss ce", 2, "classes", "K"),
        Setting("n", "points to generate (xor: always 21)", 100, "points", "N",
                shown_when=_SIZED),
        Setting("noise", "label flips (linear), target noise (plane, bumps) or coordinate "
                "jitter", 0.0, "noise", "X"),
        Setting("test_split", "fraction held out for testing (0 = none)", 0.0, "test split",
                "FRACTION"),
        Setting("data_seed", "seed of the dataset and split", 0, "data seed", "SEED"),
        Setting("data_path", "CSV file x1,x2,label (a class or a real target) instead of a "
                "generated dataset", None,
                "csv path", "FILE.csv"),
        Setting("scale", "input scaling (max = the seed's X/max)", "max", "scaling", "NAME",
                SCALES),
        Setting("features", "the network's inputs, computed from the scaled x1, x2 (any of "
                "them, in the order given)", ("x1", "x2"), "features", "NAMES", FEATURES),
    )),
    Section("Network", "network", (
        Setting("hidden", "hidden layer sizes, e.g. 10,5,3,5 (empty: no hidden layer)",
                (4, 4), "hidden", "SIZES"),
        Setting("activation", "one activation for every layer, or one per layer incl. the "
                "output", ("sigmoid",), "activation", "NAMES", ACTIVATIONS),
        Setting("bias", "give every layer a bias", False, "bias"),
        Setting("init", "initial weights", "normal", "init", "NAME", INITS),
        Setting("seed", "seed of the initial weights and the shuffling", 0, "init seed",
                "SEED"),
        Setting("dtype", "float64 or float32", "float64", "dtype", "NAME", DTYPES),
    )),
    Section("Training", "training", (
        Setting("loss", "mse, sse (the course's), bce, or ce (softmax cross-entropy over "
                "the classes)", "sse", "loss", "NAME", LOSSES),
        Setting("optimizer", "update rule", "sgd", "optimizer", "NAME", OPTIMIZERS),
        Setting("momentum", "momentum coefficient", 0.9, "momentum", "BETA",
                shown_when=_MOMENTUM),
        Setting("lr", "learning rate", 0.5, "learn rate", "RATE"),
        Setting("epochs", "epochs to train", 100_000, "epochs", "N"),
        Setting("batch_size", "mini-batch size (0 = full batch)", 0, "batch size", "N"),
        Setting("log_every", "report every this many epochs", 5000, "log every", "N"),
        Setting("l2", "L2 penalty on the weights, not the biases: E += l2/2 sum W^2", 0.0,
                "l2 penalty", "LAMBDA"),
        Setting("l1", "L1 penalty on the weights, not the biases: E += l1 sum |W|", 0.0,
                "l1 penalty", "LAMBDA"),
    )),
    Section("Schedule", "learning-rate schedule", (
        Setting("schedule", "learning-rate schedule", "halving", "schedule", "NAME",
                SCHEDULES),
        Setting("halve_every", "halving period in epochs", 5000, "every", "N",
                shown_when=_HALVING),
        Setting("halve_band", "halve when low < loss/loss_before < high", (0.9, 1.1), "band",
                "LOW,HIGH", shown_when=_HALVING),
        Setting("halve_factor", "multiply the rate by this when the rule fires", 0.5,
                "factor", "F", shown_when=_HALVING),
        Setting("patience", "plateau: epochs without improvement", 1000, "patience", "N",
                shown_when=_PLATEAU),
        Setting("plateau_factor", "plateau: multiply the rate by this", 0.5, "factor", "F",
                shown_when=_PLATEAU),
        Setting("threshold", "plateau: relative improvement that counts", 1e-3, "threshold",
                "T", shown_when=_PLATEAU),
        Setting("cooldown", "plateau: epochs to wait after a reduction", 0, "cooldown", "N",
                shown_when=_PLATEAU),
        Setting("min_lr", "rate floor", 1e-8, "min lr", "RATE", shown_when=_SCHEDULED),
    )),
)

SETTINGS: dict[str, Setting] = {s.name: s for section in SECTIONS for s in section.settings}
"""Every setting by name, in the layout's order. (The config's own order, that of its
TOML files, is ``ExperimentConfig``'s, as ``engine.config.experiment.FIELDS`` has it.)"""


def regression_task(task: str, dataset: str | None, data_path: str | None) -> bool:
    """Whether a config regresses: ``task`` regress, or auto on a generated regression
    set (a CSV under auto is classified). The one rule, for configs and saved records."""
    if task == "auto":
        return not data_path and dataset in REGRESSION_SETS
    return task == "regress"


def default(name: str) -> Any:
    """A setting's default value."""
    return SETTINGS[name].default


def value_text(value: Any) -> str:
    """A value as the editor shows it and --help gives it: ``(4, 4)`` -> ``"4,4"``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# --- presets ---------------------------------------------------------------------
_COURSE = dict(
    activation="sigmoid",
    bias=False,
    loss="sse",
    scale="max",
    lr=0.5,
    optimizer="sgd",
    schedule="halving",
    halve_every=5000,
    halve_band=(0.9, 1.1),
    halve_factor=0.5,
    epochs=100_000,
    log_every=5000,
    init="normal",
    batch_size=0,
    test_split=0.0,
)

PRESETS: dict[str, dict[str, Any]] = {
    "dlp-xor": {**_COURSE, "dataset": "xor", "hidden": (4, 4)},
    "dlp-linear": {**_COURSE, "dataset": "linear", "n": 100, "hidden": (10, 5, 3, 5)},
    "spiral-tanh": dict(
        dataset="spiral",
        n=300,
        noise=0.05,
        test_split=0.2,
        hidden=(16, 16),
        activation=("tanh", "tanh", "sigmoid"),
        loss="bce",
        optimizer="adam",
        lr=0.01,
        epochs=20_000,
        bias=True,
        init="xavier",
        scale="standard",
        schedule="plateau",
        log_every=1000,
    ),
    "circle-relu": dict(
        dataset="circle",
        n=200,
        noise=0.05,
        test_split=0.2,
        hidden=(8, 8),
        activation=("relu", "relu", "sigmoid"),
        loss="bce",
        optimizer="momentum",
        lr=0.1,
        epochs=5000,
        bias=True,
        init="he",
        scale="standard",
        schedule="none",
        log_every=500,
    ),
    "moons-adam": dict(
        dataset="moons",
        n=200,
        noise=0.1,
        test_split=0.25,
        hidden=(8, 8),
        activation=("tanh", "tanh", "sigmoid"),
        loss="bce",
        optimizer="adam",
        lr=0.02,
        epochs=5000,
        bias=True,
        init="xavier",
        scale="standard",
        schedule="none",
        log_every=500,
    ),
}
"""Named starting points: each replaces some settings of the defaults."""
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)
