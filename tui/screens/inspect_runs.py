"""Full screens over the main one: Inspect (``i``) and Runs (``R``).

Both are plain (not modal) screens, so the app's keys keep working on them: space
still runs or pauses, and training goes on underneath. They follow the app's session
(``tui.updates``) and redraw on its updates while they are shown.

* :class:`InspectScreen`: the weights of one layer as a heatmap, one hidden unit's
  activation over the input plane, and every layer's weight and gradient norms
  over time. ``[`` / ``]`` change the layer, ``,`` / ``.`` the unit. The arrows (or
  ``h j k l``) move a cursor over the weights, on through the layers; enter types a new
  value for the one under it (training pauses first), and the main screen's panels, the
  status line and the log show what that did at once.
* :class:`RunsScreen`: the kept runs in a table, sortable by column (its number
  key, or a click on the header), and a loss chart of the current run with the
  chosen runs overlaid; space or enter overlays a run, ``o`` loads a sweep CSV,
  ``l`` reopens a run from its file (the run archive's, or the one it was opened from).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from engine.train.probes import NormTracker
from tui.core.runs import RunRecord, RunStore, taken_off
from tui.core.training import Curves, format_lr
from tui.updates import SessionUpdate, shown_screen
from tui.widgets.charts import LossChart, colors_from_theme
from tui.widgets.footer import KeyFooter
from tui.widgets.inspect import NeuronView, NormsChart, WeightsView
from tui.widgets.palette import plot_to_rich
from tui.widgets.panels import StatusLine

BOX_CSS = """
Box {
    border: round $foreground 30%;
    border-title-color: $foreground 70%;
    border-title-style: bold;
    border-subtitle-color: $foreground 50%;
    padding: 0 1;
    height: 1fr;
    width: 1fr;
    &:focus-within { border: round $primary; border-title-color: $primary; }
    /* NO_COLOR: the focused box stands out by its heavy frame and reversed title */
    &:nocolor:focus-within { border: heavy $primary; border-title-style: bold reverse; }
}
"""


class Box(Vertical):
    """A bordered frame with a title on its top edge (like the main screen's panels)."""

    DEFAULT_CSS = BOX_CSS

    def __init__(self, title: str, *, id: str | None = None, subtitle: str = "") -> None:
        super().__init__(id=id)
        self.border_title = title
        self.border_subtitle = subtitle


def themed(app, text: str, variable: str, bold: bool = False) -> Text:
    """``text`` in a colour of the app's theme (plain when the theme lacks it)."""
    value = app.theme_variables.get(variable) if app is not None else None
    try:
        style = Style(color=value, bold=bold) if value else Style(bold=bold)
    except Exception:  # a colour Rich cannot parse: no colour
        style = Style(bold=bold)
    return Text(text, style=style)


# ------------------------------------------------------------------ inspect


_LAYER = Binding.Group("Layer", compact=True)
_UNIT = Binding.Group("Unit", compact=True)
_CELL = Binding.Group("Cell", compact=True)


class InspectScreen(Screen[None]):
    """Weights heatmap, hidden-unit map and norms chart of the live network."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left_square_bracket", "previous_layer", "Layer", key_display="[",
                id="inspect.previous-layer", tooltip="Previous layer (weights)", group=_LAYER),
        Binding("right_square_bracket", "next_layer", "Layer", key_display="]",
                id="inspect.next-layer", tooltip="Next layer (weights)", group=_LAYER),
        Binding("comma", "previous_unit", "Unit", key_display=",",
                id="inspect.previous-unit", tooltip="Previous hidden unit", group=_UNIT),
        Binding("full_stop", "next_unit", "Unit", key_display=".",
                id="inspect.next-unit", tooltip="Next hidden unit", group=_UNIT),
        Binding("left,h", "move_cursor(0, -1)", "Cell", key_display="←", group=_CELL,
                id="inspect.cell-left", tooltip="Weight cursor left (on into the previous layer)"),
        Binding("down,j", "move_cursor(1, 0)", "Cell", key_display="↓", group=_CELL,
                id="inspect.cell-down", tooltip="Weight cursor down"),
        Binding("up,k", "move_cursor(-1, 0)", "Cell", key_display="↑", group=_CELL,
                id="inspect.cell-up", tooltip="Weight cursor up"),
        Binding("right,l", "move_cursor(0, 1)", "Cell", key_display="→", group=_CELL,
                id="inspect.cell-right", tooltip="Weight cursor right (on into the next layer)"),
        Binding("enter", "edit_weight", "Edit", id="inspect.edit", key_display="enter",
                tooltip="Edit the weight under the cursor (pauses training)"),
        Binding("escape,i", "close", "Back", id="inspect.close", key_display="esc",
                tooltip="Back to the main screen"),
    ]

    DEFAULT_CSS = BOX_CSS + """
    InspectScreen {
        layout: vertical;
        background: $background;
        #inspect-top { height: 8fr; }
        #inspect-weights { width: 1fr; min-width: 30; }
        #inspect-neuron { width: 1fr; }
        #inspect-norms { height: 9fr; }
    }
    InspectScreen.-small {
        #inspect-norms { display: none; }
    }
    """

    PALETTE_KEYS = True
    """A full screen: its keys are offered in the command palette while it shows."""

    def __init__(self, trainer=None, tracker: NormTracker | None = None) -> None:
        """``trainer``, ``tracker``: what to show without an app session to follow."""
        super().__init__()
        self.trainer = trainer
        self._tracker = tracker

    def compose(self) -> ComposeResult:
        yield StatusLine(id="inspect-status")
        with Horizontal(id="inspect-top"):
            with Box("Weights", id="inspect-weights", subtitle="[ ] layer"):
                yield WeightsView(id="weights", cursor=True)
            with Box("Hidden unit", id="inspect-neuron", subtitle=", . unit"):
                yield NeuronView(id="neuron")
        with Box("Norms over time", id="inspect-norms"):
            yield NormsChart("Norms", id="norms")
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        signal = getattr(self.app, "session_updated", None)
        if signal is not None:
            signal.subscribe(self, self._follow, immediate=True)
            self.trainer, self._tracker = self.app.session.trainer, self.app.norms
        if self.trainer is not None:
            self.set_trainer(self.trainer, self._tracker)

    def _follow(self, update: SessionUpdate) -> None:
        """A new trainer is shown at once; its weights redraw on the ticks this screen shows."""
        app = self.app
        if update.new_trainer:
            self.set_trainer(app.session.trainer, app.norms)
        elif update.scope == "all" or (update.scope == "tick" and shown_screen(app) is self):
            self.refresh_views(app.norms)

    def on_resize(self) -> None:
        self.set_class(self.size.height < 20, "-small")

    @property
    def weights(self) -> WeightsView:
        return self.query_one(WeightsView)

    @property
    def neuron(self) -> NeuronView:
        return self.query_one(NeuronView)

    @property
    def norms(self) -> NormsChart:
        return self.query_one(NormsChart)

    def set_trainer(self, trainer, tracker: NormTracker | None) -> None:
        """Show a (new) trainer's network; keeps the chosen layer and unit where they fit."""
        self.trainer, self._tracker = trainer, tracker
        self.weights.set_network(trainer.network)
        self.neuron.set_trainer(trainer)
        self.norms.set_tracker(tracker)
        self._titles()

    def refresh_views(self, tracker: NormTracker | None) -> None:
        """The weights changed: redraw (the caches skip what did not change)."""
        self.weights.refresh()
        self.neuron.refresh_map()
        self.norms.set_tracker(tracker)
        self._cell_caption()

    def _titles(self) -> None:
        weights = self.weights
        n = weights.n_layers
        self.query_one("#inspect-weights").border_title = (
            f"Weights · layer {weights.selected_layer} of {n}" if n else "Weights")
        self._cell_caption()
        neuron = self.neuron
        units = neuron.units
        box = self.query_one("#inspect-neuron")
        if units:
            index = units.index((neuron.selected_layer, neuron.selected_unit)) + 1 if (
                (neuron.selected_layer, neuron.selected_unit) in units) else 1
            box.border_title = f"Hidden unit {index} of {len(units)}"
        else:
            box.border_title = "Hidden unit · none (no hidden layer)"

    def action_previous_layer(self) -> None:
        self.weights.previous_layer()
        self._titles()

    def action_next_layer(self) -> None:
        self.weights.next_layer()
        self._titles()

    def _cell_caption(self) -> None:
        """The weights box's lower edge: the entry under the cursor, its value, the keys."""
        weights = self.weights
        box = self.query_one("#inspect-weights")
        if weights.cursor_entry() is None:
            box.border_subtitle = "[ ] layer"
            return
        box.border_subtitle = (f"{weights.cursor_label()} = {weights.cursor_value():.6g}"
                               " · enter edits")

    def action_move_cursor(self, rows: int, cols: int) -> None:
        if not self.weights.move_cursor(int(rows), int(cols)):
            self.app.bell()
        self._titles()

    async def action_edit_weight(self) -> None:
        """enter: type a new value for the weight under the cursor (training pauses)."""
        app, weights = self.app, self.weights
        entry, edit = weights.cursor_entry(), getattr(app, "edit_weight", None)
        if entry is None or edit is None or self.trainer is None:
            app.bell()
            return
        if self.trainer.status == "diverged":
            app.notify("The run diverged: esc, then [ halves the rate (which resumes it) or r "
                       "resets it; then edit a weight.", title="Not now", severity="warning")
            return
        paused = await app.pause()
        layer, kind, row, col = entry
        shown = f"{weights.cursor_value():.8g}"

        def make(text: str):
            if text.strip() == shown:
                return None  # unchanged: nothing to do
            return edit(layer, kind, row, col, text)

        label = weights.cursor_label()
        what = f"bias {label}" if kind == "bias" else f"weight {label}"
        note = ("training paused; " if paused else "") + (
            "the loss, the predictions and the map follow at once")
        from tui.screens.prompts import ValuePrompt

        app.push_screen(ValuePrompt(
            f"Layer {layer} {what}", make, default=shown,
            text=f"now {shown} at epoch {self.trainer.epoch:,}\n{note}"))

    def action_previous_unit(self) -> None:
        self.neuron.previous_unit()
        self._titles()

    def action_next_unit(self) -> None:
        self.neuron.next_unit()
        self._titles()

    def action_close(self) -> None:
        self.dismiss(None)


# ------------------------------------------------------------------ runs

COLUMNS: tuple[tuple[str, str, str], ...] = (
    # (sort key, header, key that sorts by it: "" for none, a header click sorts it)
    ("number", "#", "number_sign"),
    ("dataset", "data", "1"),
    ("architecture", "layers", "2"),
    ("activation", "act", "3"),
    ("optimizer", "opt", "4"),
    ("lr", "lr", "5"),
    ("bias", "bias", ""),
    ("epochs", "epochs", "6"),
    ("loss", "loss", "7"),
    ("accuracy", "acc", "8"),
    ("test_accuracy", "test", ""),
    ("epoch_100", "100% at", "9"),
    ("seconds", "secs", "0"),
)
"""The runs table's columns after the overlay mark, and the keys that sort them."""

DROPPED_FIRST = ("seconds", "epoch_100", "loss", "dataset", "epochs", "bias",
                 "test_accuracy", "accuracy", "optimizer", "activation", "lr", "architecture")
"""When the table is wider than the screen, these columns go, first ones first, until it
fits (the detail line under the table still names the data set): at 80 columns the
table keeps layers, activation, optimizer, rate, bias, epochs and both accuracies."""

KEY_DISPLAY = {"number_sign": "#"}

COLUMN_NAMES = {"number": "run number", "architecture": "layer sizes", "loss": "final loss",
                "epoch_100": "first epoch at 100% accuracy"}
"""How the sort commands name a column (default: its key)."""


def _sort_bindings() -> list[Binding]:
    return [
        Binding(key, f"sort('{column}')", f"Sort by {header}", show=False,
                key_display=KEY_DISPLAY.get(key, key), id=f"runs.sort-{column}",
                tooltip=f"Sort the runs by {COLUMN_NAMES.get(column, column)} (again: reverse)")
        for column, header, key in COLUMNS if key
    ]


def fit_columns(widths: dict[str, int], room: int) -> list[str]:
    """The columns (keys of ``widths``, each its width on screen) that fit in ``room``
    cells, dropping ``DROPPED_FIRST``'s in its order; the run number always stays."""
    shown = list(widths)
    for column in DROPPED_FIRST:
        if sum(widths[c] for c in shown) <= room:
            break
        if column in shown:
            shown.remove(column)
    return shown


def _width(cell: Text | str) -> int:
    """The cells ``cell`` takes on screen."""
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


def _figure(value: float | None, spec: str, suffix: str = "") -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return format(value, spec) + suffix


class RunsScreen(Screen[None]):
    """The kept runs: a sortable table, and the loss chart with the chosen runs overlaid."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "toggle_overlay", "Overlay", id="runs.overlay",
                tooltip="Overlay the run on the loss chart (or take it off)"),
        Binding("l", "reopen", "Reopen", id="runs.reopen",
                tooltip="Reopen the run from its file (weights and config)"),
        Binding("o", "app.load_sweep", "Load sweep", id="runs.load-sweep",
                tooltip="Load a sweep's CSV into the table"),
        Binding("x", "clear_overlays", "Clear", id="runs.clear-overlays",
                tooltip="Take every overlay off the loss chart"),
        Binding("delete", "forget", "Forget", id="runs.forget", key_display="del",
                tooltip="Forget the run (take it out of the table)"),
        *_sort_bindings(),
        Binding("escape,R", "close", "Back", id="runs.close", key_display="esc",
                tooltip="Back to the main screen"),
    ]

    DEFAULT_CSS = BOX_CSS + """
    RunsScreen {
        layout: vertical;
        background: $background;
        #runs-table-box { height: auto; min-height: 6; max-height: 50vh; }
        #runs-chart-box { height: 1fr; }
        DataTable { height: auto; max-height: 50vh; background: transparent;
                    scrollbar-size: 1 1; }
        #runs-detail { height: 1; color: $foreground 70%; text-wrap: nowrap;
                       text-overflow: ellipsis; }
    }
    RunsScreen.-small #runs-chart-box { display: none; }
    """

    PALETTE_KEYS = True
    """A full screen: its keys are offered in the command palette while it shows."""

    def __init__(self, store: RunStore, *, deterministic: bool = False) -> None:
        super().__init__()
        self.store = store
        self.deterministic = deterministic
        self.sort_column = "number"
        self.sort_reverse = False
        self._shown_version = -1
        self.shown_columns: list[str] = [column for column, _, _ in COLUMNS]
        """The columns the table shows: those that fit the screen's width."""
        self._shown_room = 0

    def compose(self) -> ComposeResult:
        yield StatusLine(id="runs-status")
        with Box("Runs", id="runs-table-box",
                 subtitle="space overlay · l reopen · 1-9 0 # sort · o load sweep · x clear"):
            yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="runs-detail", markup=False)
        with Box("Loss · current run and overlays", id="runs-chart-box"):
            yield LossChart("Loss", id="runs-chart")
        yield KeyFooter(id="footer", compact=True)

    def on_mount(self) -> None:
        self.rebuild()
        self.table.focus()
        signal = getattr(self.app, "session_updated", None)
        if signal is not None:
            signal.subscribe(self, self._follow, immediate=True)
            self._follow(SessionUpdate())

    def _follow(self, update: SessionUpdate) -> None:
        """The table follows the store; the chart the current run, while this screen shows."""
        self.refresh_if_changed()
        if update.scope != "status" and (update.scope != "tick" or shown_screen(self.app) is self):
            app = self.app
            self.show_curves(app.session.curves(), app.runs.overlay_curves(app.session.config))

    def on_resize(self) -> None:
        self.set_class(self.size.height < 18, "-small")
        if self.is_mounted and self._table_room() != self._shown_room:
            self.rebuild()  # another width: other columns may fit

    @property
    def table(self) -> DataTable:
        return self.query_one("#runs-table", DataTable)

    @property
    def chart(self) -> LossChart:
        return self.query_one("#runs-chart", LossChart)

    # --- the table ---------------------------------------------------------------------
    def rebuild(self) -> None:
        """Fill the table from the store (in the current order), keeping the cursor's run;
        only the columns that fit the screen's width (``fit_columns``)."""
        table = self.table
        current = self.selected_number()
        colors = colors_from_theme(self.app.current_theme, bool(self.app.no_color))
        overlay_index = {r.number: i for i, r in enumerate(self.store.overlaid)}
        records = self.store.sorted(self.sort_column, self.sort_reverse)
        rows = [self._cells(record) for record in records]
        headers = {column: self._header_label(column, header, key)
                   for column, header, key in COLUMNS}
        pad = 2 * table.cell_padding
        widths = {column: pad + max(_width(cell) for cell in (header, *(r[column] for r in rows)))
                  for column, header in headers.items()}
        self._shown_room = self._table_room()
        self.shown_columns = fit_columns(widths, self._table_room() - (1 + pad))  # less the mark
        table.clear(columns=True)
        table.add_column(Text(" "), key="on", width=1)
        for column in self.shown_columns:
            table.add_column(headers[column], key=column)
        for record, cells in zip(records, rows, strict=True):
            mark = self._mark(record, overlay_index, colors)
            table.add_row(mark, *(cells[c] for c in self.shown_columns), key=str(record.number))
        if current is not None and self.store.get(current) is not None:
            table.move_cursor(row=table.get_row_index(str(current)))
        self._shown_version = self.store.version
        self._show_detail()

    def _table_room(self) -> int:
        """The cells a table row may take: the screen's width inside the box's frame and
        padding, less a column for the scroll bar (wide enough for all before layout)."""
        width = self.size.width or self.app.size.width
        return width - 4 - 1 if width else 10_000

    def _header_label(self, column: str, header: str, key: str) -> Text:
        label = Text()
        if key and key != "number_sign":
            label.append(f"{key} ", style="dim")
        label.append(header, style="bold")
        if column == self.sort_column:
            label.append(" ▼" if self.sort_reverse else " ▲")
        return label

    def refresh_if_changed(self) -> None:
        if self.store.version != self._shown_version:
            self.rebuild()

    def _mark(self, record: RunRecord, overlay_index: dict[int, int], colors) -> Text:
        """● in the overlay's colour on the chart, or a blank."""
        index = overlay_index.get(record.number)
        if index is None:
            return Text(" ")
        color = colors.overlays[index % len(colors.overlays)]
        return Text("●", style=Style(color=plot_to_rich(color), bold=True))

    def _cells(self, record: RunRecord) -> dict[str, Text | str]:
        """A run's cell in each column (``COLUMNS``' keys)."""
        seconds = "—" if self.deterministic else _figure(record.seconds, ".1f")
        failed = record.status in ("diverged", "error")
        test = None if record.test_accuracy is None else 100 * record.test_accuracy
        right = lambda text: Text(text, justify="right")  # noqa: E731
        return {
            "number": themed(self.app, record.label,
                             "text-error" if failed else "text-primary", bold=True),
            "dataset": Text(record.dataset),  # a file's name: Text, never read as markup
            "architecture": record.architecture,
            "activation": record.activation,
            "optimizer": record.optimizer,
            "lr": format_lr(record.lr),
            "bias": "on" if record.bias else "off",
            "epochs": right(f"{record.epochs_run:,}"),
            "loss": right(_figure(record.final_loss, ".4g")),
            "accuracy": right(_figure(100 * record.accuracy, ".1f", "%")),
            "test_accuracy": right(_figure(test, ".1f", "%")),
            "epoch_100": right("—" if record.epoch_100 is None else f"{record.epoch_100:,}"),
            "seconds": right(seconds),
        }

    def selected_number(self) -> int | None:
        """The number of the run under the cursor (None for an empty table)."""
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # no row under the cursor
            return None
        return int(key.value) if key.value is not None else None

    def _show_detail(self) -> None:
        detail = self.query_one("#runs-detail", Static)
        number = self.selected_number()
        record = self.store.get(number) if number is not None else None
        if record is None:
            detail.update("No runs kept yet: a run is kept (and saved in the run archive) when "
                          "it finishes, diverges or is replaced (r, a, d, c …) or at quit; "
                          "o loads a sweep's CSV.")
            return
        parts = [record.label, record.summary, record.status]
        if record.test_accuracy is not None:
            parts.append(f"test acc {100 * record.test_accuracy:.1f}%")
        if record.source == "archive":
            parts.append("from an earlier session")
        elif record.source != "app":
            parts.append(f"from a {record.source}")
        if record.path:
            parts.append(Path(record.path).name)
        detail.update(" · ".join(parts))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_toggle_overlay()

    @on(DataTable.HeaderSelected)
    def _header(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        column = str(event.column_key.value)
        if column != "on":
            self.action_sort(column)

    # --- actions --------------------------------------------------------------------------
    def action_sort(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, False
        self.rebuild()

    def action_toggle_overlay(self) -> None:
        number = self.selected_number()
        if number is None:
            self.app.bell()
            return
        record, before = self.store.get(number), self.store.overlaid
        if record is not None and not record.has_curve and not self.store.is_overlaid(number):
            self.notify(f"Run {record.label} has no loss curve to overlay (its file kept "
                        "none).", severity="warning")
            return
        self.store.toggle_overlay(number)
        note = taken_off(before, self.store, chosen=number)
        if note:
            self.notify(note)
        self._overlays_changed()

    def action_clear_overlays(self) -> None:
        self.store.clear_overlays()
        self._overlays_changed()

    async def action_reopen(self) -> None:
        """l: load the run under the cursor from its file, as ctrl+o does."""
        number = self.selected_number()
        record = self.store.get(number) if number is not None else None
        if record is None:
            self.app.bell()
            return
        if not record.path:
            why = "a sweep's row" if record.source == "sweep" else "autosave was off or failed"
            self.notify(f"Run {record.label} has no file to reopen ({why}).", severity="warning")
            return
        reopen = getattr(self.app, "reopen_run", None)
        if reopen is not None:
            await reopen(record.path)

    def action_forget(self) -> None:
        number = self.selected_number()
        if number is None:
            return
        self.store.remove(number)
        self._overlays_changed()

    def _overlays_changed(self) -> None:
        self.rebuild()
        runs_changed = getattr(self.app, "runs_changed", None)
        if runs_changed is not None:
            runs_changed()

    def show_curves(self, curves: Curves, overlays) -> None:
        """The current run's curves with the overlays, on this screen's chart."""
        self.chart.set_series(curves.train, curves.test, curves.rate_changes, overlays)

    def action_close(self) -> None:
        self.dismiss(None)


__all__ = ["COLUMNS", "Box", "InspectScreen", "RunsScreen"]
