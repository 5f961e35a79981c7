"""The help screen: every key of the app, what it does, and how to get around.

Built from the app's own ``BINDINGS`` and those of the inspect and runs screens (so
it can never miss a key), with a longer explanation per binding id from ``DETAILS``
and ``SCREEN_DETAILS``. ``escape`` (or ``?``, ``q``) closes it.
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
    "noise-up": "Draw the data again with 0.05 more noise, and reset.",
    "noise-down": "Draw the data again with 0.05 less noise, and reset.",
    "split-up": "Hold out 0.1 more of the data for testing, and reset.",
    "split-down": "Hold out 0.1 less (0: no test set), and reset.",
    "load-data": "Train on your own x1,x2,label CSV file (tab completes paths).",
    "boundary": "Panel 3: the scatter pair, or p(class 1) shaded over the plane.",
    "inspect": "Weights as a heatmap, one hidden unit over the plane, norms.",
    "runs": "Kept runs in a sortable table; overlay their loss curves.",
    "gradcheck": "Backprop against finite differences, per layer, on a copy.",
    "save-run": "Config, weights and history to a .npz run file.",
    "open-run": "Reopen a run file: same weights, same predictions.",
    "export": "Loss history or predictions (CSV), config (TOML), screen (SVG).",
    "panel-editor": "Show the editor and type in it; enter or tab moves on.",
    "panel-loss": "Show the loss chart: log scale, rate changes dotted.",
    "panel-scatter": "Show the predictions: truth beside prediction, or the map (b).",
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

SCREEN_DETAILS: dict[str, tuple[str, str]] = {
    "inspect.previous-layer": ("Previous / next layer",
                               "The heatmap shows another layer's [W; b] (bias last)."),
    "inspect.previous-unit": ("Previous / next unit",
                              "The map shows another hidden unit's activation."),
    "inspect.close": ("Back", "Return to the main screen (i closes it too)."),
    "runs.overlay": ("Overlay the run",
                     "Its loss curve on the loss charts (enter too); again: off."),
    "runs.reopen": ("Reopen the run",
                    "Load it from its file, as ctrl+o; runs are kept in ~/.local/share/nn-tui."),
    "runs.sort-number": ("Sort", "1-9, 0 sort by the numbered column, # by run; again reverses."),
    "runs.load-sweep": ("Load a sweep CSV", "The runs of nn-tui sweep --csv join the table."),
    "runs.clear-overlays": ("Clear overlays", "Take every overlay off the loss charts."),
    "runs.forget": ("Forget the run", "Take it out of the table."),
    "runs.close": ("Back", "Return to the main screen (R closes it too)."),
}
"""Help rows of the inspect and runs screens, by the id of their first binding."""

MERGED = {
    "inspect.next-layer": "inspect.previous-layer",
    "inspect.next-unit": "inspect.previous-unit",
}
"""Bindings shown on the row of another one (their keys joined)."""

KEYS_SHOWN = {"runs.sort-number": "1-9 0 #"}
"""Keys written differently from the bindings' own (a whole family of keys)."""


def screen_rows(bindings, app) -> list[tuple[str, str, str]]:
    """(keys, title, detail) of a screen's bindings, a row per ``SCREEN_DETAILS`` entry."""
    rows: dict[str, list] = {}
    for binding in bindings:
        if not isinstance(binding, Binding) or not binding.id:
            continue
        leader = MERGED.get(binding.id, binding.id)
        if leader.startswith("runs.sort-"):
            leader = "runs.sort-number"
        if leader not in SCREEN_DETAILS:
            continue
        keys = rows.setdefault(leader, [])
        keys.append(key_label(binding, app))
    return [(KEYS_SHOWN.get(leader, " / ".join(keys)), *SCREEN_DETAILS[leader])
            for leader, keys in rows.items()]


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
        width: 116;
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
    HelpScreen #help-intro { color: $foreground 80%; }
    HelpScreen .help-row { height: auto; }
    HelpScreen .help-heading { margin-top: 1; }
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
                    "Every run that finishes, diverges or is replaced is kept: R compares "
                    "them. In a text field keys just type: escape leaves it.",
                    id="help-intro",
                )
                yield from self._key_rows()

    def on_mount(self) -> None:
        self.query_one("#help-scroll").focus()

    def sections(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """(heading, rows): the main screen's keys, the inspect and runs screens', the rest.

        The app's bindings come in ``DETAILS`` order; any binding missing there follows.
        """
        from tui.screens.inspect_runs import (  # they import this module's peers
            InspectScreen,
            RunsScreen,
        )

        order = list(DETAILS)
        bindings = [b for b in self.app.BINDINGS if isinstance(b, Binding)]
        bindings.sort(key=lambda b: order.index(b.id) if b.id in order else len(order))
        main = [(key_label(b, self.app), b.tooltip or b.description, DETAILS.get(b.id or "", ""))
                for b in bindings]
        return [
            ("Main screen", main),
            ("Inspect screen (i)", screen_rows(InspectScreen.BINDINGS, self.app)),
            ("Runs screen (R)", screen_rows(RunsScreen.BINDINGS, self.app)),
            ("Everywhere", list(EXTRA)),
        ]

    def rows(self) -> list[tuple[str, str, str]]:
        """(keys, title, detail) for every binding of the app and its screens, then the extras."""
        return [row for _, rows in self.sections() for row in rows]

    def _key_rows(self) -> ComposeResult:
        rows = self.rows()
        key_width = max(len(k) for k, _, _ in rows) + 1
        desc_width = max(len(d) for _, d, _ in rows) + 2
        for heading, section in self.sections():
            yield Static(Content.styled(heading, "bold $primary"), classes="help-heading")
            for key, description, detail in section:
                with Horizontal(classes="help-row"):
                    yield Static(Content.styled(key, "bold $accent"), classes="help-key",
                                 ).set_styles(f"width: {key_width};")
                    yield Static(Content.styled(description, "bold"), classes="help-desc",
                                 ).set_styles(f"width: {desc_width};")
                    yield Static(Content(detail), classes="help-detail")

    def action_close(self) -> None:
        self.dismiss(None)
