"""Shared helpers for the bench scripts: the header, interleaved median timing, formatting.

Every bench script prints the same header (versions, BLAS and its threads, cores, the
load average when it started) and times its variants the same way: the variants take
turns, one block of epochs each, repeat after repeat, so that a noisy neighbour slows
them alike, and each figure is the median over the repeats of
(time of a block) / (epochs in the block). Quote the medians and the ratios between
variants of one run; an absolute time on a shared machine means little.

The scripts are run as ``python bench/NAME.py``; each puts the repository root on
``sys.path`` itself (and keeps ``bench/`` off it, since ``bench/engine.py`` would shadow
the ``engine`` package) before importing this module as ``bench.common``.
"""

from __future__ import annotations

import atexit
import functools
import gc
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager

import numpy as np

from engine import ExperimentConfig, Trainer

Step = Callable[[int], object]  # step(k): run k epochs

# Environment variables that make a current NumPy wheel's OpenBLAS pick a slower kernel
# (or cache size) than the one it would detect on this CPU.
SLOWING_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# --- the workload every bench trains -----------------------------------------------------
def learning_rate(n: int) -> float:
    """0.5 up to 100 points, 0.5 / n beyond: the summed loss's step stays small, so that
    nothing saturates and every variant times the same unsaturated arithmetic."""
    return 0.5 if n <= 100 else 0.5 / n


def trainer_for(
    dataset: str,
    n: int,
    hidden: tuple[int, ...],
    dtype: str = "float64",
    seed: int = 0,
    history_capacity: int = 32768,
) -> Trainer:
    """The trainer as the benches time it: full batch, sigmoid everywhere, biases on, sse,
    plain SGD, the course's halving schedule and all of the trainer's bookkeeping."""
    config = ExperimentConfig(
        dataset=dataset,
        n=n,
        hidden=hidden,
        activation=("sigmoid",),
        bias=True,
        loss="sse",
        lr=learning_rate(n),
        epochs=10**9,
        schedule="halving",
        scale="max",
        init="normal",
        dtype=dtype,
        seed=seed,
    )
    return Trainer(config, history_capacity=history_capacity)


