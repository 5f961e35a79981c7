"""Tests for tui.widgets.charts: downsampling, tick helpers, colours and the two widgets."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.theme import BUILTIN_THEMES

from tui.widgets.charts import (
    MIN_WIDTH,
    POINTS_PER_COLUMN,
    LossChart,
    ScatterPair,
    colors_from_theme,
    downsample,
    format_count,
    format_loss,
    log_ticks,
    nice_ticks,
    scatter_ticks,
)
from tui.widgets.palette import plotext_color

DARK = colors_from_theme(BUILTIN_THEMES["textual-dark"])


# ------------------------------------------------------------------ downsample


def noisy_curve(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.arange(1, n + 1, dtype=float)
    return x, np.exp(-x / max(1, n / 4)) + 0.1 * rng.random(n)


@pytest.mark.parametrize("n", [0, 1, 2, 5, 240])
def test_downsample_returns_short_input_unchanged(n):
    x, y = noisy_curve(n)
    dx, dy = downsample(x, y, 240)
    np.testing.assert_array_equal(dx, x)
    np.testing.assert_array_equal(dy, y)


@pytest.mark.parametrize(
    ("n", "max_points"), [(241, 240), (1000, 7), (10_001, 200), (99, 2), (50, 3)]
)
def test_downsample_caps_count_and_keeps_endpoints_and_extremes(n, max_points):
    x, y = noisy_curve(n)
    y[n // 3], y[2 * n // 3] = 5.0, -5.0  # extremes somewhere inside
    dx, dy = downsample(x, y, max_points)
    assert len(dx) == len(dy) <= max_points
    assert (dx[0], dy[0], dx[-1], dy[-1]) == (x[0], y[0], x[-1], y[-1])
    if max_points >= 4:
        assert dy.max() == 5.0 and dy.min() == -5.0
    assert np.all(np.diff(dx) > 0), "points stay in order, without repeats"
    assert set(dx) <= set(x), "only original points"


def test_downsample_of_a_million_points_gives_two_per_column():
    x, y = noisy_curve(1_000_000)
    dx, _ = downsample(x, y, 240)
    assert 200 < len(dx) <= 240


def test_downsample_accepts_column_vectors_and_rejects_mismatched_lengths():
    dx, dy = downsample(np.arange(10.0).reshape(-1, 1), np.ones((10, 1)), 4)
    assert dx.ndim == dy.ndim == 1 and len(dx) <= 4
    with pytest.raises(ValueError):
        downsample(np.arange(3.0), np.arange(4.0), 10)


# ----------------------------------------------------------- ticks and colours


@pytest.mark.parametrize(
    ("low", "high", "count", "expected"),
    [
        (1, 60_000, 7, [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]),
        (0, 1, 3, [0, 0.5, 1]),
        (-0.05, 1.05, 3, [0, 1]),
        (5, 5, 4, [5]),
    ],
)
def test_nice_ticks(low, high, count, expected):
    assert nice_ticks(low, high, count) == pytest.approx(expected)


def test_log_ticks_prefers_decades_then_finer_steps():
    assert log_ticks(-6.2, -0.5, 10) == pytest.approx([-6, -5, -4, -3, -2, -1])
    assert len(log_ticks(-6.2, -0.5, 3)) <= 3
    within_one_decade = log_ticks(np.log10(0.15), np.log10(0.3), 5)
    assert [round(10**t, 6) for t in within_one_decade] == [0.2, 0.3]
    assert log_ticks(np.log10(0.24), np.log10(0.26), 5) == pytest.approx(np.log10([0.24, 0.26]))


@pytest.mark.parametrize(
    ("value", "label"), [(0.01, "0.01"), (0.25, "0.25"), (1.0, "1"), (1e-5, "1e-5"), (2e-7, "2e-7")]
)
def test_format_loss(value, label):
    assert format_loss(value) == label


@pytest.mark.parametrize(
    ("value", "label"), [(500, "500"), (5000, "5000"), (25_000, "25k"), (1_500_000, "1.5M")]
)
def test_format_count(value, label):
    assert format_count(value) == label


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("#0178D4", (1, 120, 212)),
        ("ansi_blue", 4),
        ("ansi_default", None),
        ("auto 87%", None),
        ("transparent", None),
        ("", None),
        ("not a colour", None),
    ],
)
def test_plotext_color(value, expected):
    assert plotext_color(value) == expected


def test_colors_follow_the_theme_and_no_color():
    assert DARK.train == (1, 120, 212) and not DARK.monochrome
    assert colors_from_theme(BUILTIN_THEMES["textual-dark"], no_color=True).monochrome
    ansi = colors_from_theme(BUILTIN_THEMES["ansi-dark"])
    assert ansi.train == 4 and ansi.rate_change == 8


# --------------------------------------------------------------- direct draws


@pytest.mark.parametrize("width", [MIN_WIDTH, 11, 13, 17, 24, 40])
@pytest.mark.parametrize("height", [5, 6, 7, 9, 12])
def test_small_sizes_draw_without_error(width, height):
    loss, scatter = LossChart(), ScatterPair()
    x, y = noisy_curve(500)
    loss._train, loss._test, loss._rate_changes = (x, y), (x[::50], y[::50]), np.array([100.0])
    scatter._points = np.random.default_rng(0).random((30, 2))
    scatter._truth = scatter._predicted = (scatter._points[:, 0] > 0.5).astype(float)
    for chart in (loss, scatter):
        text = chart.draw(width, height, DARK)
        assert len(text.plain.splitlines()) <= height


def test_million_point_history_is_downsampled_before_plotext():
    chart = LossChart()
    x, y = noisy_curve(1_000_000)
    chart._train, chart._test = (x, y), (x[::1000], y[::1000])
    chart._rate_changes = np.arange(5000, 1_000_000, 5000)
    started = time.perf_counter()
    chart.draw(120, 20, DARK)
    elapsed = time.perf_counter() - started
    print(f"\nLossChart.draw at 120x20 with 1e6 points: {1000 * elapsed:.1f} ms")
    assert chart.plotted_lengths["train"] <= POINTS_PER_COLUMN * 120
    assert chart.plotted_lengths["test"] <= POINTS_PER_COLUMN * 120


# ----------------------------------------------------------------- in an app


class ChartsApp(App):
    """Both widgets, one above the other."""

    CSS = """
    LossChart { height: 18; }
    ScatterPair { height: 12; }
    """

    def compose(self) -> ComposeResult:
        yield LossChart()
        yield ScatterPair()


def run_in_app(test: Callable[[ChartsApp, object], Awaitable[None]], size=(100, 30)) -> None:
    """Run ``test(app, pilot)`` inside a headless ChartsApp of the given size."""

    async def main() -> None:
        app = ChartsApp()
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await test(app, pilot)

    asyncio.run(main())


def linear_points(n: int = 100, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    y = (X[:, 0] <= X[:, 1]).astype(float).reshape(-1, 1)
    return X, y, np.clip(y + 0.3 * rng.standard_normal(y.shape), 0, 1)


def test_widgets_show_titles_labels_and_legend():
    async def check(app: ChartsApp, pilot) -> None:
        loss, scatter = app.query_one(LossChart), app.query_one(ScatterPair)
        x = np.arange(1, 20_001, dtype=float)
        loss.set_series(
            (x, 0.25 * np.exp(-x / 4000)),
            (x[::5000], 0.3 * np.exp(-x[::5000] / 4000)),
            rate_changes=[10_000],
        )
        scatter.set_points(*linear_points(), accuracy=0.95)
        await pilot.pause()
        plot = loss.render().plain
        for word in ("Loss", "train", "test", "lr change", "epoch", "loss (log)", "10k", "0.01"):
            assert word in plot
        pair = scatter.render().plain
        for word in ("Ground truth", "Predict result", "acc 95.0%", "●"):
            assert word in pair
        assert "Ground" in app.export_screenshot()

    run_in_app(check)


def test_redraws_only_when_data_size_or_theme_change():
    async def check(app: ChartsApp, pilot) -> None:
        loss = app.query_one(LossChart)
        x = np.arange(1, 101, dtype=float)
        loss.set_series((x, 1 / x))
        await pilot.pause()
        drawn = loss.draw_count
        loss.render(), loss.render()
        assert loss.draw_count == drawn, "cached"
        loss.set_series((x, 2 / x))
        await pilot.pause()
        assert loss.draw_count == drawn + 1
        await pilot.resize_terminal(90, 30)
        await pilot.pause()
        assert loss.draw_count == drawn + 2
        app.theme = "nord"
        await pilot.pause()
        await pilot.pause()
        assert loss.draw_count == drawn + 3
        assert loss.chart_colors == colors_from_theme(BUILTIN_THEMES["nord"])
        nord_blue = plotext_color(BUILTIN_THEMES["nord"].primary)
        colours = {span.style.color.triplet for span in loss.render().spans if span.style.color}
        assert tuple(nord_blue) in {tuple(c) for c in colours if c is not None}

    run_in_app(check)


def test_bad_values_and_tiny_sizes_do_not_raise():
    async def check(app: ChartsApp, pilot) -> None:
        loss, scatter = app.query_one(LossChart), app.query_one(ScatterPair)
        x = np.arange(6, dtype=float)
        loss.set_series(
            (x, np.array([0.0, 0.5, -1.0, np.nan, np.inf, 0.0])),
            (x, np.zeros(6)),
            rate_changes=[2, 99],
        )
        scatter.set_points(np.zeros((3, 2)), np.array([0, 1, 1]), np.array([np.nan, 0.2, 0.9]))
        await pilot.pause()
        for chart in (loss, scatter):
            assert "cannot draw" not in chart.render().plain
        loss.set_series((np.array([3.0]), np.array([0.1])))  # a single point
        await pilot.pause()
        assert "Loss" in loss.render().plain
        loss.clear()
        await pilot.pause()
        assert "Loss" in loss.render().plain
        for chart in (loss, scatter):
            chart.styles.width, chart.styles.height = 8, 3
        await pilot.pause()
        assert loss.render().plain == "loss" and scatter.render().plain == "scatter"
        assert "cannot draw" not in app.export_screenshot()

    run_in_app(check)


def test_no_color_renders_without_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")

    async def check(app: ChartsApp, pilot) -> None:
        loss, scatter = app.query_one(LossChart), app.query_one(ScatterPair)
        x = np.arange(1, 101, dtype=float)
        loss.set_series((x, 1 / x), (x, 2 / x))
        scatter.set_points(*linear_points())
        await pilot.pause()
        assert loss.chart_colors.monochrome
        for chart in (loss, scatter):
            text = chart.render()
            assert all(span.style.color is None for span in text.spans)
        assert "⣀ train" in loss.render().plain and "• test" in loss.render().plain
        assert "○ 0" in scatter.render().plain

    run_in_app(check)


def test_set_points_rejects_bad_shapes():
    scatter = ScatterPair()
    with pytest.raises(ValueError):
        scatter.set_points(np.zeros((4, 3)), np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError):
        scatter.set_points(np.zeros((4, 2)), np.zeros(3), np.zeros(4))


# ------------------------------------------------- redraw cost: behaviour, not timings


def test_ansi_to_text_matches_rich_decoding_without_backgrounds():
    """The fast decoder gives exactly the Text Rich's would (backgrounds dropped)."""
    from rich.text import Span, Text

    from tui.widgets import charts

    captured: list[str] = []
    real = charts.ansi_to_text

    def spy(ansi: str) -> Text:
        captured.append(ansi)
        return real(ansi)

    loss, scatter = LossChart(), ScatterPair()
    x, y = noisy_curve(5000)
    loss.set_series((x, y), (x[::50], y[::50] * 1.1), rate_changes=[2500])
    scatter.set_points(*linear_points(), accuracy=0.9)
    charts.ansi_to_text = spy
    try:
        for colors in (DARK, colors_from_theme(None)):
            loss.draw(80, 20, colors)
            scatter.draw(60, 15, colors)
    finally:
        charts.ansi_to_text = real
    assert len(captured) == 4
    for ansi in captured:
        expected = Text.from_ansi(ansi, no_wrap=True, overflow="crop", end="")
        expected.spans = [Span(s.start, s.end, charts._no_background(s.style))
                          for s in expected.spans]
        got = real(ansi)
        assert got.plain == expected.plain
        assert got.spans == expected.spans


