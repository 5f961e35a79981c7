"""Tests for tui.widgets.boundary: the half-block renderer and the DecisionBoundary widget."""

from __future__ import annotations

import numpy as np
import pytest
from rich.style import Style
from textual.app import App, ComposeResult
from textual.color import Color
from textual.strip import Strip

import engine
from themes import load_themes, theme_colors
from tui.widgets.boundary import (
    MAP_STRENGTH,
    MONO_RAMP,
    DecisionBoundary,
    FieldPalette,
    Mark,
    cells_of,
    field_palette,
    grid_points,
    padded_bounds,
    render_field,
)

THEMES, _ = load_themes()
DARK = THEMES["nn-dark"]


def rich(value: str):
    return Color.parse(value).rich_color


def cells(strip: Strip) -> list[tuple[str, Style]]:
    """One (character, style) per terminal cell."""
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def step(X: np.ndarray) -> np.ndarray:
    """p = 1 where x1 > 0.5: the left half of the unit square is class 0."""
    return (X[:, 0] > 0.5).astype(float)


class Host(App):
    """A DecisionBoundary filling the screen, with nn-tui's themes registered."""

    def __init__(self, theme: str = "nn-dark", **options) -> None:
        super().__init__()
        self._start_theme = theme
        self._options = options

    def compose(self) -> ComposeResult:
        yield DecisionBoundary(**self._options)

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = self._start_theme


def bare(**options) -> dict:
    """Options for a map without title, axes or legend: the map is the whole widget."""
    return {"title": "", "show_axes": False, "show_legend": False, **options}


# ---------------------------------------------------------------- pure parts


def test_palette_runs_from_class_0_through_the_background_to_class_1():
    palette = field_palette(DARK, no_color=False)
    colors = theme_colors(DARK)
    back, low, high = (Color.parse(colors[k]) for k in ("background", "class-0", "class-1"))
    assert palette.mode == "pixel" and len(palette.levels) == 2 * palette.steps + 1
    assert palette.levels[0] == back.blend(low, MAP_STRENGTH).rich_color
    assert palette.levels[palette.steps] == back.rich_color
    assert palette.levels[-1] == back.blend(high, MAP_STRENGTH).rich_color
    assert palette.low == low.rich_color and palette.high == high.rich_color
    assert len(set(palette.levels)) == len(palette.levels), "every step is a distinct colour"
    np.testing.assert_array_equal(
        palette.level_of(np.array([0, 0.5, 1, np.nan, 7])), [0, 5, 10, 5, 10]
    )
    assert field_palette(DARK, no_color=True).mode == "mono"
    assert field_palette(None, no_color=False).mode == "mono"
    assert field_palette(THEMES["nn-ansi16"], no_color=False).mode == "ansi"


def test_render_field_draws_two_pixels_per_cell():
    palette = field_palette(DARK, no_color=False)
    values = np.array([[0.0, 1.0, 0.5], [1.0, 1.0, 0.5]])  # one cell row, three columns
    (line,) = render_field(values, palette)
    got = cells(Strip(line))
    assert len(got) == 3
    assert got[0] == ("▀", Style(color=palette.levels[0], bgcolor=palette.levels[10]))
    assert got[1] == (" ", Style(bgcolor=palette.levels[10]))
    assert got[2] == (" ", Style(bgcolor=palette.levels[5]))
    assert len(line) == 3, "no two neighbours share a style here"
    same = render_field(np.zeros((4, 30)), palette)
    assert [len(row) for row in same] == [1, 1], "equal cells merge into one segment"
    assert render_field(np.zeros((3, 2)), palette)[1] == render_field(np.zeros((4, 2)), palette)[1]
    assert render_field(np.empty((0, 4)), palette) == []


def test_marks_keep_the_map_colour_as_background():
    palette = field_palette(DARK, no_color=False)
    values = np.array([[0.0, 1.0], [0.0, 1.0]])
    marks = [
        Mark(0, 0, "●", Style(color=palette.high)),
        Mark(0, 9, "x", Style()),
        Mark(5, 0, "x", Style()),
    ]
    got = cells(Strip(render_field(values, palette, marks)[0]))
    assert got[0] == ("●", Style(color=palette.high, bgcolor=palette.levels[0]))
    assert got[1][0] == " ", "marks outside the field are ignored"


def test_mono_and_ansi_modes_draw_one_glyph_per_cell():
    mono = FieldPalette(mode="mono")
    values = np.repeat(np.linspace(0, 1, 5)[None, :], 2, axis=0)
    glyphs = "".join(ch for ch, _ in cells(Strip(render_field(values, mono)[0])))
    assert glyphs == MONO_RAMP
    ansi = field_palette(THEMES["nn-ansi16"], no_color=False)
    got = cells(Strip(render_field(np.array([[0.0, 0.5, 1.0]] * 2), ansi)[0]))
    assert got[0][1].color == ansi.low and got[2][1].color == ansi.high
    assert got[1][0] == " " and got[0][0] != " "