# --- the header ------------------------------------------------------------------------
def blas_info() -> str:
    """The BLAS NumPy was built against, e.g. ``scipy-openblas 0.3.31``."""
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg["Build Dependencies"]["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy has no dict mode; the name is only informative
        return "unknown"


def blas_threads() -> str | None:
    """The BLAS libraries loaded and their thread counts, if threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    parts = [
        f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}) "
        f"{p.get('num_threads')} threads"
        for p in threadpool_info()
        if p.get("user_api") == "blas"
    ]
    return "; ".join(parts) or None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> tuple[float, float, float] | None:
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


def others_now(seconds: float = 1.0) -> float | None:
    """Cores other processes keep busy right now (sampled over ``seconds``)."""
    busy0, own0 = _machine_busy_seconds(), _own_seconds()
    time.sleep(seconds)
    busy1, own1 = _machine_busy_seconds(), _own_seconds()
    if busy0 is None or busy1 is None:
        return None
    return max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds


def load_line() -> str:
    load = load_average()
    cores = os.cpu_count() or 1
    text = (
        "load average unknown"
        if load is None
        else "load average {:.2f} {:.2f} {:.2f}".format(*load)
    )
    now = others_now()
    if now is not None:
        text += f"; other processes busy on {now:.2f} of {cores} cores at the start"
        if now > 0.15:
            text += " (figures will be noisier: rerun when it is quiet)"
    return text


def env_warnings() -> list[str]:
    """One line per environment variable known to slow NumPy's OpenBLAS down."""
    return [
        f"WARNING: {name}={os.environ[name]} is set; it makes a current NumPy's OpenBLAS "
        "slower than its own choice (unset it for representative figures)"
        for name in SLOWING_ENV
        if os.environ.get(name)
    ]


def header_lines(extra: Iterable[str] = ()) -> list[str]:
    """The machine and version header every bench script prints first.

    Its first line is the one ``bench/engine.py`` has always printed; then the CPU and the
    BLAS threads (when threadpoolctl is installed), the load average when the run
    started, any extra lines, and a warning per slowing environment variable.
    """
    lines = [
        f"python {platform.python_version()}  numpy {np.__version__}  BLAS {blas_info()}  "
        f"cores {os.cpu_count()}  {platform.machine()}"
    ]
    threads = blas_threads()
    lines.append(f"CPU {cpu_model()}" + (f"  BLAS threads: {threads}" if threads else ""))
    lines.append(load_line())
    lines.extend(extra)
    lines.extend(env_warnings())
    return lines


def print_header(extra: Iterable[str] = ()) -> None:
    print("\n".join(header_lines(extra)), flush=True)


# --- timing -----------------------------------------------------------------------------
@contextmanager
def gc_paused():
    """No cyclic garbage collection inside a timed block (as ``timeit`` does)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def time_block(step: Step, epochs: int) -> float:
    """Microseconds per epoch of one block of ``epochs`` epochs."""
    with gc_paused():
        t0 = time.perf_counter()
        step(epochs)
        elapsed = time.perf_counter() - t0
    return elapsed / epochs * 1e6


def calibrate(step: Step, seconds: float, most: int = 1 << 20) -> int:
    """Epochs per block so that a block of ``step`` takes about ``seconds`` (at least 1).

    Runs ``step`` a few times while it measures, which doubles as its warm-up.
    """
    epochs = 1
    while True:
        t = time_block(step, epochs) * epochs / 1e6
        if t >= seconds / 4 or epochs >= most:
            break
        epochs *= 4 if t < seconds / 16 else 2
    return max(1, min(most, round(epochs * seconds / max(t, 1e-9))))


class Timings(dict):
    """``{variant: [us per epoch of each kept round]}``, with how quiet the machine was.

    ``rounds`` rounds were run and ``len(samples)`` kept; ``others`` is, per kept round,
    the CPU (in cores, averaged over the round) that other processes used meanwhile.
    """

    rounds: int = 0
    others: list[float]

    def quiet_note(self) -> str:
        if not self.others:
            return ""
        kept = len(self.others)
        worst = max(self.others)
        note = f"other processes: {statistics.mean(self.others):.2f} cores on average"
        note += f" (worst kept round {worst:.2f})"
        if self.rounds > kept:
            note += f"; kept the {kept} quietest of {self.rounds} rounds"
        return note


def _machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used, from /proc/stat (None where there is none)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()
    return t.user + t.system


def interleaved(
    variants: dict[str, Step],
    epochs: dict[str, int] | int,
    repeats: int,
    warmup: bool = True,
    busy: float = 0.15,
    extra_rounds: int | None = None,
    settle: float = 0.0,
) -> Timings:
    """Microseconds per epoch of every block, the variants taking turns round by round.

    ``epochs`` is the block length, one for all variants or one per variant (a slow
    variant can take shorter blocks so that every block lasts about as long).

    Each round also measures how much CPU other processes took meanwhile (from
    /proc/stat, less this process's own time). A round in which they averaged more than
    ``busy`` cores is run again, up to ``extra_rounds`` times (default: ``repeats``), and
    the ``repeats`` quietest rounds are kept. On a machine shared with test runs this
    keeps a neighbour's burst from deciding a median.

    ``settle`` seconds pass (untimed) before every block. OpenBLAS's worker threads spin
    for about 0.1 s after a threaded call, and an OpenMP pool (PyTorch's) for a few ms: a
    block that starts at once shares the cores with the previous variant's spinning
    threads. Give about 0.15 s when variants with different thread pools alternate.
    """
    blocks = epochs if isinstance(epochs, dict) else dict.fromkeys(variants, epochs)
    if warmup:  # first-call costs, caches and the BLAS threads' wake-up
        for name, step in variants.items():
            step(max(1, blocks[name] // 10))
    extra = repeats if extra_rounds is None else extra_rounds
    rounds: list[tuple[float, dict[str, float]]] = []  # (others' cores, {variant: us})
    while len(rounds) < repeats + extra:
        wall0, busy0, own0 = time.perf_counter(), _machine_busy_seconds(), _own_seconds()
        sample = {}
        for name, step in variants.items():
            if settle:
                time.sleep(settle)
            sample[name] = time_block(step, blocks[name])
        wall, busy1 = time.perf_counter() - wall0, _machine_busy_seconds()
        if busy0 is None or busy1 is None:
            others = float("nan")
        else:
            others = max(0.0, (busy1 - busy0) - (_own_seconds() - own0)) / max(wall, 1e-9)
        rounds.append((others, sample))
        quiet = sum(1 for o, _ in rounds if not o > busy)
        if len(rounds) >= repeats and quiet >= repeats:
            break
    # the quietest rounds (all of them are quiet when the machine was)
    kept = sorted(rounds, key=lambda r: r[0] if r[0] == r[0] else 0.0)[:repeats]
    result = Timings({name: [s[name] for _, s in kept] for name in variants})
    result.rounds = len(rounds)
    result.others = [o for o, _ in kept if o == o]
    return result


def medians(times: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(v) for name, v in times.items()}


def spread(samples: list[float]) -> float:
    """(max - min) / median of the repeats: how noisy one figure was."""
    m = statistics.median(samples)
    return (max(samples) - min(samples)) / m if m else float("nan")


# --- counting NumPy calls ----------------------------------------------------------------
@contextmanager
def numpy_call_counter():
    """Count calls made through ``np.<name>``, and of array methods, while the block runs.

    Every ufunc and function in the ``numpy`` namespace is swapped for a counting wrapper,
    so code that looks ``np.<name>`` up at call time is counted (names bound before the
    block began are not: the trainer's tapes bind their functions when they are built,
    so build the trainer inside the block). Array methods (``x.dot(...)``, which the
    tapes and the losses use) cannot be wrapped; a profile hook counts them as
    ``ndarray.<name>``. Yields a dict name -> count. Slow: use it on a few epochs, never
    while timing.
    """
    counts: dict[str, int] = {}
    saved: dict[str, object] = {}

    def count_methods(frame, event: str, arg) -> None:
        if event == "c_call" and isinstance(getattr(arg, "__self__", None), np.ndarray):
            key = "ndarray." + arg.__name__
            counts[key] = counts.get(key, 0) + 1

    def wrap(name: str, fn):
        @functools.wraps(fn)
        def counted(*args, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return fn(*args, **kwargs)

        return counted

    for name, obj in list(vars(np).items()):  # not dir(): that would import lazy submodules
        if isinstance(obj, type) or not callable(obj) or name.startswith("_"):
            continue
        if name in ("errstate", "seterr", "geterr", "show_config"):
            continue
        saved[name] = obj
        setattr(np, name, wrap(name, obj))
    previous = sys.getprofile()
    sys.setprofile(count_methods)
    try:
        yield counts
    finally:
        sys.setprofile(previous)
        for name, obj in saved.items():
            setattr(np, name, obj)


def temp_dir(prefix: str) -> str:
    """A new temporary directory, removed when this process exits."""
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


# --- formatting ----------------------------------------------------------------------------
def fmt_us(us: float | None, width: int = 10) -> str:
    """A median in microseconds, with as many digits as it deserves."""
    if us is None:
        return f"{'-':>{width}}"
    if us != us:  # NaN
        return f"{'n/a':>{width}}"
    if us >= 10_000:
        return f"{us:>{width},.0f}"
    if us >= 100:
        return f"{us:>{width}.0f}"
    return f"{us:>{width}.1f}"


def fmt_ratio(r: float | None, width: int = 8) -> str:
    if r is None or r != r:
        return f"{'-':>{width}}"
    return f"{r:>{width}.2f}"


# --- targets ------------------------------------------------------------------------------
Target = tuple[str, "float | None", str, float]
"""(label, measured value or None, ``<=`` or ``>=``, bound): one of the issue's targets."""


def target_verdict(value: float | None, op: str, bound: float) -> str:
    """``ok``, or ``MISSED by x%`` (how far off, relative to the bound)."""
    if value is None:
        return "not measured"
    if value <= bound if op == "<=" else value >= bound:
        return "ok"
    miss = value / bound - 1 if op == "<=" else bound / value - 1
    return f"MISSED by {miss:.0%}"


def targets_block(targets: Iterable[Target]) -> list[str]:
    """The block every script ends with (``bench/report.py`` reads it): a label, the
    value, ``target``, the comparison, the bound and the verdict, one target a line."""
    lines = ["targets (medians and ratios of medians from this run)"]
    for label, value, op, bound in targets:
        shown = "-" if value is None else f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
        lines.append(f"  {label:<34} {shown:>7}  target {op} {bound:<5g} "
                     f"{target_verdict(value, op, bound)}")
    return lines
