"""TUI overhead: epochs per second inside the app against the engine alone, and loop lag.

Run:  python bench/tui.py                 (3 rounds of 5 s + 5 s, about 40 s)
      python bench/tui.py --seconds 2 --rounds 1

Each round trains ``dlp-linear`` (epochs raised so it never finishes) for S seconds
each way, in the same process and one app session for all rounds:

  engine   Trainer.run(seconds=...) on a second trainer, the app idle meanwhile
  app      the nn-tui app, headless (App.run_test at 120x36, every panel on screen):
           space, epochs counted over the wall time once training has started, space

The two alternate in --slices slices per round (default 10 of 0.5 s each way), so that a
noisy neighbour or a clock change slows both alike.

While the app trains, a coroutine sleeps 10 ms over and over and records how late it
wakes up: the event-loop lag a key press or a repaint would wait for. Targets: app /
engine >= 0.85, lag p95 <= 50 ms. Medians over the rounds are printed last.
"train%" is the share of the app's wall time spent inside Trainer.run (the rest is
the UI's): unlike the ratio it hardly moves when other processes load the machine.
Last, the time from a key event to its action while training (] and [ alternately).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# This script sits in bench/, next to a bench/engine.py: keep that folder off sys.path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from engine import Trainer, preset  # noqa: E402

RATIO_TARGET = 0.85
LAG_P95_TARGET_MS = 50.0
SIZE = (120, 36)


KEY_PRESSES = 20


def config():
    # schedule "none": the key-latency probe changes the rate by hand and waits for it
    return preset("dlp-linear").replace(epochs=10**9, schedule="none")


async def lag_probe(samples: list[float], stop: asyncio.Event, period: float = 0.010) -> None:
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period)
        samples.append(time.perf_counter() - t0 - period)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def key_latency(app, presses: int) -> list[float]:
    """Seconds from a key event (] or [, alternately) to the rate change it causes."""
    from textual import events

    latencies = []
    for i in range(presses):
        key, char = ("right_square_bracket", "]") if i % 2 == 0 else ("left_square_bracket", "[")
        lr = app.session.trainer.lr
        t0 = time.perf_counter()
        app.post_message(events.Key(key, char))
        while app.session.trainer.lr == lr:
            await asyncio.sleep(0.0005)
        latencies.append(time.perf_counter() - t0)
        await asyncio.sleep(0.03)
    return latencies


def press(app, key: str, char: str | None) -> None:
    """A key event straight to the app (Pilot.press waits for an idle CPU, which a
    training app never has)."""
    from textual import events

    app.post_message(events.Key(key, char))


async def measure(seconds: float, rounds: int, slices: int) -> list[tuple]:
    """Per round: (engine ep/s, app ep/s, lag samples, chart draws, share of wall time
    inside Trainer.run, key latencies), in one app session.

    A round is ``slices`` alternations of the engine alone (a second trainer, the app
    idle) and the app training, ``seconds / slices`` each, so that both see the same
    machine: a noisy neighbour or a clock change slows them alike.
    """
    from tui.app import NNApp

    app = NNApp(config(), deterministic=True)
    alone = Trainer(config())
    results = []
    slice_seconds = seconds / slices
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        charts = [app.query_one("LossChart"), app.query_one("ScatterPair")]
        for _ in range(rounds):
            engine_epochs = engine_wall = 0.0
            app_epochs = app_wall = app_busy = 0.0
            lags: list[float] = []
            draws0 = sum(chart.draw_count for chart in charts)
            for _ in range(slices):
                e0, t0 = alone.epoch, time.perf_counter()
                alone.run(seconds=slice_seconds)
                engine_epochs += alone.epoch - e0
                engine_wall += time.perf_counter() - t0

                press(app, "space", " ")
                while not app.training.running:
                    await asyncio.sleep(0.001)
                trainer = app.session.trainer
                e1 = trainer.epoch
                while trainer.epoch == e1:  # from the first trained time box on
                    await asyncio.sleep(0.001)
                stop = asyncio.Event()
                probe = asyncio.create_task(lag_probe(lags, stop))
                t1, e1, s1 = time.perf_counter(), trainer.epoch, trainer.seconds
                await asyncio.sleep(slice_seconds)
                app_wall += time.perf_counter() - t1
                app_epochs += trainer.epoch - e1
                app_busy += trainer.seconds - s1
                stop.set()
                await probe
                press(app, "space", " ")
                while app.training.running:
                    await asyncio.sleep(0.001)
            draws = sum(chart.draw_count for chart in charts) - draws0
            press(app, "space", " ")
            while not app.training.running:
                await asyncio.sleep(0.001)
            keys = await key_latency(app, KEY_PRESSES)
            await pilot.press("space")
            results.append((engine_epochs / engine_wall, app_epochs / app_wall, lags, draws,
                            app_busy / app_wall, keys))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="engine/app pairs to time")
    parser.add_argument("--slices", type=int, default=10,
                        help="alternations of engine and app within a round")
    args = parser.parse_args()
    # Never touch the user's settings; no colour codes matter headless.
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="nn-tui-bench-")

    print(f"dlp-linear (2-10-5-3-5-1, 100 points), {args.seconds:g} s each for engine and app "
          f"per round, in {args.slices} alternating slices, "
          f"app headless at {SIZE[0]}x{SIZE[1]}, Python {sys.version.split()[0]}")
    print(f"{'round':>5} {'engine ep/s':>12} {'app ep/s':>10} {'ratio':>6} "
          f"{'lag p50':>8} {'p95':>6} {'max':>6} {'draws':>6} {'train%':>7}")
    ratios, p50s, p95s, maxes, engines, apps = [], [], [], [], [], []
    shares, keys_ms = [], []
    for round_, (engine, inside, lags, draws, share, keys) in enumerate(
        asyncio.run(measure(args.seconds, args.rounds, args.slices)), start=1
    ):
        ms = [1000 * x for x in lags]
        ratio = inside / engine
        p50, p95, worst = percentile(ms, 50), percentile(ms, 95), max(ms)
        print(f"{round_:>5} {engine:>12,.0f} {inside:>10,.0f} {ratio:>6.2f} "
              f"{p50:>6.1f}ms {p95:>4.1f}ms {worst:>4.0f}ms {draws:>6} {100 * share:>6.1f}%")
        shares.append(share)
        keys_ms += [1000 * k for k in keys]
        ratios.append(ratio)
        p50s.append(p50)
        p95s.append(p95)
        maxes.append(worst)
        engines.append(engine)
        apps.append(inside)
    med = statistics.median
    ratio, p95 = med(ratios), med(p95s)
    print(f"{'median':>5} {med(engines):>12,.0f} {med(apps):>10,.0f} {ratio:>6.2f} "
          f"{med(p50s):>6.1f}ms {p95:>4.1f}ms {med(maxes):>4.0f}ms {'':>6} "
          f"{100 * med(shares):>6.1f}%")
    print(f"key to action while training ({len(keys_ms)} presses of ] and [): "
          f"p50 {percentile(keys_ms, 50):.1f} ms, p95 {percentile(keys_ms, 95):.1f} ms, "
          f"max {max(keys_ms):.1f} ms")
    ok_ratio, ok_lag = ratio >= RATIO_TARGET, p95 <= LAG_P95_TARGET_MS
    print(f"ratio {ratio:.2f} (target >= {RATIO_TARGET}): {'ok' if ok_ratio else 'MISSED'}; "
          f"lag p95 {p95:.1f} ms (target <= {LAG_P95_TARGET_MS:g} ms): "
          f"{'ok' if ok_lag else 'MISSED'}")
    return 0 if ok_ratio and ok_lag else 1


if __name__ == "__main__":
    sys.exit(main())
