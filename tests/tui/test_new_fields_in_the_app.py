"""The app's side of issue #15's settings: the editor's rows for features, l2 and l1 (from
the settings, as every row), and the decision map and the inspect map predicting on raw
points through the features."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from textual.pilot import Pilot

import engine
from engine.config.experiment import ConfigError, ExperimentConfig
from engine.data.features import expand
from tests.tui.test_boundary import Host as MapHost
from tests.tui.test_boundary import bare
from tests.tui.test_editor import Host, field, retype, row_label, run, text_of
from tests.tui.test_explain_screen import WIDE, assert_shows, open_explainer
from tui.app import NNApp
from tui.core.race import RaceSession, race_entrants
from tui.screens.explain import highlights
from tui.widgets.boundary import DecisionBoundary, grid_points
from tui.widgets.inspect import NeuronView


def test_the_editor_has_a_row_for_each_new_setting() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        assert row_label(app, "features").startswith("features")
        assert row_label(app, "l2").startswith("l2 penalty")
        assert row_label(app, "l1").startswith("l1 penalty")
        assert field(app, "features").value == "x1,x2"
        assert field(app, "l2").value == "0" and field(app, "l1").value == "0"

    run(check)


def test_typing_features_changes_the_diagram_and_the_config() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "features", "x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2)")
        assert (text_of(app, "#diagram").splitlines()[0]
                == "x1,x2,x1^2,x2^2,x1*x2,sin(x1),sin(x2) → 4 → 4 → 1")  # the chosen features
        await retype(pilot, app, "l2", "0.01")
        await retype(pilot, app, "activation", "swish,gelu,sigmoid")
        config = app.editor.config
        assert config is not None and config.l2 == 0.01
        assert config.features[2:4] == ("x1^2", "x2^2")
        assert config.activation == ("swish", "gelu", "sigmoid")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.applied[-1].config == config

    run(check)


def test_a_bad_feature_is_marked_with_the_engines_message() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "features", "x1,x3")
        with pytest.raises(ConfigError) as info:
            ExperimentConfig(features="x1,x3")
        assert app.editor.errors == {"features": info.value.message}
        assert field(app, "features").has_class("-invalid")

    run(check)


def test_the_decision_map_predicts_raw_points_through_the_features() -> None:
    trainer = engine.Trainer(ExperimentConfig(dataset="circle", n=100, hidden=(),
                                              features="x1^2,x2^2", bias=True, epochs=200))
    trainer.run()

    async def main() -> None:
        app = MapHost(**bare())
        async with app.run_test(size=(40, 12)) as pilot:
            view = app.query_one(DecisionBoundary)
            view.set_trainer(trainer)
            await pilot.pause()
            assert view.predict_calls == 1  # the map was drawn, through the trainer
            grid = grid_points(view.bounds, 40, 24)  # raw coordinates over the plane
            inputs = expand(trainer.data.scaler.transform(grid), ("x1^2", "x2^2"))
            np.testing.assert_array_equal(view.evaluate(grid),
                                          trainer.network.predict(inputs)[:, 0])

    asyncio.run(main())


@pytest.mark.usefixtures("sandbox")
def test_the_explainer_screen_walks_the_features_and_the_penalty() -> None:
    config = engine.preset("dlp-xor").replace(
        epochs=200, log_every=50, features="x1,x2,x1*x2,sin(x1)", activation="gelu,swish,sigmoid",
        bias=True, l2=0.01, l1=0.001)

    async def main() -> None:
        app = NNApp(config)
        async with app.run_test(size=WIDE) as pilot:
            screen = await open_explainer(pilot, app)
            names = [s.name for s in screen.walk.stages]
            assert names[:3] == ["X_raw", "X scaled", "X"]
            assert {"E_data", "penalty", "E", "dpenalty/dW_1", "dE/dW_1"} <= set(names)
            for k in range(len(names)):
                assert_shows(screen, k)
                await pilot.press("right")
            walk = screen.walk
            assert highlights(walk, walk["X"], 3, 2) == {"X scaled": {"rows": (3,)}}
            assert highlights(walk, walk["penalty"], 0, 0) == {f"W_{i}": {} for i in (1, 2, 3)}

    asyncio.run(main())


def test_the_inspect_map_evaluates_hidden_units_through_the_features() -> None:
    trainer = engine.Trainer(ExperimentConfig(dataset="circle", n=50, hidden=(3,), bias=True,
                                              features="x1^2,x2^2,x1*x2", epochs=10))
    view = NeuronView()
    view.set_trainer(trainer)
    grid = np.array([[0.2, -0.4], [0.9, 0.1]])
    inputs = expand(trainer.data.scaler.transform(grid), ("x1^2", "x2^2", "x1*x2"))
    np.testing.assert_array_equal(view.evaluate(grid),
                                  trainer.network.hidden_outputs(inputs)[0])


def test_a_race_predicts_raw_points_through_the_features() -> None:
    config = ExperimentConfig(dataset="circle", n=40, hidden=(3,), features="x1^2,x2^2,x1*x2",
                              l2=0.01, bias=True, epochs=100, log_every=50)
    race = RaceSession("seed", race_entrants(config, "seed"))
    race.run(0.05)
    predictor = race.predictor(0)
    grid = np.array([[0.2, -0.4], [0.9, 0.1], [-1.0, 1.0]])
    inputs = expand(predictor.data.scaler.transform(grid), config.features)
    np.testing.assert_array_equal(predictor.predict_raw(grid),
                                  predictor.network.predict(inputs)[:, 0])