def test_geometry_helpers():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [np.nan, 5.0]])
    assert padded_bounds([X]) == pytest.approx((-0.1, 1.1, -0.2, 2.2))
    assert padded_bounds([]) == (0.0, 1.0, 0.0, 1.0)
    assert padded_bounds([np.ones((3, 2))]) == (0.5, 1.5, 0.5, 1.5)
    grid = grid_points((0, 1, 0, 1), 4, 2)
    assert grid.shape == (8, 2)
    np.testing.assert_allclose(grid[0], [0.125, 0.75])  # top-left pixel first
    np.testing.assert_allclose(grid[-1], [0.875, 0.25])
    where = cells_of(np.array([[0.1, 0.9], [0.9, 0.1], [2.0, 0.5]]), (0, 1, 0, 1), 4, 2)
    np.testing.assert_array_equal(where, [[0, 0], [1, 3], [-1, -1]])


# ------------------------------------------------------------------ in an app


async def test_left_half_is_class_0_and_right_half_class_1():
    app = Host(**bare())
    async with app.run_test(size=(20, 6)) as pilot:
        view = app.query_one(DecisionBoundary)
        view.set_model(step, np.empty((0, 2)), np.empty(0), bounds=(0, 1, 0, 1))
        await pilot.pause()
        palette = view.palette
        assert view.grid_shape == (20, 12)
        for y in range(6):
            row = cells(view.render_line(y))
            assert len(row) == 20
            assert all(ch == " " and st.bgcolor == palette.levels[0] for ch, st in row[:10])
            assert all(ch == " " and st.bgcolor == palette.levels[10] for ch, st in row[10:])


async def test_the_grid_is_one_predict_call_of_width_times_twice_height_points():
    calls: list[tuple[int, ...]] = []

    def predict(X: np.ndarray) -> np.ndarray:
        calls.append(X.shape)
        return step(X)

    app = Host(**bare())
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(DecisionBoundary)
        view.set_model(predict, np.zeros((3, 2)), np.zeros(3))
        await pilot.pause()
        assert calls == [(40 * 12 * 2, 2)]
        view.refresh_map()
        await pilot.pause()
        assert calls[1:] == [(40 * 12 * 2, 2)]
        app.theme = "nn-light"  # a new theme recolours without calling the model
        await pilot.pause()
        assert len(calls) == 2
        await pilot.resize_terminal(30, 10)
        await pilot.pause()
        assert calls[2:] == [(30 * 10 * 2, 2)]


async def test_with_title_axes_and_legend_the_grid_is_the_map_region():
    calls = []
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(DecisionBoundary)
        view.set_model(
            lambda X: calls.append(len(X)) or step(X), np.random.rand(9, 2), np.arange(9) % 2
        )
        view.set_accuracy(0.75, 0.5)
        await pilot.pause()
        cols, pixel_rows = view.grid_shape
        assert calls == [cols * pixel_rows] and cols < 60 and pixel_rows == 2 * (20 - 3)
        text = "\n".join(view.render_line(y).text for y in range(20))
        for word in ("Decision boundary", "train 75.0%", "test 50.0%", "p=0", "0.5", "● train"):
            assert word in text
        view.refresh()
        drawn = view.draw_count
        view.render_line(0), view.render_line(5)
        assert view.draw_count == drawn, "lines are cached"


async def test_train_and_test_points_use_different_glyphs_in_label_colours():
    app = Host(**bare())
    async with app.run_test(size=(20, 6)) as pilot:
        view = app.query_one(DecisionBoundary)
        X_train, y_train = np.array([[0.1, 0.9], [0.9, 0.9]]), np.array([0.0, 1.0])
        X_test, y_test = np.array([[0.1, 0.1], [0.9, 0.1]]), np.array([[1.0], [0.0]])
        view.set_model(step, X_train, y_train, X_test, y_test, bounds=(0, 1, 0, 1))
        await pilot.pause()
        palette = view.palette
        top, bottom = cells(view.render_line(0)), cells(view.render_line(5))
        assert top[2][0] == top[18][0] == "●"
        assert bottom[2][0] == bottom[18][0] == "◆"
        assert top[2][1].color == palette.low and top[18][1].color == palette.high
        assert bottom[2][1].color == palette.high, "a misclassified test point keeps its label"
        assert (
            top[2][1].bgcolor == palette.levels[0] and bottom[18][1].bgcolor == palette.levels[10]
        )


