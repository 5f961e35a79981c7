"""The race screen's redraws (issue #14): cheap enough that the race trains at the
headless stack's rate. The chart's curves are drawn with NumPy over plotext's frame,
where plotext would draw them; a map that did not change repaints nothing; the maps
and the chart follow the race while it trains."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from engine import preset
from tui.app import NNApp
from tui.widgets.charts import LossChart
from tui.widgets.race import RaceChart, RaceMap, braille_raster

from .pilot import tap, wait_for
from .test_race import SIZE, start_race

BRAILLE = range(0x2801, 0x2900)


def test_a_line_is_drawn_unbroken_and_the_first_curve_on_top():
    # a steep line: from the bottom left to the top right of a 4 x 2 cell canvas
    steep = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    flat = (np.array([0.0, 1.0]), np.array([0.5, 0.5]))
    bits, owner = braille_raster([steep, flat], (0.0, 1.0), (0.0, 1.0), cols=4, rows=2)
    assert bits.shape == owner.shape == (2, 4)
    dots = np.unpackbits(bits[..., None], axis=-1).sum()
    assert dots >= 8  # 6 dot rows between the cells' centres, each crossed
    assert (owner[bits > 0] >= 0).all() and (owner[bits == 0] == -1).all()
    assert owner[0, 3] == 0 and owner[1, 0] == 0  # the steep line's ends are its own
    alone, _ = braille_raster([flat], (0.0, 1.0), (0.0, 1.0), cols=4, rows=2)
    assert (bits | alone == bits).all()  # the dots under the top curve stay


class ChartApp(App):
    def compose(self) -> ComposeResult:
        yield RaceChart("Loss")


def canvas_cells(chart: RaceChart) -> set[tuple[int, int]]:
    """(row, column) of every braille cell the chart shows."""
    lines = ["".join(s.text for s in chart.render_line(y)) for y in range(chart.size.height)]
    return {(r, c) for r, line in enumerate(lines) for c, ch in enumerate(line)
            if ord(ch) in BRAILLE}


async def test_the_curves_fall_where_plotext_would_draw_them():
    """The same curves drawn by plotext (the loss chart's way) and here: the cells they
    cover agree (up to the odd cell where a line is sampled a little differently)."""
    app = ChartApp()
    async with app.run_test(size=(100, 16)) as pilot:
        chart = app.query_one(RaceChart)
        x = np.arange(1, 3001, 10.0)
        curves = [(f"lr {k}", x, np.exp(-x / (300 * (k + 1))) + 0.001 * (k + 1))
                  for k in range(4)]
        chart.set_series(None, None, [1500], curves)
        await pilot.pause()
        ours = canvas_cells(chart)
        assert chart._raster is not None and len(ours) > 100
        chart._plot_curves = lambda *args: LossChart._plot_curves(chart, *args)
        chart._data_changed()
        await pilot.pause()
        theirs = canvas_cells(chart)
        assert len(ours & theirs) >= 0.9 * len(ours | theirs)
        assert "┊" in "".join(s.text for s in chart.render_line(3))  # the rate's mark stays


async def test_a_map_that_did_not_change_repaints_nothing():
    app = NNApp(preset("dlp-xor"), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "s")
        await pilot.press("s")
        screen.refresh_maps(range(app.race.k))
        await pilot.pause()
        maps = list(screen.query(RaceMap))
        repaints: list[tuple] = []
        for view in maps:
            view.refresh = lambda *regions, **options: repaints.append(regions)  # type: ignore
        screen.refresh_maps(range(app.race.k))  # the same weights: the same lines
        assert repaints == []
        app.race.step(3000)
        screen.refresh_maps(range(app.race.k))  # trained: the lines that changed
        assert repaints and all(regions for regions in repaints)  # never the whole widget
        height = maps[0].size.height
        assert all(r.y >= 0 and r.bottom <= height for regions in repaints for r in regions)


async def test_the_maps_and_the_chart_follow_the_race_while_it_trains():
    app = NNApp(preset("dlp-xor").replace(epochs=10**7), deterministic=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await start_race(app, pilot, "s")
        chart, first = screen.query_one(RaceChart), screen.query_one(RaceMap)
        draws, evaluations = chart.draw_count, first.eval_count
        await tap(app, "space")
        await wait_for(pilot, lambda: first.eval_count >= evaluations + 2
                       and chart.draw_count >= draws + 2)
        assert app.race_loop.running  # redrawn while training, not only at a pause
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.race_loop.running)
