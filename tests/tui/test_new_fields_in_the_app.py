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
from tui.widgets.boundary import DecisionBoundary, grid_points


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
        assert text_of(app, "#diagram").splitlines()[0] == "7 → 4 → 4 → 1"
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
