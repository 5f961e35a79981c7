"""Helpers for driving the app with Textual's Pilot while training runs."""

from __future__ import annotations

import asyncio
import time

from textual import events
from textual.app import App

CHARACTERS = {"space": " ", "plus": "+", "minus": "-", "greater_than_sign": ">",
              "less_than_sign": "<", "right_square_bracket": "]", "left_square_bracket": "["}


async def wait_for(pilot, condition, timeout: float = 15.0) -> None:
    """Let the app run until ``condition()`` holds (training happens in the background)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.02)


async def tap(app: App, *keys: str) -> None:
    """Keys while training runs (``pilot.press`` would wait for an idle CPU)."""
    for key in keys:
        app.post_message(events.Key(key, CHARACTERS.get(key, key if len(key) == 1 else None)))
        await asyncio.sleep(0.05)
