"""The config a command line describes, and the files its flags name.

Every flag value is passed to the engine as the raw text typed, so a bad value gets
the engine's own message, prefixed with the flag (``errors.bad_input_message``).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tui.cli.errors import CliError

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig


def build_config(ns: argparse.Namespace) -> ExperimentConfig:
    """defaults < --preset < --config < the flags, each value parsed by the engine."""
    from engine.config.experiment import FIELDS, ExperimentConfig

    values = {f: v for f in FIELDS if (v := getattr(ns, f, None)) is not None}
    return ExperimentConfig.from_dict(values, base=base_config(ns))


def base_config(ns: argparse.Namespace) -> ExperimentConfig:
    """defaults < --preset < --config: the config the other flags change."""
    from engine.config.experiment import ExperimentConfig, preset

    base = preset(ns.preset) if getattr(ns, "preset", None) else None
    if getattr(ns, "config", None):
        base = load_config_file(ns.config, base)
    return base or ExperimentConfig()


def load_config_file(path: str, base: ExperimentConfig | None) -> ExperimentConfig:
    """``engine.load_config``, but on top of ``base`` (the --preset) unless the file
    names its own preset. Its errors name the file, never a flag."""
    from engine.config.experiment import ConfigError, ExperimentConfig, load_config, read_config

    try:
        config = load_config(path)  # reads, checks and words every error the engine's way
        if base is None:
            return config
        values = read_config(path)  # the same file, read the same way (BOM, data_path)
        if "preset" in values:
            return config
        try:
            return ExperimentConfig.from_dict(values, base=base)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"{path}: {exc.message}") from None
    except ConfigError as exc:
        raise CliError(exc.message) from None


@contextlib.contextmanager
def naming_data_flag(ns: argparse.Namespace) -> Iterator[None]:
    """A bad CSV given with --data is reported as ``--data: FILE line 3: ...``, so the
    message names the flag like every other bad value does."""
    try:
        yield
    except Exception as exc:
        datasets = sys.modules.get("engine.data.datasets")
        if (getattr(ns, "data_path", None) and datasets is not None
                and isinstance(exc, datasets.DataError)):
            raise CliError(f"--data: {exc}") from None
        raise


def run_file(spec: str, flag: str) -> Path:
    """The run file a --open or --from value names (``latest``: the newest kept run)."""
    from tui.core.archive import ArchiveError, resolve

    try:
        return resolve(spec)
    except ArchiveError as exc:
        raise CliError(f"{flag}: {exc}") from None


def trained_to(config: ExperimentConfig, epoch: int, purpose: str):
    """A trainer for ``config`` trained ``epoch`` epochs first (past the config's end, as
    the app trains on), or None after saying on stderr that it diverged before then
    (``purpose``: what there is then nothing of, e.g. "no step to explain")."""
    from engine.train.trainer import Trainer

    trainer = Trainer(config)
    if epoch:
        if epoch > config.epochs:
            trainer.extend(epoch - config.epochs)
        trainer.run(epochs=epoch)
        if trainer.status == "diverged":
            print(f"nn-tui: training diverged at epoch {trainer.epoch:,}, before epoch "
                  f"{epoch:,}: {purpose}", file=sys.stderr)
            return None
    return trainer
