"""How the cost of an epoch grows: time per epoch against n and the width of the layers.

Run:  python bench/scaling.py            (about 2.5 minutes on 2 cores)
      python bench/scaling.py --quick    (shorter blocks, fewer repeats, n <= 100,000)

The trainer (float64, sigmoid everywhere, biases on, sse, plain SGD, full batch, all its
bookkeeping) on the ``linear`` set, with two hidden layers of width w: 2 -> w -> w -> 1.
Every n in (100, 1k, 10k, 100k, 1M) against every w in (4, 16, 64, 256, 512), except the
combinations whose buffers would pass 4 GiB or whose measurement would pass about a minute
(the run says which). For each n the widths take turns block by block, repeat by repeat,
and each figure is the median over the repeats of (block time) / (epochs in the block).

  table 1  microseconds per epoch
  table 2  nanoseconds per n * w^2: an epoch does about 3 n w^2 multiply-adds in the
           w x w layer (forward, delta, gradient) plus about 9 n w in the thin layers, so
           where the matrix products dominate this settles to a constant
  table 3  the share of the epoch spent in the matrix products: the same 8 matrix-product
           calls on buffers of the same shapes and layout, timed alone in the same rounds

Then a reading: where the time is flat in n (dispatch-bound: the fixed cost of the
NumPy calls and the trainer's Python), where it grows with n * w (the elementwise calls,
memory-bound) and where with n * w^2 (BLAS-bound), with the measured crossovers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import (  # noqa: E402
    calibrate,
    interleaved,
    numpy_call_counter,
    print_header,
    trainer_for,
)

NS = (100, 1_000, 10_000, 100_000, 1_000_000)
WS = (4, 16, 64, 256, 512)
MAX_BYTES = 4 * 2**30  # the trainer's buffers
MAX_SECONDS = 60.0  # one combination's whole measurement
# seconds per block and repeats: (full, quick)
BLOCK_SECONDS = (0.1, 0.03)
REPEATS = (5, 3)
SETTLE_SECONDS = 0.12  # untimed pause before every block (see bench.common.interleaved)


def sizes_for(w: int) -> tuple[int, ...]:
    return (2, w, w, 1)


def buffer_bytes(n: int, w: int) -> int:
    """The trainer's workspace for this combination (as the engine counts it) plus the data."""
    sizes = sizes_for(w)
    try:
        from engine.fast.workspace import workspace_bytes

        ws = workspace_bytes(sizes, n, True, 8)
    except ImportError:  # an older engine: count the same buffers by hand
        per_point = sum(s + 1 for s in sizes[:-1]) + 2 * sum(sizes[1:]) + 3
        ws = n * per_point * 8
    return ws + n * 8 * 8  # raw and scaled X, y and their copies


def macs_per_epoch(n: int, w: int) -> int:
    """Multiply-adds of the 8 matrix products of one epoch (bias rows included)."""
    sizes = sizes_for(w)
    total = 0
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        total += 2 * (fan_in + 1) * fan_out * n  # forward and gradient
        if i:
            total += fan_in * fan_out * n  # the delta below
    return total


def estimate_seconds(n: int, w: int, dispatch_us: float = 40.0) -> float:
    """A generous guess of one epoch, to skip what would take too long before trying it."""
    return dispatch_us * 1e-6 + macs_per_epoch(n, w) * 0.04e-9 + n * w * 15e-9


class MatmulsOnly:
    """The 8 matrix products of one epoch, on buffers laid out as the trainer's workspace
    (feature-major, a row of ones under each input, parameters ``(fan_in + 1, fan_out)``)."""

    def __init__(self, n: int, w: int) -> None:
        rng = np.random.default_rng(0)
        sizes = sizes_for(w)
        pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
        P = [rng.standard_normal((a + 1, b)) * 0.1 for a, b in pairs]
        x = [rng.random((a + 1, n)) for a in sizes[:-1]]
        z = [np.empty((b, n)) for b in sizes[1:]]
        d = [rng.random((b, n)) for b in sizes[1:]]
        g = [np.empty_like(p) for p in P]
        tape = [(p.T.dot, (xi, zi)) for p, xi, zi in zip(P, x, z, strict=True)]
        for i in range(len(P) - 1, -1, -1):
            tape.append((x[i].dot, (d[i].T, g[i])))
            if i:
                tape.append((P[i][:-1].dot, (d[i], z[i - 1])))
        self.tape = tape

    def run(self, epochs: int) -> None:
        for _ in range(epochs):
            for f, args in self.tape:
                f(*args)