@pytest.mark.parametrize("epochs", [1_000, 1_000_000])
def test_bounded_history_reaches_plotext_as_two_points_a_column(epochs):
    """Whatever the run's length, plotext gets at most 2 points a column per curve."""
    from engine.train.history import History

    history = History()
    for epoch in range(1, epochs + 1, 16):  # every 16th epoch: the stride grows the same
        if epoch >= history.next_epoch:
            history.record(epoch, 1.0 / epoch, 0.5, 0.1)
    assert len(history) <= history.capacity
    chart = LossChart()
    chart.set_series(history.loss_curve())
    chart.draw(74, 15, DARK)
    assert 0 < chart.plotted_lengths["train"] <= POINTS_PER_COLUMN * 74


def test_same_data_again_does_not_redraw():
    chart, scatter = LossChart(), ScatterPair()
    x = np.arange(1, 1001, dtype=float)
    chart.set_series((x, 1 / x), None, [500])
    version = chart._version
    chart.set_series((x.copy(), 1 / x), None, [500])  # equal values, new arrays
    assert chart._version == version
    chart.set_series((x, 2 / x), None, [500])
    assert chart._version == version + 1
    X, y_true, y_pred = linear_points()
    scatter.set_points(X, y_true, y_pred, accuracy=0.9)
    version = scatter._version
    scatter.set_points(X.copy(), y_true, y_pred + 0.01 * (y_pred < 0.4), accuracy=0.9)
    assert scatter._version == version, "the same rounded classes: the same picture"
    scatter.set_points(X, y_true, 1 - y_pred, accuracy=0.9)
    assert scatter._version == version + 1


