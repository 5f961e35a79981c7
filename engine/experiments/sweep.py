"""Sweeps: train every combination of some settings, several runs at once.

A sweep is a grid: a base config and, for some fields, a list of values; every
combination is one run. ``expand_grid`` builds the configs (checking each value,
and each combination, the config's own way), ``run_sweep`` trains them in
parallel worker processes, and ``sweep_csv`` / ``load_sweep_csv`` write and read
the results, one row per run.

    configs = expand_grid(ExperimentConfig(epochs=20_000), {"lr": [0.1, 0.5, 1],
                                                           "hidden": ["4,4", "8,8"]})
    results = run_sweep(configs, workers=2, on_result=print)

Each worker is a fresh ("spawn") Python process that imports only this module's
dependencies (the engine and NumPy, never a front end). It gets a run's config as
a plain dict and returns a plain dict (``run_one``): no live object crosses a
process boundary, so a worker can run anywhere a function can be called by name.

Stacks: runs whose configs differ only in what each network of a stack keeps for
itself (rate, seed, init, schedule and momentum settings: ``engine.stack.trainer.STACKABLE``)
train together as one stack (``engine.stack.trainer``), in one worker, for a fraction
of the cost (``stack_groups``, ``run_stack``). Other settings (hidden sizes, the
optimizer's kind, the data, ...) go to separate stacks. Stacks are split so that
every worker has one (a grid that is one stack runs as two halves on two workers).
A stack's results are still one row per run, each with its share of the stack's time.
``stack=False`` trains every run alone, in its own task.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import math
import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from engine.config.experiment import FIELDS, ConfigError, ExperimentConfig, parse_field
from engine.data.files import FileTooLargeError, read_regular_file
from engine.io.export import csv_text, number
from engine.stack.trainer import StackTrainer, stack_key
from engine.train.events import Diverged
from engine.train.trainer import Trainer

MAX_RUNS = 10_000
MAX_SWEEP_BYTES = 256 * 2**20  # a sweep file read back: MAX_RUNS rows and their curves
MAX_STACK = 256  # networks per stack: beyond it a network-epoch costs no less
CURVE_POINTS = 200  # loss-curve points kept per run
PROGRESS_SECONDS = 0.25  # how often a worker reports its run's progress
RESULT_COLUMNS = (  # named apart from the config's fields ("loss" is the loss function)
    "status",
    "epochs_run",
    "final_loss",
    "final_accuracy",
    "test_loss",
    "test_accuracy",
    "perfect_epoch",
    "seconds",
    "cpu_seconds",
    "train_seconds",
    "message",
    "curve_epochs",
    "curve_loss",
)


class SweepError(ValueError):
    """A sweep file that cannot be read; the message names the file and the problem."""


# --- the grid ----------------------------------------------------------------------------
def expand_grid(
    base: ExperimentConfig, axes: Mapping[str, Sequence[Any]]
) -> list[ExperimentConfig]:
    """Every combination of ``axes`` (field -> values) on top of ``base``, in order: the
    first axis varies slowest. Values may be text as typed (``"4,4"``) or parsed.

    A bad value raises ConfigError naming its field; a combination the config refuses
    (three activations for one hidden layer) names the run it belongs to.
    """
    parsed: dict[str, list[Any]] = {}
    for name, values in axes.items():
        if name not in FIELDS:
            raise ConfigError(name, f'unknown setting "{name}"')
        values = list(values)
        if not values:
            raise ConfigError(name, f"{name.replace('_', ' ')}: give at least one value")
        unique: list[Any] = []
        for value in values:
            value = parse_field(name, value)
            if value not in unique:
                unique.append(value)
        parsed[name] = unique
    count = math.prod(len(v) for v in parsed.values())
    if count > MAX_RUNS:
        sizes = " x ".join(str(len(v)) for v in parsed.values() if len(v) > 1)
        raise ConfigError(None, f"the grid has {count:,} runs ({sizes}); at most {MAX_RUNS:,}")
    varied = [name for name, values in parsed.items() if len(values) > 1]
    configs = []
    for combo in itertools.product(*parsed.values()):
        values = dict(zip(parsed, combo, strict=True))
        try:
            configs.append(ExperimentConfig.from_dict(values, base=base))
        except ConfigError as exc:
            if not varied:
                raise
            where = ", ".join(f"{name} {value_text(values[name])}" for name in varied)
            raise ConfigError(exc.field, f"{exc.message} (in the run with {where})") from None
    return configs


def varied_fields(configs: Iterable[ExperimentConfig | Mapping[str, Any]]) -> list[str]:
    """The fields whose value differs between the configs, in the config's field order."""
    dicts = [c.to_dict() if isinstance(c, ExperimentConfig) else dict(c) for c in configs]
    if not dicts:
        return []
    return [name for name in FIELDS if any(d.get(name) != dicts[0].get(name) for d in dicts)]


