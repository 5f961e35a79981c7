"""The app's drawing of issue #15's tasks: K classes (each in its theme colour, by marker
without colour) and regressions (values on one ramp, R² and MAE wherever an accuracy
would stand), through the app's own keys; the pieces (palette, legends, the editor's
diagram, the PNG figures' data) one by one."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from themes import MAX_CLASS_COLORS, load_themes, theme_colors
from tui.app import NNApp
from tui.core import figures_png
from tui.core.training import Figures, TrainingSession, format_accuracies
from tui.widgets.boundary import MONO_CLASS_FILL, DecisionBoundary, FieldPalette, field_palette
from tui.widgets.charts import ScatterPair, colors_from_theme
from tui.widgets.editor import describe
from tui.widgets.inspect import NeuronView
from tui.widgets.palette import CLASS_MARKERS, VALUE_GLYPHS, value_level
from tui.widgets.panels import Panel, StatusLine

SIZE = (120, 36)

THREE_CLASSES = ExperimentConfig(
    dataset="spiral", classes=3, loss="ce", hidden=(8,), activation="tanh", init="xavier",
    bias=True, n=120, seed=5, optimizer="adam", lr=0.02, schedule="none", epochs=1000,
    log_every=100)
"""Seed 5: the untrained network's map already shows all three classes (a third each)."""

REGRESSION = ExperimentConfig(
    dataset="plane", loss="mse", hidden=(8,), activation="tanh", init="xavier", bias=True,
    lr=0.1, schedule="none", epochs=1000, noise=0.05, log_every=100)


def status_text(app: NNApp) -> str:
    return str(app.main.query_one(StatusLine).render())


