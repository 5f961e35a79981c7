"""Small modal screens: a path prompt with completion, a number prompt, the export menu, the
gradient check.

:class:`PathPrompt` asks for a file path and hands it to an action (save, open,
export, load). The action runs while the prompt is still open: if it raises (a
``ValueError`` such as ``RunFileError``, ``DataError``, ``ExportError``, or an
``OSError``), the message shows under the field and the prompt stays, with nothing
changed; only a path that worked closes it. ``tab`` (or ``→`` at the end of the
field) accepts the completion :class:`PathSuggester` offers from the filesystem.

Modal screens take the keyboard: the app's single-letter keys do not act under them.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.command import CommandList
from textual.command import CommandPalette as TextualCommandPalette
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from tui.core.confine import OutsideRootError, confine
from tui.core.safe_text import printable
from tui.core.training import GradcheckReport

MAX_MATCHES = 6
"""The prompt lists at most this many matching entries under the field."""

PathAction = Callable[[Path], Awaitable[str | None] | str | None]
"""What a prompt does with the path: returns an optional message, raises to refuse."""


# ------------------------------------------------------------------ completion


def _listing(value: str, cwd: Path | None = None) -> tuple[str, list[tuple[str, bool]]]:
    """(typed name prefix, [(entry name, is folder)]) of the folder ``value`` points into.

    Hidden entries only when the prefix starts with a dot; sorted, folders first.
    """
    head, prefix = os.path.split(value)
    folder = Path(os.path.expanduser(head)) if head else Path(".")
    if cwd is not None and not folder.is_absolute():
        folder = cwd / folder
    try:
        folder = confine(folder)
    except OutsideRootError:
        return prefix, []  # a served app lists nothing outside its folder
    entries: list[tuple[str, bool]] = []
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                entries.append((entry.name, is_dir))
    except OSError:
        return prefix, []
    entries.sort(key=lambda e: (not e[1], e[0]))
    return prefix, entries


def complete_path(value: str, cwd: Path | None = None) -> str | None:
    """``value`` completed from the filesystem, or None when nothing (more) fits.

    One match: its whole name (``/`` after a folder). Several: their common prefix,
    as a shell's first tab does.
    """
    if not value:
        return None
    prefix, entries = _listing(value, cwd)
    if not entries:
        return None
    if len(entries) == 1:
        name, is_dir = entries[0]
        completion = name + ("/" if is_dir else "")
    else:
        completion = os.path.commonprefix([name for name, _ in entries])
    if len(completion) <= len(prefix) or printable(completion) != completion:
        return None  # a name with control characters is listed escaped, never typed in
    return value + completion[len(prefix):]


def matching_entries(value: str, cwd: Path | None = None, limit: int = MAX_MATCHES) -> str:
    """``runs/  xor.npz  xor2.npz …``: what the typed prefix matches, for the hint line."""
    _, entries = _listing(value, cwd)
    names = [printable(name) + ("/" if is_dir else "") for name, is_dir in entries]
    text = "  ".join(names[:limit])
    return text + ("  …" if len(names) > limit else "")


class PathSuggester(Suggester):
    """Suggests the rest of a path from the filesystem (folder entries matching the prefix)."""

    def __init__(self, cwd: Path | None = None) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.cwd = cwd

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value, self.cwd)


def resolve_path(text: str) -> Path:
    """The typed text as a path: ``~`` expanded, relative to the current folder.

    In an app served to a browser (``tui.core.confine``), relative to the served folder,
    and a path outside it (``../``, absolute, ``~``, a symlink out) raises
    ``OutsideRootError`` (a ValueError): a browser's user owns no other file here.
    """
    return confine(Path(os.path.expanduser(text.strip())))


# ------------------------------------------------------------------ the prompt

_BOX_CSS = """
    align: center middle;
    background: $background 60%;
    & > Vertical {
        width: 76;
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
"""


class DismissOnce:
    """A screen that closes once: a second ``dismiss`` does nothing.

    Textual's ``Screen.dismiss`` pops whatever screen is on top. A message already
    queued to a dialog when it closes (an ``OptionList.OptionSelected`` after escape,
    an ``Input.Submitted`` after the path worked) dismissed it a second time and so
    popped the screen under it: the main screen (``ScreenStackError``, the app ended)
    or the inspect or runs screen. Only the screen on top is dismissed.
    """

    def dismiss(self, result=None) -> AwaitComplete:
        stack = self.app.screen_stack
        if not stack or stack[-1] is not self:
            return AwaitComplete()
        return super().dismiss(result)


class PathPrompt(DismissOnce, ModalScreen[Path | None]):
    """Ask for a path, run ``action`` on it; an error keeps the prompt open and says why."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("tab", "complete", "Complete", id="prompt.complete", show=False),
    ]

    DEFAULT_CSS = "PathPrompt {" + _BOX_CSS + """
        #prompt-text { color: $foreground 80%; }
        #prompt-input { margin: 1 0 0 0; background: $panel; }
        #prompt-matches { color: $foreground 55%; height: auto; max-height: 2; }
        #prompt-error { color: $text-error; text-style: bold; height: auto; }
        #prompt-error.-warning { color: $text-warning; }
        #prompt-error.-empty { display: none; }
    }
    """

    def __init__(
        self,
        title: str,
        action: PathAction,
        *,
        default: str = "",
        text: str = "",
        cwd: Path | None = None,
        writes: Callable[[Path], Path] | None = None,
    ) -> None:
        """``writes`` maps the typed path to the file the action would write: when that
        file exists, a first enter only warns, a second one (same path) replaces it."""
        super().__init__()
        self.title_text = title
        self.action = action
        self.default = default
        self.text = text
        self.cwd = cwd
        self.writes = writes
        self.error = ""
        """The message of the last refused path ('' if none)."""
        self.busy = False
        self._confirmed: Path | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "tab completes · enter · esc cancels"
            if self.text:
                yield Static(self.text, id="prompt-text", markup=False)
            yield Input(self.default, id="prompt-input", suggester=PathSuggester(self.cwd),
                        placeholder="a path, e.g. ./runs/xor.npz", compact=True)
            yield Static("", id="prompt-matches", markup=False)
            yield Static("", id="prompt-error", classes="-empty", markup=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        field.focus()
        field.cursor_position = len(field.value)
        self._show_matches(field.value)

    @property
    def input(self) -> Input:
        return self.query_one("#prompt-input", Input)

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        self._show_matches(event.value)

    def _show_matches(self, value: str) -> None:
        text = matching_entries(value, self.cwd) if value else ""
        self.query_one("#prompt-matches", Static).update(text)

    def show_error(self, message: str, warning: bool = False) -> None:
        self.error = message
        line = self.query_one("#prompt-error", Static)
        line.update(("⚠ " if warning else "✖ ") + message if message else "")
        line.set_class(not message, "-empty")
        line.set_class(warning, "-warning")

    def action_complete(self) -> None:
        """Tab: accept the suggestion (as → does at the end of the field)."""
        field = self.input
        suggestion = field._suggestion  # noqa: SLF001 (Input has no public accessor)
        if suggestion and len(suggestion) > len(field.value):
            field.value = suggestion
            field.cursor_position = len(suggestion)
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#prompt-input")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.submit(event.value)

    async def submit(self, text: str) -> bool:
        """Run the action on ``text``; close on success, else show the error. True if done."""
        if self.busy:
            return False
        if not text.strip():
            self.show_error("type a path first")
            return False
        try:  # outside a served app's folder: refused before even looking at the file
            path = resolve_path(text)
            target = confine(self.writes(path)) if self.writes is not None else None
        except OutsideRootError as error:
            self.show_error(str(error))
            self.app.bell()
            return False
        if target is not None and target.is_file() and target != self._confirmed:
            self._confirmed = target
            self.show_error(f"{target} exists: enter again to replace it", warning=True)
            return False
        self.busy = True
        try:
            result = self.action(path)
            if inspect.isawaitable(result):
                result = await result
        except (ValueError, OSError) as error:
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.show_error(message)
            self.app.bell()
            return False
        finally:
            self.busy = False
        self.dismiss(path)
        if result:
            self.app.notify(str(result))
        return True


# ------------------------------------------------------------------ a number

class ValuePrompt(DismissOnce, ModalScreen[object]):
    """Ask for one number (the inspect screen's weight edit) and hand the text to ``action``.

    As with :class:`PathPrompt`, the action runs while the prompt is open: a ValueError
    (``engine.train.edits.EditError``: not a finite number, an edit refused) shows its
    one line under the field and the prompt stays; what worked closes it with the
    action's result.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="value.cancel"),
    ]

    DEFAULT_CSS = "ValuePrompt {" + _BOX_CSS + """
        & > Vertical { width: 60; }
        #value-text { color: $foreground 80%; }
        #value-input { margin: 1 0 0 0; background: $panel; }
        #value-error { color: $text-error; text-style: bold; height: auto; }
        #value-error.-empty { display: none; }
    }
    """

    def __init__(self, title: str, action: Callable[[str], object], *, default: str = "",
                 text: str = "") -> None:
        super().__init__()
        self.title_text, self.action, self.default, self.text = title, action, default, text
        self.error = ""
        """The message of the last refused value ('' if none)."""

    def compose(self) -> ComposeResult:
        with Vertical(id="value-box") as box:
            box.border_title = self.title_text
            box.border_subtitle = "enter sets · esc cancels"
            if self.text:
                yield Static(self.text, id="value-text", markup=False)
            yield Input(self.default, id="value-input", placeholder="a number, e.g. -0.5",
                        compact=True, select_on_focus=True)
            yield Static("", id="value-error", classes="-empty", markup=False)

    def on_mount(self) -> None:
        self.input.focus()

    @property
    def input(self) -> Input:
        return self.query_one("#value-input", Input)

    def show_error(self, message: str) -> None:
        self.error = message
        line = self.query_one("#value-error", Static)
        line.update("✖ " + message if message else "")
        line.set_class(not message, "-empty")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#value-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit(event.value)

    def submit(self, text: str) -> bool:
        """Hand ``text`` to the action; close on success, else show why. True if done."""
        try:
            result = self.action(text)
        except ValueError as error:
            self.show_error(str(error) or type(error).__name__)
            self.app.bell()
            return False
        self.dismiss(result)
        return True


# ------------------------------------------------------------------ export menu

EXPORTS: dict[str, tuple[str, str, str]] = {
    # kind: (key, title, default file name)
    "history": ("h", "Loss history (CSV)", "nn-tui-history.csv"),
    "predictions": ("p", "Predictions (CSV)", "nn-tui-predictions.csv"),
    "config": ("c", "Config (TOML)", "nn-tui-config.toml"),
    "screenshot": ("s", "Screenshot (SVG)", "nn-tui-screenshot.svg"),
    "figures": ("f", "Figures (PNG)", "nn-tui-figures"),
    "script": ("t", "Training script (NumPy .py)", "nn-tui-train.py"),
}
"""What can be exported, with its key in the menu and its default path (for the figures:
a folder, which gets the course's loss.png, result.png and boundary.png; for the script:
the run as one plain NumPy file, engine/io/script.py)."""


class KeyMenu(DismissOnce, ModalScreen[str | None]):
    """A small menu whose every choice has a key: returns the chosen id, or None (esc).

    A subclass names its ``choices`` (id: (key, title)) and binds their keys with
    ``pick('<id>')``; ``title`` and ``intro`` are shown above them.
    """

    DEFAULT_CSS = "KeyMenu {" + _BOX_CSS + """
        & > Vertical { width: 48; }
        #menu-intro { color: $foreground 70%; }
        OptionList, OptionList:focus { border: none; height: auto; background: $surface;
                                       padding: 0; margin: 1 0 0 0; }
    }
    """

    def __init__(self, title: str, choices: dict[str, tuple[str, str]], intro: str = "") -> None:
        super().__init__()
        self.menu_title, self.choices, self.intro = title, choices, intro

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.menu_title
            box.border_subtitle = "enter or a key · esc"
            if self.intro:
                yield Static(self.intro, id="menu-intro", markup=False)
            yield OptionList(*(
                Option(Content.assemble((f" {key} ", "bold $accent"), f" {title}"), id=kind)
                for kind, (key, title) in self.choices.items()), id="menu-options")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_pick(self, kind: str) -> None:
        self.dismiss(kind)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ExportMenu(KeyMenu):
    """Pick what to export: returns the kind (a key of ``EXPORTS``) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,e", "cancel", "Cancel", id="export.cancel"),
        *(Binding(key, f"pick('{kind}')", title, id=f"export.{kind}", show=False)
          for kind, (key, title, _) in EXPORTS.items()),
    ]

    def __init__(self) -> None:
        choices = {kind: (key, title) for kind, (key, title, _) in EXPORTS.items()}
        super().__init__("Export", choices)


