"""``nn-tui runs``: the runs the app kept (the run archive, tui/core/archive.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.cli.errors import EXIT_OK, PROG, CliError
from tui.core.safe_text import printable


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
        print(f"{PROG}: skipped {printable(problem)}", file=sys.stderr)
    if ns.json:
        for run in runs:
            print(json.dumps(listing(run), allow_nan=False))
        return EXIT_OK
    if not runs:
        print(f"no runs kept yet in {printable(folder)}")
        return EXIT_OK
    total = len(archived_files(folder))
    print(f"{len(runs)} of {total} kept runs in {printable(folder)}, newest first "
          f"(at most {MAX_RUNS} runs and {MAX_BYTES // 2**20} MiB are kept)")
    _print_table(*_run_rows([listing(run) for run in runs]))
    return EXIT_OK


RUN_COLUMNS = ("saved", "data", "layers", "act", "opt", "lr", "epochs", "status", "loss", "acc",
               "other", "file")
"""The table's columns; ``other`` (only when some run differs in more) lists the other
settings that differ between the runs listed: ``seed 3 bias on``."""

SHOWN_SETTINGS = frozenset({"dataset", "data_path", "hidden", "activation", "optimizer", "lr",
                            "epochs"})
"""Settings the table has columns for (``other`` does not repeat them)."""


def _run_rows(items: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """The header and a row per run; ``other`` only if the runs differ beyond the columns."""
    from tui.core.runs import label_fields, label_part

    configs = [item["config"] for item in items]
    others = [f for f in label_fields(configs) if f not in SHOWN_SETTINGS]
    rows = [_run_row(item, " ".join(label_part(item["config"], f) for f in others))
            for item in items]
    if not others:
        return [c for c in RUN_COLUMNS if c != "other"], [r[:-2] + r[-1:] for r in rows]
    return list(RUN_COLUMNS), rows


def _run_row(item: dict[str, Any], other: str) -> list[str]:
    loss, accuracy, lr = item["final_loss"], item["accuracy"], item["lr"]
    return [item["saved"].replace("T", " "), item["dataset"], item["architecture"],
            item["activation"], item["optimizer"], "—" if lr is None else f"{lr:g}",
            f"{item['epochs']:,}", item["status"],
            "—" if loss is None else f"{loss:.4g}",
            "—" if accuracy is None else f"{100 * accuracy:.1f}%", other or "—", item["name"]]


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    """Aligned columns; each cell escaped (a file's name and status come from the file)."""
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())
