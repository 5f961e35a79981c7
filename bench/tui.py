"""The app's costs (issue 5): training rate and loop lag, redraws, memory, start-up.

Run:  python bench/tui.py                 (about 2.5 min on 2 cores)
      python bench/tui.py --seconds 2 --rounds 1 --long-epochs 200000 --runs 3  (quicker)

One run prints every figure of issue 5 items 1-3, each with its target and ok / MISSED:

1. Training rate and lag (the rounds below).
2. Redraw time of the loss chart and the prediction panel (scatter pair, then the
   decision boundary) at 120x36, after a short run (1,000 epochs) and after 1,000,000
   epochs; and the memory the app gains over those 1,000,000 epochs of training with
   its charts redrawing as usual.
3. Start-up: ``nn-tui --version`` and the first frame, timed as bench/startup.py does.
4. The race (issue #14, ``v``): the app's seed race of 8 networks (one stack) against a
   ``StackTrainer`` of the same 8 configs alone, in alternating slices as below, with
   the event-loop lag probed while the race trains (``--race-rounds``; targets: the
   race at least 0.9x the headless stack's epochs per second, lag p95 <= 50 ms).

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
Then the time from a key event to its action while training (] and [ alternately).

Redraw: what the app does to show new data in the two panels, timed from the data
hand-over to the finished lines, as Textual asks a widget for them before it composites
a frame: ``MainScreen.refresh_loss`` and ``refresh_scatter`` (reading the history and the
predictions, ``set_series`` / ``set_points``), then ``render_lines`` of both widgets
(plotext, the Text, the strips; for the map, a forward pass over its grid). Every
timed redraw is a real one: the chart caches are invalidated first and the draw
counters are checked. Not included: compositing the screen and writing it to the
terminal, which cost the same whatever the chart shows. Median and p95 over --redraws.

Memory: after the short run (the app warmed up, every panel drawn), the app trains
--long-epochs epochs (space, wait, space) with its panels refreshing as usual; the
resident set size (RSS, /proc/self/statm) and Python's allocated blocks after a full
garbage collection are compared before and after. tracemalloc is not used: it slows
training ten-fold and more, so the run would no longer be the app's normal run.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from pathlib import Path

# This script sits in bench/, next to a bench/engine.py: keep that folder off sys.path.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from engine import Trainer, preset  # noqa: E402

RATIO_TARGET = 0.9
LAG_P95_TARGET_MS = 50.0
REDRAW_TARGET_MS = 15.0
MEMORY_TARGET_MB = 20.0
SIZE = (120, 36)
SHORT_EPOCHS = 1000


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


def rss_mb() -> float:
    """This process's resident set size in MB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def toggle_training(app, on: bool) -> None:
    press(app, "space", " ")
    while app.training.running != on:
        await asyncio.sleep(0.002)


def redraw_once(app, panel) -> tuple[float, float]:
    """Wall and CPU seconds (this thread's) for one real redraw of the loss chart and
    ``panel`` (see the docstring)."""
    from textual.geometry import Region

    loss = app.query_one("LossChart")
    draws = loss.draw_count, panel.draw_count
    t0, c0 = time.perf_counter(), time.thread_time()
    app.main.refresh_loss()
    app.main.refresh_scatter(force=True)
    loss._data_changed()  # a real draw even if the data had not changed
    panel._data_changed() if hasattr(panel, "_data_changed") else panel.model_changed()
    for widget in (loss, panel):
        widget.render_lines(Region(0, 0, *widget.size))
    elapsed, cpu = time.perf_counter() - t0, time.thread_time() - c0
    if (loss.draw_count, panel.draw_count) != (draws[0] + 1, draws[1] + 1):
        raise RuntimeError("a timed redraw did not draw both panels")
    return elapsed, cpu


async def time_redraws(app, pilot, count: int) -> dict[str, list[tuple[float, float]]]:
    """``count`` redraws with the scatter pair, then with the decision boundary (b)."""
    times = {}
    for view in ("scatter", "boundary"):
        if app.main.prediction_view != view:
            app.action_toggle_boundary()
            await pilot.pause(0.2)  # the layout gives the shown panel its size
        panel = app.query_one("ScatterPair" if view == "scatter" else "DecisionBoundary")
        redraw_once(app, panel)  # untimed: the first draw at a size builds caches
        times[view] = [redraw_once(app, panel) for _ in range(count)]
        await asyncio.sleep(0)
    app.action_toggle_boundary()  # back to the scatter pair
    await pilot.pause(0.1)
    return times


