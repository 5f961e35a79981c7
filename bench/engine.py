"""Engine speed: microseconds per epoch, the trainer against the homework's plain code.

Run:  python bench/engine.py            (about 2-3 minutes on 2 cores)
      python bench/engine.py --quick    (smaller repeats, (e) skipped)

Every workload is timed side by side in one run, the variants interleaved
repeat by repeat so that a noisy neighbour slows them alike. Each figure is the
median over the repeats of (time of a block of epochs) / (epochs in the block).

  trainer   engine.Trainer, biases ON, all its bookkeeping (the loss every epoch, the
            accuracy on every epoch it records or reports, bounded history, halving
            schedule, divergence guard)
  naive     bench/naive.py: the homework's code, no biases, loss every epoch
  ratio     trainer / naive   (target: <= 1.0 on (a)-(c))
  f32       the trainer with dtype float32; f64/f32 is the speed-up (target >= 1.5 on (d), (e))
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# This script is named engine.py, so its own folder must not shadow the engine package.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import (  # noqa: E402
    interleaved,
    medians,
    print_header,
    targets_block,
    trainer_for,
)
from bench.naive import HomeworkNetwork  # noqa: E402
from engine import make_dataset  # noqa: E402

# name, dataset, n, hidden, epochs per timed block (full / quick), repeats (full / quick)
WORKLOADS = [
    ("(a) linear n=100 h=4,4", "linear", 100, (4, 4), (2000, 500), (9, 5)),
    ("(b) xor n=21 h=4,4", "xor", 21, (4, 4), (2000, 500), (9, 5)),
    ("(c) linear n=100 h=10,5,3,5", "linear", 100, (10, 5, 3, 5), (2000, 500), (9, 5)),
    ("(d) linear n=10,000 h=64,64", "linear", 10_000, (64, 64), (20, 5), (7, 5)),
    ("(e) linear n=100,000 h=256,256", "linear", 100_000, (256, 256), (2, 0), (5, 0)),
]


def bench(workload, quick: bool) -> dict[str, float]:
    name, dataset, n, hidden, blocks, repeats = workload
    block, reps = blocks[quick], repeats[quick]
    X, y = make_dataset(dataset, n, 0.0, 0)
    naive = HomeworkNetwork(X, y, hidden, lr=0.5 if n <= 100 else 0.5 / n)
    counter = [0]

    def naive_step(k: int) -> None:
        for _ in range(k):
            naive.train(counter[0])
            counter[0] += 1

    t64 = trainer_for(dataset, n, hidden, "float64")
    t32 = trainer_for(dataset, n, hidden, "float32")
    variants = {
        "naive": naive_step,
        "trainer": lambda k: t64.run(epochs=k),
        "f32": lambda k: t32.run(epochs=k),
    }
    return medians(interleaved(variants, block, reps))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats; skip (e)")
    args = parser.parse_args()
    print_header()
    print("median microseconds per epoch (lower is better)\n")
    header = f"{'workload':<32}{'naive':>11}{'trainer':>11}{'ratio':>8}{'f32':>11}{'f64/f32':>9}"
    print(header)
    print("-" * len(header))
    targets = []
    for workload in WORKLOADS:
        if args.quick and workload[4][1] == 0:
            continue
        r = bench(workload, args.quick)
        letter = workload[0][:3]
        if letter in ("(a)", "(b)", "(c)"):
            targets.append((f"{letter} trainer/naive", r["trainer"] / r["naive"], "<=", 1.0))
        else:
            targets.append((f"{letter} float64/float32 speed-up", r["trainer"] / r["f32"], ">=",
                            1.5))
        print(
            f"{workload[0]:<32}{r['naive']:>11.1f}{r['trainer']:>11.1f}"
            f"{r['trainer'] / r['naive']:>8.2f}{r['f32']:>11.1f}{r['trainer'] / r['f32']:>9.2f}",
            flush=True,
        )
    print(
        "\nratio = trainer (biases on, bookkeeping included) / naive homework code (no biases);"
        " target <= 1.00 on (a)-(c).\n"
        "f64/f32 = float64 trainer / float32 trainer; target >= 1.5 on (d), (e).\n"
    )
    print("\n".join(targets_block(targets)))


if __name__ == "__main__":
    main()
