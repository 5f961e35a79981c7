"""The architecture editor: every field of an ``ExperimentConfig`` in one compact form.

The editor never touches a model. It validates as you type, through the engine's own
parsers (``engine.config.parse_field`` for each field, then
``ExperimentConfig.from_dict`` for the rules that involve several fields), so the
messages it shows are exactly the engine's. It tells the app what happens through
two messages:

- ``ArchitectureEditor.Changed(config, errors)`` after every edit (``config`` is
  ``None`` while anything is invalid);
- ``ArchitectureEditor.Applied(config)`` when the user applies a valid config
  (ctrl+s, the Apply button, or the app calling ``apply()``).

Layout: a network diagram on top, a scrolling two-column form (label | one-line
control) grouped in sections, then a message line and the Apply bar. Fields that do
not matter for the current choice (momentum unless the optimizer is ``momentum``, the
settings of the schedules not chosen) are hidden, not dropped: they are still
validated and still part of the config.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from engine.config import (
    FIELDS,
    PRESET_NAMES,
    ConfigError,
    ExperimentConfig,
    parse_field,
    preset,
)

CUSTOM = "custom"
"""The preset picker's value when the fields match no preset."""

SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Data", (
        ("dataset", "dataset"),
        ("n", "points"),
        ("noise", "noise"),
        ("test_split", "test split"),
        ("data_seed", "data seed"),
        ("data_path", "csv path"),
        ("scale", "scaling"),
    )),
    ("Network", (
        ("hidden", "hidden"),
        ("activation", "activation"),
        ("bias", "bias"),
        ("init", "init"),
        ("seed", "init seed"),
        ("dtype", "dtype"),
    )),
    ("Training", (
        ("loss", "loss"),
        ("optimizer", "optimizer"),
        ("momentum", "momentum"),
        ("lr", "learn rate"),
        ("epochs", "epochs"),
        ("batch_size", "batch size"),
        ("log_every", "log every"),
    )),
    ("Schedule", (
        ("schedule", "schedule"),
        ("halve_every", "every"),
        ("halve_band", "band"),
        ("halve_factor", "factor"),
        ("patience", "patience"),
        ("plateau_factor", "factor"),
        ("threshold", "threshold"),
        ("cooldown", "cooldown"),
        ("min_lr", "min lr"),
    )),
)
"""Form sections: (title, ((field, label), ...)). Fields missing here go to "Other"."""

SHOWN_WHEN: dict[str, tuple[str, frozenset[str]]] = {
    "momentum": ("optimizer", frozenset({"momentum"})),
    "halve_every": ("schedule", frozenset({"halving"})),
    "halve_band": ("schedule", frozenset({"halving"})),
    "halve_factor": ("schedule", frozenset({"halving"})),
    "patience": ("schedule", frozenset({"plateau"})),
    "plateau_factor": ("schedule", frozenset({"plateau"})),
    "threshold": ("schedule", frozenset({"plateau"})),
    "cooldown": ("schedule", frozenset({"plateau"})),
    "min_lr": ("schedule", frozenset({"halving", "plateau"})),
}
"""Rows shown only while another field (a Select) has one of the given values."""

PLACEHOLDERS: dict[str, str] = {
    "hidden": "none (e.g. 10,5,3,5)",
    "activation": "sigmoid | relu,relu,sigmoid",
    "data_path": "empty = generated",
    "halve_band": "low,high e.g. 0.9,1.1",
}

TEXT_CHOICE_FIELDS = frozenset({"activation"})
"""Fields with choices that are still typed (a comma list), not picked."""

ControlWidget = Input | Select | Checkbox


def field_sections() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """``SECTIONS`` plus an "Other" section for engine fields the table does not list."""
    listed = {name for _, rows in SECTIONS for name, _ in rows}
    extra = tuple((name, name.replace("_", " ")[:10]) for name in FIELDS if name not in listed)
    return [*SECTIONS, ("Other", extra)] if extra else list(SECTIONS)


