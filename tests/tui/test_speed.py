"""The speed cap for demos (issue #13): the loop trains the epochs the wall clock allows,
the same epochs an uncapped run trains, and the app's keys, palette and status line."""

from __future__ import annotations

import asyncio
import math
import random

import numpy as np
import pytest

from engine import Trainer, preset
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.core.training import (
    SPEEDS,
    Pacer,
    TrainingLoop,
    TrainingSession,
    animated,
    next_speed,
    speed_text,
)
from tui.screens.main import MainScreen
from tui.widgets.panels import StatusLine


def small_config(**values):
    return preset("dlp-xor").replace(**{"epochs": 3000, "log_every": 500, **values})


class FakeClock:
    """The loop's clock: only its ``sleep`` moves it on (training itself takes no time)."""

    def __init__(self, limit: float) -> None:
        self.now = 0.0
        self.limit = limit
        self.sleeps: list[float] = []
        self.reached = asyncio.Event()

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.now >= self.limit:
            self.reached.set()
        await asyncio.sleep(0)


def run_capped(session: TrainingSession, seconds: float) -> tuple[FakeClock, list[int]]:
    """Run ``session``'s loop on a fake clock for ``seconds``; the epochs at each update."""
    clock = FakeClock(seconds)
    epochs: list[int] = []
    loop = TrainingLoop(session, lambda events, final: epochs.append(session.trainer.epoch),
                        clock=clock, sleep=clock.sleep)

    async def main() -> None:
        assert loop.start()
        await asyncio.wait_for(clock.reached.wait(), timeout=30)
        await loop.stop()

    asyncio.run(main())
    return clock, epochs


# ------------------------------------------------------------------ the pacing


def test_pacer_hands_out_the_epochs_the_clock_allows():
    rng = random.Random(4)
    for speed in (1, 10, 100, 1000, 10_000, 2.5):
        pacer, now, total = Pacer(speed, 0.0), 0.0, 0
        total += pacer.due(now)  # the first epoch is due at once
        assert total == 1
        for _ in range(400):
            step = rng.uniform(0.0, 0.05)
            now += step
            epochs = pacer.due(now)
            assert 0 <= epochs <= math.ceil(speed * step)  # one box: at most ceil(rate * box)
            total += epochs
        assert total == pytest.approx(1 + speed * now, abs=1)


def test_pacer_does_not_burst_after_a_stall():
    pacer = Pacer(1000, 0.0)
    pacer.due(0.0)
    assert pacer.due(60.0) <= 1 + 1000 * 0.25


def test_speed_steps_and_words():
    assert SPEEDS[-1] is None and next_speed(None, 1) is None
    assert next_speed(None, -1) == 10_000 and next_speed(1, -1) == 1
    assert next_speed(10, 1) == 100 and next_speed(10_000, 1) is None
    assert [speed_text(s) for s in SPEEDS] == [
        "1 ep/s", "10 ep/s", "100 ep/s", "1k ep/s", "10k ep/s", "unlimited"]
    assert animated(100) and animated(1) and not animated(1000) and not animated(None)


def test_a_capped_loop_trains_at_its_speed_and_sleeps_the_rest():
    session = TrainingSession(small_config(epochs=1_000_000))
    session.speed = 10
    clock, updates = run_capped(session, 3.0)
    # 3 s at 10 ep/s: 30 epochs (+1 due at once), give or take the last box
    assert 29 <= session.trainer.epoch <= 32
    assert all(s > 0 for s in clock.sleeps)  # it sleeps between epochs, never spins
    assert len(clock.sleeps) <= 3.0 / 0.025 + 2
    assert updates and session.state == "paused"


def test_a_capped_run_trains_the_same_epochs_as_an_uncapped_one():
    session = TrainingSession(small_config())
    session.speed = 1000
    run_capped(session, 0.7)
    n = session.trainer.epoch
    assert 600 <= n <= 800
    reference = Trainer(small_config())
    reference.run(epochs=n)
    for capped, free in zip(session.trainer.network.params, reference.network.params,
                            strict=True):
        assert np.array_equal(capped, free)
    assert session.trainer.lr == reference.lr


def test_changing_the_speed_while_running_takes_effect():
    session = TrainingSession(small_config(epochs=1_000_000))
    session.speed = 1
    clock = FakeClock(4.0)
    loop = TrainingLoop(session, lambda events, final: None, clock=clock, sleep=clock.sleep)

    async def main() -> None:
        loop.start()
        while clock.now < 2.0:
            await asyncio.sleep(0)
        slow = session.trainer.epoch
        assert 2 <= slow <= 4
        session.speed = 100
        await asyncio.wait_for(clock.reached.wait(), timeout=30)
        await loop.stop()
        assert 150 <= session.trainer.epoch - slow <= 250

    asyncio.run(main())


# ------------------------------------------------------------------ the app


def status_text(app: NNApp) -> str:
    return app.query_one(StatusLine).render().plain


@pytest.mark.asyncio
async def test_speed_keys_palette_status_and_reset():
    app = NNApp(small_config(), deterministic=False)
    async with app.run_test(size=(120, 36)) as pilot:
        assert app.session.speed is None and "cap" not in status_text(app)
        await pilot.press("left_curly_bracket")
        assert app.session.speed == 10_000
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        assert app.session.speed == 100
        await pilot.pause()
        assert "(cap 100)" in status_text(app)
        await pilot.press("right_curly_bracket")
        assert app.session.speed == 1000
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {f"Speed: {speed_text(s)}" for s in SPEEDS} <= set(titles)
        await titles["Speed: 10 ep/s"].callback()
        await pilot.pause()
        assert app.session.speed == 10 and "(cap 10)" in status_text(app)
        # a setting of the session: reset, apply and another preset keep it
        await pilot.press("r")
        await pilot.press("a")
        await titles["Preset: dlp-linear"].callback()
        await pilot.pause()
        assert app.session.speed == 10 and "(cap 10)" in status_text(app)
        await titles["Speed: unlimited"].callback()
        assert app.session.speed is None


@pytest.mark.asyncio
async def test_a_slow_speed_redraws_the_charts_on_every_tick(monkeypatch):
    app = NNApp(small_config())
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, MainScreen)
        drawn: list[str] = []
        monkeypatch.setattr(screen, "refresh_loss", lambda: drawn.append("loss"))
        monkeypatch.setattr(screen, "refresh_scatter",
                            lambda force=False: drawn.append("scatter") or True)
        for _ in range(3):
            screen._tick()  # unlimited: at most one chart per CHART_SECONDS
        assert len(drawn) <= 1
        drawn.clear()
        app.session.speed = 10
        for _ in range(3):
            screen._tick()
        assert drawn.count("loss") == 3 and drawn.count("scatter") == 3
        await pilot.pause()


@pytest.mark.asyncio
async def test_a_slow_speed_writes_the_log_on_every_update():
    app = NNApp(small_config(log_every=1))
    async with app.run_test(size=(120, 36)) as pilot:
        app.session.speed = 10

        def logged() -> int:
            return sum(line.startswith("epoch") for line in app.main.log_panel.plain_lines)

        await pilot.press("space")
        # at 10 ep/s epoch 5 comes 0.4 s in: before LOG_SECONDS would flush a batch
        await wait_for(pilot, lambda: app.session.trainer.epoch >= 5)
        assert logged() >= app.session.trainer.epoch - 2
        await pilot.press("space")