async def long_run(app, pilot, epochs: int, redraws: int) -> dict:
    """Reset, short redraws, ``epochs`` of training in the app (memory), long redraws."""
    await toggle_training(app, True)  # leave the rounds' run: reset to a fresh trainer
    await toggle_training(app, False)
    await app.action_reset()
    await pilot.pause(0.2)
    trainer = app.session.trainer
    trainer.run(epochs=SHORT_EPOCHS)
    app.main.refresh_loss()  # the main screen draws the short run's curves and points
    app.main.refresh_scatter(force=True)
    await pilot.pause(0.2)
    short = await time_redraws(app, pilot, redraws)
    short_rows = len(trainer.history)
    gc.collect()
    rss0, blocks0 = rss_mb(), sys.getallocatedblocks()
    start_epoch, t0 = trainer.epoch, time.perf_counter()
    lags: list[float] = []
    stop = asyncio.Event()
    await toggle_training(app, True)
    probe = asyncio.create_task(lag_probe(lags, stop))
    while trainer.epoch < start_epoch + epochs:
        await asyncio.sleep(0.05)
    stop.set()
    await probe
    await toggle_training(app, False)
    wall = time.perf_counter() - t0
    await pilot.pause(0.2)
    gc.collect()
    rss1, blocks1 = rss_mb(), sys.getallocatedblocks()
    log = app.query_one("EpochLog")
    long = await time_redraws(app, pilot, redraws)
    return {
        "short": short, "long": long, "short_rows": short_rows,
        "long_rows": len(trainer.history), "epochs": trainer.epoch - start_epoch,
        "final_epoch": trainer.epoch, "rate": (trainer.epoch - start_epoch) / wall,
        "rss": (rss0, rss1), "blocks": (blocks0, blocks1), "lags": lags,
        "log_lines": len(log.lines), "log_max": log.max_lines,
        "history_mb": trainer.history.nbytes / 2**20,
    }


async def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise RuntimeError("the app did not get there in time")
        await asyncio.sleep(0.002)


async def race_slice(app, seconds: float, lags: list[float]) -> tuple[int, float]:
    """(epochs, wall seconds) of the app's race over one slice: space, then from its
    first trained time box on for ``seconds`` with the lag probe on, space."""
    race = app.race
    press(app, "space", " ")
    await wait_until(lambda: app.race_loop.running)
    e0 = race.epoch
    await wait_until(lambda: race.epoch != e0)
    stop = asyncio.Event()
    probe = asyncio.create_task(lag_probe(lags, stop))
    t0, e0 = time.perf_counter(), race.epoch
    await asyncio.sleep(seconds)
    wall, epochs = time.perf_counter() - t0, race.epoch - e0
    stop.set()
    await probe
    press(app, "space", " ")
    await wait_until(lambda: not app.race_loop.running)
    return epochs, wall


async def measure_race(seconds: float, rounds: int, slices: int) -> list[tuple]:
    """Per round: (headless stack ep/s, the app's race ep/s, lag samples): the seed race
    (``v s``: 8 networks of ``config()``, one stack) in the app, and a StackTrainer of
    the same 8 configs alone, alternating in ``slices`` slices as ``measure`` does."""
    from engine.stack.trainer import StackTrainer
    from tui.app import NNApp
    from tui.core.race import race_entrants

    app = NNApp(config(), deterministic=True)
    alone = StackTrainer([e.config for e in race_entrants(config(), "seed")])
    results = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.3)
        press(app, "v", "v")
        await wait_until(lambda: type(app.screen).__name__ == "RaceMenu")
        press(app, "s", "s")
        await wait_until(lambda: app.race is not None)
        await pilot.pause(0.3)
        for _ in range(rounds):
            engine_epochs = engine_wall = app_epochs = app_wall = 0.0
            lags: list[float] = []
            for _ in range(slices):
                e0, t0 = alone.epoch, time.perf_counter()
                alone.run(seconds=seconds / slices)
                engine_epochs += alone.epoch - e0
                engine_wall += time.perf_counter() - t0
                epochs, wall = await race_slice(app, seconds / slices, lags)
                app_epochs += epochs
                app_wall += wall
            results.append((engine_epochs / engine_wall, app_epochs / app_wall, lags))
    return results