async def test_theme_switch_changes_the_colours():
    app = Host(**bare())
    async with app.run_test(size=(20, 6)) as pilot:
        view = app.query_one(DecisionBoundary)
        view.set_model(step, np.empty((0, 2)), np.empty(0), bounds=(0, 1, 0, 1))
        await pilot.pause()
        dark = cells(view.render_line(0))[0][1].bgcolor
        app.theme = "nn-light"
        await pilot.pause()
        light = cells(view.render_line(0))[0][1].bgcolor
        assert dark != light
        assert view.palette.low == rich(theme_colors(THEMES["nn-light"])["class-0"])
        app.theme = "nn-ansi16"  # 16 colours: shading glyphs in the class colours
        await pilot.pause()
        assert view.palette.mode == "ansi"
        row = cells(view.render_line(0))
        assert row[0][1].color == view.palette.low and row[-1][1].color == view.palette.high
        assert row[0][0] == row[-1][0] == "▓"


async def test_no_color_uses_a_glyph_ramp_and_no_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(DecisionBoundary)
        X = np.array([[0.1, 0.5], [0.9, 0.5]])
        view.set_model(lambda P: P[:, 0], X, np.array([0, 1]), X + 0.01, np.array([0, 1]))
        await pilot.pause()
        assert view.palette.monochrome
        strips = [view.render_line(y) for y in range(12)]
        base = view.rich_style  # the widget's own colours (Textual greys them out)
        colours = {(seg.style.color, seg.style.bgcolor) for strip in strips for seg in strip}
        assert colours == {(base.color, base.bgcolor)}, "nothing coloured beyond the widget's"
        text = "\n".join(strip.text for strip in strips)
        assert {"░", "▒", "▓", "█"} <= set(text)
        for glyph in ("○", "●", "◇", "◆"):  # label and split both shown by the glyph
            assert glyph in text


async def test_tiny_sizes_bad_models_and_no_model_do_not_raise():
    def broken(X):
        raise RuntimeError("half-built")

    app = Host()
    async with app.run_test(size=(30, 10)) as pilot:
        view = app.query_one(DecisionBoundary)
        await pilot.pause()
        assert "no model yet" in "".join(view.render_line(y).text for y in range(10))
        view.set_model(broken, np.zeros((2, 2)), np.zeros(2))
        await pilot.pause()
        assert "cannot evaluate" in "".join(view.render_line(y).text for y in range(10))
        view.set_model(lambda X: np.full(len(X), np.nan), np.zeros((2, 2)), np.zeros(2))
        await pilot.pause()
        view.set_model(step, np.array([[np.inf, 0.0], [0.5, 0.5]]), np.array([0, 1]))
        for width, height in ((8, 3), (1, 1), (3, 8), (0, 0)):
            view.styles.width, view.styles.height = width, height
            await pilot.pause()
            app.export_screenshot()
            for y in range(max(1, height)):
                assert view.render_line(y).cell_length == width
        view.set_model(lambda X: X[:, :1], np.zeros((2, 2)), np.zeros(2))  # (n, 1) is fine
        view.clear()
        await pilot.pause()


async def test_set_trainer_reads_the_trainer_and_its_accuracy():
    trainer = engine.Trainer(engine.preset("circle-relu").replace(epochs=50))
    trainer.run()
    app = Host()
    async with app.run_test(size=(60, 20)) as pilot:
        view = app.query_one(DecisionBoundary)
        view.set_trainer(trainer)
        await pilot.pause()
        title = view.render_line(0).text
        assert f"train {100 * trainer.last_accuracy:.1f}%" in title and "test" in title
        X, _ = trainer.data.all_raw()
        x0, x1, y0, y1 = view.bounds
        assert x0 < X[:, 0].min() and x1 > X[:, 0].max() and y0 < X[:, 1].min()
        assert view.bounds == pytest.approx(padded_bounds([X]))


def test_set_model_rejects_bad_shapes():
    view = DecisionBoundary()
    with pytest.raises(ValueError):
        view.set_model(step, np.zeros((3, 3)), np.zeros(3))
    with pytest.raises(ValueError):
        view.set_model(step, np.zeros((3, 2)), np.zeros(2))


# ---------------------------------------------------------------- snapshot


class SnapshotApp(App):
    """A seeded circle dataset under a fixed smooth boundary, at 60x20."""

    def compose(self) -> ComposeResult:
        yield DecisionBoundary()

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = "nn-dark"
        X, y = engine.make_dataset("circle", 120, 0.05, seed=7)
        view = self.query_one(DecisionBoundary)

        def predict(P: np.ndarray) -> np.ndarray:
            r2 = P[:, 0] ** 2 + P[:, 1] ** 2
            return 1 / (1 + np.exp(-8 * (r2 - 0.45) + 2 * P[:, 0]))

        view.set_model(predict, X[:90], y[:90], X[90:], y[90:])
        view.set_accuracy(0.95, 0.9)


def test_snapshot_decision_boundary(snap_compare):
    assert snap_compare(SnapshotApp(), terminal_size=(60, 20))
