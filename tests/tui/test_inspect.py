"""Tests for tui.widgets.inspect: the weights heatmap, the hidden-unit map and the norms chart."""

from __future__ import annotations

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.strip import Strip

from engine.nn.network import Network
from engine.train.probes import NormTracker
from themes import load_themes
from tui.widgets.inspect import MAX_CELL_WIDTH, NeuronView, NormsChart, WeightsView

THEMES, _ = load_themes()


def cells(strip: Strip):
    return [(ch, seg.style) for seg in strip for ch in seg.text]


def text_of(widget) -> str:
    return "\n".join(widget.render_line(y).text for y in range(widget.size.height))


class Host(App):
    """The three widgets stacked, with nn-tui's themes registered."""

    CSS = """
    WeightsView { height: 9; }
    NeuronView { height: 12; }
    NormsChart { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield WeightsView()
        yield NeuronView()
        yield NormsChart()

    def on_mount(self) -> None:
        for theme in THEMES.values():
            self.register_theme(theme)
        self.theme = "nn-dark"


def known_network() -> Network:
    """2 -> 3 -> 2 -> 1 with readable weights; layer 1 unit 1 computes tanh(4 x1)."""
    net = Network([2, 3, 2, 1], ["tanh", "relu", "sigmoid"], seed=0)
    net.set_parameters(
        [
            np.array([[4.0, -1.0, 0.0], [0.0, 2.0, -0.5]]),
            np.array([[1.0, -1.0], [0.5, 0.5], [-2.0, 1.0]]),
            np.array([[1.0], [-1.0]]),
        ],
        [np.array([0.0, 0.0, 1.0]), np.zeros(2), np.zeros(1)],
    )
    return net


# ----------------------------------------------------------------- weights


async def test_weights_view_shows_shape_labels_caption_and_sign_colours():
    app = Host()
    async with app.run_test(size=(60, 32)) as pilot:
        view = app.query_one(WeightsView)
        view.set_network(known_network(), 1)
        await pilot.pause()
        lines = [view.render_line(y) for y in range(9)]
        assert lines[0].text.startswith(
            "layer 1: 2×3 weights, |w| max 4, bias shown as the last row"
        )
        assert lines[1].text.split() == ["1", "2", "3"]
        rows = [line.text.split() for line in lines[2:5]]
        assert [r[0] for r in rows] == ["x1", "x2", "b"], "inputs, then the bias row"
        assert rows[0][1:] == ["4.00", "-1.00", "0.00"] and rows[2][1:] == ["0.00", "0.00", "1.00"]
        assert "-4 " in lines[5].text and "+4" in lines[5].text, "the legend shows the scale"
        palette = view.palette
        row = cells(lines[2])
        gutter = len("x1 ")
        first, second, third = (row[gutter + i * MAX_CELL_WIDTH][1].bgcolor for i in range(3))
        assert first == palette.levels[-1], "the largest positive weight: full class-1 end"
        assert second in palette.levels[: palette.steps], "negative: the class-0 side"
        assert third == palette.levels[palette.steps], "zero: the background"


async def test_weights_view_cycles_layers_and_redraws_only_on_change():
    app = Host()
    async with app.run_test(size=(60, 32)) as pilot:
        view = app.query_one(WeightsView)
        net = known_network()
        view.set_network(net)
        await pilot.pause()
        assert view.selected_layer == 1
        view.next_layer()
        await pilot.pause()
        assert view.selected_layer == 2 and view.render_line(0).text.startswith("layer 2: 3×2")
        view.next_layer(), view.next_layer()
        assert view.selected_layer == 1, "wraps after the last layer"
        view.previous_layer()
        assert view.selected_layer == 3
        await pilot.pause()
        assert view.render_line(0).text.startswith("layer 3: 2×1")
        assert "y" in view.render_line(1).text, "the output unit is labelled y"
        drawn = view.draw_count
        view.refresh()
        await pilot.pause()
        assert view.draw_count == drawn, "same numbers: no redraw"
        net.params[2][0, 0] = -3.0
        view.refresh()
        await pilot.pause()
        assert view.draw_count == drawn + 1 and "-3.00" in text_of(view)
        view.selected_layer = 99
        assert view.selected_layer == 3, "clamped"


async def test_weights_view_crops_big_layers_and_survives_tiny_sizes():
    app = Host()
    async with app.run_test(size=(40, 32)) as pilot:
        view = app.query_one(WeightsView)
        view.set_network(Network([2, 30, 30, 1], "tanh", seed=1), 2)
        await pilot.pause()
        text = text_of(view)
        assert "⋮" in text and "\nb" in text.replace(" ", ""), "first rows, then the bias row"
        for width, height in ((8, 3), (1, 1), (0, 0), (200, 2)):
            view.styles.width, view.styles.height = width, height
            await pilot.pause()
            app.export_screenshot()
        view.set_network(None)
        await pilot.pause()


# ----------------------------------------------------------------- neurons


async def test_neuron_view_cycles_through_every_hidden_unit_with_one_evaluation():
    app = Host()
    async with app.run_test(size=(60, 32)) as pilot:
        view = app.query_one(NeuronView)
        view.set_network(known_network(), None, np.array([[0.0, 0.0]]), np.array([1]))
        await pilot.pause()
        seen = [(view.selected_layer, view.selected_unit)]
        for _ in range(5):
            view.next_unit()
            await pilot.pause()
            seen.append((view.selected_layer, view.selected_unit))
            assert f"unit {view.selected_unit}/" in view.render_line(0).text
        assert seen == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (1, 1)]
        view.previous_unit()
        assert (view.selected_layer, view.selected_unit) == (2, 2)
        await pilot.pause()
        assert view.eval_count == 1, "all hidden units come from one forward pass"
        title = view.render_line(0).text
        assert "layer 2 unit 2/2" in title and "relu" in title and "range" in title
        view.refresh_map()
        await pilot.pause()
        assert view.eval_count == 2


async def test_neuron_view_shades_the_unit_over_the_plane():
    app = Host()
    async with app.run_test(size=(60, 32)) as pilot:
        view = app.query_one(NeuronView)
        view.show_axes = view.show_legend = view.show_points = False
        view.set_network(known_network(), None, bounds=(-1.0, 1.0, -1.0, 1.0))
        view.select(1, 1)  # tanh(4 x1): -1 on the left, +1 on the right
        await pilot.pause()
        palette = view.palette
        row = cells(view.render_line(5))
        assert "tanh" in view.render_line(0).text
        assert row[0][1].bgcolor == palette.levels[0] and row[-1][1].bgcolor == palette.levels[-1]
        view.select(1, 3)  # tanh(-0.5 x2 + 1): the same in every column
        await pilot.pause()
        assert len({st.bgcolor for _, st in cells(view.render_line(5))}) == 1


async def test_neuron_view_without_hidden_units_and_at_tiny_sizes():
    app = Host()
    async with app.run_test(size=(60, 32)) as pilot:
        view = app.query_one(NeuronView)
        view.set_network(Network([2, 1], seed=0))
        await pilot.pause()
        assert "no hidden units" in text_of(view)
        view.next_unit(), view.previous_unit()
        view.set_network(known_network())
        for width, height in ((8, 3), (1, 1), (0, 0)):
            view.styles.width, view.styles.height = width, height
            await pilot.pause()
            app.export_screenshot()


# ------------------------------------------------------------------- norms


def tracked(epochs: int = 400) -> NormTracker:
    rng = np.random.default_rng(0)
    net = Network([2, 4, 1], "tanh", seed=0)
    X, y = rng.standard_normal((30, 2)), rng.integers(0, 2, (30, 1)).astype(float)
    tracker = NormTracker(net.n_layers)
    for epoch in range(0, epochs, 10):
        _, gw, gb = net.loss_and_gradients(X, y)
        tracker.observe(epoch, net, X, y)
        for p, w, b in zip(net.params, gw, gb, strict=True):
            p[:-1] -= 0.5 * w
            p[-1] -= 0.5 * b
    return tracker


async def test_norms_chart_plots_one_curve_per_layer_and_kind():
    app = Host()
    async with app.run_test(size=(60, 40)) as pilot:
        chart = app.query_one(NormsChart)
        tracker = tracked()
        chart.set_tracker(tracker)
        await pilot.pause()
        text = chart.render().plain
        assert chart.plotted_lengths.keys() == {"W1", "W2", "∇1", "∇2"}
        for word in ("Norms", "L1", "L2", "‖[W;b]‖", "‖∇‖", "epoch"):
            assert word in text
        drawn = chart.draw_count
        chart.set_tracker(tracker)  # nothing new recorded
        await pilot.pause()
        chart.render()
        assert chart.draw_count == drawn
        tracker.record(1000, [1.0, 2.0], [1e-3, 1e-4])
        chart.set_tracker(tracker)
        await pilot.pause()
        chart.render()
        assert chart.draw_count == drawn + 1
        app.theme = "nn-light"
        await pilot.pause()
        chart.render()
        assert chart.draw_count == drawn + 2


async def test_norms_chart_small_sizes_empty_data_and_no_color(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = Host()
    async with app.run_test(size=(60, 40)) as pilot:
        chart = app.query_one(NormsChart)
        await pilot.pause()
        assert "Norms" in chart.render().plain
        chart.set_tracker(tracked())
        await pilot.pause()
        text = chart.render()
        assert all(span.style.color is None for span in text.spans)
        assert "•L1" in text.plain and "·L1" in text.plain, "markers name the layers"
        chart.styles.height = 10  # too low for two panels: one with both kinds
        await pilot.pause()
        assert "‖[W;b]‖" in chart.render().plain and "‖∇‖" in chart.render().plain
        chart.styles.width, chart.styles.height = 8, 3
        await pilot.pause()
        assert chart.render().plain == "norms"
        chart.clear()
        weights = app.query_one(WeightsView)
        weights.set_network(known_network())
        await pilot.pause()
        base = weights.rich_style
        strips = [weights.render_line(y) for y in range(9)]
        assert {(seg.style.color, seg.style.bgcolor) for s in strips for seg in s} == {
            (base.color, base.bgcolor)
        }
        assert "-1.00" in strips[2].text, "the sign is in the number"


@pytest.mark.parametrize("kinds", [(True, False), (False, True)])
async def test_norms_chart_can_show_one_kind(kinds):
    chart = NormsChart(weights=kinds[0], gradients=kinds[1])
    assert chart.kinds == (("weight",) if kinds[0] else ("gradient",))


async def test_the_weights_cursor_stays_in_sight_and_is_drawn_reversed():
    """On a layer larger than the view, the rows and columns shown follow the cursor (the
    bias row stays last); the cell under it is reversed. Without ``cursor`` none is drawn."""
    from tui.widgets.inspect import CURSOR_STYLE

    app = Host()
    async with app.run_test(size=(40, 32)) as pilot:
        view = app.query_one(WeightsView)
        view.cursor = True
        net = Network([12, 9, 1], ["tanh", "sigmoid"], bias=True, seed=0)
        view.set_network(net, 1)
        await pilot.pause()
        for _ in range(10):
            view.move_cursor(1, 0)
        for _ in range(8):
            view.move_cursor(0, 1)
        assert view.cursor_entry() == (1, "weight", 11, 9)
        assert view.cursor_label() == "x11 → 9"
        view.refresh()
        await pilot.pause()
        lines = [view.render_line(y) for y in range(9)]
        header = lines[1].text.split()
        assert header[-1] == "9", "the cursor's column is shown"
        rows = [line.text.split()[0] for line in lines[2:9]]
        assert rows[-2:] == ["x11", "b"], "the cursor's row, then the bias row"
        cursor_line = lines[2 + rows.index("x11")]
        styled = [seg for seg in cursor_line if seg.style and seg.style.reverse]
        value = styled[0].text.strip() if len(styled) == 1 else "none"
        assert abs(float(value) - net.params[0][10, 8]) < 0.051, "the cell's own number"
        assert CURSOR_STYLE.reverse
        view.move_cursor(1, 0)
        assert view.cursor_entry() == (1, "weight", 12, 9)
        view.move_cursor(1, 0)
        assert view.cursor_entry() == (1, "bias", 1, 9)
        assert not view.move_cursor(1, 0), "the last row: nowhere to go"
        assert view.move_cursor(0, 1) and view.selected_layer == 2
        assert view.cursor_entry() == (2, "bias", 1, 1), "the bias row of layer 2"
        view.cursor = False
        view.refresh()
        await pilot.pause()
        assert not any(seg.style and seg.style.reverse
                       for y in range(9) for seg in view.render_line(y))
