"""The race (``v``, issue #14): the menu, the screen, keys, stacks, the kept runs.

Pilot tests drive the app as a student would: ``v`` then a key of the menu; the
race trains in the app's training task, so the tests wait for epochs rather than
press keys at an idle CPU (``tests/tui/pilot.py``).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from engine import preset
from engine.config.experiment import MAX_LR
from engine.stack.trainer import StackTrainer
from tui.app import NNApp
from tui.core.race import RaceSession, group_stacks, race_entrants
from tui.screens.race import RaceMenu, RaceScreen, grid_shape, panel_height
from tui.widgets.panels import EpochLog
from tui.widgets.race import RaceChart, RaceMap

from .pilot import tap, wait_for

SIZE = (120, 36)


def short_xor(epochs: int = 100_000):
    return preset("dlp-xor").replace(epochs=epochs)


async def start_race(app: NNApp, pilot, key: str = "l") -> RaceScreen:
    """``v`` and a key of the menu: the race screen, drawn."""
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(app.screen, RaceMenu)
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, RaceScreen))
    await pilot.pause(0.1)
    return app.screen


# ------------------------------------------------------------------ the race itself


def test_entrants_vary_one_setting_and_say_how():
    config = preset("dlp-xor")
    rates = race_entrants(config, "lr")
    assert [e.label for e in rates] == ["lr 0.125", "lr 0.25", "lr 0.5", "lr 1", "lr 2"]
    assert [e.config.lr for e in rates] == [0.125, 0.25, 0.5, 1.0, 2.0]
    assert [e.config.seed for e in race_entrants(config, "seed")] == list(range(8))
    activations = race_entrants(config, "activation")
    assert [e.config.activation for e in activations][1] == ("tanh", "tanh", "sigmoid")
    assert [e.label for e in race_entrants(config, "hidden")] == [
        "hidden 2,2", "hidden 4,4", "hidden 8,8", "hidden 16,16"]
    assert [e.config.optimizer for e in race_entrants(config, "optimizer")] == [
        "sgd", "momentum", "adam"]


def test_no_race_of_hidden_layers_without_any():
    with pytest.raises(ValueError, match="no hidden layer"):
        race_entrants(preset("dlp-xor").replace(hidden=(), activation=("sigmoid",)), "hidden")


def test_what_stacks_together():
    config = preset("dlp-xor")
    assert group_stacks([e.config for e in race_entrants(config, "seed")]) == [list(range(8))]
    assert group_stacks([e.config for e in race_entrants(config, "hidden")]) == [
        [0], [1], [2], [3]]


def test_several_stacks_train_in_lockstep():
    race = RaceSession("hidden", race_entrants(short_xor(), "hidden"))
    for _ in range(5):
        race.run(0.01)
    assert len({stack.epoch for stack in race.stacks}) == 1
    assert race.epoch == race.stacks[0].epoch > 0


def test_grid_fits_the_width():
    assert grid_shape(5, 120) == (5, 1)
    assert grid_shape(8, 120) == (4, 2)
    assert grid_shape(5, 80) == (5, 1)
    assert grid_shape(8, 40) == (2, 4)
    assert panel_height(120, 36, 5) == 14  # a near-square map under its title
    assert panel_height(80, 24, 8) * 2 <= 0.6 * 22


# ------------------------------------------------------------------ in the app


async def test_the_menu_starts_a_race_of_five_rates():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "l")
        maps = list(screen.query(RaceMap))
        assert [m.title for m in maps] == ["lr 0.125", "lr 0.25", "lr 0.5", "lr 1", "lr 2"]
        assert all(m.region.width > 15 and m.region.height > 8 for m in maps)
        chart = screen.query_one(RaceChart)
        assert [label for label, *_ in chart._overlays] == [m.title for m in maps]
        assert len(set(chart.chart_colors.overlays[:5])) == 5  # a colour each
        assert len(app.race.stacks) == 1 and app.race.stacks[0].k == 5
        await tap(app, "s")
        await wait_for(pilot, lambda: app.race.epoch == 1)
        await pilot.pause(0.1)
        assert [len(x) for _, x, _ in chart._overlays] == [1] * 5  # a point each
        assert "lr 0.125" in str(screen.query_one("#race-status").render())


async def test_space_step_and_pause_act_on_the_race():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "l")
        race = app.race
        await pilot.press("s")
        assert race.epoch == 1 and race.state == "paused"
        await pilot.press("n")
        assert race.epoch == 1 + race.configs[0].log_every
        await tap(app, "space")
        await wait_for(pilot, lambda: race.epoch > 20_000)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
        epoch = race.epoch
        await pilot.pause(0.2)
        assert race.epoch == epoch and race.state == "paused"
        assert app.session.trainer.epoch == 0  # the main run did not train meanwhile
        await tap(app, "left_curly_bracket")  # a speed cap holds for the race too
        assert race.speed == app.session.speed == 10_000


def rates(race: RaceSession) -> list[float]:
    return [race.member_state(i).lr for i in range(race.k)]


async def test_brackets_scale_every_racers_rate_not_the_main_runs():
    """[ and ] in a race: every network's rate halves or doubles (their ratios kept),
    said in a pop-up, the status line and the log; the main run's rate stays."""
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "l")
        race, main = app.race, app.session.trainer
        start, main_lr = rates(race), main.lr
        await pilot.press("left_square_bracket")
        assert rates(race) == [lr / 2 for lr in start] == [0.0625, 0.125, 0.25, 0.5, 1.0]
        assert main.lr == main_lr and not main.rate_changes
        assert "lr ×0.5" in str(screen.query_one("#race-status").render())
        said = "epoch 0 learning rates halved 0.125 -> 0.0625, 0.25 -> 0.125"
        assert said in list(app._notifications)[-1].message
        assert any(said in line for line in app.main.query_one(EpochLog).plain_lines)
        await tap(app, "space")  # while it trains, as for one run
        await wait_for(pilot, lambda: race.epoch > 2000)
        await tap(app, "right_square_bracket", "right_square_bracket")
        await wait_for(pilot, lambda: rates(race) == [lr * 2 for lr in start])
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
        assert main.lr == main_lr and not main.rate_changes and main.epoch == 0
        assert "lr ×2" in str(screen.query_one("#race-status").render())
        for i in range(race.k):  # each network's own record of the changes, by hand
            changes = race.member_state(i).rate_changes
            assert [(c.new_lr / c.old_lr, c.reason) for c in changes] == [
                (0.5, "manual"), (2.0, "manual"), (2.0, "manual")]
        assert race.rate_change_epochs()[0] == 0 and len(race.rate_change_epochs()) >= 2
        assert len(screen.query_one(RaceChart)._rate_changes) >= 2  # marked on the chart


