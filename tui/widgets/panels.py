"""Small panel widgets: the panel frame, the epoch log, the status line and the tab bar.

Colours are theme variables (``$log-rate``, ``$log-error``, ``$success`` ...), looked up
when drawn, so a theme change recolours everything already on screen.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable

from rich.style import Style
from rich.text import Text
from textual.containers import Vertical
from textual.content import Content
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import RichLog, Static

from engine import Diverged, EpochReport, Event, Finished, RateChange, WeightEdited
from tui.core.event_text import (
    diverged_text,
    epoch_text,
    finished_event_text,
    rate_change_text,
    weight_edit_text,
)
from tui.core.safe_text import printable
from tui.core.training import Status, format_lr, speed_text
from tui.widgets.palette import rich_color

LOG_MAX_LINES = 2000
"""The epoch log keeps at most this many lines (the oldest scroll away)."""

PANELS = ("editor", "loss", "scatter", "log")
"""Panel ids, in the order of the keys 1-4."""

PANEL_TITLES = {
    "editor": "Architecture",
    "loss": "Loss",
    "scatter": "Predictions",
    "log": "Epoch log",
}

SHORT_TITLES = {"editor": "Editor", "loss": "Loss", "scatter": "Predict", "log": "Log"}
"""Tab names when the full ones do not fit."""


class Panel(Vertical):
    """A bordered frame with ``N Title`` on its top edge; focusable when it holds a chart."""

    DEFAULT_CSS = """
    Panel {
        border: round $foreground 30%;
        border-title-color: $foreground 70%;
        border-title-style: bold;
        padding: 0 1;
        height: 1fr;
        width: 1fr;
        &:focus-within {
            border: round $primary;
            border-title-color: $primary;
        }
        /* NO_COLOR: the focused panel stands out by its heavy frame and reversed title */
        &:nocolor:focus-within {
            border: heavy $primary;
            border-title-style: bold reverse;
        }
    }
    """

    def __init__(self, panel: str, *, focusable: bool = False, id: str | None = None) -> None:
        super().__init__(id=id or f"{panel}-panel", classes="panel")
        self.panel = panel
        self.can_focus = focusable
        self.note = ""
        self.set_title(PANEL_TITLES[panel])

    def set_title(self, title: str) -> None:
        """``3 Decision boundary``: the panel's number and a new title (the note stays)."""
        self.title = f"{PANELS.index(self.panel) + 1} {title}"
        self.show_note(self.note)

    def show_note(self, note: str) -> None:
        """A figure after the title on the top edge: ``3 Predictions · accuracy 95.2%``."""
        self.note = note
        self.border_title = f"{self.title} · {note}" if note else self.title


# ---------------------------------------------------------------- epoch log


class EpochLog(RichLog):
    """The course-format log: reports, highlighted rate changes, divergence, test summary.

    Keeps its entries (kind, text) so that a theme change can repaint them in the new
    colours; bounded to ``LOG_MAX_LINES`` both here and in the RichLog.
    """

    DEFAULT_CSS = """
    EpochLog {
        background: transparent;
        border: none;
        padding: 0;
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-size-vertical: 1;
        &:focus { background-tint: $foreground 3%; }
    }
    """

    # A RichLog re-lays the whole screen out after every write, because its virtual
    # size is a layout reactive. With lines wrapped (no horizontal scrolling) and the
    # vertical scrollbar always shown, nothing outside the log depends on that size:
    # a repaint and a scrollbar update suffice, and training keeps its time.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def watch_virtual_size(self, size: Size) -> None:
        self.vertical_scrollbar.window_virtual_size = size.height

    STYLE_VARIABLES = {
        "report": None,
        "rate": "log-rate",
        "error": "log-error",
        "finished": "success",
        "summary": None,
        "note": None,
        "dim": None,
    }

    def __init__(self, *, id: str | None = None, deterministic: bool = False) -> None:
        super().__init__(id=id, max_lines=LOG_MAX_LINES, wrap=True, markup=False,
                         auto_scroll=True, min_width=20)
        self._painted_width = 0
        self.entries: deque[tuple[str, str]] = deque(maxlen=LOG_MAX_LINES)
        self.deterministic = deterministic
        """Leave out timings (for snapshot tests)."""

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.repaint())

    def on_resize(self) -> None:
        """Re-wrap the lines for the new width."""
        width = self.scrollable_content_region.width
        if width != self._painted_width and self.entries:
            self.repaint()

    # --- writing ------------------------------------------------------------------
    def add(self, kind: str, text: str) -> None:
        # escaped line by line: errors name files, which may hold escape sequences
        text = "\n".join(printable(line) for line in text.split("\n"))
        self.entries.append((kind, text))
        self.write(self._styled(kind, text))

    def add_events(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, EpochReport):
                self.add("report", epoch_text(event, two_lines=True))
            elif isinstance(event, RateChange):
                self.add("rate", "▸ " + rate_change_text(event))
            elif isinstance(event, WeightEdited):
                self.add("rate", "✎ " + weight_edit_text(event))
            elif isinstance(event, Diverged):
                self.add("error", "✖ " + diverged_text(event))
            elif isinstance(event, Finished):
                self.add("finished", "✔ " + finished_event_text(event, not self.deterministic))

    def add_summary(self, lines: list[str]) -> None:
        if not lines:
            return
        self.add("note", lines[0])
        for line in lines[1:-1]:
            self.add("summary", line)
        self.add("finished", lines[-1])

    def clear_entries(self) -> None:
        self.entries.clear()
        self.clear()

    def repaint(self) -> None:
        """Rewrite every entry in the current theme's colours."""
        self.clear()
        self._painted_width = self.scrollable_content_region.width
        for kind, text in self.entries:
            self.write(self._styled(kind, text))

    @property
    def plain_lines(self) -> list[str]:
        """The log as plain text (for tests)."""
        return [text for _, text in self.entries]

    def _styled(self, kind: str, text: str) -> Text:
        variables = self.app.theme_variables if self.is_attached else {}
        name = self.STYLE_VARIABLES.get(kind)
        color = rich_color(variables.get(name)) if name else None
        if kind == "rate" or kind == "error" or kind == "finished":
            style = Style(color=color, bold=True)
        elif kind == "summary" or kind == "dim":
            style = Style(dim=True)
        elif kind == "note":
            style = Style(italic=True)
        else:
            style = Style()
        return Text(text, style=style)


