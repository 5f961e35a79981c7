"""``nn-tui sweep``: a grid of runs in parallel worker processes (or on a Dask cluster:
``sweep_dask.py``), a table, a CSV."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from tui.cli.configs import base_config
from tui.cli.errors import CliError
from tui.cli.fields import FLAG_TABLE, WHOLE_VALUE_FIELDS
from tui.cli.output import checked_target
from tui.cli.sweep_table import LiveTable, SweepTable, percent, r2, short

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig

MAX_WORKERS = 256


def run_sweep(ns: argparse.Namespace) -> int:
    from engine.experiments.sweep import expand_grid

    configs = expand_grid(base_config(ns), sweep_axes(ns))
    csv_path = checked_target("--csv", ns.csv) if ns.csv else None
    stack = getattr(ns, "stack", True)
    if getattr(ns, "scheduler", None):
        return _cluster_sweep(ns, configs, csv_path, stack)
    workers = _workers(ns.workers, len(configs))
    return sweep(configs, workers=workers, csv_path=csv_path, stack=stack)


def _cluster_sweep(ns: argparse.Namespace, configs: list[ExperimentConfig],
                   csv_path: str | None, stack: bool) -> int:
    """``--scheduler``: the same sweep, its stacks as tasks of a Dask cluster
    (``tui/cli/sweep_dask.py``); grouped for --workers, or for the cluster's threads."""
    from tui.cli.sweep_dask import DEFAULT_TIMEOUT, connect

    wanted = _workers(ns.workers, MAX_WORKERS) if ns.workers is not None else None
    timeout = _timeout(ns.scheduler_timeout) if ns.scheduler_timeout else DEFAULT_TIMEOUT
    with connect(ns.scheduler.strip(), wanted, timeout) as cluster:
        workers = max(1, min(wanted or cluster.threads, len(configs)))
        return sweep(configs, workers=workers, csv_path=csv_path, stack=stack,
                     runner=cluster.run, where=cluster.where)


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value <= 3600:
        raise CliError(f'--scheduler-timeout: seconds must be a number in (0, 3600], '
                       f'got "{text}"')
    return value


def sweep_axes(ns: argparse.Namespace) -> dict[str, list[str]]:
    """The grid's axes from the sweep flags, in help order: field -> values as typed.
    A comma list in one value of a single-valued setting is several values."""
    axes: dict[str, list[str]] = {}
    for _, field, _, _ in FLAG_TABLE:
        values = getattr(ns, field, None)
        if values is None:
            continue
        if field == "bias" and not values:  # a bare --bias
            values = ["true"]
        if field not in WHOLE_VALUE_FIELDS:
            values = [part.strip() for value in values
                      for part in (value.split(",") if "," in value else [value])
                      if part.strip() or "," not in value]
        axes[field] = values
    return axes


def _workers(text: str | None, runs: int) -> int:
    import os

    if text is None:
        return max(1, min(os.cpu_count() or 1, runs))
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_WORKERS:
        raise CliError(f'--workers: the number of worker processes must be a whole number '
                       f'from 1 to {MAX_WORKERS}, got "{text}"')
    return min(int(value), runs)


def sweep(configs: list[ExperimentConfig], *, workers: int, csv_path: str | None,
          stack: bool = True, runner: Callable[..., list[dict]] | None = None,
          where: str = "") -> int:
    """``nn-tui sweep``: run the grid, show the table, write the CSV, compare the times.
    With ``stack``, runs that stack train as stacks (``engine.experiments.sweep``).
    ``runner``: what trains the grid, as ``engine.experiments.sweep.run_sweep`` does it
    (the default: worker processes here); ``where`` it runs, for the heading."""
    import time

    from engine.experiments.sweep import run_sweep as run_grid
    from engine.experiments.sweep import varied_fields

    run_grid = runner or run_grid
    varied = varied_fields(configs)
    table = SweepTable(configs, varied)
    print(sweep_heading(configs, varied, workers, where), flush=True)
    live = LiveTable(table) if sys.stderr.isatty() else None
    start = time.perf_counter()
    try:
        run_grid(
            configs, workers,
            on_result=live.result if live else table.result,
            on_progress=live.progress if live else None,
            stack=stack,
        )
    except KeyboardInterrupt:
        if live:
            live.close()
        finished = [r for r in table.results if r is not None]
        print(f"nn-tui: sweep interrupted after {len(finished)} of {len(configs)} runs",
              file=sys.stderr)
        if csv_path and finished:
            print(_write_sweep_csv(csv_path, finished, varied), file=sys.stderr)
        elif csv_path:
            print(f"no run had finished: nothing written to {csv_path}", file=sys.stderr)
        return 130
    finally:
        if live:
            live.close()
    wall = time.perf_counter() - start
    results = table.results
    if not (live and sys.stdout.isatty()):  # the live table already shows it on this screen
        for line in table.text_lines():
            print(line)
    for line in sweep_summary(results, varied, wall, workers):
        print(line)
    if csv_path:
        print(_write_sweep_csv(csv_path, results, varied))
    sys.stdout.flush()
    return 1 if any(r["status"] == "error" for r in results) else 0