def numpy_calls_per_epoch() -> int:
    t = trainer_for("linear", 100, (4, 4))
    with numpy_call_counter() as counts:
        t.run(epochs=10)  # inside: the tapes it builds bind the counting wrappers
        counts.clear()
        t.run(epochs=10)
    return round(sum(counts.values()) / 10)


QUIET: dict[int, str] = {}  # n -> how quiet the machine was while that row was timed


def measure_row(n: int, widths, quick: bool) -> dict[int, tuple[float, float]]:
    """{w: (trainer us/epoch, matmuls-only us/epoch)} for one n, widths interleaved."""
    steps = {}
    for w in widths:
        t = trainer_for("linear", n, (w, w))
        steps[("trainer", w)] = lambda k, t=t: t.run(epochs=k)
        steps[("matmul", w)] = MatmulsOnly(n, w).run
    block_seconds = BLOCK_SECONDS[quick]
    blocks = {}
    for key, step in steps.items():
        one_epoch = estimate_seconds(n, key[1])
        most = 1 if one_epoch > block_seconds else 1 << 20
        blocks[key] = calibrate(step, block_seconds, most)
    # untimed pauses let OpenBLAS's spinning workers (after a wide product) go idle, so
    # that a narrow variant does not run beside them
    times = interleaved(steps, blocks, REPEATS[quick], warmup=False, settle=SETTLE_SECONDS)
    QUIET[n] = times.quiet_note()
    return {
        w: (statistics.median(times[("trainer", w)]), statistics.median(times[("matmul", w)]))
        for w in widths
    }


def table(title: str, cells: dict, fmt, skipped: dict, ns) -> None:
    print(f"\n{title}")
    print(f"{'n':>10}" + "".join(f"{'w=' + str(w):>11}" for w in WS))
    for n in ns:
        row = f"{n:>10,}"
        for w in WS:
            if (n, w) in cells:
                row += f"{fmt(cells[(n, w)], n, w):>11}"
            else:
                row += f"{skipped.get((n, w), '-'):>11}"
        print(row)


def per_width(results, ns) -> dict[int, dict[str, float]]:
    """For each width: the crossover n* = dispatch floor / (cost per point where the time
    leaves the floor); and, from its two largest n, the cost per point and the products'
    share of the epoch there."""
    floor = results[(ns[0], WS[0])][0]
    out = {}
    for w in WS:
        row = [(n, results[(n, w)]) for n in ns if (n, w) in results]
        if len(row) < 2:
            continue
        # the slope where the time leaves the floor: the first pair of n whose upper end
        # costs twice the floor (or the last pair)
        pairs = list(zip(row, row[1:], strict=False))
        (a, (ta, _)), (b, (tb, _)) = next((p for p in pairs if p[1][1][0] >= 2 * floor), pairs[-1])
        near = max((tb - ta) / (b - a), 1e-12)  # us per point
        (n0, (t0, _)), (n1, (t1, m1)) = row[-2], row[-1]
        per_point = max((t1 - t0) / (n1 - n0), 1e-12)
        out[w] = {
            "n": n1,
            "us_per_point": per_point,
            "crossover": floor / near,
            "share": m1 / t1,
            "ns_per_nw": t1 * 1e3 / (n1 * w),
            "ns_per_nw2": t1 * 1e3 / (n1 * w * w),
            "gflops": 2 * macs_per_epoch(n1, w) / (m1 * 1e3),
        }
    return out


def fmt_n(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f}M"
    if n >= 1e4:
        return f"{n / 1e3:.0f}k"
    if n >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}" if n >= 10 else f"{n:.1f}"


def width_table(pw) -> None:
    print(
        "\ntable 4: per width: n* = where the per-point cost reaches the fixed cost; "
        "the rest at the largest n"
    )
    print(
        f"{'w':>5}{'at n':>11}{'us/point':>11}{'n* (crossover)':>16}{'products':>10}"
        f"{'ns per n w':>12}{'products GFLOP/s':>18}"
    )
    for w, d in pw.items():
        print(
            f"{w:>5}{d['n']:>11,}{d['us_per_point']:>11.3g}{fmt_n(d['crossover']):>16}"
            f"{d['share']:>10.0%}{d['ns_per_nw']:>12.3g}{d['gflops']:>18.0f}"
        )


