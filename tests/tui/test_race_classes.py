"""A race of K-class (softmax) networks and of regressions: the stacks train them, the
maps shade the winning class or the value ramp, the titles and status show R^2."""

from __future__ import annotations

import numpy as np

from engine.config.experiment import ExperimentConfig
from tui.app import NNApp
from tui.widgets.race import RaceMap

from .pilot import tap, wait_for
from .test_race import SIZE, start_race

SPIRAL3 = ExperimentConfig(dataset="spiral", classes=3, loss="ce", hidden=(8,),
                           activation=("tanh",), n=120, optimizer="adam", lr=0.01,
                           schedule="none", init="xavier", bias=True, epochs=1000, log_every=50)
PLANE = ExperimentConfig(dataset="plane", loss="mse", hidden=(8,), activation=("tanh",), n=100,
                         noise=0.05, lr=0.1, schedule="none", init="xavier", bias=True,
                         epochs=1000, log_every=50)


def status(screen) -> str:
    return str(screen.query_one("#race-status").render())


async def test_a_race_of_three_classes_shades_each_networks_winning_class():
    app = NNApp(SPIRAL3, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "l")
        race = app.race
        assert len(race.stacks) == 1 and race.stacks[0].k == 5
        for _ in range(3):
            await tap(app, "n")  # a log interval a press
        await wait_for(pilot, lambda: race.epoch == 150)
        await pilot.pause(0.1)
        maps = list(screen.query(RaceMap))
        assert all(m.n_classes == 3 and m.multiclass and m.class_field for m in maps)
        grid = np.array([[0.0, 0.0], [0.5, -0.5], [-0.5, 0.5]])
        outputs = race.outputs(grid)
        assert outputs.shape == (5, 3, 3)
        np.testing.assert_allclose(outputs.sum(axis=2), 1.0)  # softmax probabilities
        values = maps[0].to_values(outputs[0])  # winning class + how sure
        assert np.array_equal(np.floor(values), outputs[0].argmax(axis=1))
        for i, m in enumerate(maps):
            member = race.member(i)
            want = member.evaluate("train")["accuracy"]
            assert abs(race.accuracies()[i] - want) <= 1.5 / 120  # a point on the edge at most
            assert f"{100 * want:.0f}%" in "".join(t for g in m.title_pieces() for t, _ in g)
        assert "R²" not in status(screen)


async def test_a_race_of_regressions_shows_values_and_r2():
    app = NNApp(PLANE, deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "l")
        race = app.race
        assert len(race.stacks) == 1 and race.regression
        for _ in range(2):
            await tap(app, "n")
        await wait_for(pilot, lambda: race.epoch == 100)
        await pilot.pause(0.1)
        maps = list(screen.query(RaceMap))
        assert all(m.regression and not m.class_field for m in maps)
        assert race.outputs(np.zeros((4, 2))).shape == (5, 4)
        for i, m in enumerate(maps):
            r2 = race.member(i).evaluate("train")["accuracy"]
            assert abs(race.accuracies()[i] - r2) < 1e-9
            title = "".join(t for g in m.title_pieces() for t, _ in g)
            assert f"R² {race.accuracies()[i]:.3f}" in title and "%" not in title
        assert "R² " in status(screen)
        assert race.member(0).last_mae is not None
