"""The help screen: every key of the app, what it does, and how to get around.

Built from the app's own ``BINDINGS`` and those of the inspect and runs screens (so
it can never miss a key): a main-screen row is a binding's key, ``tooltip`` and
``detail`` (``tui.app.HelpBinding``), in ``HELP_ORDER``; the inspect and runs screens'
rows take their titles and explanations from ``SCREEN_DETAILS``; ``EXTRA`` holds the
few keys no binding of ours owns. ``escape`` (or ``?``, ``q``) closes it.

The README's key table is these rows too: ``python -m tui.screens.help README.md``
rewrites it from them, and tests/tui/test_keys_doc.py fails while it differs.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_ORDER = (
    "run-pause", "step-epoch", "step-log", "lr-double", "lr-halve", "speed-down", "speed-up",
    "reset", "apply",
    "new-data", "cycle-dataset", "noise-up", "noise-down", "split-up", "split-down",
    "load-data", "boundary", "inspect", "explain", "runs", "race", "gradcheck", "save-run",
    "open-run", "export",
    "panel-editor", "panel-loss", "panel-scatter", "panel-log", "leave-field", "theme",
    "help", "quit",
)
"""The order the help screen lists the app's bindings in, by id (the footer has its own
order, ``NNApp.BINDINGS``'); a binding missing here follows them. The texts themselves
are the bindings' own: ``tooltip`` the title, ``detail`` the explanation."""

EXTRA = (
    ("ctrl+p", "Command palette", "Every action by name, searchable."),
    ("tab", "Next field or panel", "shift+tab goes back; the mouse works too."),
)

SCREEN_DETAILS: dict[str, tuple[str, str]] = {
    "inspect.previous-layer": ("Previous / next layer",
                               "The heatmap shows another layer's [W; b] (bias last)."),
    "inspect.previous-unit": ("Previous / next unit",
                              "The map shows another hidden unit's activation."),
    "inspect.cell-left": ("Move the weight cursor",
                          "Over the heatmap's cells (h j k l too), on through the layers."),
    "inspect.edit": ("Edit the weight",
                     "Type its new value (training pauses); loss and map follow at once."),
    "inspect.close": ("Back", "Return to the main screen (i closes it too)."),
    "runs.overlay": ("Overlay the run",
                     "Its loss curve on the loss charts (enter too); again: off."),
    "runs.reopen": ("Reopen the run",
                    "Load it from its file, as ctrl+o; runs are kept in {runs}."),
    "runs.sort-number": ("Sort", "1-9, 0 sort by the numbered column, # by run; again reverses."),
    "runs.load-sweep": ("Load a sweep CSV", "The runs of nn-tui sweep --csv join the table."),
    "runs.clear-overlays": ("Clear overlays", "Take every overlay off the loss charts."),
    "runs.forget": ("Forget the run", "Take it out of the table."),
    "runs.close": ("Back", "Return to the main screen (R closes it too)."),
}
"""Help rows of the inspect and runs screens, by the id of their first binding; ``{runs}``
stands for the run archive's folder."""

RUNS_FOLDER = "~/.local/share/nn-tui/runs"
"""The run archive's folder as the README names it: the default, whatever this machine's
``XDG_DATA_HOME`` (the help screen names the real one, ``shown_runs_folder``)."""


def shown_runs_folder() -> str:
    """The run archive's folder here (``tui.core.archive.runs_dir``), ``~`` for home."""
    from pathlib import Path

    from tui.core.archive import runs_dir

    folder, home = runs_dir(), Path.home()
    return f"~/{folder.relative_to(home)}" if folder.is_relative_to(home) else str(folder)

MERGED = {
    "inspect.next-layer": "inspect.previous-layer",
    "inspect.next-unit": "inspect.previous-unit",
    "inspect.cell-down": "inspect.cell-left",
    "inspect.cell-up": "inspect.cell-left",
    "inspect.cell-right": "inspect.cell-left",
}
"""Bindings shown on the row of another one (their keys joined)."""