async def test_a_step_after_brackets_trains_every_racer_at_its_new_rate():
    """[ then s: the race's networks are those of a stack made at half the rates."""
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "l")
        race = app.race
        await pilot.press("left_square_bracket", "s", "s", "s")
        assert race.epoch == 3 and race.state == "paused"
        halved = StackTrainer([c.replace(lr=c.lr / 2) for c in race.configs])
        halved.run(epochs=3)
        for i in range(race.k):
            for ours, theirs in zip(race.weights(i), halved.weights(i), strict=True):
                assert np.array_equal(ours, theirs)


async def test_a_speed_cap_paces_the_race_as_it_paces_one_run():
    """{ three times: 100 epochs a second at most, the race redrawn at every update."""
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "s")
        race = app.race
        await pilot.press("left_curly_bracket", "left_curly_bracket", "left_curly_bracket")
        assert race.speed == 100
        started = time.perf_counter()
        await tap(app, "space")
        await wait_for(pilot, lambda: race.epoch >= 20)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
        elapsed = time.perf_counter() - started
        assert race.epoch <= 100 * elapsed + 2  # never faster than the cap
        assert "cap 100/s" in str(app.screen.query_one("#race-status").render())
        maps = list(app.screen.query(RaceMap))
        assert all(m.eval_count > 1 for m in maps)  # the maps followed the epochs