def value_text(value: Any) -> str:
    """A field value as typed: ``4,4``, ``0.5``, ``on``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list | tuple):
        return ",".join(value_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def describe_run(config: ExperimentConfig | Mapping[str, Any], fields: Sequence[str]) -> str:
    """``lr 0.5, hidden 4,4``: a run's values of some fields."""
    d = config.to_dict() if isinstance(config, ExperimentConfig) else config
    return ", ".join(f"{name} {value_text(d.get(name))}" for name in fields)


# --- one run (in a worker) ---------------------------------------------------------------
_progress = None  # in a worker: the queue its progress goes to (set by _init_worker)


def _init_worker(progress_queue) -> None:
    """Run in each worker as it starts. Ctrl-C is the parent's to handle: it stops the
    workers itself, so they do not each print a traceback."""
    global _progress
    _progress = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def empty_result(config: Mapping[str, Any], run: int | None = None) -> dict[str, Any]:
    """A result before (or without) training: status "error" until a run says otherwise."""
    return {
        "run": run,
        "config": dict(config),
        "status": "error",
        "message": "",
        "epochs_run": 0,
        "final_loss": math.nan,
        "final_accuracy": math.nan,
        "test_loss": math.nan,
        "test_accuracy": math.nan,
        "perfect_epoch": None,
        "seconds": 0.0,
        "cpu_seconds": 0.0,
        "train_seconds": 0.0,
        "curve_epochs": [],
        "curve_loss": [],
    }


