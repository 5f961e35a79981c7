"""The app's export menu writes the course's figures (issue #13): ``e f`` asks a folder and
draws loss.png, result.png and boundary.png into it (tui/core/figures_png.py); without
matplotlib the prompt says in one line how to get it, and nothing is written."""

from __future__ import annotations

import sys

import pytest

from engine import preset
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.file_actions import FIGURES_NEED_MATPLOTLIB
from tui.screens.prompts import ExportMenu, PathPrompt
from tui.widgets.panels import EpochLog

pytestmark = pytest.mark.usefixtures("sandbox")

PNG = b"\x89PNG\r\n\x1a\n"


def small_config(**values):
    return preset("dlp-xor").replace(**{"epochs": 1000, "log_every": 500, **values})


async def open_figures_prompt(pilot, app: NNApp) -> PathPrompt:
    await pilot.press("e")
    assert isinstance(app.screen, ExportMenu)
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
    return app.screen


async def test_the_export_menu_writes_the_three_figures(tmp_path):
    pytest.importorskip("matplotlib")
    app = NNApp(small_config())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        prompt = await open_figures_prompt(pilot, app)
        assert prompt.input.value == "nn-tui-figures"
        folder = tmp_path / "figs"  # created by the export
        prompt.input.value = str(folder)
        await pilot.press("enter")
        names = ("loss.png", "result.png", "boundary.png")
        await wait_for(pilot, lambda: not prompt.is_attached, timeout=30)
        for name in names:
            assert (folder / name).read_bytes().startswith(PNG), name
        log = "\n".join(app.query_one(EpochLog).plain_lines)
        assert all(str(folder / name) in log for name in names), log
        assert "exported the figures (epoch 500)" in log
        assert any("loss.png" in n.message for n in app._notifications)
        # again into the same folder: a first enter warns, a second replaces
        prompt = await open_figures_prompt(pilot, app)
        prompt.input.value = str(folder)
        await pilot.press("enter")
        await pilot.pause()
        assert "exists: enter again" in prompt.error
        await pilot.press("enter")
        await wait_for(pilot, lambda: not prompt.is_attached, timeout=30)


async def test_without_matplotlib_the_prompt_says_how_to_get_it(tmp_path, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    app = NNApp(small_config())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        prompt = await open_figures_prompt(pilot, app)
        assert FIGURES_NEED_MATPLOTLIB in str(prompt.query_one("#prompt-text").render())
        prompt.input.value = str(tmp_path / "figs")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(prompt.error))
        assert prompt.error == FIGURES_NEED_MATPLOTLIB
        assert 'pip install "nn-tui[figures]"' in prompt.error and "\n" not in prompt.error
        assert prompt.is_attached, "the prompt stays open with the hint"
        error_line = str(prompt.query_one("#prompt-error").render())
        assert len(error_line.splitlines()) == 1 and "Traceback" not in error_line
        assert not (tmp_path / "figs" / "loss.png").exists()
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