KEYS_SHOWN = {"runs.sort-number": "1-9 0 #", "inspect.cell-left": "← ↓ ↑ →"}
"""Keys written differently from the bindings' own (a whole family of keys)."""


def screen_rows(bindings, app, runs: str = RUNS_FOLDER) -> list[tuple[str, str, str]]:
    """(keys, title, detail) of a screen's bindings, a row per ``SCREEN_DETAILS`` entry
    (``runs``: the archive's folder to name)."""
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
    return [(KEYS_SHOWN.get(leader, " / ".join(keys)), SCREEN_DETAILS[leader][0],
             SCREEN_DETAILS[leader][1].replace("{runs}", runs))
            for leader, keys in rows.items()]


def key_label(binding: Binding, app) -> str:
    """``space``, ``a / ctrl+s``, ``]``: the keys of a binding as the user types them."""
    keys = [k.strip() for k in binding.key.split(",")]
    if binding.key_display and len(keys) == 1:
        return binding.key_display
    return " / ".join(app.get_key_display(Binding(k, binding.action)) for k in keys)


def help_sections(app, runs: str = RUNS_FOLDER) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The help screen's (heading, rows) of ``app`` (keys shown as ``app`` shows them);
    ``runs``: the archive's folder they name (the README's default: ``RUNS_FOLDER``)."""
    from tui.screens.inspect_runs import (  # they import this module's peers
        InspectScreen,
        RunsScreen,
    )

    order = list(HELP_ORDER)
    bindings = [b for b in app.BINDINGS if isinstance(b, Binding)]
    bindings.sort(key=lambda b: order.index(b.id) if b.id in order else len(order))
    main = [(key_label(b, app), b.tooltip or b.description, getattr(b, "detail", ""))
            for b in bindings]
    return [
        ("Main screen", main),
        ("Inspect screen (i)", screen_rows(InspectScreen.BINDINGS, app)),
        ("Runs screen (R)", screen_rows(RunsScreen.BINDINGS, app, runs)),
        ("Everywhere", list(EXTRA)),
    ]


README_START = "<!-- keys: generated by python -m tui.screens.help README.md -->"
README_END = "<!-- keys: end -->"
"""The markers around the README's key table."""


def markdown_table(sections) -> str:
    """The help screen's sections as the README's markdown key table."""

    def cell(text: str) -> str:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
            .replace("|", "\\|")

    lines = ["| key | action | what it does |", "|---|---|---|"]
    for heading, rows in sections:
        lines.append(f"| **{cell(heading)}** | | |")
        for keys, title, detail in rows:
            kbd = " / ".join(f"<kbd>{cell(k)}</kbd>" for k in keys.split(" / "))
            lines.append(f"| {kbd} | {cell(title)} | {cell(detail)} |")
    return "\n".join(lines) + "\n"


def readme_keys(app=None) -> str:
    """The README's key block (markers included), from the help of ``app`` (default: nn-tui's)."""
    if app is None:
        from textual.app import App

        from tui.app import NNApp

        # get_key_display needs no running app: a bare App shows keys as NNApp does.
        app = App()
        app.BINDINGS = NNApp.BINDINGS
    return f"{README_START}\n\n{markdown_table(help_sections(app))}\n{README_END}"


def rewrite_readme(text: str, app=None) -> str:
    """``text`` (the README) with its key block replaced by the current one."""
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    return text[:start] + readme_keys(app) + text[end:]


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

        The app's bindings come in ``HELP_ORDER``; any binding missing there follows. The
        runs screen's row names this machine's archive folder (``XDG_DATA_HOME``).
        """
        return help_sections(self.app, shown_runs_folder())

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


if __name__ == "__main__":  # python -m tui.screens.help [README.md]: print or rewrite
    import sys
    from pathlib import Path

    if len(sys.argv) > 1:
        readme = Path(sys.argv[1])
        readme.write_text(rewrite_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(readme_keys())
