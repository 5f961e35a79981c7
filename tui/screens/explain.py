"""The backprop explainer (``x``): one training step of the live run, stage by stage.

It shows ``engine.explain``'s walk of the trainer's next step at its current epoch: one
stage at a time, with its equation in the course's notation, its shapes, its values
(a scrollable table, rows named by training point), the operands it reads (the row and
the column it used highlighted) and how the chosen element was computed. The numbers
are the trainer's own: the walk is taken on a twin, and the last stages, the new
weights, are exactly what the trainer holds after the step.

Keys: left/right (``[``/``]``, enter) move through the stages, home/end jump; up/down
pick a row; tab gives the table the focus, where the arrows move the cell cursor and
escape hands the arrows back to the stages. ``a`` (or enter on the last stage) applies
the step through the app's own ``s``, so the log, the charts and a finished run's
keeping work as always; the walk then follows the next epoch. ``b`` picks the next
mini-batch. A full (not modal) screen, so the app's keys work too; it follows the
session (``tui.updates``) and recomputes the walk whenever the run changes.
"""

from __future__ import annotations

import time
from typing import ClassVar

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from engine.explain import Drill, Stage, Walk, drill, explain
from engine.explain.drill import SHOWN_TERMS, fmt
from tui.screens.inspect_runs import BOX_CSS, Box
from tui.updates import SessionUpdate, shown_screen
from tui.widgets.footer import KeyFooter
from tui.widgets.matrix import MatrixView, operand_text
from tui.widgets.panels import StatusLine

_STAGE = Binding.Group("Stage", compact=True)

TICK_SECONDS = 0.5
"""While training runs under the screen, the walk is recomputed at most this often."""

WIDE = 100
"""Narrower than this, the operand views hide (the table needs the room)."""


def point_labels(walk: Walk) -> list[str]:
    """``#3``: the training point of each row of the batch."""
    return [f"#{int(r)}" for r in walk.rows]


def highlights(walk: Walk, stage: Stage, i: int, j: int) -> dict[str, dict]:
    """For each operand of ``stage``, what element (i, j) reads of it: ``rows``,
    ``columns`` or ``cells`` (``operand_text``'s keywords)."""
    if stage.kind == "product" and stage.product is not None:
        p = stage.product
        marks = {p.left: {"columns": (i,)} if p.left_t else {"rows": (i,)},
                 p.right: {"rows": (j,)} if p.right_t else {"columns": (j,)}}
        if p.addend:
            marks[p.addend] = {"cells": (_broadcast(walk.value(p.addend), i, j),)}
        return marks
    if stage.kind == "sum":
        return {name: {"columns": (j,)} for name in stage.operands}
    if stage.kind in ("loss", "penalty"):
        return {name: {} for name in stage.operands}
    if stage.kind == "features":  # every feature of a point reads its scaled row
        return {name: {"rows": (i,)} for name in stage.operands}
    return {name: {"cells": (_broadcast(walk.value(name), i, j),)} for name in stage.operands}


def _broadcast(values: np.ndarray, i: int, j: int) -> tuple[int, int]:
    """The element of a one-row or one-column operand that NumPy broadcasts to (i, j)."""
    return (i if values.shape[0] > 1 else 0, j if values.shape[1] > 1 else 0)


def _listed(values: tuple[float, ...]) -> str:
    """``[a, b, … (n more), y, z]``: at most ``SHOWN_TERMS`` numbers of a row or column."""
    parts = [fmt(x) for x in values]
    if len(parts) > SHOWN_TERMS:
        keep = SHOWN_TERMS // 2
        parts = [*parts[:keep], f"… ({len(parts) - 2 * keep} more)", *parts[-keep:]]
    return "[" + ", ".join(parts) + "]"


def drill_lines(d: Drill) -> Text:
    """``drill_text``'s lines as styled text, long rows and columns abridged."""
    text = Text()
    label = Style(bold=True)
    if d.kind == "product":
        text.append("row     ", label).append(f"{d.row_name} = {_listed(d.row)}\n")
        text.append("column  ", label).append(f"{d.column_name} = {_listed(d.column)}\n")
        if d.addend is not None:
            text.append("bias    ", label).append(f"{fmt(d.addend)}\n")
    for name, x in d.inputs.items():
        text.append(f"{name} = ", label).append(f"{x:.17g}\n")
    text.append(d.formula, Style(bold=True))
    return text


