"""The ``nn-tui`` command: the app, and its headless twin for scripts.

    nn-tui                              open the app
    nn-tui train --preset dlp-xor       train headless and print the course's log
    nn-tui train --hidden 8,8 --json    the same as JSON lines, for scripts
    nn-tui train --from run.npz         re-run a saved run and check it reproduces
    nn-tui gradcheck --activation tanh  backpropagation against finite differences
    nn-tui explain --preset dlp-xor     one training step, matrix by matrix (engine.explain)
    nn-tui sweep --lr 0.1 0.5 --seed 0,1   a grid of runs in parallel worker processes
    nn-tui serve                        the app in a web browser (tui/cli/serve.py)
    nn-tui runs                         the runs the app kept (tui/core/archive.py)
    nn-tui --open latest                open the app on the newest kept run

Start-up stays light: building the parser needs only the standard library, so
``--help`` and ``--version`` never import NumPy, Rich or Textual; each command's
module is imported only when that command runs.

The modules: ``parser`` builds the parser (the flags several commands share are in
``flags``; the config fields' flag names in ``fields``, their help, choices and
defaults in ``engine.config.fields``, which needs only the standard library; the help
texts in ``help_texts``); ``errors`` words bad input; ``configs`` turns the flags into
a config; one module per command (``train``, ``explain``, ``gradcheck``, ``sweep``,
``serve``, ``runs``, and ``launch`` for the app); ``output`` holds what several of
them print.

Every flag value is passed to the engine as the raw text typed, so a bad value
gets the engine's own message, prefixed with the flag: ``nn-tui: error: --hidden:
hidden sizes must be positive integers separated by commas, got "4,x"``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from tui.cli.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    PROG,
    bad_input_message,
    error_line,
)
from tui.cli.parser import parse

# Each command's module and function, imported only when the command runs.
COMMANDS: dict[str | None, tuple[str, str]] = {
    "train": ("tui.cli.train", "run_train"),
    "gradcheck": ("tui.cli.gradcheck", "run_gradcheck"),
    "explain": ("tui.cli.explain", "run_explain"),
    "sweep": ("tui.cli.sweep", "run_sweep"),
    "serve": ("tui.cli.serve", "run_serve"),
    "tui": ("tui.cli.launch", "run_app"),
    "runs": ("tui.cli.runs", "run_runs"),
    None: ("tui.cli.launch", "run_app"),
}


def command(name: str | None) -> Callable[[argparse.Namespace], int]:
    """The function that runs a command (None: no command, the app)."""
    module, function = COMMANDS[name]
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    """Run the ``nn-tui`` command line; returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            ns = parse(args)
        except SystemExit as done:  # --help and --version
            return done.code if isinstance(done.code, int) else EXIT_OK
        return command(ns.command)(ns)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        silence_stdout()  # the reader went away (nn-tui train | head): not an error of ours
        return EXIT_FAILED
    except Exception as exc:
        message = bad_input_message(exc)
        if message is None:
            raise
        error_line(message)
        return EXIT_USAGE


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
