"""Regenerate the README's screenshot: python docs/make_screenshot.py

Opens the real app at 120x36 on the course's XOR preset, steps 65,000 epochs (past
the first learning-rate halvings) with timings hidden, and saves docs/nn-tui.svg.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main() -> None:
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp()  # the default theme, not the user's
    os.environ.pop("NO_COLOR", None)
    from tui.app import NNApp

    app = NNApp(deterministic=True)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(13):
            await pilot.press("n")
        await pilot.pause(0.5)
        app.save_screenshot(filename="nn-tui.svg", path=str(ROOT / "docs"))
    print(ROOT / "docs" / "nn-tui.svg")


if __name__ == "__main__":
    asyncio.run(main())