def describe(config: ExperimentConfig) -> tuple[str, str]:
    """The diagram's two lines: ``2 → 4 → 4 → 1`` and ``sigmoid ×3 · 24 params · no bias``."""
    acts = config.activation
    n_layers = len(config.hidden) + 1
    act_text = f"{acts[0]} ×{n_layers}" if len(acts) == 1 else ",".join(acts)
    count = config.n_parameters
    params = f"{count:,} param{'s' if count != 1 else ''}"
    return config.diagram(), f"{act_text} · {params} · {'bias' if config.bias else 'no bias'}"


@functools.cache
def preset_configs() -> dict[str, ExperimentConfig]:
    """Every preset as a config (built once)."""
    return {name: preset(name) for name in PRESET_NAMES}


def matching_preset(config: ExperimentConfig | None) -> str:
    """The name of the preset equal to ``config``, or ``CUSTOM``."""
    for name, candidate in preset_configs().items():
        if candidate == config:
            return name
    return CUSTOM


def validate_texts(texts: dict[str, str]) -> tuple[ExperimentConfig | None, dict[str, str]]:
    """Parse field texts into a config, or collect the engine's messages per field.

    Cross-field rules run only when every field parses, so a half-typed value never
    produces a misleading error elsewhere.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, text in texts.items():
        try:
            values[name] = parse_field(name, text)
        except ConfigError as exc:
            errors[name] = exc.message
    if errors:
        return None, errors
    try:
        return ExperimentConfig.from_dict(values), {}
    except ConfigError as exc:
        return None, {exc.field or "hidden": exc.message}


class ListSuggester(Suggester):
    """Completes the last item of a comma list (``relu,si`` -> ``relu,sigmoid``)."""

    def __init__(self, choices: Iterable[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.choices = tuple(choices)

    async def get_suggestion(self, value: str) -> str | None:
        """The value with its last item completed, if exactly one name fits."""
        last = value.rpartition(",")[2]
        stem = last.strip().lower()
        if not stem:
            return None
        fits = [c for c in self.choices if c.startswith(stem) and c != stem]
        if len(fits) != 1:
            return None
        return value + fits[0][len(stem):]


class SectionTitle(Widget):
    """A one-line section heading: ``── Network ─────────``."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title

    def render(self) -> Content:
        """The title in the primary text colour on a rule of the widget's width."""
        rest = max(0, self.size.width - len(self.title) - 4)
        return Content.assemble("── ", (self.title, "bold $text-primary"), " " + "─" * rest)


class FieldRow(Horizontal):
    """One form row: a fixed-width label and a one-line control."""

    def __init__(self, name: str, label: str, control: Widget) -> None:
        super().__init__(classes="row", id=f"row-{name}")
        self.field_name = name
        self.label = label
        self.control = control
        self._error: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="label")
        yield self.control
        yield Label(" ", classes="mark")

    def mark(self, message: str | None) -> None:
        """Flag the row invalid (``message``) or valid (``None``)."""
        if message == self._error:
            return
        self._error = message
        self.set_class(message is not None, "-invalid")
        self.control.set_class(message is not None, "-invalid")
        self.query_one(".mark", Label).update(" " if message is None else "✗")