def race_lines(results: list[tuple]) -> tuple[list[str], list]:
    """The race table and its two targets (medians over the rounds)."""
    lines = ["race (v s: 8 seeds of the same network, one stack of 8) in the app against a "
             "StackTrainer of the same 8 configs alone, alternating slices:",
             f"{'round':>5} {'stack ep/s':>12} {'race ep/s':>10} {'ratio':>6} "
             f"{'lag p50':>8} {'p95':>6} {'max':>6}"]
    ratios, p95s = [], []
    for round_, (engine, inside, lags) in enumerate(results, start=1):
        ms = [1000 * x for x in lags]
        ratios.append(inside / engine)
        p95s.append(percentile(ms, 95))
        lines.append(f"{round_:>5} {engine:>12,.0f} {inside:>10,.0f} {inside / engine:>6.2f} "
                     f"{percentile(ms, 50):>6.1f}ms {p95s[-1]:>4.1f}ms {max(ms):>4.0f}ms")
    med = statistics.median
    ratio, p95 = med(ratios), med(p95s)
    lines.append(f"{'median':>5} {med(r[0] for r in results):>12,.0f} "
                 f"{med(r[1] for r in results):>10,.0f} {ratio:>6.2f} {'':>8} {p95:>4.1f}ms")
    lines.append(f"race / headless stack rate: median {ratio:.2f} (target >= {RATIO_TARGET}): "
                 f"{verdict(ratio >= RATIO_TARGET)}; lag p95 {p95:.1f} ms (target <= "
                 f"{LAG_P95_TARGET_MS:g} ms): {verdict(p95 <= LAG_P95_TARGET_MS)}")
    targets = [("race / headless stack training rate", ratio, ">=", RATIO_TARGET),
               ("event-loop lag p95 while racing (ms)", p95, "<=", LAG_P95_TARGET_MS)]
    return lines, targets


async def measure(seconds: float, rounds: int, slices: int, long_epochs: int = 0,
                  redraws: int = 30) -> tuple[list[tuple], dict | None]:
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
        long = await long_run(app, pilot, long_epochs, redraws) if long_epochs else None
    return results, long


def busy_now() -> tuple[float, float, float]:
    """(wall, CPU seconds of every process, CPU seconds of this one), for others_busy."""
    from bench.common import _machine_busy_seconds, _own_seconds

    return time.perf_counter(), _machine_busy_seconds() or 0.0, _own_seconds()


def others_busy(since: tuple[float, float, float]) -> float:
    """Cores other processes kept busy on average since ``busy_now()`` returned ``since``
    (subprocesses of this run, the start-up runs, count as others)."""
    wall, machine, own = (now - then for now, then in zip(busy_now(), since, strict=True))
    return max(0.0, (machine - own) / wall) if wall > 0 else 0.0


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def redraw_lines(long: dict) -> tuple[list[str], bool]:
    """The redraw table: median and p95 per history length and prediction panel."""
    lines = [f"redraw of the loss chart + prediction panel at {SIZE[0]}x{SIZE[1]} "
             f"(target median <= {REDRAW_TARGET_MS:g} ms wall; cpu = this thread's CPU time, "
             f"what the redraw costs without other processes' preemption):",
             f"  {'history':>25} {'panel':>9} {'redraws':>8} {'median':>8} {'p95':>8} "
             f"{'max':>8} {'cpu med':>8} {'cpu p95':>8}"]
    ok = True
    for label, rows, epochs in (("short", long["short_rows"], SHORT_EPOCHS),
                                ("long", long["long_rows"], long["final_epoch"])):
        for view, times in long[label].items():
            ms = [1000 * wall for wall, _ in times]
            cpu = [1000 * used for _, used in times]
            med = statistics.median(ms)
            ok &= med <= REDRAW_TARGET_MS
            history = f"{epochs:,} ep, {rows:,} rows"
            lines.append(f"  {history:>25} {view:>9} {len(ms):>8} {med:>6.1f}ms "
                         f"{percentile(ms, 95):>6.1f}ms {max(ms):>6.1f}ms "
                         f"{statistics.median(cpu):>6.1f}ms {percentile(cpu, 95):>6.1f}ms  "
                         f"{verdict(med <= REDRAW_TARGET_MS)}")
    return lines, ok