def _write_sweep_csv(path: str, results: list[dict], varied: list[str]) -> str:
    from engine.experiments.sweep import sweep_csv
    from engine.io.export import write_text_atomic

    written = write_text_atomic(path, sweep_csv(results, varied))
    return f"wrote {len(results)} run{'s' if len(results) != 1 else ''} to {written}"


def sweep_heading(configs: list[ExperimentConfig], varied: list[str], workers: int,
                  where: str = "") -> str:
    """``sweep of 6 runs (lr x hidden: 3 x 2) on xor, 20,000 epochs each, 2 workers``
    (then `` of the Dask cluster at tcp://...`` when it runs there)."""
    from engine.experiments.sweep import value_text
    from tui.core.safe_text import printable

    n = len(configs)
    first = configs[0]
    if varied:
        sizes = " x ".join(str(len({value_text(getattr(c, f)) for c in configs})) for f in varied)
        shape = f" ({' x '.join(varied)}: {sizes})"
    else:
        shape = ""
    line = f"sweep of {n} run{'s' if n != 1 else ''}{shape}"
    if "dataset" not in varied and "data_path" not in varied:
        line += f" on {printable(first.dataset_label)}"
    if "epochs" not in varied:
        line += f", {first.epochs:,} epochs each"
    line += f", {workers} worker{'s' if workers != 1 else ''}"
    return line + (f" of {where}" if where else "")


def _seconds(value: float) -> str:
    """``3.4``, or two significant digits under a second (``0.054``: never ``0.0``)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def sweep_summary(results: list[dict], varied: list[str], wall: float, workers: int) -> list[str]:
    """The closing lines: failures, the best run, and the wall time beside the processor
    time of all the runs together; their ratio is the speed-up over running them one by
    one on an idle core."""
    from engine.experiments.sweep import describe_run

    lines = []
    failed = [r for r in results if r["status"] == "error"]
    if failed:
        lines.append(f"{len(failed)} of {len(results)} runs failed (see their rows)")
    trained = [r for r in results if r["status"] != "error" and math.isfinite(r["final_loss"])]
    if trained and len(results) > 1:
        use_test = all(math.isfinite(r["test_loss"]) for r in trained)
        key = "test_loss" if use_test else "final_loss"
        best = min(trained, key=lambda r: r[key])
        what = describe_run(best["config"], varied)
        from engine.config.experiment import ExperimentConfig

        regression = ExperimentConfig.from_dict(best["config"]).regression  # it trained: valid
        name, score = ("R²", r2) if regression else ("accuracy", percent)
        figures = f"loss {short(best['final_loss'])} {name} {score(best['final_accuracy'])}"
        if use_test:
            figures += (f", test loss {short(best['test_loss'])} "
                        f"test {name} {score(best['test_accuracy'])}")
        label = "lowest test loss" if use_test else "lowest loss"
        lines.append(f"{label}: run {best['run']}{f' ({what})' if what else ''}: {figures}")
    # processor time, not each run's wall time: runs that waited for a core while
    # another ran would otherwise count that wait as training and inflate the speed-up
    total = sum(r["cpu_seconds"] for r in results)
    n = len(results)
    speedup = total / wall if wall > 0 else 0.0
    lines.append(
        f"{n} run{'s' if n != 1 else ''} in {_seconds(wall)} s wall, "
        f"{_seconds(total)} s of training "
        f"({speedup:.1f}x parallel speed-up on {workers} worker{'s' if workers != 1 else ''})"
    )
    return lines