class ArchitectureEditor(Widget):
    """A keyboard-first editor of an ``ExperimentConfig`` that posts ``Changed``/``Applied``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="editor.apply", tooltip="Apply the config"),
    ]

    DEFAULT_CSS = """
    ArchitectureEditor {
        layout: vertical;
        width: 1fr;
        height: 1fr;
        min-width: 30;

        #diagram {
            height: auto;
            max-height: 4;
            padding: 0 0 0 1;
            background: $primary 10%;
            &.-stale { color: $text-disabled; }
        }
        #form {
            height: 1fr;
            padding: 0 0 0 1;
            scrollbar-size-vertical: 1;
        }
        SectionTitle {
            width: 1fr;
            height: 1;
            color: $primary-muted;
        }
        .row {
            height: 1;
            width: 1fr;
            &.-hidden { display: none; }
            & > .label {
                width: 11;
                height: 1;
                padding-right: 1;
                color: $text-muted;
            }
            & > .mark { width: 2; height: 1; padding-left: 1; color: $text-error; }
            &:focus-within > .label { color: $text; text-style: bold; }
            &.-invalid > .label { color: $text-error; text-style: bold; }
            & > Input { width: 1fr; background: $boost; }
            & > Input.-invalid { background: $error 25%; }
            & > Select { width: 1fr; }
            & > Select.-invalid > SelectCurrent { background: $error 25%; }
            & > Checkbox { background: transparent; }
        }
        #footer {
            height: auto;
            background: $primary 10%;
        }
        #message {
            height: auto;
            max-height: 3;
            padding: 0 1;
            color: $text-muted;
            &.-error { color: $text-error; }
            &.-refused { text-style: bold; background: $error 20%; }
        }
        #actions {
            height: 1;
            padding: 0 1;
            & > Button { width: auto; min-width: 9; margin-right: 1; }
            & > #status { width: 1fr; height: 1; color: $text-muted; }
            & > #status.-error { color: $text-error; }
            & > #status.-dirty { color: $text-warning; }
            & > #status.-clean { color: $text-success; }
        }
    }
    """

    class Changed(Message):
        """Posted after every edit: the valid config (or ``None``) and the errors per field."""

        def __init__(
            self,
            config: ExperimentConfig | None,
            errors: dict[str, str],
            editor: ArchitectureEditor | None = None,
        ) -> None:
            super().__init__()
            self.config = config
            self.errors = errors
            self.editor = editor

        @property
        def control(self) -> ArchitectureEditor | None:
            """The editor that posted the message."""
            return self.editor

    class Applied(Message):
        """Posted when the user applies a valid config."""

        def __init__(
            self, config: ExperimentConfig, editor: ArchitectureEditor | None = None
        ) -> None:
            super().__init__()
            self.config = config
            self.editor = editor

        @property
        def control(self) -> ArchitectureEditor | None:
            """The editor that posted the message."""
            return self.editor

    def __init__(
        self,
        config: ExperimentConfig | None = None,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """An editor showing ``config`` (default: ``ExperimentConfig()``)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._initial = config or ExperimentConfig()
        self._applied: ExperimentConfig = self._initial
        self._last_valid: ExperimentConfig = self._initial
        self._fields: dict[str, ControlWidget] = {}
        self._rows: dict[str, FieldRow] = {}
        self._focused_field: str | None = None
        self._seen: dict[str, str] = {}
        self.border_title = "Architecture"

    # --- public API ----------------------------------------------------------------
    @property
    def config(self) -> ExperimentConfig | None:
        """The config the fields describe now, or ``None`` while anything is invalid."""
        return self._validate()[0]

    @property
    def errors(self) -> dict[str, str]:
        """The engine's message for every invalid field (empty when all is valid)."""
        return self._validate()[1]

    @property
    def applied_config(self) -> ExperimentConfig:
        """The config last given to ``set_config`` or applied."""
        return self._applied

    def set_config(self, config: ExperimentConfig) -> None:
        """Show ``config`` in every field as the one in use; posts ``Changed``, not ``Applied``."""
        self._applied = config
        if not self._fields:
            self._initial = self._last_valid = config
            return
        self._fill(config)
        self._refresh_view(post=True)

    def apply(self) -> bool:
        """Post ``Applied`` with the current config, or refuse (with the message) if invalid."""
        config, errors = self._validate()
        edited = self._texts() != self._seen  # an edit whose Changed is still queued
        if config is None:
            self._refresh_view(post=edited)
            self._refuse(errors)
            return False
        self._applied = config
        self._refresh_view(post=edited)
        self.post_message(self.Applied(config, self))
        return True

    def action_apply(self) -> None:
        """Apply the config (ctrl+s)."""
        self.apply()

    # --- building ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Diagram, the scrolling form, the message line and the Apply bar."""
        yield Static(id="diagram", markup=False)
        with VerticalScroll(id="form"):
            yield FieldRow("preset", "preset", self._preset_select())
            for index, (title, rows) in enumerate(field_sections(), start=1):
                yield SectionTitle(title, id=f"section-{index}")
                for name, label in rows:
                    self._rows[name] = FieldRow(name, label, self._make_control(name))
                    yield self._rows[name]
        with Vertical(id="footer"):
            yield Static(id="message", markup=False)
            with Horizontal(id="actions"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Static(id="status", markup=False)

    def on_mount(self) -> None:
        """Show the initial state without announcing it."""
        self._refresh_view(post=False)

    def _preset_select(self) -> Select[str]:
        options = [(name, name) for name in (*PRESET_NAMES, CUSTOM)]
        return Select(
            options, value=matching_preset(self._initial), allow_blank=False,
            compact=True, id="preset", tooltip="fill every field from a preset",
        )

    def _make_control(self, name: str) -> ControlWidget:
        spec = FIELDS[name]
        config = self._initial
        control: ControlWidget
        if name == "bias":
            control = Checkbox(config.field_text(name), config.bias, compact=True)
        elif spec.choices and name not in TEXT_CHOICE_FIELDS:
            options = [(choice, choice) for choice in spec.choices]
            control = Select(
                options, value=getattr(config, name), allow_blank=False, compact=True
            )
        else:
            suggester = ListSuggester(spec.choices) if spec.choices else None
            control = Input(
                config.field_text(name), placeholder=PLACEHOLDERS.get(name, ""),
                compact=True, validate_on=[], select_on_focus=False, suggester=suggester,
            )
        control.id = f"field-{name}"
        control.tooltip = spec.help
        self._fields[name] = control
        return control

    # --- reading and writing the fields --------------------------------------------
    def field_widget(self, name: str) -> ControlWidget:
        """The control that edits field ``name``."""
        return self._fields[name]

    def _texts(self) -> dict[str, str]:
        return {name: self._text_of(widget) for name, widget in self._fields.items()}

    @staticmethod
    def _text_of(widget: ControlWidget) -> str:
        if isinstance(widget, Checkbox):
            return "on" if widget.value else "off"
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        return widget.value

    def _validate(self) -> tuple[ExperimentConfig | None, dict[str, str]]:
        if not self._fields:
            return self._initial, {}
        return validate_texts(self._texts())

    def _fill(self, config: ExperimentConfig) -> None:
        """Write ``config`` into the widgets without them posting change messages."""
        with self.prevent(Input.Changed, Select.Changed, Checkbox.Changed):
            for name, widget in self._fields.items():
                self._write(name, widget, config)
            self._sync_preset(config)

    @staticmethod
    def _write(name: str, widget: ControlWidget, config: ExperimentConfig) -> None:
        value = getattr(config, name)
        if isinstance(widget, Checkbox):
            widget.value = bool(value)
            widget.label = config.field_text(name)
        elif isinstance(widget, Select):
            widget.value = value
        elif not _same(name, widget.value, value):
            widget.value = config.field_text(name)
            widget.cursor_position = len(widget.value)

    def _sync_preset(self, config: ExperimentConfig | None) -> None:
        select = self.query_one("#preset", Select)
        wanted = matching_preset(config)
        if select.value != wanted:
            with self.prevent(Select.Changed):
                select.value = wanted

    # --- reacting to edits ----------------------------------------------------------
    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _field_changed(self, event: Input.Changed | Select.Changed | Checkbox.Changed) -> None:
        event.stop()
        if event.control.id == "preset":
            self._preset_chosen(event.value)
            return
        if isinstance(event, Checkbox.Changed):
            event.checkbox.label = "on" if event.value else "off"
        if self._texts() != self._seen:  # mount-time and repeated events change nothing
            self._refresh_view(post=True)

    def _preset_chosen(self, name: Any) -> None:
        if name == CUSTOM or name is Select.NULL:
            return
        target = preset_configs()[str(name)]
        if self.config == target:
            return
        self._fill(target)
        self._refresh_view(post=True)

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        """Enter in a text field moves on, like tab."""
        event.stop()
        self.screen.focus_next()

    @on(Button.Pressed, "#apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.apply()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Remember the focused field to explain it on the message line."""
        self._focused_field = self._field_name_of(event.widget)
        self._show_message(self._validate()[1])

    def _field_name_of(self, widget: Widget) -> str | None:
        for node in widget.ancestors_with_self:
            if isinstance(node, FieldRow):
                return node.field_name
            if node is self:
                break
        return None

    # --- showing the state ----------------------------------------------------------
    def _refresh_view(self, *, post: bool) -> None:
        self._seen = self._texts()
        config, errors = validate_texts(self._seen)
        if config is not None:
            self._last_valid = config
        self._show_visibility()
        for name, row in self._rows.items():
            row.mark(errors.get(name))
        self._show_diagram(config)
        self._show_message(errors)
        self._show_status(config, errors)
        self.query_one("#apply", Button).disabled = bool(errors)
        self._sync_preset(config)
        if post:
            self.post_message(self.Changed(config, dict(errors), self))

    def _show_visibility(self) -> None:
        for name, (owner, values) in SHOWN_WHEN.items():
            if name in self._rows and owner in self._fields:
                shown = self._text_of(self._fields[owner]) in values
                self._rows[name].set_class(not shown, "-hidden")

    def _show_diagram(self, config: ExperimentConfig | None) -> None:
        sizes, details = describe(config or self._last_valid)
        diagram = self.query_one("#diagram", Static)
        diagram.set_class(config is None, "-stale")
        if config is None:
            _update(diagram, Content(f"{sizes}  (invalid)\n{details}"))
        else:
            _update(diagram, Content.assemble((sizes, "bold $text-primary"), "\n", details))

    def _show_message(self, errors: dict[str, str]) -> None:
        line = self.query_one("#message", Static)
        line.remove_class("-refused")
        line.set_class(bool(errors), "-error")
        _update(line, Content(self._message_for(errors)))

    def _message_for(self, errors: dict[str, str]) -> str:
        """The focused field's error, else the first error in form order, else its help."""
        if errors:
            if self._focused_field in errors:
                return errors[self._focused_field]
            return next((errors[name] for name in self._fields if name in errors),
                        next(iter(errors.values())))
        if self._focused_field == "preset":
            return "choose a preset to fill every field (apply to use it)"
        if self._focused_field in FIELDS:
            return _help(self._focused_field)
        return "ctrl+s applies · enter: next field"

    def _show_status(self, config: ExperimentConfig | None, errors: dict[str, str]) -> None:
        if errors:
            count = len(errors)
            self._set_status("-error", f"✗ {count} error{'s' if count > 1 else ''}")
        elif config == self._applied:
            self._set_status("-clean", "✓ in use")
        else:
            self._set_status("-dirty", "● edited · ctrl+s applies")

    def _set_status(self, state: str, text: str) -> None:
        status = self.query_one("#status", Static)
        for name in ("-error", "-clean", "-dirty"):
            status.set_class(name == state, name)
        _update(status, Content(text))

    def _refuse(self, errors: dict[str, str]) -> None:
        """Show why an apply was refused, ring the bell and bring the field into view."""
        self._show_message(errors)
        self.query_one("#message", Static).add_class("-refused")
        self._set_status("-error", "✗ not applied")
        self.app.bell()
        bad = next((name for name in self._rows if name in errors), None)
        if bad is not None and not self._rows[bad].has_class("-hidden"):
            form = self.query_one("#form", VerticalScroll)  # after the footer's relayout:
            self.call_after_refresh(form.scroll_to_widget, self._rows[bad], animate=False,
                                    center=True)


def _update(static: Static, content: Content) -> None:
    """Update a Static only when its content changes (each update costs a layout)."""
    old = static.content
    if not (isinstance(old, Content) and old.plain == content.plain and old.spans == content.spans):
        static.update(content)


def _same(name: str, text: str, value: Any) -> bool:
    """Whether ``text`` already parses to ``value`` (so rewriting it would only move the cursor)."""
    try:
        return parse_field(name, text) == value
    except ConfigError:
        return False


def _help(name: str) -> str:
    spec = FIELDS[name]
    if name in TEXT_CHOICE_FIELDS:
        return f"{spec.help}: {', '.join(spec.choices)}"
    return spec.help
