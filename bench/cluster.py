"""The sweep on a local Dask cluster against the process pool, side by side (issue #14).

Run:  python bench/cluster.py                   (about a minute on 2 cores; needs
                                                 pip install -e ".[cluster]")
      python bench/cluster.py --sweep-epochs N  (each run's length; default 20,000)

The 64-run sweep of ``bench/stack.py`` (b) (8 rates x 8 seeds of dlp-xor, stacked: two
stacks of 32), with fewer epochs by default (20,000, not 100,000: the point is what the
cluster adds, not the training), trained through the two paths ``nn-tui sweep`` has:

* pool: ``engine.experiments.sweep.run_sweep`` on 2 worker processes, started for each
  sweep (as ``nn-tui sweep`` does);
* cluster: ``--scheduler local``'s cluster (``tui.cli.sweep_dask``: a LocalCluster of 2
  worker processes, 1 thread each, on loopback), started once (its start-up is shown
  apart), then one task per stack, with the stop flag asked every quarter second.

The two take turns, ``--repeats`` times; the figures are medians of the wall times. The
first cluster sweep also pays its workers' imports of NumPy and the engine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import print_header  # noqa: E402
from engine import preset  # noqa: E402
from engine.experiments.sweep import expand_grid, run_sweep  # noqa: E402

WORKERS = 2


def grid(epochs: int) -> list:
    return expand_grid(preset("dlp-xor").replace(epochs=epochs), {
        "lr": [str(0.25 * i) for i in range(1, 9)], "seed": [str(s) for s in range(8)]})


def timed(run) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    results = run()
    wall = time.perf_counter() - start
    bad = [r for r in results if r["status"] == "error"]
    assert not bad, bad[0]["message"]
    return wall, results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sweep-epochs", type=int, default=20_000, metavar="N",
                        help="epochs of each run [default: 20,000]")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="sweeps of each kind, taking turns [default: 3]")
    args = parser.parse_args()
    try:
        from tui.cli.sweep_dask import connect
    except ImportError:
        sys.exit('bench/cluster.py needs dask: pip install -e ".[cluster]"')
    configs = grid(args.sweep_epochs)
    print_header()
    print(f"64 runs (8 rates x 8 seeds of dlp-xor), {args.sweep_epochs:,} epochs each, "
          f"stacked, {WORKERS} workers\n")
    start = time.perf_counter()
    with connect("local", WORKERS) as cluster:
        started = time.perf_counter() - start
        walls: dict[str, list[float]] = {"pool": [], "cluster": []}
        losses = {}
        for _ in range(args.repeats):
            for name, run in (("pool", lambda: run_sweep(configs, workers=WORKERS)),
                              ("cluster", lambda: cluster.run(configs, WORKERS))):
                wall, results = timed(run)
                walls[name].append(wall)
                losses[name] = [r["final_loss"] for r in results]
    print(f"local cluster start-up: {started:.2f} s (once; not in the figures below)")
    for name, values in walls.items():
        each = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<8} median {statistics.median(values):6.2f} s wall   (each: {each})")
    ratio = statistics.median(walls["cluster"]) / statistics.median(walls["pool"])
    print(f"cluster / pool wall: {ratio:.2f}")
    same = losses["pool"] == losses["cluster"]
    print(f"final losses identical bit for bit: {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
