"""Start-up stays light: what the first frame does not need is imported later.

Each check runs in a fresh interpreter (``sys.modules`` of the test process has
everything loaded already). Behaviour only: no timings here (bench/startup.py times).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

LATER = ("tui.screens.inspect_runs", "tui.widgets.inspect", "tui.screens.prompts",
         "tui.screens.help")
"""Modules of screens and actions the first frame does not show or run."""


def loaded_after(code: str, tmp_path: Path) -> dict:
    """Run ``code`` in a new interpreter; it prints a JSON object last."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "NN_TUI_DETERMINISTIC": "1"}
    env.pop("NO_COLOR", None)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_app_imports_no_plotext_and_no_later_screens(tmp_path):
    found = loaded_after(
        "import json, sys, tui.app\n"
        f"print(json.dumps({{m: m in sys.modules for m in {[*LATER, 'plotext']!r}}}))",
        tmp_path,
    )
    assert not any(found.values()), found


def test_first_frame_leaves_screens_and_plotext_docs_for_later(tmp_path):
    code = f"""
import asyncio, json, sys
from tui.app import NNApp

async def main():
    app = NNApp()
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        loss, pair = app.query_one("LossChart"), app.query_one("ScatterPair")
        drawn = loss.draw_count > 0 and pair.draw_count > 0
        drawn = drawn and "loss (log)" in loss.render().plain
        drawn = drawn and "Ground truth" in pair.render().plain
    docs = sys.modules["plotext._doc.doc"].docs
    found = {{m: m in sys.modules for m in {list(LATER)!r}}}
    found["real plotext docs"] = type(docs).__name__ != "_DeferredDocs"
    found["charts drawn"] = drawn
    print(json.dumps(found))

asyncio.run(main())
"""
    found = loaded_after(code, tmp_path)
    assert found.pop("charts drawn") is True
    assert not any(found.values()), found


def test_plotext_docs_still_work_when_asked_for(tmp_path):
    code = """
import json
from tui.widgets.charts import _plotext
plotext = _plotext()
deferred = type(plotext.doc).__name__
plotext.doc.pixel  # first use builds the real documentation
print(json.dumps({"before": deferred, "after": type(plotext.doc).__name__}))
"""
    found = loaded_after(code, tmp_path)
    assert found["before"] == "_DeferredDocs"
    assert found["after"] != "_DeferredDocs"
