"""The app's export menu writes the run as a plain NumPy script (issue #15): ``e t`` asks a
path, writes the file atomically and says so in the log; the script prints the log nn-tui
prints for the config; a run the script cannot hold is named in the prompt, in one line."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from engine import EpochReport, Trainer, preset
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.screens.prompts import ExportMenu, PathPrompt
from tui.widgets.panels import EpochLog

pytestmark = pytest.mark.usefixtures("sandbox")


async def open_script_prompt(pilot, app: NNApp) -> PathPrompt:
    await pilot.press("e")
    assert isinstance(app.screen, ExportMenu)
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
    return app.screen


async def test_the_export_menu_writes_a_script_that_trains_the_run_again(tmp_path):
    config = preset("dlp-xor").replace(epochs=1000, log_every=250)
    app = NNApp(config)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")  # a stretch of training first: the script starts afresh
        prompt = await open_script_prompt(pilot, app)
        assert prompt.input.value == "nn-tui-train.py"
        target = tmp_path / "xor.py"
        prompt.input.value = str(target)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not prompt.is_attached)
        log = " ".join(app.query_one(EpochLog).plain_lines)
        assert f"exported the Training script (NumPy .py) to {target}" in log
        assert "python xor.py trains 1,000 epochs from the start" in log
    assert not list(tmp_path.glob("*.tmp*")), "written atomically: no temporary left"
    text = target.read_text()
    assert "the app's export menu, e t, at epoch" in text
    done = subprocess.run([sys.executable, str(target), "--quiet", "--exact"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = re.findall(r"^epoch (\d+) loss : (\S+)", done.stdout, re.M)
    assert [int(epoch) for epoch, _ in lines] == [250, 500, 750, 1000]
    reports = [e for e in Trainer(config).run() if isinstance(e, EpochReport)]
    for (_, loss), report in zip(lines, reports, strict=True):
        assert float(loss) == report.loss  # the course's network: nn-tui's, bit for bit
    assert done.stdout.startswith("training 2-4-4-1 sigmoid (28 parameters) on xor")


async def test_a_run_too_big_for_a_script_is_named_in_the_prompt(tmp_path):
    app = NNApp(preset("dlp-xor").replace(hidden=(200, 200)))
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = await open_script_prompt(pilot, app)
        said = str(prompt.query_one("#prompt-text").render())
        assert "hidden 200,200" in said and "too many" in said
        prompt.input.value = str(tmp_path / "big.py")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(prompt.error))
        assert prompt.error.startswith("hidden 200,200: 40,600 weights are too many")
        assert "\n" not in prompt.error and prompt.is_attached
        assert not (tmp_path / "big.py").exists()
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running