def reading(results, calls: int, ns, pw) -> str:
    floor = results[(ns[0], WS[0])][0]
    parts = [
        f"An epoch has a fixed cost, the same at every n and w: {floor:.0f} us at n = {ns[0]}, "
        f"w = {WS[0]} for {calls} NumPy calls, about {floor / calls:.2f} us a call including "
        "the trainer's Python and bookkeeping. Below the crossover n* = (that cost) / (cost "
        "per point where the time leaves it) the epoch is dispatch-bound, its time flat in "
        "n; above n* the time grows in proportion to n. Measured n*: "
        + ", ".join(f"{fmt_n(d['crossover'])} at w={w}" for w, d in pw.items())
        + "."
    ]
    if len(pw) >= 2:
        # the cheapest cost per n w (memory-bound widths) and per n w^2 (BLAS-bound ones)
        alpha = min(d["ns_per_nw"] for d in pw.values())
        beta = min(d["ns_per_nw2"] for d in pw.values())
        w_star = alpha / beta
        below = [w for w in pw if w < w_star]
        above = [w for w in pw if w >= w_star]
        best = max(pw.values(), key=lambda d: d["gflops"])
        parts.append(
            f"Past n*, the narrow widths cost about the same per n w ({alpha:.3g} ns at best): "
            "the time grows as n w, the elementwise calls (sigmoid, derivative, delta, "
            "update; single-threaded) and the thin products, all memory-bound. The wide ones "
            f"cost about the same per n w^2 ({beta:.3g} ns at best): the time grows as n w^2, "
            "BLAS-bound, the products running at up to "
            f"{best['gflops']:.0f} GFLOP/s. The two costs meet at w* = {alpha:.3g} / "
            f"{beta:.3g} = {w_star:.0f}"
        )
        if below and above:
            parts[-1] += (
                f": w = {', '.join(map(str, below))} are memory-bound (the products take "
                + ", ".join(f"{pw[w]['share']:.0%}" for w in below)
                + f" of the epoch), w = {', '.join(map(str, above))} BLAS-bound ("
                + ", ".join(f"{pw[w]['share']:.0%}" for w in above)
                + ")."
            )
        else:
            parts[-1] += "."
    return " ".join(parts)


def wrap(text: str, width: int = 92) -> str:
    import textwrap

    return textwrap.fill(text, width)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter blocks; n <= 100,000")
    args = parser.parse_args()
    t_start = time.perf_counter()
    print_header()
    ns = NS[:-1] if args.quick else NS
    skipped: dict[tuple[int, int], str] = {}
    notes = []
    for n in ns:
        for w in WS:
            need = buffer_bytes(n, w)
            # calibration, the repeats and the products alone (about 3/4 of an epoch)
            guess = estimate_seconds(n, w) * (2 + REPEATS[args.quick]) * 1.75
            if need > MAX_BYTES:
                skipped[(n, w)] = "mem"
                notes.append(f"n={n:,} w={w}: {need / 2**30:.1f} GiB of buffers")
            elif guess > MAX_SECONDS:
                skipped[(n, w)] = "time"
                notes.append(f"n={n:,} w={w}: about {guess:.0f} s to measure")
    results: dict[tuple[int, int], tuple[float, float]] = {}
    for n in ns:
        widths = [w for w in WS if (n, w) not in skipped]
        for w, r in measure_row(n, widths, args.quick).items():
            results[(n, w)] = r
        print(f"n={n:,} measured ({time.perf_counter() - t_start:.0f} s)", flush=True)
    calls = numpy_calls_per_epoch()
    print("trainer float64, 2 -> w -> w -> 1, sigmoid, sse, SGD, full batch; medians")
    if notes:
        print("skipped (mem: over 4 GiB of buffers; time: over about a minute):")
        print("  " + "; ".join(notes))
    table(
        "table 1: microseconds per epoch",
        results,
        lambda r, n, w: f"{r[0]:,.0f}" if r[0] >= 100 else f"{r[0]:.1f}",
        skipped,
        ns,
    )
    table(
        "table 2: nanoseconds per n * w^2 (an epoch does about 3 n w^2 multiply-adds)",
        results,
        lambda r, n, w: f"{r[0] * 1e3 / (n * w * w):.3g}",
        skipped,
        ns,
    )
    table(
        "table 3: share of the epoch in the 8 matrix products (the same dot calls alone)",
        results,
        lambda r, n, w: f"{min(r[1] / r[0], 9.99):.0%}",
        skipped,
        ns,
    )
    pw = per_width(results, ns)
    width_table(pw)
    print("\n" + wrap("Reading. " + reading(results, calls, ns, pw)))
    print()
    for n, note in QUIET.items():
        if note:
            print(f"n={n:,}: {note}")
    print(f"\n({time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
