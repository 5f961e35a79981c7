"""``nn-tui runs``: the runs the app kept (the run archive, tui/core/archive.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.cli.errors import EXIT_OK, PROG, CliError


def run_runs(ns: argparse.Namespace) -> int:
    """``nn-tui runs``: the run archive, newest first."""
    value = str(ns.limit).strip()
    if not (value.isascii() and value.isdigit()):
        raise CliError(f'--limit: the number of runs must be a whole number (0 for all), '
                       f'got "{ns.limit}"')
    import json

    from tui.core.archive import MAX_BYTES, MAX_RUNS, archived_files, list_runs, listing, runs_dir

    folder = runs_dir()
    runs, problems = list_runs(folder, int(value))
    for problem in problems:
        print(f"{PROG}: skipped {problem}", file=sys.stderr)
    if ns.json:
        for run in runs:
            print(json.dumps(listing(run), allow_nan=False))
        return EXIT_OK
    if not runs:
        print(f"no runs kept yet in {folder}")
        return EXIT_OK
    total = len(archived_files(folder))
    print(f"{len(runs)} of {total} kept runs in {folder}, newest first "
          f"(at most {MAX_RUNS} runs and {MAX_BYTES // 2**20} MiB are kept)")
    _print_table([_run_row(listing(run)) for run in runs])
    return EXIT_OK


RUN_COLUMNS = ("saved", "data", "layers", "epochs", "status", "loss", "acc", "file")


def _run_row(item: dict[str, Any]) -> list[str]:
    loss, accuracy = item["final_loss"], item["accuracy"]
    return [item["saved"].replace("T", " "), item["dataset"], item["architecture"],
            f"{item['epochs']:,}", item["status"],
            "—" if loss is None else f"{loss:.4g}",
            "—" if accuracy is None else f"{100 * accuracy:.1f}%", item["name"]]


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [list(RUN_COLUMNS), *rows])
              for i in range(len(RUN_COLUMNS))]
    for row in [list(RUN_COLUMNS), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
