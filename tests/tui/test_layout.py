"""The main screen's layout at the sizes nn-tui is used at (issue #13): a 100x30
projector, 120x36, 160x48, and the compact 80x24 (one panel at a time); and the
editor's focused field in view when `1` focuses it."""

from __future__ import annotations

import asyncio

import pytest

from tui.app import NNApp
from tui.screens.main import LOG_WIDTH, SCATTER_MIN_WIDTH, log_width
from tui.widgets.editor import ArchitectureEditor


def widths(app: NNApp) -> dict[str, int]:
    return {name: app.screen.query_one(f"#{name}-panel").region.width
            for name in ("editor", "loss", "scatter", "log")}


def test_log_width_leaves_the_predictions_their_room() -> None:
    assert log_width(100) == 100 - SCATTER_MIN_WIDTH
    assert log_width(120) == 120 - SCATTER_MIN_WIDTH
    assert log_width(160) == LOG_WIDTH[1] == log_width(400)
    assert all(LOG_WIDTH[0] <= log_width(w) <= LOG_WIDTH[1] for w in range(60, 300))


@pytest.mark.parametrize("size", [(100, 30), (120, 36), (160, 48)])
def test_every_panel_shows_and_the_predictions_come_first(size: tuple[int, int]) -> None:
    async def main() -> None:
        app = NNApp(deterministic=True)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            got = widths(app)
            assert got["editor"] + got["loss"] == size[0]
            assert got["scatter"] + got["log"] == size[0]
            assert got["scatter"] >= SCATTER_MIN_WIDTH  # the pair, two plots of ~21+
            assert got["log"] >= LOG_WIDTH[0]

    asyncio.run(main())


def test_a_resize_to_compact_and_back_keeps_the_split() -> None:
    async def main() -> None:
        app = NNApp(deterministic=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            before = widths(app)
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            await pilot.press("4")
            await pilot.pause()
            assert app.screen.query_one("#log-panel").region.width == 80  # alone, full width
            await pilot.resize_terminal(100, 30)
            await pilot.pause()
            assert widths(app) == before

    asyncio.run(main())


@pytest.mark.parametrize("size", [(100, 30), (120, 36), (160, 48), (80, 24)])
def test_key_1_shows_the_hidden_field_inside_the_editor(size: tuple[int, int]) -> None:
    """`1` focuses "hidden"; its help then takes two lines under the form, which used
    to cover the row Textual had just scrolled to (at 120x36)."""
    async def main() -> None:
        app = NNApp(deterministic=True)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("1")
            await pilot.pause()
            await pilot.pause()
            editor = app.screen.query_one(ArchitectureEditor)
            assert app.focused is editor.field_widget("hidden")
            row = editor.query_one("#row-hidden").region
            form = editor.query_one("#form").content_region
            assert row.height == 1 and form.contains_region(row), (row, form)
            assert editor.region.contains_region(row)

    asyncio.run(main())