def test_lines_are_strips_of_the_plot_cached_with_it():
    async def check(app: ChartsApp, pilot) -> None:
        loss = app.query_one(LossChart)
        x = np.arange(1, 2001, dtype=float)
        loss.set_series((x, 1 / x))
        await pilot.pause()
        width, height = loss.size
        lines = [loss.render_line(y) for y in range(height)]
        assert all(line.cell_length == width for line in lines)
        plain = loss.render().plain.split("\n")
        assert [line.text.rstrip() for line in lines] == [row.rstrip() for row in plain]
        styled = [seg.style for line in lines for seg in line if seg.text.strip()]
        assert all(style is not None and style.bgcolor is not None for style in styled), (
            "every cell carries the widget's background, as Textual paints a Text"
        )
        drawn = loss.draw_count
        assert loss.render_line(3) is lines[3], "cached"
        loss.set_series((x, 2 / x))
        assert loss.render_line(3) is not lines[3]
        assert loss.draw_count == drawn + 1

    run_in_app(check)


def test_epoch_log_is_bounded():
    from textual.app import App

    from tui.widgets.panels import LOG_MAX_LINES, EpochLog

    class LogApp(App):
        def compose(self) -> ComposeResult:
            yield EpochLog(id="log")

    async def main() -> None:
        app = LogApp()
        async with app.run_test(size=(80, 20)) as pilot:
            log = app.query_one(EpochLog)
            for i in range(LOG_MAX_LINES + 500):
                log.add("report", f"epoch {i} loss : 0.1")
            await pilot.pause()
            assert len(log.entries) == LOG_MAX_LINES
            assert len(log.lines) <= LOG_MAX_LINES
            assert log.plain_lines[-1] == f"epoch {LOG_MAX_LINES + 499} loss : 0.1"

    asyncio.run(main())


