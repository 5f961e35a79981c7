"""Run every benchmark and write the figures into the README: one command for all of them.

Run:  python bench/report.py            (about 10 minutes on 2 cores)
      python bench/report.py --quick    (each script's --quick; about 3 minutes)
      python bench/report.py --dry-run  (run everything, print the README section, write nothing)
      python bench/report.py --only tui.py   (run some scripts, print, write nothing)

The scripts run one after another (never side by side: they would slow each other), each
in its own process, exactly as a user would run them. Then:

* ``bench/RESULTS.md`` gets every script's full output, verbatim, under the machine header;
* ``README.md`` gets, between its ``bench-report`` markers, the machine and versions, one
  table of every target (measured value, target, verdict) and the engine's scaling table.

Each script ends its output with a block that this file reads (and people can too)::

    targets (ratios of medians from this run)
      (a) trainer/floor       1.09  target <= 1.2  ok
      app/engine              0.93  target >= 0.9  ok

one line per target: a label, the measured value, ``target``, the comparison, the bound
and the verdict (``ok`` or ``MISSED by x%``). A label may contain single spaces; two or more
spaces end it. Nothing here judges a figure itself: the verdicts are the scripts' own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from bench.common import header_lines  # noqa: E402

README = ROOT / "README.md"
RESULTS = HERE / "RESULTS.md"
BEGIN = "<!-- bench-report: begin (written by `python bench/report.py`; edit that, not this) -->"
END = "<!-- bench-report: end -->"

# script, what it answers (every one takes --quick)
SCRIPTS: list[tuple[str, str]] = [
    ("engine.py", "the trainer against the course homework's plain NumPy code"),
    ("peers.py", "the trainer against a hand-tuned NumPy floor, PyTorch and scikit-learn"),
    ("scaling.py", "how an epoch's cost grows with n and the layer width"),
    ("tui.py", "the app: training rate against the engine alone, loop lag, redraw, memory, "
     "start-up"),
    ("stack.py", "many networks as one stack against the single trainer; the 64-run sweep "
     "stacked and not"),
]

TARGET_LINE = re.compile(
    r"^\s+(?P<label>\S+(?: \S+)*)\s{2,}(?P<value>-?[\d.,]+|-)\s+"
    r"target (?P<op><=|>=) (?P<bound>\S+)\s+(?P<verdict>.+?)\s*$"
)


@dataclass(frozen=True)
class Target:
    script: str
    label: str
    value: str
    op: str
    bound: str
    verdict: str

    @property
    def met(self) -> bool:
        return self.verdict == "ok"


@dataclass(frozen=True)
class Run:
    script: str
    question: str
    output: str
    seconds: float
    returncode: int


def run_script(script: str, question: str, quick: bool) -> Run:
    """Run one bench script as its own process and keep everything it printed."""
    command = [sys.executable, str(HERE / script), *(["--quick"] if quick else [])]
    print(f"$ python bench/{script} {' '.join(command[2:])}".rstrip(), flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_COLOR": "1"}
    )
    seconds = time.perf_counter() - t0
    output = done.stdout + (f"\n[stderr]\n{done.stderr}" if done.stderr.strip() else "")
    print(f"  {seconds:.0f} s, exit {done.returncode}", flush=True)
    return Run(script, question, output.rstrip() + "\n", seconds, done.returncode)


def parse_targets(script: str, output: str) -> list[Target]:
    """The lines of the output's last ``targets`` block."""
    lines = output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("targets")]
    if not starts:
        return []
    found = []
    for line in lines[starts[-1] + 1:]:
        match = TARGET_LINE.match(line)
        if not match:
            if line.strip():
                break
            continue
        found.append(Target(script, **match.groupdict()))
    return found


def block_after(output: str, heading: str) -> list[str]:
    """The lines from the one starting with ``heading`` to the next blank line."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(heading):
            block = []
            for following in lines[i:]:
                if not following.strip():
                    break
                block.append(following)
            return block
    return []


def targets_table(targets: list[Target]) -> list[str]:
    rows = ["| script | figure | measured | target | verdict |", "|---|---|---:|---:|---|"]
    for t in targets:
        verdict = "ok" if t.met else f"**{t.verdict}**"
        rows.append(f"| `{t.script}` | {t.label} | {t.value} | {t.op} {t.bound} | {verdict} |")
    return rows


def readme_section(header: list[str], runs: list[Run], targets: list[Target], when: str,
                   quick: bool) -> str:
    """The Markdown written between the README's markers."""
    met = sum(t.met for t in targets)
    out = [
        BEGIN,
        f"Measured {when} by `python bench/report.py{' --quick' if quick else ''}` "
        f"({sum(r.seconds for r in runs) / 60:.0f} min), the scripts one after another:",
        "",
        "```text",
        *header,
        "```",
        "",
        f"{met} of {len(targets)} targets met. Ratios are of medians measured side by side in "
        "one run; full outputs in [`bench/RESULTS.md`](bench/RESULTS.md), what each figure "
        "means in [`bench/README.md`](bench/README.md).",
        "",
        *targets_table(targets),
    ]
    for run in runs:
        if run.returncode not in (0, 1):  # 1: a script saying a target was missed
            out += ["", f"`{run.script}` failed (exit {run.returncode}); see bench/RESULTS.md."]
    scaling = next((r for r in runs if r.script == "scaling.py"), None)
    if scaling:
        table1 = block_after(scaling.output, "table 1")
        table4 = block_after(scaling.output, "table 4")
        if table1:
            out += ["", "How an epoch's cost grows (`scaling.py`, float64, 2 → w → w → 1):", "",
                    "```text", *table1, "", *table4, "```"]
    out.append(END)
    return "\n".join(out)


def results_file(header: list[str], runs: list[Run], when: str) -> str:
    out = ["# Benchmark outputs", "",
           f"Written by `python bench/report.py` on {when}. Every script's output, verbatim.",
           "", "```text", *header, "```"]
    for run in runs:
        out += ["", f"## `python bench/{run.script}`: {run.question}", "",
                f"{run.seconds:.0f} s, exit status {run.returncode}.", "",
                "```text", run.output.rstrip(), "```"]
    return "\n".join(out) + "\n"


def replace_section(text: str, section: str) -> str:
    """``text`` with the part between the markers (markers included) replaced."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no {BEGIN!r} ... {END!r} markers to write between")
    return text[:start] + section + text[end + len(END):]


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="every script's --quick")
    parser.add_argument("--dry-run", action="store_true", help="print, write nothing")
    parser.add_argument("--only", nargs="+", metavar="SCRIPT",
                        help="run only these scripts and print their section (writes nothing: "
                        "the README's section always comes from one run of all of them)")
    args = parser.parse_args()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = header_lines()
    chosen = [s for s in SCRIPTS if not args.only or s[0] in args.only]
    runs = [run_script(script, question, args.quick) for script, question in chosen]
    targets = [t for run in runs for t in parse_targets(run.script, run.output)]
    section = readme_section(header, runs, targets, when, args.quick)
    if args.dry_run or args.only:
        print(section)
        return 0
    write_atomically(README, replace_section(README.read_text(encoding="utf-8"), section))
    write_atomically(RESULTS, results_file(header, runs, when))
    missed = [t for t in targets if not t.met]
    print(f"README.md and bench/RESULTS.md written: {len(targets) - len(missed)} of "
          f"{len(targets)} targets met" + "".join(
              f"\n  missed: {t.script} {t.label} {t.value} (target {t.op} {t.bound})"
              for t in missed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
