"""nn-tui's engine: a NumPy-only multilayer perceptron, its trainer and its data.

Imports only NumPy and the standard library (a test enforces it), so it serves the
TUI, the headless CLI and any script alike.
"""

from engine.activations import ACTIVATION_NAMES, ACTIVATIONS
from engine.config import (
    FIELDS,
    PRESET_NAMES,
    PRESETS,
    ConfigError,
    ExperimentConfig,
    load_config,
    parse_field,
    preset,
)
from engine.data import DataBundle, build_data
from engine.datasets import DATASET_NAMES, DataError, load_csv, make_dataset, train_test_split
from engine.events import Diverged, EpochReport, Event, Finished
from engine.gradcheck import LayerCheck, gradient_check
from engine.history import History
from engine.losses import LOSS_NAMES, LOSSES, loss_value
from engine.network import Network
from engine.optimizers import OPTIMIZER_NAMES, SGD, Adam, Momentum, make_optimizer
from engine.runfile import RunFileError, SavedRun, load_run, save_run
from engine.scaling import SCALERS, Scaler, fit_scaler
from engine.schedules import ConstantSchedule, HalvingSchedule, PlateauSchedule, RateChange
from engine.trainer import Trainer, make_network, make_schedule

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "Adam",
    "ConfigError",
    "ConstantSchedule",
    "DATASET_NAMES",
    "DataBundle",
    "DataError",
    "Diverged",
    "EpochReport",
    "Event",
    "ExperimentConfig",
    "FIELDS",
    "Finished",
    "HalvingSchedule",
    "History",
    "LOSSES",
    "LOSS_NAMES",
    "LayerCheck",
    "Momentum",
    "Network",
    "OPTIMIZER_NAMES",
    "PRESETS",
    "PRESET_NAMES",
    "PlateauSchedule",
    "RateChange",
    "RunFileError",
    "SCALERS",
    "SGD",
    "SavedRun",
    "Scaler",
    "Trainer",
    "build_data",
    "fit_scaler",
    "gradient_check",
    "load_config",
    "load_csv",
    "load_run",
    "loss_value",
    "make_dataset",
    "make_network",
    "make_optimizer",
    "make_schedule",
    "parse_field",
    "preset",
    "save_run",
    "train_test_split",
]
