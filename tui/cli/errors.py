"""Bad input: one line ``nn-tui: error: MESSAGE`` on stderr and exit status 2."""

from __future__ import annotations

import sys

from tui.cli.fields import flag_for
from tui.core.safe_text import printable

PROG = "nn-tui"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class CliError(Exception):
    """Bad input, reported as one line ``nn-tui: error: MESSAGE`` and exit status 2."""


class UsageError(CliError):
    """A command line argparse could not read."""


def bad_input_message(exc: BaseException) -> str | None:
    """The one-line message for a bad-input exception, or None for anything else (a bug).

    Engine exceptions are recognised through ``sys.modules``: if the engine was never
    imported, the exception cannot be one of its own, and the error path stays light.
    """
    if isinstance(exc, CliError):
        return str(exc)
    config = sys.modules.get("engine.config.experiment")
    if config is not None and isinstance(exc, config.ConfigError):
        flag = flag_for(exc.field)
        return f"{flag}: {exc.message}" if flag else exc.message
    datasets = sys.modules.get("engine.data.datasets")
    if datasets is not None and isinstance(exc, datasets.DataError):
        return str(exc)
    for module, name in (("engine.io.runfile", "RunFileError"), ("engine.io.export", "ExportError"),
                         ("engine.experiments.sweep", "SweepError")):
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(exc, getattr(loaded, name)):
            return str(exc)
    return None


def error_line(message: str) -> None:
    """The message, escaped: it names files and quotes what they hold."""
    print(f"{PROG}: error: {printable(message)}", file=sys.stderr)
