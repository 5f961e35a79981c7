"""engine.config.fields, the one description of every setting, against the engine: its
choices are the registries', its defaults the config's, its ``shown_when`` what the
trainer's schedule and optimizer read; and importing it stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.config import fields
from engine.config.experiment import FIELDS, PRESETS, ExperimentConfig
from engine.config.fields import SECTIONS, SETTINGS
from engine.data.datasets import DATASET_NAMES
from engine.data.features import FEATURE_NAMES
from engine.data.scaling import SCALERS
from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.losses import LOSS_NAMES
from engine.nn.network import DTYPES, INITS
from engine.optim.optimizers import OPTIMIZER_NAMES
from engine.optim.schedules import SCHEDULE_NAMES
from engine.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
REGISTRIES = {
    "dataset": DATASET_NAMES,
    "task": ("auto", "classify", "regress"),  # read by ExperimentConfig.regression
    "activation": ACTIVATION_NAMES,
    "loss": LOSS_NAMES,
    "optimizer": OPTIMIZER_NAMES,
    "init": INITS,
    "scale": tuple(SCALERS),
    "schedule": SCHEDULE_NAMES,
    "dtype": DTYPES,
    "features": FEATURE_NAMES,
}
# Another valid value of each setting the schedules or the optimizers might read.
OTHER_VALUES: dict[str, Any] = {
    "momentum": 0.5, "halve_every": 7, "halve_band": (0.8, 1.2), "halve_factor": 0.25,
    "min_lr": 1e-3, "patience": 3, "plateau_factor": 0.25, "threshold": 0.01, "cooldown": 2,
    "lr": 0.1, "epochs": 10, "batch_size": 4, "log_every": 10, "seed": 1,
}


def test_every_config_field_is_described_once_in_one_section() -> None:
    listed = [s.name for section in SECTIONS for s in section.settings]
    assert sorted(listed) == sorted(FIELDS)
    assert len(set(listed)) == len(listed)
    assert all(FIELDS[name].setting is SETTINGS[name] for name in FIELDS)


def test_the_choices_are_the_engine_registries() -> None:
    choices = {name: s.choices for name, s in SETTINGS.items() if s.choices}
    assert choices == {name: tuple(names) for name, names in REGISTRIES.items()}


def test_the_regression_sets_are_the_datasets_registry() -> None:
    from engine.config import fields
    from engine.data import datasets

    assert fields.REGRESSION_SETS == datasets.REGRESSION_SETS


def test_the_defaults_are_the_configs() -> None:
    config = ExperimentConfig()
    for name, setting in SETTINGS.items():
        assert getattr(config, name) == setting.default, name
        assert config.field_text(name) == fields.value_text(setting.default), name
    assert PRESETS is fields.PRESETS


def test_shown_when_names_a_choice_field_and_its_choices() -> None:
    for setting in SETTINGS.values():
        if setting.shown_when is not None:
            owner = SETTINGS[setting.shown_when.field]
            assert set(setting.shown_when.values) <= set(owner.choices), setting.name


def _read_settings(obj: object) -> dict[str, Any]:
    """The settings an optimizer or a schedule was built with (not its state arrays)."""
    return {k: v for k, v in vars(obj).items() if not isinstance(v, list)}


def _settings_read(owner: str, value: str, part: str) -> set[str]:
    """The settings that change the trainer's ``part`` (schedule or optimizer) when
    ``owner`` is ``value``."""
    base = ExperimentConfig(**{owner: value})
    built = _read_settings(getattr(Trainer(base), part))
    return {name for name, other in OTHER_VALUES.items()
            if _read_settings(getattr(Trainer(base.replace(**{name: other})), part)) != built}


def _shown_for(owner: str, value: str) -> set[str]:
    return {name for name, s in SETTINGS.items()
            if s.shown_when is not None and s.shown_when.field == owner
            and value in s.shown_when.values}


@pytest.mark.parametrize("schedule", SCHEDULE_NAMES)
def test_shown_when_is_what_the_schedule_reads(schedule: str) -> None:
    assert _settings_read("schedule", schedule, "schedule") == _shown_for("schedule", schedule)


@pytest.mark.parametrize("optimizer", OPTIMIZER_NAMES)
def test_shown_when_is_what_the_optimizer_reads(optimizer: str) -> None:
    read = _settings_read("optimizer", optimizer, "optimizer")
    assert read == _shown_for("optimizer", optimizer)


def test_fields_imports_only_the_standard_library() -> None:
    tree = ast.parse((ROOT / "engine/config/fields.py").read_text(encoding="utf-8"))
    roots = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, ast.Import) for alias in node.names}
    roots |= {node.module.split(".")[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert roots <= set(sys.stdlib_module_names) | {"__future__"}


def test_importing_fields_loads_no_numpy_and_no_other_engine_module() -> None:
    code = ("import sys, engine.config.fields; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('engine', 'numpy', 'dataclasses')))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == ["['engine',", "'engine.config',", "'engine.config.fields']"]
