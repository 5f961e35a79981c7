"""Tests for tui.widgets.footer.KeyFooter: Textual's Footer, rebuilt only when its keys change."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.pilot import Pilot
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from tui.widgets.footer import KeyFooter


class Host(App[None]):
    """Two text fields, two app keys (one can be disabled, one hidden) and the footer."""

    BINDINGS = [Binding("f2", "go", "Go"), Binding("f3", "maybe", "Maybe")]

    def __init__(self) -> None:
        super().__init__()
        self.go_enabled = True
        self.maybe_shown = True

    def compose(self) -> ComposeResult:
        yield Input(id="one")
        yield Input(id="two")
        yield KeyFooter(id="footer", compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            return True if self.go_enabled else None  # None: shown, disabled
        if action == "maybe":
            return self.maybe_shown  # False: not shown
        return True

    def action_go(self) -> None:
        pass

    def action_maybe(self) -> None:
        pass


def keys(app: Host) -> dict[str, FooterKey]:
    return {key.key: key for key in app.query_one(KeyFooter).query(FooterKey)}


def run(check) -> None:
    async def main() -> None:
        app = Host()
        async with app.run_test(size=(80, 10)) as pilot:
            await pilot.pause()
            await check(app, pilot)

    asyncio.run(main())


def test_keys_show_from_the_first_frame_and_survive_focus_moves() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        first = keys(app)
        assert {"f2", "f3"} <= set(first)
        assert first["f2"].description == "Go" and not first["f2"].has_class("-disabled")
        assert first["f2"].has_class("-compact")
        app.query_one("#two", Input).focus()
        await pilot.pause()
        app.query_one("#one", Input).focus()
        await pilot.pause()
        after = keys(app)
        assert all(after[key] is first[key] for key in first), "same keys: not rebuilt"

    run(check)


def test_keys_follow_a_change_in_what_is_enabled_or_shown() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        app.go_enabled = False
        app.refresh_bindings()
        await pilot.pause()
        assert keys(app)["f2"].has_class("-disabled")
        app.maybe_shown = False
        app.refresh_bindings()
        await pilot.pause()
        assert "f3" not in keys(app)
        app.go_enabled = app.maybe_shown = True
        app.refresh_bindings()
        await pilot.pause()
        shown = keys(app)
        assert "f3" in shown and not shown["f2"].has_class("-disabled")

    run(check)