def map_classes(view: DecisionBoundary) -> set[int]:
    """The classes whose surest or any shade (but the background) the map paints."""
    palette = view.palette
    per_class = palette.steps + 1
    found = set()
    for y in range(view.size.height):
        for segment in view.render_line(y):
            style = segment.style
            for color in (style.bgcolor, style.color) if style else ():
                if color in palette.class_levels:
                    level = palette.class_levels.index(color)
                    if level % per_class:  # level 0 is the background, for every class
                        found.add(level // per_class)
    return found


# ------------------------------------------------------------- the app, by its keys


def test_three_classes_train_by_the_step_keys_and_show_three_classes() -> None:
    async def main() -> None:
        app = NNApp(THREE_CLASSES, deterministic=True, autosave=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for _ in range(3):  # n: one log interval, 100 epochs
                await pilot.press("n")
            await pilot.pause()
            assert app.session.trainer.epoch == 300
            assert "acc " in status_text(app) and "%" in status_text(app)
            scatter = app.main.query_one(ScatterPair)
            assert scatter.n_classes == 3
            assert set(np.unique(scatter._truth)) == {0, 1, 2}
            text = scatter.render().plain
            assert "Ground truth" in text and "●0 ●1 ●2" in text
            assert app.main.query_one("#scatter-panel", Panel).note.startswith("accuracy ")

            await pilot.press("b")  # the decision map: the winning class, shaded
            await pilot.pause()
            view = app.main.query_one(DecisionBoundary)
            assert view.multiclass and view.class_field and view.title == "most likely class"
            assert map_classes(view) == {0, 1, 2}
            legend = "".join(text for group in view.legend_pieces() for text, _ in group)
            assert "0" in legend and "1" in legend and "2" in legend and "unsure" in legend

            await pilot.press("i")  # inspect: a hidden unit's ramp, the points by class
            await pilot.pause()
            neuron = app.screen.query_one(NeuronView)
            assert neuron.n_classes == 3 and not neuron.class_field

    asyncio.run(main())


def test_a_regression_trains_by_the_step_keys_and_shows_its_ramp_and_r2() -> None:
    async def main() -> None:
        app = NNApp(REGRESSION, deterministic=True, autosave=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            for _ in range(3):
                await pilot.press("n")
            await pilot.press("s")  # and one more epoch: 301
            await pilot.pause()
            assert app.session.trainer.epoch == 301
            status = status_text(app)
            assert "R² " in status and "MAE " in status and "acc" not in status
            r2 = app.session.figures().accuracy
            assert 0.5 < r2 <= 1.0  # the plane is learnt by then (a loose bound)
            assert f"R² {r2:.4f}" in status
            note = app.main.query_one("#scatter-panel", Panel).note
            assert note.startswith("R² ") and "MAE" in note

            scatter = app.main.query_one(ScatterPair)
            assert scatter.regression
            low, high = scatter.value_range
            y = app.session.trainer.data.all_labels()
            assert (low, high) == (y.min(), y.max())
            text = scatter.render().plain
            assert VALUE_GLYPHS in text  # the ramp's key, between its two ends
            assert f"{low:.2g}" in text and f"{high:.2g}" in text
            assert "Prediction" in text

            await pilot.press("b")  # the value map on the same ramp
            await pilot.pause()
            view = app.main.query_one(DecisionBoundary)
            assert view.regression and view.title == "prediction"
            assert view.ramp_labels() == (f"{low:.2g}", f"{(low + high) / 2:.2g}",
                                          f"{high:.2g}")
            title = "".join(text for group in view.title_pieces() for text, _ in group)
            assert "R² " in title

    asyncio.run(main())


def test_no_color_tells_the_classes_and_the_values_apart_by_shape(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def main(config: ExperimentConfig, wanted: str) -> None:
        app = NNApp(config, deterministic=True, autosave=False)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("n")
            await pilot.pause()
            text = app.main.query_one(ScatterPair).render().plain
            assert all(glyph in text for glyph in wanted), text

    asyncio.run(main(THREE_CLASSES, "".join(CLASS_MARKERS[:3])))
    asyncio.run(main(REGRESSION, VALUE_GLYPHS))


# ------------------------------------------------------------------------ the pieces


@pytest.mark.parametrize("name", ["nn-dark", "nn-light", "nn-high-contrast", "nn-ansi16"])
def test_every_theme_has_eight_distinct_class_colours(name: str) -> None:
    theme = load_themes()[0][name]
    colors = theme_colors(theme)
    classes = [colors[f"class-{c}"] for c in range(MAX_CLASS_COLORS)]
    assert len(set(classes)) == MAX_CLASS_COLORS
    chart = colors_from_theme(theme)
    assert len(set(chart.classes)) == MAX_CLASS_COLORS
    assert chart.shapes == (name == "nn-ansi16")  # 16 colours: markers by class too


def test_the_class_field_levels_and_the_mono_fills() -> None:
    palette = field_palette(load_themes()[0]["nn-dark"], no_color=False)
    # class c + how sure (0: the background at 1/K, just below 1: the surest shade)
    levels = palette.class_level_of(np.array([0.0, 1.5, 2.999, np.nan]))
    per = palette.steps + 1
    assert levels[0] == 0 and levels[3] == 0  # no class, or sure of nothing: the background
    assert levels[1] // per == 1 and 0 < levels[1] % per < palette.steps
    assert levels[2] == 2 * per + palette.steps
    assert len(palette.class_levels) == MAX_CLASS_COLORS * per
    assert palette.class_levels[0] == palette.class_levels[per] == palette.background
    mono = FieldPalette(mode="mono")
    assert [mono.class_cell(c * per)[0] for c in range(MAX_CLASS_COLORS)] == list(
        MONO_CLASS_FILL)
    assert len(set(MONO_CLASS_FILL)) == MAX_CLASS_COLORS


def test_value_levels_clip_to_the_ramp() -> None:
    levels = value_level(np.array([-2.0, -1.0, 0.0, 1.0, 3.0, np.nan]), -1.0, 1.0)
    assert levels.tolist() == [0, 0, 4, 7, 7, -1]


def test_the_panel_note_words_a_regression_as_the_log_does() -> None:
    assert format_accuracies(Figures(0.1, 0.97314, mae=0.04118)) == "R² 0.9731  MAE 0.04118"
    assert format_accuracies(Figures(0.1, 0.9, 0.2, 0.8, 0.05, 0.07)) == (
        "train R² 0.9000 MAE 0.05 · test R² 0.8000 MAE 0.07")
    assert format_accuracies(Figures(0.1, 0.5)) == "accuracy 50.0%"


def test_the_diagram_names_chosen_features_and_a_set_output_layer() -> None:
    assert describe(ExperimentConfig())[0] == "2 → 4 → 4 → 1"  # the course's: unchanged
    assert describe(ExperimentConfig(features="x1,x2,x1^2", hidden=(4,)))[0] == \
        "x1,x2,x1^2 → 4 → 1"
    sizes, details = describe(THREE_CLASSES)
    assert sizes == "2 → 8 → 3" and details.startswith("tanh, softmax")
    assert describe(REGRESSION)[1].startswith("tanh, linear")


def test_c_cycles_through_the_datasets_a_config_fits() -> None:
    session = TrainingSession(THREE_CLASSES.replace(epochs=10))
    seen = []
    for _ in range(4):
        session.config = session.next_dataset_config()
        seen.append(session.config.dataset)
    assert seen == ["gaussian", "pie", "spiral", "gaussian"]  # the sets that take K = 3


def test_the_png_figures_data_for_classes_and_a_regression() -> None:
    trainer = Trainer(THREE_CLASSES.replace(test_split=0.25))
    result = figures_png.result_figure(trainer)
    assert result.classes == 3
    assert set(np.unique(result.truth[0][1].classes)) == {0, 1, 2}
    boundary = figures_png.boundary_figure(trainer, steps=20)
    assert boundary.values.shape == (20, 20, 3) and boundary.classes == 3
    assert "3 classes" in boundary.title

    trainer = Trainer(REGRESSION)
    result = figures_png.result_figure(trainer)
    assert result.classes == 0 and result.accuracy.startswith("train R² ")
    np.testing.assert_array_equal(result.truth[0][1].values, trainer.data.labels("train"))
    boundary = figures_png.boundary_figure(trainer, steps=20)
    assert boundary.values.shape == (20, 20) and boundary.value_range == result.value_range


def test_the_palette_offers_the_new_datasets_and_plane_becomes_a_regression() -> None:
    async def main() -> None:
        app = NNApp(deterministic=True, autosave=False)  # the course's XOR
        async with app.run_test(size=SIZE) as pilot:
            titles = {c.title: c for c in app.get_system_commands(app.screen)}
            assert {"Dataset: pie", "Dataset: plane", "Dataset: bumps"} <= set(titles)
            await titles["Dataset: plane"].callback()
            await pilot.pause()
            assert app.session.config.regression
            assert "R² " in status_text(app)
            assert app.main.query_one(ScatterPair).regression

    asyncio.run(main())


def test_the_editor_shows_validates_and_applies_task_and_classes() -> None:
    from tests.tui.test_editor import Host, field, retype, row_label
    from tests.tui.test_editor import run as run_editor

    async def check(app: Host, pilot) -> None:
        assert row_label(app, "task").startswith("task")
        assert row_label(app, "classes").startswith("classes")
        await retype(pilot, app, "classes", "9")  # more than 8
        assert set(app.editor.errors) == {"classes"}
        assert field(app, "classes").has_class("-invalid")
        await retype(pilot, app, "classes", "3")  # spiral takes 3, but sse cannot learn them
        assert set(app.editor.errors) == {"loss"}
        await retype(pilot, app, "hidden", "8")
        app.editor.query_one("#field-loss").value = "ce"
        await pilot.pause()
        assert app.editor.errors == {}
        await pilot.press("ctrl+s")
        await pilot.pause()
        config = app.applied[-1].config
        assert config.classes == 3 and config.sizes == (2, 8, 3)
        assert app.editor.query_one("#diagram").content.plain.startswith("2 → 8 → 3")

    run_editor(check, ExperimentConfig(dataset="spiral", activation="tanh"))


def test_the_scatter_key_of_eight_classes_shortens_to_the_markers_in_order() -> None:
    scatter = ScatterPair()
    scatter.n_classes = 8
    colors = colors_from_theme(None)  # no colour: the markers
    full = "".join(piece[0] for piece in scatter._key(colors))
    assert full == "  o0 x1 +2 *3 #4 @5 %6 &7"
    short = "".join(piece[0] for piece in scatter._key(colors, room=16))
    assert short == "  ox+*#@%& 0-7"


def test_the_runs_table_shows_a_regressions_r2() -> None:
    from tui.core.runs import RunRecord

    trainer = Trainer(REGRESSION.replace(epochs=50))
    trainer.run()
    record = RunRecord.from_trainer(trainer)
    assert record.regression and record.epoch_100 is None
    assert record.score_text(record.accuracy) == f"R² {record.accuracy:.3f}"
    binary = RunRecord.from_trainer(Trainer(ExperimentConfig(epochs=5)))
    assert not binary.regression and binary.score_text(0.5) == "50.0%"
