"""The config fields' flags: a copy of the engine's field help, and the flag table.

Building the parser needs only the standard library, so ``--help`` never imports
NumPy: the flag help keeps its own copy of ``engine.config.experiment``'s field help,
choices and defaults (``FIELD_HELP``, ``DEFAULTS``, ``PRESETS``); a test
(tests/tui/test_cli.py) checks the copy against the engine.
"""

from __future__ import annotations

NBSP = "\u00a0"  # a no-break space: keeps a phrase on one line of --help

# --- a copy of engine.config.experiment's field help (tests/tui/test_cli.py keeps it in step) ---
PRESETS = ("dlp-xor", "dlp-linear", "spiral-tanh", "circle-relu", "moons-adam")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
FIELD_HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "dataset": (
        "generated dataset",
        ("linear", "xor", "circle", "spiral", "gaussian", "moons", "checkerboard"),
    ),
    "n": ("points to generate (xor: always 21)", ()),
    "noise": ("label flips (linear) or coordinate jitter", ()),
    "data_seed": ("seed of the dataset and split", ()),
    "test_split": ("fraction held out for testing (0 = none)", ()),
    "data_path": ("CSV file x1,x2,label instead of a generated dataset", ()),
    "hidden": ("hidden layer sizes, e.g. 10,5,3,5 (empty: no hidden layer)", ()),
    "activation": (
        "one activation for every layer, or one per layer incl. the output", ACTIVATIONS
    ),
    "loss": ("mse, sse (the course's) or bce", ("mse", "sse", "bce")),
    "optimizer": ("update rule", ("sgd", "momentum", "adam")),
    "momentum": ("momentum coefficient", ()),
    "lr": ("learning rate", ()),
    "epochs": ("epochs to train", ()),
    "batch_size": ("mini-batch size (0 = full batch)", ()),
    "seed": ("seed of the initial weights and the shuffling", ()),
    "bias": ("give every layer a bias", ()),
    "init": ("initial weights", ("xavier", "he", "normal", "uniform")),
    "scale": ("input scaling (max = the seed's X/max)", ("max", "minmax", "standard", "none")),
    "schedule": ("learning-rate schedule", ("halving", "plateau", "none")),
    "halve_every": ("halving period in epochs", ()),
    "halve_band": ("halve when low < loss/loss_before < high", ()),
    "halve_factor": ("multiply the rate by this when the rule fires", ()),
    "min_lr": ("rate floor", ()),
    "patience": ("plateau: epochs without improvement", ()),
    "plateau_factor": ("plateau: multiply the rate by this", ()),
    "threshold": ("plateau: relative improvement that counts", ()),
    "cooldown": ("plateau: epochs to wait after a reduction", ()),
    "log_every": ("report every this many epochs", ()),
    "dtype": ("float64 or float32", ("float64", "float32")),
}
# ExperimentConfig().field_text(name): the course's XOR homework
DEFAULTS: dict[str, str] = {
    "dataset": "xor", "n": "100", "noise": "0", "data_seed": "0", "test_split": "0",
    "data_path": "", "hidden": "4,4", "activation": "sigmoid", "loss": "sse",
    "optimizer": "sgd", "momentum": "0.9", "lr": "0.5", "epochs": "100000", "batch_size": "0",
    "seed": "0", "bias": "off", "init": "normal", "scale": "max", "schedule": "halving",
    "halve_every": "5000", "halve_band": "0.9,1.1", "halve_factor": "0.5", "min_lr": "1e-08",
    "patience": "1000", "plateau_factor": "0.5", "threshold": "0.001", "cooldown": "0",
    "log_every": "5000", "dtype": "float64",
}

# The flags of the config fields, in help order: (section, field, metavar, note).
SECTIONS = ("data", "network", "training", "learning-rate schedule", "output")
FLAG_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("data", "dataset", "NAME", ""),
    ("data", "n", "N", ""),
    ("data", "noise", "X", ""),
    ("data", "test_split", "FRACTION", ", at most 0.9"),
    ("data", "data_path", "FILE.csv", ""),
    ("data", "data_seed", "SEED", ""),
    ("network", "hidden", "SIZES", ""),
    ("network", "activation", "NAMES", ""),
    ("network", "bias", "", ""),
    ("network", "init", "NAME", ""),
    ("network", "scale", "NAME", ""),
    ("network", "dtype", "NAME", ""),
    ("training", "loss", "NAME", ""),
    ("training", "optimizer", "NAME", ""),
    ("training", "momentum", "BETA", " for --optimizer momentum"),
    ("training", "lr", "RATE", ""),
    ("training", "epochs", "N", ""),
    ("training", "batch_size", "N", ""),
    ("training", "seed", "SEED", ""),
    ("learning-rate schedule", "schedule", "NAME", ""),
    ("learning-rate schedule", "halve_every", "N", ""),
    ("learning-rate schedule", "halve_band", "LOW,HIGH", ""),
    ("learning-rate schedule", "halve_factor", "F", ""),
    ("learning-rate schedule", "min_lr", "RATE", ""),
    ("learning-rate schedule", "patience", "N", ""),
    ("learning-rate schedule", "plateau_factor", "F", ""),
    ("learning-rate schedule", "threshold", "T", ""),
    ("learning-rate schedule", "cooldown", "N", ""),
    ("output", "log_every", "N", ""),
)
FLAG_NAMES = {"data_path": "--data"}  # fields whose flag is not --field-name


def flag_for(field: str | None) -> str | None:
    """The command-line flag that sets a config field (``batch_size`` -> ``--batch-size``)."""
    if not field:
        return None
    return FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


def field_help(field: str, note: str = "") -> str:
    """A flag's help: the engine's text, the accepted values and the default."""
    text, choices = FIELD_HELP[field]
    text += note
    if choices and not all(c in text for c in choices):
        text += ": " + ", ".join(choices)
    default = DEFAULTS[field]
    return f"{text} [default:{NBSP}{default}]" if default else text


# Fields whose one value may itself hold commas: in a sweep their alternatives are
# separated by spaces only (--hidden 4,4 8,8). The others also take one comma list.
WHOLE_VALUE_FIELDS = frozenset({"hidden", "activation", "halve_band", "data_path"})


# The fields that change a gradient check; the others are accepted and ignored.
GRADCHECK_FIELDS = frozenset({
    "dataset", "n", "noise", "test_split", "data_path", "data_seed", "hidden", "activation",
    "bias", "init", "scale", "loss", "seed",
})