class ExplainScreen(Screen[None]):
    """One training step of the live network, stage by stage, matrix by matrix."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,left_square_bracket", "stage(-1)", "Stage", key_display="←",
                id="explain.previous-stage", tooltip="Previous stage", group=_STAGE),
        Binding("right,right_square_bracket", "stage(1)", "Stage", key_display="→",
                id="explain.next-stage", tooltip="Next stage", group=_STAGE),
        Binding("enter", "next_or_apply", "Next", show=False, id="explain.enter",
                tooltip="Next stage (on the last stage: apply the step)"),
        Binding("home", "jump(0)", "First", show=False, id="explain.first",
                tooltip="First stage"),
        Binding("end", "jump(-1)", "Last", show=False, id="explain.last",
                tooltip="Last stage (the new weights)"),
        Binding("up", "row(-1)", "Row", show=False, id="explain.row-up"),
        Binding("down", "row(1)", "Row", show=False, id="explain.row-down"),
        Binding("tab", "focus_table", "Table", id="explain.table",
                tooltip="Pick an element with the arrows (escape: back to the stages)"),
        Binding("a", "apply_step", "Apply step", id="explain.apply",
                tooltip="Apply the step: the run advances one epoch"),
        Binding("b", "next_batch", "Batch", id="explain.batch",
                tooltip="Show the next mini-batch of this epoch"),
        Binding("escape", "close", "Back", id="explain.close", key_display="esc",
                tooltip="Back to the main screen"),
        Binding("x", "back", "Back", id="explain.close-x", show=False),
    ]

    DEFAULT_CSS = BOX_CSS + """
    ExplainScreen {
        layout: vertical;
        background: $background;
        #explain-stage { height: auto; max-height: 7; }
        #explain-equation { color: $accent; text-style: bold; }
        #explain-shape { color: $foreground 80%; }
        #explain-note { color: $foreground 60%; }
        #explain-body { height: 1fr; }
        #explain-path { height: 1; text-wrap: nowrap; text-overflow: ellipsis;
                        color: $foreground 60%; }
        #explain-values { width: 3fr; min-width: 30; }
        #explain-operands { width: 2fr; }
        #explain-operands-scroll { scrollbar-size: 1 1; }
        #explain-drill { height: auto; max-height: 9; }
        #explain-drill-text { width: 1fr; }
    }
    ExplainScreen.-narrow {
        #explain-operands { display: none; }
        #explain-note { display: none; }
        #explain-drill { max-height: 7; }
    }
    """

    PALETTE_KEYS = True
    """A full screen: its keys are offered in the command palette while it shows."""

    AUTO_FOCUS = None
    """Nothing has the focus at first: the arrows move the stages until tab."""

    def __init__(self) -> None:
        super().__init__()
        self.walk: Walk | None = None
        self.index = 0
        self.batch = 0
        self.cursor = (0, 0)
        self.problem = ""
        self._computed = 0.0

    def compose(self) -> ComposeResult:
        yield StatusLine(id="explain-status")
        with Box("Explain", id="explain-stage"):
            yield Static(id="explain-path")
            yield Static(id="explain-equation")
            yield Static(id="explain-shape")
            yield Static(id="explain-note")
        with Horizontal(id="explain-body"):
            with Box("Values", id="explain-values"):
                yield MatrixView(id="explain-matrix")
            with Box("Operands", id="explain-operands"), \
                    VerticalScroll(id="explain-operands-scroll", can_focus=False):
                yield Static(id="explain-operands-text")
        with Box("Element", id="explain-drill"):
            yield Static(id="explain-drill-text")
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        self.app.session_updated.subscribe(self, self._follow, immediate=True)
        self.recompute()

    def on_resize(self) -> None:
        self.set_class(self.size.width < WIDE or self.size.height < 30, "-narrow")

    @property
    def matrix(self) -> MatrixView:
        return self.query_one(MatrixView)

    @property
    def stage(self) -> Stage | None:
        return self.walk.stages[self.index] if self.walk is not None else None

    # --- following the session ------------------------------------------------------------
    def _follow(self, update: SessionUpdate) -> None:
        """Any change of the run recomputes the walk; a training tick at most twice a
        second, and only while this screen shows."""
        if update.scope == "status":
            return
        if update.scope == "tick" and not update.new_trainer and (
                shown_screen(self.app) is not self
                or time.monotonic() - self._computed < TICK_SECONDS):
            return
        if update.new_trainer:
            self.batch = 0
        self.recompute()

    def recompute(self) -> None:
        """The walk of the trainer's next step (the stage and the element are kept)."""
        trainer = self.app.session.trainer
        self._computed = time.monotonic()
        try:
            self.walk = explain(trainer, min(self.batch, max(_batches(trainer) - 1, 0)))
            self.batch, self.problem = self.walk.batch, ""
        except ValueError as error:  # a diverged run cannot step
            self.walk, self.problem = None, str(error)
        if self.walk is not None:
            self.index = min(self.index, len(self.walk) - 1)
        self.show_stage()

    # --- drawing ------------------------------------------------------------------------
    def show_stage(self) -> None:
        """Draw the current stage: header, values, operands and the element (the cursor
        stays on the same element, or the nearest one the stage has)."""
        stage, walk = self.stage, self.walk
        if stage is None or walk is None:
            self._show_problem()
            return
        header = self.query_one("#explain-stage", Box)
        layer = f" · layer {stage.layer}" if stage.layer is not None else ""
        header.border_title = f"Stage {stage.stage + 1} of {len(walk)} · {stage.name}{layer}"
        header.border_subtitle = self._step_label(walk)
        self.query_one("#explain-equation", Static).update(Text(stage.equation))
        reads = f"   reads {', '.join(stage.operands)}" if stage.operands else ""
        self.query_one("#explain-shape", Static).update(Text(f"shape {stage.shape}{reads}"))
        notes = stage.note or (" ".join(walk.notes) if stage.stage == 0 else "")
        note = self.query_one("#explain-note", Static)
        note.update(Text(notes))
        note.display = bool(notes)
        self.query_one("#explain-path", Static).update(self._path(walk))
        values = self.query_one("#explain-values", Box)
        rows = "rows: training points" if stage.by_point else "rows: index"
        values.border_title = f"{stage.name} · {stage.shape.split(' -> ')[-1]}"
        values.border_subtitle = rows
        labels = point_labels(walk) if stage.by_point else [str(i) for i in
                                                            range(len(stage.values))]
        self.matrix.show(stage.values, labels, self.cursor)

    def _path(self, walk: Walk) -> Text:
        """The stages' names in a line, the current one reversed, centred when they do not
        all fit (``‹``/``›`` mark the ones left out)."""
        names = [s.name for s in walk.stages]
        width = max(self.size.width - 6, 20)
        start, stop = self.index, self.index + 1
        while True:  # grow the window on both sides while it fits
            grown = False
            for lo, hi in ((start - 1, stop), (start, stop + 1)):
                if lo >= 0 and hi <= len(names) and \
                        len("  ".join(names[lo:hi])) + 4 <= width:
                    start, stop, grown = lo, hi, True
            if not grown:
                break
        text = Text("‹ " if start else "  ", style="dim")
        for k in range(start, stop):
            style = Style(bold=True, reverse=True) if k == self.index else Style()
            text.append(names[k], style=style).append("  ")
        text.rstrip()
        return text.append(" ›" if stop < len(names) else "", style="dim")

    def _step_label(self, walk: Walk) -> str:
        batch = f" · batch {walk.batch + 1} of {walk.batches}" if walk.batches > 1 else ""
        last = "  a: apply the step" if self.index == len(walk) - 1 else ""
        return f"epoch {walk.epoch:,}'s step{batch}{last}"

    def _show_problem(self) -> None:
        header = self.query_one("#explain-stage", Box)
        header.border_title = "Explain · no step to show"
        header.border_subtitle = ""
        self.query_one("#explain-equation", Static).update(Text(self.problem))
        for name in ("#explain-shape", "#explain-note", "#explain-operands-text",
                     "#explain-drill-text"):
            self.query_one(name, Static).update("")
        self.matrix.show(np.zeros((0, 0)), [], (0, 0))

    @on(MatrixView.CursorMoved)
    def _cursor_moved(self, event: MatrixView.CursorMoved) -> None:
        self.cursor = (event.row, event.column)
        self._show_element()

    def _show_element(self) -> None:
        """The drill-down of the element under the cursor, and the operands it reads."""
        stage, walk = self.stage, self.walk
        if stage is None or walk is None or not stage.values.size:
            return
        i, j = self.cursor
        d = drill(walk, stage.stage, (i, j))
        box = self.query_one("#explain-drill", Box)
        box.border_title = f"How {stage.name}[{i}, {j}] = {d.value:.6g} was computed"
        box.border_subtitle = f"training point #{int(walk.rows[i])}" if stage.by_point else ""
        self.query_one("#explain-drill-text", Static).update(drill_lines(d))
        self.query_one("#explain-operands-text", Static).update(self._operands(walk, stage, i, j))

    def _operands(self, walk: Walk, stage: Stage, i: int, j: int) -> Text:
        accent = self.app.theme_variables.get("accent")
        try:
            lit = Style(color=accent, bold=True, reverse=True) if accent else None
        except Exception:  # a colour Rich cannot parse: bold reversed only
            lit = None
        text = Text()
        points = point_labels(walk)
        for name, marks in highlights(walk, stage, i, j).items():
            by_point = name == "y" or (name in walk._index and walk[name].by_point)
            labels = (lambda r: points[r]) if by_point else str
            text.append_text(operand_text(name, walk.value(name), labels=labels,
                                          highlight=lit, **marks))
            text.append("\n\n")
        if not stage.operands:
            text.append("The data: no operands.", style="dim")
        text.rstrip()
        return text

    # --- keys ---------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While the table has the focus its escape leaves it: the footer offers that one
        (x still closes the screen)."""
        return not (action == "close" and isinstance(self.focused, MatrixView))

    def on_descendant_focus(self) -> None:
        self.refresh_bindings()

    def on_descendant_blur(self) -> None:
        self.refresh_bindings()

    def action_stage(self, step: int) -> None:
        self.action_jump(max(self.index + int(step), 0))

    def action_jump(self, index: int) -> None:
        """Show stage ``index`` (negative: from the end, as Python counts)."""
        if self.walk is None:
            return
        n = len(self.walk)
        self.index = min(max(index if index >= 0 else n + index, 0), n - 1)
        self.show_stage()

    def action_row(self, step: int) -> None:
        self.matrix.action_move(int(step), 0)

    def action_focus_table(self) -> None:
        self.matrix.focus()

    async def action_next_or_apply(self) -> None:
        """enter: the next stage; on the last one, apply the step and start the next walk."""
        if self.walk is not None and self.index == len(self.walk) - 1:
            if await self.action_apply_step():
                self.action_jump(0)
        else:
            self.action_stage(1)

    async def action_apply_step(self) -> bool:
        """a: the run advances one epoch through the app's ``s`` (its log, charts and
        kept runs as always; past the configured end the run is extended by one epoch,
        as ``engine.explain.apply_step`` does); the walk follows the session."""
        app = self.app
        trainer = app.session.trainer
        if trainer.status == "diverged":
            app.notify("The run diverged: lower the rate or reset first.", severity="warning")
            return False
        await app.training.stop()
        if trainer.status == "finished" or trainer.epoch >= trainer.config.epochs:
            trainer.extend(1)
        await app.run_action("step")
        return True

    def action_next_batch(self) -> None:
        if self.walk is None or self.walk.batches < 2:
            self.app.notify("One batch: the whole training set is the batch.")
            return
        self.batch = (self.walk.batch + 1) % self.walk.batches
        self.recompute()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_back(self) -> None:
        """x: close, even from inside the table (escape there leaves the table first)."""
        self.dismiss(None)


def _batches(trainer) -> int:
    """How many batches the trainer's epochs have."""
    from engine.explain import batch_rows

    return len(batch_rows(trainer))


__all__ = ["ExplainScreen", "drill_lines", "highlights"]
