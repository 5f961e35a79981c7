"""Matrices on screen: a scrollable table with a cell cursor, and small operand views.

* :class:`MatrixView` draws a 2-D array line by line (Textual's line API), so a batch of
  a million points costs only the rows on screen: the column header and the row labels
  stay put while the cells scroll, and every row and column is reachable. Its cursor
  (the arrow keys once it has focus, or a click) picks one element; it posts
  :class:`MatrixView.CursorMoved`.
* :func:`operand_text` draws an operand as Rich text, abridged to a window around the
  row and the column a stage reads, which are highlighted.

Numbers are shown with 4 significant digits (``cell``): they read better, and a
screenshot does not depend on the last bits a machine's BLAS rounds differently.
Highlights are bold and reversed, not only coloured, so they survive ``NO_COLOR``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = "…"
SAMPLE = 20_000
"""Cell widths are measured on at most this many values (the rest use the widest form)."""


def cell(x: float) -> str:
    """One matrix element as shown: 4 significant digits (``-0.1321``, ``2.8e-05``)."""
    return f"{x:.4g}"


def cell_width(values: np.ndarray) -> int:
    """The width of the widest shown element (measured on a sample of a huge matrix)."""
    flat = values.ravel()
    if flat.size > SAMPLE:
        return len(cell(-1.234e-05))
    return max((len(cell(float(x))) for x in flat), default=1)


def window(n: int, focus: int | None, size: int) -> tuple[int, int]:
    """The [start, stop) of ``size`` indices out of ``n`` that holds ``focus`` near its middle."""
    if n <= size:
        return 0, n
    focus = 0 if focus is None else focus
    start = min(max(focus - size // 2, 0), n - size)
    return start, start + size


class MatrixView(ScrollView, can_focus=True):
    """A scrollable matrix with a fixed column header, fixed row labels and a cell cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "First row", show=False),
        Binding("end", "edge(1)", "Last row", show=False),
        Binding("escape", "leave", "Leave table", id="matrix.leave",
                tooltip="Leave the table (arrows move the stages again)"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "matrix--header", "matrix--label", "matrix--cursor", "matrix--focus",
    }

    DEFAULT_CSS = """
    MatrixView {
        height: 1fr;
        width: 1fr;
        scrollbar-size: 1 1;
        & > .matrix--header { color: $foreground 60%; text-style: bold; }
        & > .matrix--label { color: $foreground 60%; }
        & > .matrix--focus { color: $accent; text-style: bold; }
        & > .matrix--cursor { background: $accent 40%; text-style: bold reverse; }
        &:focus > .matrix--cursor { background: $accent; color: $background;
                                    text-style: bold; }
        &:nocolor > .matrix--cursor { text-style: bold reverse; }
    }
    """

    class CursorMoved(Message):
        """The cursor moved to (row, column)."""

        def __init__(self, view: MatrixView, row: int, column: int) -> None:
            super().__init__()
            self.view, self.row, self.column = view, row, column

        @property
        def control(self) -> MatrixView:
            return self.view

    cursor: reactive[tuple[int, int]] = reactive((0, 0), always_update=True)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.values = np.zeros((0, 0))
        self.labels: Sequence[str] = ()
        self._label_width = 1
        self._width = 1

    # --- content ------------------------------------------------------------------------
    def show(self, values: np.ndarray, labels: Sequence[str], cursor: tuple[int, int]) -> None:
        """Show a new matrix (rows named by ``labels``), the cursor at ``cursor`` (clamped)."""
        self.values, self.labels = np.atleast_2d(values), labels
        rows, columns = self.values.shape
        self._label_width = max([len(x) for x in labels[:SAMPLE]] + [len(labels[-1]), 2]) \
            if labels else 2
        self._width = max(cell_width(self.values), len(str(columns - 1)))
        self.virtual_size = Size(self._label_width + columns * (self._width + 2) + 1, rows + 1)
        self.cursor = self._clamp(cursor)
        self.refresh()

    def _clamp(self, at: tuple[int, int]) -> tuple[int, int]:
        rows, columns = self.values.shape
        return (min(max(at[0], 0), max(rows - 1, 0)), min(max(at[1], 0), max(columns - 1, 0)))

    def watch_cursor(self, cursor: tuple[int, int]) -> None:
        self._keep_visible()
        self.refresh()
        self.post_message(self.CursorMoved(self, *cursor))

    def _keep_visible(self) -> None:
        """Scroll so that the cursor's cell is on screen (below the header, right of labels)."""
        row, column = self.cursor
        rows_shown = max(self.scrollable_content_region.height - 1, 1)
        cells_shown = max((self.scrollable_content_region.width - self._label_width - 1)
                          // (self._width + 2), 1)
        y, x = self.scroll_y, self.scroll_x / (self._width + 2)
        y = row if row < y else (row - rows_shown + 1 if row >= y + rows_shown else y)
        x = column if column < x else (column - cells_shown + 1 if column >= x + cells_shown
                                       else x)
        self.scroll_to(x=round(x) * (self._width + 2), y=y, animate=False, immediate=True)

    # --- keys and the mouse -------------------------------------------------------------
    def action_move(self, rows: int, columns: int) -> None:
        self.cursor = self._clamp((self.cursor[0] + rows, self.cursor[1] + columns))

    def action_page(self, direction: int) -> None:
        page = max(self.scrollable_content_region.height - 2, 1)
        self.action_move(direction * page, 0)

    def action_edge(self, direction: int) -> None:
        self.cursor = self._clamp((0 if direction < 0 else len(self.values) - 1,
                                   self.cursor[1]))

    def action_leave(self) -> None:
        """escape: give the focus back to the screen, whose arrows move the stages."""
        self.screen.set_focus(None)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        x = offset.x - self._label_width - 2 + int(self.scroll_x)
        if x < 0:
            return
        self.cursor = self._clamp((offset.y - 1 + int(self.scroll_y), x // (self._width + 2)))

    # --- drawing ------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if y == 0:
            return self._line(self._header(), width, self.get_component_rich_style(
                "matrix--header"))
        row = y - 1 + int(self.scroll_y)
        if row >= len(self.values):
            return Strip.blank(width, self.rich_style)
        return self._line(self._cells(row), width, self.get_component_rich_style("matrix--label"),
                          row)

    def _header(self) -> list[Segment]:
        focus = self.get_component_rich_style("matrix--focus")
        header = self.get_component_rich_style("matrix--header")
        return [Segment(f"  {j:>{self._width}}", focus if j == self.cursor[1] else header)
                for j in range(self.values.shape[1])]

    def _cells(self, row: int) -> list[Segment]:
        base = self.rich_style
        cursor = self.get_component_rich_style("matrix--cursor")
        here = row == self.cursor[0]
        out: list[Segment] = []
        for j, x in enumerate(self.values[row]):
            out.append(Segment("  ", base))
            out.append(Segment(f"{cell(float(x)):>{self._width}}",
                               cursor if here and j == self.cursor[1] else base))
        return out

    def _line(self, cells: list[Segment], width: int, label_style: Style,
              row: int | None = None) -> Strip:
        """The fixed label column, then the cells scrolled by ``scroll_x``."""
        if row is None:
            label = Segment(" " * self._label_width, label_style)
        else:
            style = self.get_component_rich_style("matrix--focus") \
                if row == self.cursor[0] else label_style
            label = Segment(f"{self.labels[row]:>{self._label_width}}", style)
        scroll_x = int(self.scroll_x)
        body = Strip(cells).crop(scroll_x, scroll_x + max(width - self._label_width, 0))
        return Strip([label, *body]).adjust_cell_length(width, self.rich_style)


def operand_text(name: str, values: np.ndarray, *, rows: Collection[int] = (),
                 columns: Collection[int] = (), cells: Collection[tuple[int, int]] = (),
                 labels: Callable[[int], str] = str, max_rows: int = 7,
                 max_columns: int = 5, highlight: Style | None = None) -> Text:
    """An operand as a small table: a window of at most ``max_rows`` x ``max_columns``
    around the highlighted ``rows``, ``columns`` and ``cells`` (each drawn in
    ``highlight``, bold reversed by default), with ``…`` where rows or columns are left
    out. ``labels`` names row i (a training point, say)."""
    values = np.atleast_2d(values)
    highlight = highlight or Style(bold=True, reverse=True)
    n, m = values.shape
    focus_row = next(iter(rows), next((i for i, _ in cells), None))
    focus_column = next(iter(columns), next((j for _, j in cells), None))
    r0, r1 = window(n, focus_row, max_rows)
    c0, c1 = window(m, focus_column, max_columns)
    shown = [[cell(float(x)) for x in values[i, c0:c1]] for i in range(r0, r1)]
    width = max([len(s) for line in shown for s in line] + [len(str(c1 - 1))])
    label_width = max(len(labels(i)) for i in range(r0, r1))
    text = Text()
    text.append(f"{name}", style="bold")
    text.append(f"  {n}x{m}\n", style="dim")
    text.append(" " * label_width + (" …" if c0 else ""), style="dim")
    for j in range(c0, c1):
        text.append(f" {j:>{width}}", style=Style(bold=True) if j in columns else "dim")
    text.append(" …\n" if c1 < m else "\n", style="dim")
    if r0:
        text.append(f"{'⋮':>{label_width}}\n", style="dim")
    for i, line in zip(range(r0, r1), shown, strict=True):
        text.append(f"{labels(i):>{label_width}}", style=Style(bold=True) if i in rows else "dim")
        text.append("  " if c0 else "")
        for j, s in zip(range(c0, c1), line, strict=True):
            text.append(" ")
            lit = i in rows or j in columns or (i, j) in cells
            text.append(f"{s:>{width}}", style=highlight if lit else "")
        text.append("\n")
    if r1 < n:
        text.append(f"{'⋮':>{label_width}}  ({n - r1} more)\n", style="dim")
    text.rstrip()
    return text


__all__ = ["MatrixView", "cell", "operand_text", "window"]