# ------------------------------------------------------------------ gradient check


class GradcheckScreen(DismissOnce, ModalScreen[None]):
    """Backprop against finite differences, per layer, computed in a worker thread.

    ``compute`` builds the report (on a copy of the network: the trainer is never
    touched); the table fills when it is done.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,g", "close", "Close", id="gradcheck.close"),
    ]

    DEFAULT_CSS = "GradcheckScreen {" + _BOX_CSS + """
        & > Vertical { width: 80; }
        #gradcheck-intro { color: $foreground 75%; }
        DataTable { height: auto; max-height: 12; margin: 1 0; background: $surface; }
        #gradcheck-verdict { text-style: bold; }
        #gradcheck-verdict.-pass { color: $text-success; }
        #gradcheck-verdict.-fail { color: $text-error; }
        #gradcheck-verdict.-unsure { color: $text-warning; }
    }
    """

    def __init__(self, compute: Callable[[], GradcheckReport], title: str = "") -> None:
        super().__init__()
        self.compute = compute
        self.title_text = title
        self.report: GradcheckReport | None = None
        self.failure = ""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Gradient check"
            box.border_subtitle = "esc closes"
            yield Static(self.title_text or "checking…", id="gradcheck-intro", markup=False)
            table: DataTable = DataTable(id="gradcheck-table", cursor_type="none",
                                         zebra_stripes=True)
            yield table
            yield Static("checking…", id="gradcheck-verdict", markup=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key in (("layer", "layer"), ("shape", "shape"),
                           ("weights error", "weights"), ("biases error", "biases"),
                           ("parameters", "parameters"), ("verdict", "verdict")):
            # the verdicts are styled Content, which the table does not measure
            table.add_column(label, key=key, width=9 if key == "verdict" else None)
        self._run()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _run(self) -> None:
        try:
            report = self.compute()
        except Exception as error:  # shown, never raised into the app
            message = getattr(error, "message", None) or str(error) or type(error).__name__
            self.app.call_from_thread(self._failed, message)
            return
        self.app.call_from_thread(self._show, report)

    def _failed(self, message: str) -> None:
        self.failure = message
        verdict = self.query_one("#gradcheck-verdict", Static)
        verdict.set_classes("-fail")
        verdict.update("✖ " + message)

    def _show(self, report: GradcheckReport) -> None:
        if not self.is_attached:
            return
        self.report = report
        table = self.query_one(DataTable)
        sizes = report.sizes
        for check in report.checks:
            bias = "—" if check.bias_error is None else f"{check.bias_error:.1e}"
            if check.verdict == "pass":
                verdict = Content.styled("✔ pass", "bold $text-success")
            elif check.verdict == "fail":
                verdict = Content.styled("✖ fail", "bold $text-error")
            else:  # inconclusive: nothing big enough to compare
                verdict = Content.styled("zero grad" if check.zero else "too small",
                                         "$text-warning")
            index = check.layer - 1
            table.add_row(
                str(check.layer), f"{sizes[index]}×{sizes[index + 1]}",
                f"{check.weight_error:.1e}", bias, f"{check.n_checked:,}", verdict,
                key=str(check.layer),
            )
        # the engine's words, as nn-tui gradcheck prints them (engine/train/gradcheck.py)
        verdict = self.query_one("#gradcheck-verdict", Static)
        if report.inconclusive:
            verdict.set_classes("-unsure")
            verdict.update(report.summary)
        elif report.passed:
            verdict.set_classes("-pass")
            verdict.update("✔ " + report.summary)
        else:
            verdict.set_classes("-fail")
            verdict.update("✖ " + report.summary)

    def action_close(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------ command palette


class CommandPalette(DismissOnce, TextualCommandPalette):
    """Textual's command palette (and theme picker), without three of its crashes.

    Each is a race in Textual 8.2.8 that a quick key sequence hits (more easily while
    training keeps the event loop busy) and each ended the app with a traceback:

    * page up / page down before the list has a size (``OptionList._move_page``
      raises ``KeyError``), e.g. pagedown just after ctrl+p: until the list is laid
      out there is nothing to page through, so the key is ignored;
    * a character typed just before escape: its ``Input.Changed`` is handled after
      the palette closed and starts a new search, whose worker then finds no command
      list (``NoMatches``): a closed palette starts no search;
    * a selection handled after the palette closed dismissed it again, which pops
      the screen under it (``ScreenStackError`` on the main screen): see DismissOnce.
    """

    def _action_command_list(self, action: str) -> None:
        if action in ("page_up", "page_down"):
            lists = self.query(CommandList)
            if not lists or not lists.first().scrollable_content_region:
                return
        super()._action_command_list(action)

    # The check runs inside the worker, right before Textual's search looks the list up
    # (nothing awaits in between): a search queued while the palette was open may start
    # after it closed, and under load it did (NoMatches in CI).
    @work(exclusive=True, group=TextualCommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:  # type: ignore[override]
        stack = self.app.screen_stack
        if not stack or stack[-1] is not self or not self.query(CommandList):
            return  # closed (or not built yet): no search
        await _textual_gather_commands(self, search_value)


# Textual's search itself, without its worker decorator (ours above runs it in the same
# worker group, so a newer search still cancels an older one).
_textual_gather_commands = TextualCommandPalette._gather_commands.__wrapped__


__all__ = [
    "CommandPalette",
    "DismissOnce",
    "EXPORTS",
    "ExportMenu",
    "GradcheckScreen",
    "PathPrompt",
    "PathSuggester",
    "ValuePrompt",
    "complete_path",
    "matching_entries",
    "resolve_path",
]