# ------------------------------------------ a smooth line, scatter ticks (issue #13)

BLOCKS = set("▀▄▌▐▖▗▘▙▚▛▜▝▞▟█")
"""Quadrant blocks: the "hd" marker's staircase."""


def course_curve(epochs: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """A loss like the course's XOR run: a steep fall, then a long slow tail."""
    x = np.arange(1, epochs + 1, dtype=float)
    return x, 3.0 * np.exp(-x / 800) + 4e-5 * (1 + 20_000 / (x + 2_000))


@pytest.mark.parametrize("colors", [DARK, colors_from_theme(None)], ids=["colour", "mono"])
def test_the_loss_curve_is_a_braille_line_not_blocks(colors):
    chart = LossChart()
    chart._train = course_curve()
    plain = chart.draw(76, 15, colors).plain
    plot = "".join(line[6:] for line in plain.splitlines()[2:-3])  # inside the frame
    braille = [c for c in plot if "\u2800" <= c <= "\u28ff"]
    assert not BLOCKS & set(plot)
    # a line: every column of the plot from the first to the last epoch has a dot
    assert len(braille) >= 60


def test_the_training_curve_is_bold_and_the_others_are_not():
    assert DARK.line_style(0) == "bold" and DARK.line_style(1) is None
    chart = LossChart()
    x, y = course_curve(1000)
    chart._train, chart._test = (x, y), (x, 2 * y)
    styles = {}
    for span in chart.draw(60, 12, DARK).spans:
        styles.setdefault(span.style.color.triplet if span.style.color else None,
                          set()).add(bool(span.style.bold))
    assert {True} in styles.values() and any(False in bolds for bolds in styles.values())


@pytest.mark.parametrize(("low", "high", "room", "expected"), [
    (-0.05, 1.05, 2, [0, 0.5, 1]),   # the course's inputs padded 5%: 0, 0.5 and 1
    (-0.05, 1.05, 3, [0, 0.5, 1]),
    (-0.05, 1.05, 7, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    (-2.3, 2.1, 2, [-2, 0, 2]),
])
def test_scatter_ticks(low, high, room, expected):
    assert scatter_ticks(low, high, room) == pytest.approx(expected)


@pytest.mark.parametrize(("width", "height"), [(54, 12), (52, 15), (88, 21), (76, 19)])
def test_scatter_axes_carry_0_0_5_and_1(width, height):
    """At the panel sizes of 100x30, 120x36, 160x48 and 80x24 both axes of both plots
    show 0, 0.5 and 1 (only "0" on x before, where asking for 2 ticks gave a step of 2)."""
    scatter = ScatterPair()
    X = np.array([[0, 0], [1, 1], [0, 1], [1, 0], [0.5, 0.5]], dtype=float)
    y = np.array([0, 0, 1, 1, 0], dtype=float)
    scatter.set_points(X, y, y)
    lines = scatter.draw(width, height, DARK).plain.splitlines()
    x_labels = lines[-1].split()
    assert x_labels == ["0", "0.5", "1", "0", "0.5", "1"]
    y_labels = [label for line in lines for label in re.findall(r"([-\d.]+)┤", line)]
    assert sorted(set(y_labels)) == ["0", "0.5", "1"]
    assert all(y_labels.count(label) == 2 for label in ("0", "0.5", "1"))  # both plots