# ---------------------------------------------------------------- status line

STATE_STYLES = {
    "ready": ("$primary", "●"),
    "running": ("$success", "▶"),
    "paused": ("$warning", "❚❚"),
    "finished": ("$accent", "✔"),
    "diverged": ("$error", "✖"),
}


def _fmt(value: float | None, spec: str, missing: str = "—") -> str:
    if value is None or not math.isfinite(value):
        return missing
    return format(value, spec)


def progress_cells(fraction: float, width: int) -> int:
    """How many of ``width`` cells a progress of ``fraction`` fills (any started one)."""
    fraction = min(max(fraction if math.isfinite(fraction) else 0.0, 0.0), 1.0)
    return min(width, math.ceil(fraction * width))


class StatusLine(Static):
    """``▶ running  epoch 1,234 / 100,000 ███▌  40,000 ep/s  lr 0.5  loss 0.0123  acc 100.00%``;
    at a speed cap ``10 ep/s (cap 10)``."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $foreground;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.status: Status | None = None
        self.dataset = ""

    def on_mount(self) -> None:
        """Follow the app's session, if it has one (``tui.updates``): every update."""
        signal = getattr(self.app, "session_updated", None)
        if signal is not None:
            signal.subscribe(self, self._follow, immediate=True)
            self._follow()

    def _follow(self, _update: object = None) -> None:
        app = self.app
        session = app.session
        self.show(session.status(live_rate=not app.deterministic), session.config.dataset_label)

    def show(self, status: Status, dataset: str = "") -> None:
        self.status, self.dataset = status, printable(dataset)  # csv:NAME names a file
        dataset = self.dataset
        self.update(self.build(status, dataset, self.size.width or 120), layout=False)

    def on_resize(self) -> None:
        if self.status is not None:
            self.update(self.build(self.status, self.dataset, self.size.width), layout=False)

    LEVELS = (
        # dataset, progress bar, test figures, "epoch" label, ep/s, wide separators,
        # the live rate beside a speed cap (else the cap alone: the rate it holds)
        (True, True, True, True, True, True, True),
        (False, True, True, True, True, True, True),
        (False, False, True, True, True, True, True),
        (False, False, True, True, True, True, False),
        (False, False, False, False, True, True, True),
        (False, False, False, False, True, True, False),
        (False, False, False, False, True, False, False),
        (False, False, False, False, False, False, False),
    )
    """Variants of the line, richest first; the first that fits is shown."""

    @staticmethod
    def build(s: Status, dataset: str = "", width: int = 120) -> Content:
        """The richest variant that fits in ``width`` cells (extras drop first)."""
        for level in StatusLine.LEVELS:
            content = StatusLine._variant(s, dataset, *level)
            if content.cell_length <= width - 2:
                break
        return content

    @staticmethod
    def _variant(
        s: Status, dataset: str, show_dataset: bool, show_bar: bool, show_test: bool,
        show_label: bool, show_rate: bool, wide: bool, show_live: bool = True,
    ) -> Content:
        color, icon = STATE_STYLES.get(s.state, ("$foreground", "•"))
        dim = "$foreground 60%"
        sep = "  " if wide else " "
        # The badge is the background's colour on the state's: written reversed, since
        # in an ANSI theme $background is ansi_default, which as a text colour is the
        # terminal's *foreground* (light text on cyan); reversed it is the background.
        parts: list[str | tuple[str, str]] = [
            (f" {icon} {s.state} ", f"bold reverse {color} on $background"), "  "
        ]
        if show_label:
            parts.append(("epoch ", dim))
        parts += [(f"{s.epoch:,}", "bold"), (f" / {s.total:,}", "bold" if show_label else dim)]
        if show_bar:
            done = progress_cells(s.epoch / max(s.total, 1), 12)
            parts += [" ", ("━" * done, color), ("━" * (12 - done), "$foreground 15%")]
        if show_rate:
            parts += [sep, *StatusLine._rate(s, show_live, color, dim)]
        parts += [sep, ("lr ", dim), (format_lr(s.lr), "bold")]
        # the figures of the weights now (TrainingSession.figures): with a test split
        # both sets are named, so no figure stands unlabelled
        split = s.test_loss is not None
        parts += [sep, ("train loss " if split else "loss ", dim), (_fmt(s.loss, ".4g"), "bold")]
        if s.mae is not None:  # a regression: R^2 and the mean absolute error
            parts += [sep if not split else " ", *StatusLine._scores(s.accuracy, s.mae, dim)]
            if split and show_test:
                parts += [sep, ("test loss ", dim), (_fmt(s.test_loss, ".4g"), "bold"), " ",
                          *StatusLine._scores(s.test_accuracy, s.test_mae, dim)]
        else:
            accuracy = 100 * s.accuracy if math.isfinite(s.accuracy) else None
            parts += [sep if not split else " ", ("acc ", dim),
                      (_fmt(accuracy, ".2f") + "%", "bold")]
            if split and show_test:
                test_accuracy = 100 * s.test_accuracy if s.test_accuracy is not None else None
                parts += [sep, ("test loss ", dim), (_fmt(s.test_loss, ".4g"), "bold"),
                          (" acc ", dim), (_fmt(test_accuracy, ".2f") + "%", "bold")]
        if dataset and show_dataset:
            parts += [sep, (dataset, f"italic {dim}")]
        return Content.assemble(*parts)

    @staticmethod
    def _scores(r2: float | None, mae: float | None, dim: str) -> list[tuple[str, str]]:
        """``R² 0.9731 MAE 0.0412``: a regression's figures, as the epoch log words them."""
        return [("R² ", dim), (_fmt(r2, ".4f"), "bold"), (" MAE ", dim), (_fmt(mae, ".4g"), "bold")]

    @staticmethod
    def _rate(s: Status, live: bool, color: str, dim: str) -> list[tuple[str, str]]:
        """``40,000 ep/s``; at a speed cap ``9 ep/s (cap 10)``, or short ``cap 10/s``."""
        rate = [(_fmt(s.epochs_per_second, ",.0f"), "bold"), (" ep/s", dim)]
        if s.speed is None:
            return rate
        cap = speed_text(s.speed).removesuffix(" ep/s")
        if not live:
            return [("cap ", dim), (cap, f"bold {color}"), ("/s", dim)]
        return [*rate, (" (cap ", dim), (cap, f"bold {color}"), (")", dim)]


# ---------------------------------------------------------------- tab bar


class PanelBar(Static):
    """One line naming the four panels; the shown one highlighted; click to switch.

    Only visible in the compact layout, where one panel shows at a time.
    """

    DEFAULT_CSS = """
    PanelBar {
        height: 1;
        width: 1fr;
        background: $surface;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.active = "loss"

    def on_mount(self) -> None:
        self.show_active(self.active)

    def on_resize(self) -> None:
        self.show_active(self.active)

    def show_active(self, panel: str) -> None:
        self.active = panel
        full = sum(len(title) + 5 for title in PANEL_TITLES.values())
        titles = PANEL_TITLES if (self.size.width or 80) >= full else SHORT_TITLES
        parts: list[tuple[str, str] | str] = []
        for number, name in enumerate(PANELS, start=1):
            text = f" {number} {titles[name]} "
            if name == self.active:
                parts.append((text, "bold reverse $primary on $background"))  # see StatusLine
            else:
                parts.append((text, f"$foreground 70% @click=app.show_panel('{name}')"))
            parts.append(" ")
        self.update(Content.assemble(*parts), layout=False)