def run_one(config: Mapping[str, Any], run: int | None = None, *,
            should_stop: Callable[[], bool] | None = None,
            report: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Build a trainer from a config dict, train it to the end and return plain data.

    Never raises: a config or data error, or anything else, becomes status "error"
    with the message. Statuses: "finished", "diverged", "error". ``perfect_epoch`` is
    the first recorded epoch with 100% training accuracy (every epoch up to the
    history's capacity, 32,768 by default; then every ``stride``-th). ``seconds`` is
    the run's wall time in its worker, ``cpu_seconds`` the processor time it used
    (which, unlike the wall time, does not grow when runs share a core), and
    ``train_seconds`` the training loop's own wall time.

    For a task on another machine (``tui/cli/sweep_dask.py``), which cannot be
    terminated the way a worker process is: ``should_stop()`` is asked between chunks of
    ``PROGRESS_SECONDS``, and when it turns true the run stops there with status
    "stopped"; ``report(update)`` receives its progress (by default the worker's queue).
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = empty_result(config, run)
    try:
        cfg = ExperimentConfig.from_dict(config)
        result["config"] = cfg.to_dict()
        trainer = Trainer(cfg)
        report = _reporter(report)
        _send_progress(report, run, trainer)
        box = PROGRESS_SECONDS if report or should_stop else None
        diverged = None
        while not trainer.done and not (should_stop and should_stop()):
            for event in trainer.run(seconds=box):
                if isinstance(event, Diverged):
                    diverged = event
            _send_progress(report, run, trainer)
        result.update(_figures(trainer))
        result["status"] = trainer.status if trainer.done else "stopped"
        if diverged is not None:
            result["message"] = diverged.message
    except Exception as exc:  # one bad run must not end the sweep; its row says why
        result["status"] = "error"
        bad_input = isinstance(exc, ValueError)  # ConfigError, DataError: already worded
        result["message"] = str(exc) if bad_input else f"{type(exc).__name__}: {exc}"
    result["seconds"] = time.perf_counter() - start
    result["cpu_seconds"] = time.process_time() - cpu_start
    return result


def _figures(trainer: Trainer) -> dict[str, Any]:
    train = trainer.evaluate("train")
    test = trainer.evaluate("test")
    columns = trainer.history.arrays()
    epochs, loss, accuracy = columns["epoch"], columns["loss"], columns["accuracy"]
    perfect = np.flatnonzero(accuracy >= 1.0)
    keep = downsample_indices(len(epochs), CURVE_POINTS)
    return {
        "epochs_run": trainer.epoch,
        "final_loss": float(train["loss"]),
        "final_accuracy": float(train["accuracy"]),
        "test_loss": float(test["loss"]),
        "test_accuracy": float(test["accuracy"]),
        "perfect_epoch": int(epochs[perfect[0]]) if len(perfect) else None,
        "train_seconds": trainer.seconds,
        "curve_epochs": epochs[keep].tolist(),
        "curve_loss": loss[keep].tolist(),
    }


def run_stack(configs: Sequence[Mapping[str, Any]], runs: Sequence[int], *,
              should_stop: Callable[[], bool] | None = None,
              report: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Train configs that stack (``stack_groups``) as one stack; one result per run, as
    ``run_one`` gives it (``should_stop`` and ``report`` too). ``seconds``,
    ``cpu_seconds`` and ``train_seconds`` are each run's share of the stack's. Never
    raises: if the stack cannot be built (a bad config, a bad CSV), each run is tried
    alone, so that its own row says why."""
    start, cpu_start = time.perf_counter(), time.process_time()
    alone = {"should_stop": should_stop, "report": report}
    try:
        stack = StackTrainer([ExperimentConfig.from_dict(c) for c in configs])
    except Exception:
        return [run_one(config, run, **alone) for config, run in zip(configs, runs, strict=True)]
    report = _reporter(report)
    box = PROGRESS_SECONDS if report or should_stop else None
    diverged: dict[int, Diverged] = {}
    for run, network in zip(runs, stack.members, strict=True):
        _send_progress(report, run, network)
    while not stack.done and not (should_stop and should_stop()):
        for i, events in enumerate(stack.run(seconds=box)):
            diverged.update((i, e) for e in events if isinstance(e, Diverged))
        for run, network in zip(runs, stack.members, strict=True):
            _send_progress(report, run, network)
    k = len(runs)
    seconds, cpu = (time.perf_counter() - start) / k, (time.process_time() - cpu_start) / k
    results = []
    for i, run in enumerate(runs):
        result = empty_result(stack.configs[i].to_dict(), run)
        result.update(_figures(stack.member(i)))
        status = stack.members[i].status if stack.done else "stopped"
        result.update(status=status, seconds=seconds, cpu_seconds=cpu)
        if i in diverged:
            result["message"] = diverged[i].message
        results.append(result)
    return results


def stack_groups(
    configs: Sequence[ExperimentConfig | Mapping[str, Any]], workers: int = 1
) -> list[list[int]]:
    """The runs (indices into ``configs``) that train together, one list per stack.

    Configs stack when they differ only in settings each network keeps for itself
    (``engine.stack.trainer.STACKABLE``); a config that is not valid stays alone (its
    run reports why). Stacks hold at most ``MAX_STACK`` runs and at most a worker's fair
    share of the grid (every worker gets work), and the largest are halved until there
    is a stack for every worker (or every stack is one run). Longest first.
    """
    groups: dict[Any, list[int]] = {}
    for i, config in enumerate(configs):
        try:
            cfg = config if isinstance(config, ExperimentConfig) else (
                ExperimentConfig.from_dict(config))
            key: Any = stack_key(cfg)
        except (ConfigError, ValueError, TypeError):
            key = ("alone", i)
        groups.setdefault(key, []).append(i)
    stacks = [g[j : j + MAX_STACK] for g in groups.values() for j in range(0, len(g), MAX_STACK)]
    if workers > 1:  # no stack longer than a worker's fair share of the runs
        share = -(-len(configs) // workers)
        stacks = [part for g in stacks for part in _split(g, -(-len(g) // share))]
    while len(stacks) < workers:
        largest = max(stacks, key=len)
        if len(largest) < 2:
            break
        stacks.remove(largest)
        stacks += _split(largest, 2)
    return sorted(stacks, key=len, reverse=True)  # the longest first: they finish last


def _split(runs: list[int], parts: int) -> list[list[int]]:
    """``runs`` in ``parts`` consecutive pieces of sizes differing by one at most."""
    size, extra = divmod(len(runs), parts)
    cuts = [i * size + min(i, extra) for i in range(parts + 1)]
    return [runs[a:b] for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def downsample_indices(n: int, points: int) -> np.ndarray:
    """At most ``points`` evenly spread indices into ``n`` rows, the first and last included."""
    if n <= points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, points).round().astype(np.intp))


def _reporter(
    report: Callable[[dict[str, Any]], None] | None,
) -> Callable[[dict[str, Any]], None] | None:
    """Where a run's progress goes: ``report``, else (in a pool's worker) its queue."""
    if report is not None:
        return report
    return _progress.put if _progress is not None else None


def _send_progress(report: Callable[[dict[str, Any]], None] | None, run: int | None,
                   trainer: Any) -> None:
    """``trainer``: a Trainer or a stack's member (both have these figures)."""
    if report is None:
        return
    report(
        {
            "run": run,
            "epoch": trainer.epoch,
            "epochs": trainer.config.epochs,
            "loss": trainer.last_loss,
            "accuracy": trainer.last_accuracy,
            "seconds": trainer.seconds,
        }
    )


# --- many runs ---------------------------------------------------------------------------
def default_workers() -> int:
    return os.cpu_count() or 1


def run_sweep(
    configs: Sequence[ExperimentConfig | Mapping[str, Any]],
    workers: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
    on_progress: Callable[[dict[str, Any]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    stack: bool = True,
) -> list[dict[str, Any]]:
    """Train every config in ``workers`` processes (default: one per CPU); results in order.
    With ``stack`` (the default) runs that stack train as stacks (``stack_groups``), a
    task per stack; without, a task per run.

    ``on_result(result)`` is called in the calling thread as each run finishes;
    ``on_progress({"run", "epoch", "epochs", "loss", "accuracy", "seconds"})`` a few
    times a second per running run. When ``should_stop()`` (asked ten times a second)
    turns true, the workers are stopped and only the runs finished so far are
    returned. On Ctrl-C, or an exception in a callback, the workers are stopped
    before the exception goes on. Safe to call from a thread other than the main one.
    """
    dicts = [c.to_dict() if isinstance(c, ExperimentConfig) else dict(c) for c in configs]
    results: list[dict[str, Any] | None] = [None] * len(dicts)
    if not dicts:
        return []
    workers = max(1, min(workers or default_workers(), len(dicts)))
    context = multiprocessing.get_context("spawn")  # fresh workers: no inherited threads
    progress = context.Queue() if on_progress is not None else None
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_worker, initargs=(progress,)
    )
    clean = False
    try:
        with _sigint_ignored():  # the workers start with Ctrl-C ignored: it is ours to handle
            futures = _submit(pool, dicts, workers, stack)
        pending = set(futures)
        while pending:
            if should_stop is not None and should_stop():
                _stop_workers(pool)
                clean = True
                return [r for r in results if r is not None]
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            _drain(progress, on_progress, results)
            for future in sorted(done, key=lambda f: futures[f][0]):
                for result in _task_results(future, futures[future], dicts):
                    results[result["run"]] = result
                    if on_result is not None:
                        on_result(result)
        clean = True
    finally:
        if not clean:
            _stop_workers(pool)
        pool.shutdown(wait=True, cancel_futures=True)
        if progress is not None:
            progress.close()
            progress.join_thread()
    return results  # type: ignore[return-value]


def _submit(pool, dicts: list[dict[str, Any]], workers: int, stack: bool) -> dict:
    """One task per stack of two runs or more, one per other run: {future: its runs}."""
    groups = stack_groups(dicts, workers) if stack else [[i] for i in range(len(dicts))]
    futures = {}
    for runs in groups:
        if len(runs) == 1:
            futures[pool.submit(run_one, dicts[runs[0]], runs[0])] = runs
        else:
            futures[pool.submit(run_stack, [dicts[i] for i in runs], runs)] = runs
    return futures


def _task_results(future, runs: list[int], dicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A task's results, one per run; a dead worker (killed, out of memory) fails them all."""
    try:
        result = future.result()
        return result if isinstance(result, list) else [result]
    except Exception as exc:
        failed = []
        for i in runs:
            result = empty_result(dicts[i], i)
            result["message"] = f"worker failed: {type(exc).__name__}: {exc}"
            failed.append(result)
        return failed


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT while worker processes start, so that they inherit "ignored" and a
    Ctrl-C that comes while one is still importing NumPy prints no traceback there."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may change signal handlers
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _drain(progress, on_progress, results) -> None:
    if progress is None:
        return
    while True:
        try:
            update = progress.get_nowait()
        except queue_module.Empty:
            return
        if results[update["run"]] is None:  # a late report of a finished run is stale
            on_progress(update)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the workers (a running run would otherwise train on to its end)."""
    for future_process in list((getattr(pool, "_processes", None) or {}).values()):
        if future_process.is_alive():
            future_process.terminate()


# --- results as CSV ------------------------------------------------------------------------
def _cell(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(_cell(v) for v in value)
    if isinstance(value, str):
        return value
    return number(value)


def sweep_csv(results: Sequence[Mapping[str, Any]], varied: Sequence[str] | None = None) -> str:
    """One row per run: ``run``, ``varied`` (the names of the varied fields), the varied
    fields, every other config field, then the results. Config values are as typed
    (``4,4``; floats exact); the loss curve is two columns of space-separated numbers
    (six significant digits)."""
    varied = list(varied if varied is not None else varied_fields(r["config"] for r in results))
    fields = varied + [name for name in FIELDS if name not in varied]
    header = ["run", "varied", *fields, *RESULT_COLUMNS]
    rows = []
    for r in results:
        row = [r.get("run"), " ".join(varied)]
        row += [_cell(r["config"].get(name)) for name in fields]
        for column in RESULT_COLUMNS:
            value = r.get(column)
            if column.startswith("curve_"):  # for drawing: six digits are plenty
                value = " ".join(f"{v:.6g}" for v in value or [])
            row.append(value if isinstance(value, str) else number(value))
        rows.append(row)
    return csv_text(header, rows)


def load_sweep_csv(path: str | Path) -> list[dict[str, Any]]:
    """Read a file written by ``sweep_csv``: one result dict per run, as ``run_one`` returns
    them, plus ``"varied"`` (the varied field names)."""
    path = Path(path)
    try:
        # a regular file, bounded (a pipe would hang; MAX_RUNS rows with their curves fit)
        text = read_regular_file(path, MAX_SWEEP_BYTES).decode("utf-8")
    except FileNotFoundError:
        raise SweepError(f"sweep file {path} does not exist") from None
    except FileTooLargeError:
        raise SweepError(
            f"cannot read sweep file {path}: larger than {MAX_SWEEP_BYTES // 2**20} MiB"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise SweepError(f"cannot read sweep file {path}: {reason}") from None
    reader = csv.DictReader(io.StringIO(text))
    needed = {"run", "varied", *FIELDS, *RESULT_COLUMNS}
    missing = sorted(needed - set(reader.fieldnames or ()))
    if missing:
        raise SweepError(
            f"{path} is not an nn-tui sweep file (missing columns: {', '.join(missing[:5])})"
        )
    out = []
    for line, row in enumerate(reader, start=2):
        try:
            config = ExperimentConfig.from_dict({name: row[name] for name in FIELDS})
            result = {
                "run": int(row["run"]) if row["run"] else None,
                "varied": row["varied"].split(),
                "config": config.to_dict(),
                "status": row["status"],
                "message": row["message"],
                "epochs_run": int(row["epochs_run"] or 0),
                "perfect_epoch": int(row["perfect_epoch"]) if row["perfect_epoch"] else None,
                "curve_epochs": [float(v) for v in row["curve_epochs"].split()],
                "curve_loss": [float(v) for v in row["curve_loss"].split()],
            }
            for column in ("final_loss", "final_accuracy", "test_loss", "test_accuracy",
                           "seconds", "cpu_seconds", "train_seconds"):
                result[column] = float(row[column]) if row[column] else math.nan
        except ConfigError as exc:
            raise SweepError(f"{path}, line {line}: {exc.message}") from None
        except (TypeError, ValueError) as exc:
            raise SweepError(f"{path}, line {line}: bad value ({exc})") from None
        out.append(result)
    return out
