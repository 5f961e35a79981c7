"""The help screen: every key of the app, what it does, and how to get around.

Built from the app's own ``BINDINGS`` (so it can never miss a key), with a longer
explanation per binding id from ``DETAILS``. ``escape`` (or ``?``, ``q``) closes it.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

DETAILS: dict[str, str] = {
    "run-pause": "Train in the background; every key keeps working meanwhile.",
    "step-epoch": "Train exactly one epoch (pauses a running training first).",
    "step-log": "Train one log interval (log every) epochs.",
    "lr-double": "Double the learning rate now, even while training.",
    "lr-halve": "Halve it now; also resumes a run that diverged.",
    "reset": "Fresh weights from the config's seed, epoch 0.",
    "apply": "Use the editor's config (refused while a field is invalid).",
    "new-data": "Draw the dataset again with the next data seed, and reset.",
    "cycle-dataset": "Switch to the next generated dataset, and reset.",
    "panel-editor": "Show the editor and type in it; enter or tab moves on.",
    "panel-loss": "Show the loss chart: log scale, rate changes dotted.",
    "panel-scatter": "Show the ground truth beside the predictions.",
    "panel-log": "Show the epoch log; arrows and page keys scroll it.",
    "leave-field": "Leave a text field, so that single keys act again.",
    "theme": "Pick a colour theme; nn-tui remembers it.",
    "help": "Every key and what it does (this screen).",
    "quit": "Leave nn-tui.",
}
"""A line of explanation per binding id, in the order the help screen lists them."""

EXTRA = (
    ("ctrl+p", "Command palette", "Every action by name, searchable."),
    ("tab", "Next field or panel", "shift+tab goes back; the mouse works too."),
)


def key_label(binding: Binding, app) -> str:
    """``space``, ``a / ctrl+s``, ``]``: the keys of a binding as the user types them."""
    keys = [k.strip() for k in binding.key.split(",")]
    if binding.key_display and len(keys) == 1:
        return binding.key_display
    return " / ".join(app.get_key_display(Binding(k, binding.action)) for k in keys)


class HelpScreen(ModalScreen[None]):
    """A modal table of every key; escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        background: $background 60%;
    }
    HelpScreen > Vertical {
        width: 104;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        border-title-color: $primary;
        border-title-style: bold;
        border-subtitle-color: $foreground 60%;
        background: $surface;
        padding: 0 1;
    }
    HelpScreen VerticalScroll {
        height: auto;
        max-height: 100%;
        scrollbar-size-vertical: 1;
    }
    HelpScreen #help-intro { color: $foreground 80%; margin-bottom: 1; }
    HelpScreen .help-row { height: auto; }
    HelpScreen .help-key { text-align: right; padding-right: 1; }
    HelpScreen .help-detail { width: 1fr; color: $foreground 75%; }
    """

    def compose(self) -> ComposeResult:
        with Vertical() as frame:
            frame.border_title = "nn-tui · keys"
            frame.border_subtitle = "escape closes"
            with VerticalScroll(id="help-scroll"):
                yield Static(
                    "Train a small network from scratch: edit it in panel 1, press space, and "
                    "watch the loss fall (2), the predictions turn right (3) and the log (4). "
                    "In a text field keys just type: escape leaves it.",
                    id="help-intro",
                )
                yield from self._key_rows()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, title, detail) for every binding of the app, then the extras.

        Bindings with a ``DETAILS`` entry come in its order; any other binding follows.
        """
        order = list(DETAILS)
        bindings = [b for b in self.app.BINDINGS if isinstance(b, Binding)]
        bindings.sort(key=lambda b: order.index(b.id) if b.id in order else len(order))
        rows = [(key_label(b, self.app), b.tooltip or b.description, DETAILS.get(b.id or "", ""))
                for b in bindings]
        rows.extend(EXTRA)
        return rows

    def _key_rows(self) -> ComposeResult:
        rows = self.rows()
        key_width = max(len(k) for k, _, _ in rows) + 1
        desc_width = max(len(d) for _, d, _ in rows) + 2
        for key, description, detail in rows:
            with Horizontal(classes="help-row"):
                yield Static(Content.styled(key, "bold $accent"), classes="help-key",
                             ).set_styles(f"width: {key_width};")
                yield Static(Content.styled(description, "bold"), classes="help-desc",
                             ).set_styles(f"width: {desc_width};")
                yield Static(Content(detail), classes="help-detail")

    def action_close(self) -> None:
        self.dismiss(None)
