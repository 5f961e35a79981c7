"""nn-tui's engine: a NumPy-only multilayer perceptron, its trainer and its data.

Imports only NumPy and the standard library (a test enforces it), so it serves the
TUI, the headless CLI and any script alike. Its packages, lowest layer first (each
imports only from the ones before it):

    nn/           activations, losses, the network, and reference.py: backprop as
                  the course writes it (start reading here)
    optim/        update rules (sgd, momentum, adam) and learning-rate schedules
    data/         the datasets, CSV files and input scaling
    fast/         the trainer's prebuilt in-place passes (tested equal to nn.reference)
    config/       the validated experiment config, its fields and the presets
    train/        the trainer, its data, history, events, probes, the gradient check
    io/           run files, exports, and the arithmetic a run was saved with
    explain/      one training step stage by stage, for the explainer and nn-tui explain
    stack/        many networks of one architecture trained as one (StackTrainer)
    experiments/  sweeps of many runs (stacked), and replaying a saved run

Every public name below is importable from ``engine`` itself; each is loaded on first
use (PEP 562), so ``import engine.config`` does not pay for the trainer.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_HOMES = {
    "engine.nn.activations": ("ACTIVATIONS", "ACTIVATION_NAMES"),
    "engine.nn.losses": ("LOSSES", "LOSS_NAMES", "loss_value"),
    "engine.nn.network": ("Network",),
    "engine.optim.optimizers": ("OPTIMIZER_NAMES", "SGD", "Adam", "Momentum", "make_optimizer"),
    "engine.optim.schedules": (
        "ConstantSchedule", "HalvingSchedule", "PlateauSchedule", "RateChange"),
    "engine.data.datasets": (
        "DATASET_NAMES", "DataError", "load_csv", "make_dataset", "train_test_split"),
    "engine.data.scaling": ("SCALERS", "Scaler", "fit_scaler"),
    "engine.config.experiment": (
        "FIELDS", "PRESET_NAMES", "PRESETS", "ConfigError", "ExperimentConfig", "load_config",
        "parse_field", "preset"),
    "engine.train.bundle": ("DataBundle", "build_data"),
    "engine.train.events": ("Diverged", "EpochReport", "Event", "Finished", "WeightEdited"),
    "engine.train.gradcheck": ("LayerCheck", "gradient_check"),
    "engine.train.history": ("History",),
    "engine.train.trainer": ("Trainer", "make_network", "make_schedule"),
    "engine.io.runfile": ("RunFileError", "SavedRun", "load_run", "save_run",
                          "trainer_from_saved"),
    # explain() itself stays in engine.explain: ``engine.explain`` names the package
    "engine.explain.walk": ("Stage", "Walk", "apply_step"),
    "engine.explain.drill": ("Drill", "drill"),
    "engine.stack.trainer": ("StackTrainer", "stack_key"),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}
_MODULES = {"reference": "engine.nn.reference"}  # engine.reference, the public contract

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    """Load a public name's module on first use, then keep the name here."""
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE, *_MODULES])