def redraw_targets(long: dict) -> list:
    """The redraw medians as targets: one per history length and prediction panel."""
    targets = []
    for label, epochs in (("short", SHORT_EPOCHS), ("long", long["final_epoch"])):
        for view, times in long[label].items():
            median_ms = statistics.median(1000 * wall for wall, _ in times)
            targets.append((f"redraw after {epochs:,} epochs, {view} (ms)", median_ms, "<=",
                            REDRAW_TARGET_MS))
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="engine/app pairs to time")
    parser.add_argument("--slices", type=int, default=10,
                        help="alternations of engine and app within a round")
    parser.add_argument("--long-epochs", type=int, default=1_000_000,
                        help="epochs of the long run (memory, redraws); 0 skips it")
    parser.add_argument("--redraws", type=int, default=30, help="timed redraws per case")
    parser.add_argument("--runs", type=int, default=5,
                        help="start-up runs (--version, first frame); 0 skips them")
    parser.add_argument("--race-rounds", type=int, default=3,
                        help="rounds of the race against a headless stack; 0 skips them")
    parser.add_argument("--quick", action="store_true",
                        help="2 rounds of 2 s, a 200,000-epoch long run, 3 start-up runs")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds, args.long_epochs, args.runs = 2.0, 2, 200_000, 3
    # Never touch the user's settings or run archive (the app autosaves the runs it
    # replaces); no colour codes matter headless.
    from bench.common import header_lines, targets_block, temp_dir

    os.environ["XDG_CONFIG_HOME"] = temp_dir("nn-tui-bench-config-")
    os.environ["XDG_DATA_HOME"] = temp_dir("nn-tui-bench-data-")

    started = busy_now()
    print("\n".join(header_lines()))
    print(f"dlp-linear (2-10-5-3-5-1, 100 points), {args.seconds:g} s each for engine and app "
          f"per round, in {args.slices} alternating slices, "
          f"app headless at {SIZE[0]}x{SIZE[1]}")
    print(f"{'round':>5} {'engine ep/s':>12} {'app ep/s':>10} {'ratio':>6} "
          f"{'lag p50':>8} {'p95':>6} {'max':>6} {'draws':>6} {'train%':>7}")
    ratios, p50s, p95s, maxes, engines, apps = [], [], [], [], [], []
    shares, keys_ms = [], []
    results, long = asyncio.run(measure(args.seconds, args.rounds, args.slices,
                                        args.long_epochs, args.redraws))
    for round_, (engine, inside, lags, draws, share, keys) in enumerate(results, start=1):
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
    verdicts = [ok_ratio, ok_lag]
    targets = [("app / engine training rate", ratio, ">=", RATIO_TARGET),
               ("event-loop lag p95 while training (ms)", p95, "<=", LAG_P95_TARGET_MS)]
    print(f"app / engine rate: median {ratio:.2f} (target >= {RATIO_TARGET}): "
          f"{verdict(ok_ratio)}")
    print(f"event-loop lag while training: p95 {p95:.1f} ms, median of the rounds "
          f"(target <= {LAG_P95_TARGET_MS:g} ms): {verdict(ok_lag)}")
    if long is not None:
        lines, ok_redraw = redraw_lines(long)
        targets += redraw_targets(long)
        print("\n".join(lines))
        grown = long["rss"][1] - long["rss"][0]
        ok_memory = grown <= MEMORY_TARGET_MB
        lag_ms = [1000 * x for x in long["lags"]]
        print(f"long run: {long['epochs']:,} epochs in the app at {long['rate']:,.0f} ep/s, "
              f"lag p95 {percentile(lag_ms, 95):.1f} ms, max {max(lag_ms, default=0):.0f} ms; "
              f"history {long['long_rows']:,} rows ({long['history_mb']:.1f} MB), "
              f"epoch log {long['log_lines']:,} lines (bounded at {long['log_max']:,})")
        print(f"memory over {long['epochs']:,} epochs in the app: RSS {long['rss'][0]:.1f} -> "
              f"{long['rss'][1]:.1f} MB, {grown:+.1f} MB; Python blocks "
              f"{long['blocks'][1] - long['blocks'][0]:+,} (target <= +{MEMORY_TARGET_MB:g} MB): "
              f"{verdict(ok_memory)}")
        verdicts += [ok_redraw, ok_memory]
        targets.append((f"memory growth over {long['epochs']:,} epochs (MB)", grown, "<=",
                        MEMORY_TARGET_MB))
    if args.race_rounds:
        lines, race_targets = race_lines(asyncio.run(
            measure_race(args.seconds, args.race_rounds, args.slices)))
        print("\n".join(lines))
        verdicts += [race_targets[0][1] >= RATIO_TARGET,
                     race_targets[1][1] <= LAG_P95_TARGET_MS]
        targets += race_targets
    if args.runs:
        from bench.startup import run as startup

        lines, startup_targets = startup(args.runs)
        print("\n".join(lines))
        verdicts += [line.endswith(": ok") for line in lines]
        targets += startup_targets
    print(f"other processes kept {others_busy(started):.2f} of {os.cpu_count()} cores busy "
          f"on average over this run")
    print(f"all targets met: {'yes' if all(verdicts) else 'NO'}")
    print("\n" + "\n".join(targets_block(targets)))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
