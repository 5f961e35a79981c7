"""The key footer: Textual's ``Footer``, rebuilt only when the keys it shows change.

Textual's ``Footer`` removes and re-creates every ``FooterKey`` each time the screen
signals that its bindings were updated: on every focus change, on every
``refresh_bindings()``. Most of those signals change nothing the footer shows (moving
between two fields of the editor, say), and at start-up they fire several times in a
row; each rebuild mounts and styles ~17 widgets. ``KeyFooter`` keeps a signature of
what it shows and rebuilds only when that changes.

It also composes its keys with itself, so they are in the app's first frame: ``Footer``
starts empty and fills in only after the first bindings signal, a few refreshes (and,
at start-up, ~0.1 s) later.
"""

from __future__ import annotations

from collections.abc import Hashable

from textual.app import ComposeResult
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeyFooter(Footer):
    """A ``Footer`` that recomposes only when the shown keys (or their state) changed."""

    def __init__(self, *, id: str | None = None, compact: bool = False) -> None:
        super().__init__(id=id, compact=compact)
        self.set_reactive(Footer._bindings_ready, True)  # keys from the first compose on
        self._shown: Hashable | None = None
        """The signature of the keys last composed (``None``: nothing composed yet)."""

    def compose(self) -> ComposeResult:
        """Footer's keys, remembering their signature."""
        self._shown = self.shown_signature()
        for widget in super().compose():
            if self.compact and isinstance(widget, FooterKey):
                # a FooterKey (compact by default, or bound to the footer's compact) adds
                # its -compact class as it mounts, and that restyles it; given here, the
                # class is already there and nothing is restyled
                widget.set_class(True, "-compact", update=False)
            yield widget

    def on_mount(self) -> None:
        self.call_after_refresh(self._fit)

    def on_resize(self, _event: Resize) -> None:
        """Narrower or wider: show every key again, then drop those that do not fit."""
        for child in self._row():
            child.display = True
        self.call_after_refresh(self._fit)

    def _row(self) -> list:
        """The keys and key groups in the row (the command palette's key is docked apart)."""
        return [child for child in self.children
                if not child.has_class("-command-palette") and child.styles.dock == "none"]

    def _fit(self) -> None:
        """Hide whole keys (and groups) from the first that would run under the palette
        key or off the edge: ``Footer`` lets them scroll under it, which left stray
        letters ("^p palettet") and a group's keys without their label ("][")."""
        if not self.is_attached:
            return
        edge = self.region.right
        for child in self.children:
            if child.has_class("-command-palette") and child.display:
                edge = min(edge, child.region.x)
        cut = False
        for child in self._row():
            cut = cut or child.region.right + child.styles.margin.right > edge
            if cut:
                child.display = False

    def shown_signature(self) -> Hashable:
        """Everything ``Footer.compose`` reads from the screen's active bindings.

        For each shown binding: key, how the key is displayed, description, action,
        enabled, tooltip and group; plus whether the command palette key shows.
        """
        app = self.app
        keys = tuple(
            (key, binding.key, app.get_key_display(binding), binding.description,
             binding.action, enabled, tooltip, binding.group)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == app.COMMAND_PALETTE_BINDING
        )
        return keys, self.show_command_palette, app.ENABLE_COMMAND_PALETTE

    def bindings_changed(self, screen: Screen) -> None:
        """As ``Footer.bindings_changed``, but through the check in ``_update_keys``."""
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        """Recompose if the keys to show differ from those composed last."""
        if not self.is_attached:
            return
        signature = self.shown_signature()
        if signature == self._shown:
            return
        # recorded before the (awaited) recompose, so a second queued update that finds
        # the same keys returns at once instead of recomposing again
        self._shown = signature
        await self.recompose()
        self.call_after_refresh(self._fit)
