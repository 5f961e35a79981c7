"""``nn-tui`` without a command (or ``nn-tui tui``): open the app, on a preset, a config
file or a run file (``--open``)."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.configs import build_config, run_file
from tui.cli.errors import EXIT_FAILED, CliError, error_line


def run_app(ns: argparse.Namespace) -> int:
    config = build_config(ns) if (ns.preset or ns.config) else None
    options = _app_options(ns)
    try:
        from tui.app import run_app as start
    except ModuleNotFoundError as exc:
        if exc.name != "tui.app":
            raise
        error_line("the app is not part of this installation; try nn-tui train")
        return EXIT_FAILED
    return int(start(config, **options) or 0)


def _app_options(ns: argparse.Namespace) -> dict[str, Any]:
    """The app's keyword options given on the command line (only those given)."""
    options: dict[str, Any] = {}
    if getattr(ns, "autosave", None) is False:
        options["autosave"] = False
    spec = getattr(ns, "open_run", None)
    if spec:
        if ns.preset or ns.config:
            raise CliError("--open cannot be combined with --preset or --config: the run "
                           "file holds its own config")
        from engine.io.runfile import load_run

        path = run_file(spec, "--open")
        load_run(path)  # a bad file is one line here, not a traceback from the app
        options["run_path"] = path
    return options