def test_the_rates_stay_inside_the_allowed_range_and_keep_their_ratios():
    race = RaceSession("lr", race_entrants(short_xor().replace(lr=3e5), "lr"))
    start = rates(race)
    assert max(start) == MAX_LR  # the menu's rates are capped already
    assert race.scale_lr(2.0) == [] and rates(race) == start  # no room: nothing changes
    changes = race.scale_lr(0.5)
    assert [c.new_lr for c in changes] == [lr / 2 for lr in start]
    race.scale_lr(4.0)  # only as far as the largest rate may go
    assert max(rates(race)) == MAX_LR and race.lr_scale == 1.0


def test_a_race_predicts_every_map_in_one_stacked_pass():
    """The maps' outputs and the titles' accuracies, as each network's own predictor
    gives them, computed once per change of the weights."""
    race = RaceSession("hidden", race_entrants(short_xor(), "hidden"))
    race.run(0.02)
    grid = np.array([[0.2, -0.4], [0.9, 0.1], [-1.0, 1.0], [0.5, 0.5]])
    outputs = race.outputs(grid)
    assert race.outputs(grid.copy()) is outputs  # the same points, the same weights
    for i in range(race.k):
        predictor = race.predictor(i)
        np.testing.assert_allclose(outputs[i], predictor.predict_raw(grid), atol=1e-12)
        assert race.accuracies()[i] == predictor.accuracy()
    race.step(1)
    assert race.outputs(grid) is not outputs  # trained: evaluated again


async def test_the_race_trains_as_a_stack_run_headless_does():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "l")
        race = app.race
        await tap(app, "space")
        await wait_for(pilot, lambda: race.epoch > 3000)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
        headless = StackTrainer(race.configs)
        headless.run(epochs=race.epoch)
        for i in range(race.k):
            for ours, theirs in zip(race.weights(i), headless.weights(i), strict=True):
                assert np.array_equal(ours, theirs)


async def test_a_finished_race_is_kept_as_five_runs():
    app = NNApp(short_xor(400), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        before = len(app.runs)
        await start_race(app, pilot, "l")
        await tap(app, "space")
        await wait_for(pilot, lambda: len(app.runs) == before + 5)
        rows = list(app.runs)[before:]
        assert [r.source for r in rows] == ["race"] * 5
        assert [r.lr for r in rows] == [0.125, 0.25, 0.5, 1.0, 2.0]
        assert all(r.epochs_run == 400 and r.path for r in rows)  # in the archive too
        assert isinstance(app.screen, RaceScreen)  # the result stays on screen
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.race is None and len(app.runs) == before + 5  # kept once


async def test_leaving_the_race_keeps_what_it_trained():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "s")
        assert app.race.k == 8
        await pilot.press("s", "s", "s")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.race is None)
        rows = [r for r in app.runs if r.source == "race"]
        assert len(rows) == 8 and all(r.epochs_run == 3 for r in rows)


async def test_a_race_of_hidden_sizes_runs_as_separate_stacks():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await start_race(app, pilot, "h")
        race = app.race
        assert [stack.k for stack in race.stacks] == [1, 1, 1, 1]
        assert [c.hidden for c in race.configs] == [(2, 2), (4, 4), (8, 8), (16, 16)]
        await tap(app, "space")
        await wait_for(pilot, lambda: race.epoch > 500)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
        assert len({stack.epoch for stack in race.stacks}) == 1  # in lockstep
        assert "4 stacks" in race.summary()


async def test_escape_in_the_menu_starts_nothing():
    app = NNApp(short_xor(), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v", "escape")
        await pilot.pause()
        assert app.race is None and app.screen is app.main


def test_race_screen_120x36(snap_compare):
    """A seed race at epoch 0: eight maps from eight seeds' initial weights (a forward
    pass: the same on every machine), the empty loss chart, the status line."""
    app = NNApp(deterministic=True, autosave=False)
    assert snap_compare(app, press=("v", "s"), terminal_size=SIZE)
