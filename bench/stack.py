"""Many networks at once: a stack of K networks against the single trainer (issue #14).

Run:  python bench/stack.py                   (about 2 minutes on 2 cores)
      python bench/stack.py --quick           (fewer repeats, a 20,000-epoch sweep)
      python bench/stack.py --sweep-epochs N  (the sweep's length; default 100,000)

(a) Microseconds per network-epoch of the course's XOR network (``dlp-xor``: 2-4-4-1,
    sigmoid, no biases, sse, SGD, the halving schedule, all the bookkeeping), trained
    alone by ``engine.Trainer`` and in stacks of K = 1, 8, 64, 256 by
    ``engine.stack.StackTrainer`` (rates 0.5-1.5 and seeds 0..K-1), the variants timed
    side by side, interleaved, the median of the repeats (``bench/common.py``).
    Target: K=64 at least 6x the single trainer's per-network rate.
(b) The sweep of 64 runs (8 rates x 8 seeds of dlp-xor) on 2 worker processes, wall
    time with stacks (two stacks of 32) and with ``--no-stack`` (a process per run), one
    after the other in this run. Target: stacks at least 6x faster.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import (  # noqa: E402
    calibrate,
    interleaved,
    medians,
    print_header,
    targets_block,
)
from engine import StackTrainer, Trainer, preset  # noqa: E402
from engine.experiments.sweep import expand_grid, run_sweep  # noqa: E402

SIZES = (1, 8, 64, 256)
BLOCK_SECONDS = 0.2
XOR = preset("dlp-xor")


def stacked(k: int) -> StackTrainer:
    """K course networks, rates spread over 0.5-1.5 (none diverges), seeds 0..K-1."""
    long = XOR.replace(epochs=10**8)
    return StackTrainer([long.replace(lr=0.5 + i / max(k - 1, 1), seed=i) for i in range(k)])


def per_network(stack: StackTrainer):
    """A step that trains a block and counts it as K network-epochs per epoch."""
    def step(epochs: int) -> None:
        stack.run(epochs=epochs)
    return step


def bench_sizes(repeats: int) -> dict[str, float]:
    """(a): median microseconds per network-epoch, every variant."""
    single = Trainer(XOR.replace(epochs=10**8))
    stacks = {k: stacked(k) for k in SIZES}
    variants = {"single": lambda e: single.run(epochs=e)}
    variants |= {f"K={k}": per_network(s) for k, s in stacks.items()}
    blocks = {name: calibrate(step, BLOCK_SECONDS) for name, step in variants.items()}
    us = medians(interleaved(variants, blocks, repeats, warmup=False))
    for k, s in stacks.items():
        us[f"K={k}"] /= k  # per network-epoch
        alive = len(s._slots)
        assert alive == k, f"K={k}: {k - alive} networks left the stack"
    return us


def sweep_seconds(epochs: int) -> dict[str, tuple[float, float]]:
    """(b): wall seconds and the runs' processor seconds of the 64-run sweep on 2 workers,
    stacked and not (processor time does not grow when another process takes a core)."""
    configs = expand_grid(XOR.replace(epochs=epochs), {
        "lr": [str(0.25 * i) for i in range(1, 9)], "seed": [str(s) for s in range(8)]})
    walls = {}
    for name, stack in (("stacks", True), ("no-stack", False)):
        start = time.perf_counter()
        results = run_sweep(configs, workers=2, stack=stack)
        wall = time.perf_counter() - start
        walls[name] = (wall, sum(r["cpu_seconds"] for r in results))
        bad = [r for r in results if r["status"] == "error"]
        assert not bad, bad[0]["message"]
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter sweep")
    parser.add_argument("--sweep-epochs", type=int, default=None, metavar="N",
                        help="epochs of each run of the sweep [default: 100,000; quick 20,000]")
    args = parser.parse_args()
    epochs = args.sweep_epochs or (20_000 if args.quick else 100_000)
    print_header()
    print("(a) median microseconds per network-epoch, dlp-xor (lower is better)\n")
    us = bench_sizes(3 if args.quick else 7)
    print(f"{'variant':<10}{'us/net-epoch':>14}{'speed-up':>10}")
    for name, value in us.items():
        print(f"{name:<10}{value:>14.2f}{us['single'] / value:>10.2f}")
    print(f"\n(b) 64 runs (8 rates x 8 seeds of dlp-xor), {epochs:,} epochs each, 2 workers")
    walls = sweep_seconds(epochs)
    for name, (wall, cpu) in walls.items():
        print(f"{name:<10}{wall:>10.1f} s wall{cpu:>10.1f} s processor time of the runs")
    ratio = walls["no-stack"][0] / walls["stacks"][0]
    cpu_ratio = walls["no-stack"][1] / walls["stacks"][1]
    print(f"stacks are {ratio:.1f}x faster (wall), {cpu_ratio:.1f}x less processor time\n")
    print("\n".join(targets_block([
        ("(a) K=64 / single per network", us["single"] / us["K=64"], ">=", 6.0),
        (f"(b) sweep {epochs // 1000}k no-stack/stacks wall", ratio, ">=", 6.0),
    ])))


if __name__ == "__main__":
    main()
