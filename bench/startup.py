"""Start-up: ``nn-tui --version`` and the app's first frame, each timed in a new process.

Run:  python bench/startup.py            (5 runs of each, about 10 s)
      python bench/startup.py --runs 9

``--version``: wall time of ``nn-tui --version`` as a subprocess (the installed console
script, found next to this interpreter), from spawn to exit.

First frame: ``nn-tui`` (the app, default preset) is started on a real pseudo-terminal
of 120x36, and its output is read until the first complete frame has been written:
the time from spawn until the output holds both chart titles drawn by plotext, the
loss chart's ``loss (log)`` axis label and the scatter pair's ``Ground truth``, and
the footer's ``Quit`` key, with the output then quiet for a moment (the frame is
whole). The time printed is that of the last byte of that frame, not of the quiet
moment. Then ``q`` quits the app. Nothing is emulated: this is the app as a user
starts it, down to the terminal's escape sequences (a terminal emulator would still
have to paint them).

The app runs as an installed copy runs, from a clean profile: settings
(``XDG_CONFIG_HOME``) and the run archive (``XDG_DATA_HOME``) in new, empty temporary
directories, so neither the user's settings nor the runs they kept (the archive is
listed at start-up) change the figure. Bytecode is compiled once, in an untimed
first-frame run before the timed ones, as ``pip install`` compiles it at install
time: ``PYTHONDONTWRITEBYTECODE`` is dropped for the app (a machine that sets it
would otherwise compile every project module from source on every start, ~0.05 s) and
``PYTHONPYCACHEPREFIX`` points at a temporary directory, so the repository (an
editable install) stays clean.

Targets (issue 5): ``--version`` within 0.3 s, first frame within 1.0 s.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

# Run as ``python bench/startup.py``: the repository root on the path, bench/ off it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import Target, targets_block, temp_dir  # noqa: E402

VERSION_TARGET = 0.3
FIRST_FRAME_TARGET = 1.0
SIZE = (120, 36)
FRAME_MARKERS = (b"loss (log)", b"Ground truth", b"Quit")
QUIET = 0.15
"""The frame is whole once the app has written nothing for this long after the markers."""

TIMEOUT = 20.0

BYTECODE_NOTE = ("bytecode compiled once before timing, as pip does at install"
                 + ("; this machine sets PYTHONDONTWRITEBYTECODE"
                    if os.environ.get("PYTHONDONTWRITEBYTECODE") else ""))


def nn_tui_command() -> list[str]:
    """The installed ``nn-tui`` script next to this interpreter, else ``python -m tui.cli``."""
    script = Path(sys.executable).with_name("nn-tui")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "tui.cli"]


def clean_env() -> dict[str, str]:
    """This environment with an empty profile and bytecode written to a temporary cache."""
    env = dict(os.environ)
    env["XDG_CONFIG_HOME"] = temp_dir("nn-tui-bench-config-")  # default settings
    env["XDG_DATA_HOME"] = temp_dir("nn-tui-bench-data-")  # an empty run archive
    # as installed: bytecode written once (by the warm-up), kept out of the repository
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = temp_dir("nn-tui-bench-pycache-")
    env["TERM"] = "xterm-256color"
    env["COLORTERM"] = "truecolor"
    env.pop("NO_COLOR", None)
    env.pop("TEXTUAL", None)  # no devtools
    return env


def time_version(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run([*nn_tui_command(), "--version"], env=env, capture_output=True,
                          check=True)
    elapsed = time.perf_counter() - t0
    if b"nn-tui" not in done.stdout:
        raise RuntimeError(f"unexpected --version output: {done.stdout!r}")
    return elapsed


def time_first_frame(env: dict[str, str]) -> float:
    """Seconds from spawn to the last byte of the app's first complete frame."""
    master, slave = pty.openpty()
    cols, rows = SIZE
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**env, "COLUMNS": str(cols), "LINES": str(rows)}
    t0 = time.perf_counter()
    proc = subprocess.Popen(nn_tui_command(), stdin=slave, stdout=slave, stderr=slave,
                            env=env, start_new_session=True, close_fds=True)
    os.close(slave)
    output = bytearray()
    seen_at = last_byte = None
    try:
        while True:
            now = time.perf_counter()
            if now - t0 > TIMEOUT:
                raise RuntimeError(f"no first frame within {TIMEOUT:g} s; output ends "
                                   f"{bytes(output[-300:])!r}")
            ready, _, _ = select.select([master], [], [], 0.01)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # the app ended
                    raise RuntimeError(f"the app ended before its first frame: "
                                       f"{bytes(output[-300:])!r}") from None
                output += chunk
                last_byte = time.perf_counter()
                if seen_at is None and all(m in output for m in FRAME_MARKERS):
                    seen_at = last_byte
            elif seen_at is not None and now - last_byte >= QUIET:
                return last_byte - t0
    finally:
        _quit(proc, master)


def _quit(proc: subprocess.Popen, master: int) -> None:
    """q, then a kill if the app is still there after 5 s."""
    try:
        os.write(master, b"q")
        deadline = time.perf_counter() + 5
        while proc.poll() is None and time.perf_counter() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    os.read(master, 1 << 16)
                except OSError:
                    break
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
    finally:
        os.close(master)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def run(runs: int) -> tuple[list[str], list[Target]]:
    """Time both, ``runs`` times each (alternating); return the report lines and targets."""
    env = clean_env()
    time_version(env)  # warm the file cache once, untimed
    time_first_frame(env)  # untimed: compiles the bytecode, as pip does at install
    print(BYTECODE_NOTE, flush=True)  # printed, not a report line: those carry verdicts
    versions, frames = [], []
    for _ in range(runs):
        versions.append(time_version(env))
        frames.append(time_first_frame(env))
    med_v, med_f = statistics.median(versions), statistics.median(frames)
    fmt = lambda xs: " ".join(f"{x:.3f}" for x in xs)  # noqa: E731
    targets: list[Target] = [
        ("nn-tui --version (s)", med_v, "<=", VERSION_TARGET),
        (f"first frame at {SIZE[0]}x{SIZE[1]} (s)", med_f, "<=", FIRST_FRAME_TARGET),
    ]
    return [
        f"nn-tui --version: median {med_v:.3f} s over {runs} runs ({fmt(versions)}) "
        f"(target <= {VERSION_TARGET:g} s): {verdict(med_v <= VERSION_TARGET)}",
        f"first frame at {SIZE[0]}x{SIZE[1]} on a pty: median {med_f:.3f} s over {runs} runs "
        f"({fmt(frames)}) (target <= {FIRST_FRAME_TARGET:g} s): "
        f"{verdict(med_f <= FIRST_FRAME_TARGET)}",
    ], targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each")
    args = parser.parse_args()
    lines, targets = run(args.runs)
    print("\n".join(lines + [""] + targets_block(targets)))
    return 0 if all(line.endswith(": ok") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
