"""The architecture editor: every field of an ``ExperimentConfig`` in one compact form.

The editor never touches a model. It validates as you type, through the engine's own
parsers (``engine.config.experiment.parse_field`` for each field, then
``ExperimentConfig.from_dict`` for the rules that involve several fields), so the
messages it shows are exactly the engine's. It tells the app what happens through
two messages:

- ``ArchitectureEditor.Changed(config, errors)`` after every edit (``config`` is
  ``None`` while anything is invalid);
- ``ArchitectureEditor.Applied(config)`` when the user applies a valid config
  (ctrl+s, the Apply button, or the app calling ``apply()``).

Layout: a network diagram on top, a scrolling two-column form (label | one-line
control) grouped in sections, then a message line and the Apply bar. The sections,
the labels, the help and when a field matters all come from
``engine.config.fields``, which the command line's flags and --help read too. Fields
that do not matter for the current choice (momentum unless the optimizer is
``momentum``, the settings of the schedules not chosen) are hidden, not dropped: they
are still validated and still part of the config.

Getting around: the focused field is always scrolled into view (below the diagram,
above the message line, whose height changes with the field's help). The fields a
student changes most have jump keys, alt+letter, the letter underlined in the row's
label (``JUMP_KEYS``): alt+r the learning rate, alt+e the epochs, alt+h the hidden
sizes... They are priority bindings, so they work from inside a text field too (a
terminal sends alt+r as the character ``r`` with a modifier, which a text field would
otherwise type). After an Apply that is refused, the focus goes to the first invalid
field.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.geometry import Size
from textual.message import Message
from textual.suggester import Suggester
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Select, Static
from textual.widgets._select import SelectCurrent, SelectOverlay

from engine.config.experiment import (
    FIELDS,
    PRESET_NAMES,
    ConfigError,
    ExperimentConfig,
    parse_field,
    preset,
)
from engine.config.fields import SECTIONS, SETTINGS
from engine.data.features import DEFAULT_FEATURES

CUSTOM = "custom"
"""The preset picker's value when the fields match no preset."""

PLACEHOLDERS: dict[str, str] = {
    "hidden": "none (e.g. 10,5,3,5)",
    "activation": "sigmoid | relu,relu,sigmoid",
    "data_path": "empty = generated",
    "halve_band": "low,high e.g. 0.9,1.1",
    "features": "x1,x2 | x1^2,x2^2,x1*x2",
}

TEXT_CHOICE_FIELDS = frozenset({"activation", "features"})
"""Fields with choices that are still typed (a comma list), not picked."""

ControlWidget = Input | Select | Checkbox
CompactControl = TypeVar("CompactControl", Input, Select, Checkbox)

LABEL_WIDTH = 10
"""Characters of a row label; an invalid row adds `` ✗``."""

JUMP_KEYS: dict[str, str] = {
    "preset": "p", "dataset": "d", "noise": "n", "hidden": "h", "activation": "a",
    "bias": "b", "loss": "l", "optimizer": "o", "lr": "r", "epochs": "e", "schedule": "s",
}
"""alt+letter focuses the field: the ones a student changes most (the training fields
sit 15-20 tabs down the form). Each letter is in the field's label, underlined there."""


def jump_letter_index(label: str, letter: str) -> int:
    """Where ``letter`` is underlined in ``label``: a word's first letter if one is it
    (``learn rate``: the r of rate), else its first occurrence (-1: not in the label)."""
    for index, char in enumerate(label):
        if char == letter and (index == 0 or label[index - 1] == " "):
            return index
    return label.find(letter)


def field_sections() -> list[tuple[str, tuple[tuple[str, str], ...]]]:
    """The form's sections, as ``engine.config.fields.SECTIONS`` lays them out (the
    command line's --help groups them alike): (title, ((field, label), ...))."""
    return [(section.title, tuple((s.name, s.label) for s in section.settings))
            for section in SECTIONS]


def describe(config: ExperimentConfig) -> tuple[str, str]:
    """The diagram's two lines: ``2 → 4 → 4 → 1`` and ``sigmoid ×3 · 24 params · no bias``.

    Chosen input features are named (``x1,x2,x1^2 → 4 → 1``); the course's two inputs
    stay a number. An output layer that the loss or the task sets (ce's softmax over K
    classes, a regression's linear unit) is named after the hidden layers' activation:
    ``tanh ×2, softmax`` (one hidden layer: ``tanh, softmax``)."""
    acts = config.activation
    n_layers = len(config.hidden) + 1
    layers = config.layer_activations
    if len(acts) > 1:
        act_text = ",".join(layers)
    elif layers[-1] != acts[0]:  # one name for the hidden layers; the output is set
        hidden = f"{acts[0]} ×{n_layers - 1}" if n_layers > 2 else acts[0]
        act_text = f"{hidden}, {layers[-1]}" if n_layers > 1 else layers[-1]
    else:
        act_text = f"{acts[0]} ×{n_layers}"
    count = config.n_parameters
    params = f"{count:,} param{'s' if count != 1 else ''}"
    sizes = config.diagram()
    if config.features != DEFAULT_FEATURES:
        sizes = " → ".join((",".join(config.features), *(str(n) for n in config.sizes[1:])))
    return sizes, f"{act_text} · {params} · {'bias' if config.bias else 'no bias'}"


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
    """One form row: a label, drawn by the row itself, and a one-line control.

    The row draws its label (``render``) in the column the control's left margin leaves
    free, rather than holding a ``Label``: the form has 30 rows, and each widget costs
    start-up time. An invalid row says so in the label: ``hidden     ✗``, in the error
    colour.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"field-row--label"}

    def __init__(self, name: str, label: str, control: Widget, *, hidden: bool = False) -> None:
        # -hidden given here, not set after mounting: a class change restyles the row
        super().__init__(classes="row -hidden" if hidden else "row", id=f"row-{name}")
        self.field_name = name
        self.label = label
        self.control = control
        self._error: str | None = None
        self._jump = jump_letter_index(label, JUMP_KEYS[name]) if name in JUMP_KEYS else -1

    def compose(self) -> ComposeResult:
        yield self.control

    def render(self) -> Content:
        """The label (the control covers the rest of the row)."""
        text = self.label if self._error is None else f"{self.label:<{LABEL_WIDTH}} ✗"
        content = Content(text).stylize(self.get_visual_style("field-row--label"))
        if self._jump >= 0:  # the alt+letter that jumps here
            content = content.stylize("underline", self._jump, self._jump + 1)
        return content

    def mark(self, message: str | None) -> None:
        """Flag the row invalid (``message``) or valid (``None``)."""
        if message == self._error:
            return
        self._error = message
        self.set_class(message is not None, "-invalid")
        self.control.set_class(message is not None, "-invalid")
        self.refresh()


class ChoiceCurrent(SelectCurrent):
    """``SelectCurrent`` drawn as one line (``value  ▼``) instead of three Static children."""

    def compose(self) -> ComposeResult:
        """No children: ``render`` draws the value and the arrow."""
        return iter(())

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """One line (a childless container would otherwise be 0 high)."""
        return 1

    def update(self, label: Any) -> None:
        """Show ``label`` (``Select.NULL``: the placeholder)."""
        self.label = label
        self.has_value = label is not Select.NULL
        self.refresh()

    def _watch_has_value(self, has_value: bool) -> None:
        """Redraw; no ``-has-value`` class (it styles the Static children there are not)."""
        self.refresh()

    def render(self) -> Content:
        """The value on the left, the arrow (▲ while the list is open) on the right."""
        label = self.placeholder if self.label is Select.NULL else self.label
        text = getattr(label, "plain", None) or str(label)
        expanded = isinstance(self.parent, Select) and self.parent.expanded
        width = max(0, self.content_size.width - 2)  # the arrow and the space before it
        value_style = "$foreground" if self.has_value else "$foreground 50%"
        return Content.assemble(
            Content.styled(text, value_style).truncate(width, pad=True),
            (" ▲" if expanded else " ▼", "$foreground 50%"),
        )


class ChoiceList(SelectOverlay):
    """A ``Choice``'s list: Textual's ``SelectOverlay``, safe to page before it is laid out."""

    def _move_page(self, direction: Any) -> None:
        # OptionList indexes its lines only once it has a size: a page key queued behind
        # the key that opened the list (the fuzz test sends such bursts) raised KeyError
        # there. Textual's Select does the same on its first opening.
        if (self.highlighted or 0) not in self._index_to_line:
            return
        super()._move_page(direction)


class Choice(Select[str]):
    """A ``Select`` that builds its option list the first time it is opened.

    Textual's ``Select`` is six widgets, one of them a hidden ``OptionList`` that is laid
    out five times while its options are set; the editor has eight of them. ``Choice`` is
    two until opened: the same keys (enter, space, up, down open it; up, down, enter
    pick), the same messages, the same look.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opening = asyncio.Lock()

    def compose(self) -> ComposeResult:
        """The current value only; the overlay comes with the first ``action_show_overlay``."""
        yield ChoiceCurrent(self.prompt)

    def _overlay(self) -> SelectOverlay | None:
        try:
            return self.query_one(SelectOverlay)
        except NoMatches:
            return None

    async def _mount_overlay(self) -> None:
        async with self._opening:  # two quick keys must not mount two lists
            if self._overlay() is not None:
                return
            overlay = ChoiceList(type_to_search=self._type_to_search)
            overlay.compact = self.compact
            await self.mount(overlay)
            super()._setup_options_renderables()

    def _setup_options_renderables(self) -> None:
        if self._overlay() is not None:  # else done when the overlay is mounted
            super()._setup_options_renderables()

    def _watch_value(self, value: Any) -> None:
        if self._overlay() is not None:
            super()._watch_value(value)
            return
        # Select's watcher, less the overlay's highlight (set when the overlay opens)
        self._value = value
        try:
            current = self.query_one(SelectCurrent)
        except NoMatches:
            return
        prompts = {option_value: prompt for prompt, option_value in self._options}
        current.update(Select.NULL if value == Select.NULL else prompts.get(value, value))
        self.post_message(self.Changed(self, value))

    def _watch_expanded(self, expanded: bool) -> None:
        if expanded and self._overlay() is None:  # a click on the value: open it properly
            self.set_reactive(Select.expanded, False)
            self.call_next(self.action_show_overlay)
            return
        super()._watch_expanded(expanded)
        for current in self.query(SelectCurrent):
            current.refresh()  # the arrow turns

    async def action_show_overlay(self) -> None:
        """Mount the list if this is the first time, then open it."""
        await self._mount_overlay()
        super().action_show_overlay()


class Form(VerticalScroll):
    """The scrolling form, which keeps the focused row in view when it is resized.

    The message line under the form changes height with the focused field's help or
    error: when the form shrinks after Textual scrolled to a focused row (at the
    bottom edge), the row would end up under the message line.
    """

    def on_resize(self, event: events.Resize) -> None:
        """Scroll the focused row back into view (without animation)."""
        focused = self.screen.focused
        if focused is None or self not in focused.ancestors:
            return
        row = next((n for n in focused.ancestors_with_self if isinstance(n, FieldRow)), None)
        if row is not None:
            self.scroll_to_widget(row, animate=False, immediate=True)


class ArchitectureEditor(Widget):
    """A keyboard-first editor of an ``ExperimentConfig`` that posts ``Changed``/``Applied``."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "apply", "Apply", id="editor.apply", tooltip="Apply the config"),
        *(Binding(f"alt+{letter}", f"jump('{name}')", f"Go to {name}", show=False,
                  priority=True, id=f"editor.jump-{name}") for name, letter in JUMP_KEYS.items()),
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
        /* ANSI colours have no alpha: "$primary 10%" is solid cyan there, under the
           diagram's cyan text and the green "in use". The terminal's background instead. */
        &:ansi {
            #diagram, #footer { background: transparent; }
        }
        #form {
            height: 1fr;
            padding: 0 0 0 1;
            scrollbar-size-vertical: 1;
            /* the scrollbar's column is kept from the start: when it appeared after the
               first layout, every row was laid out and drawn again at start-up */
            scrollbar-gutter: stable;
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
            /* the row draws its label left of the control: LABEL_WIDTH, " ✗", a space */
            & > * { margin-left: 13; }
            & > .field-row--label { color: $text-muted; }
            &:focus-within > .field-row--label { color: $text; text-style: bold; }
            &.-invalid > .field-row--label { color: $text-error; text-style: bold; }
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
        self._refused_field: str | None = None
        """The invalid field a refused Apply sends the focus to (its message stays loud)."""
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

    def action_jump(self, name: str) -> None:
        """alt+letter: focus field ``name`` (a bell if its row is hidden for this config)."""
        if self._row_of(name).has_class("-hidden"):
            self.app.bell()
            return
        control = self._fields.get(name) or self.query_one("#preset", Select)
        control.focus()

    # --- building ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        """Diagram, the scrolling form, the message line and the Apply bar."""
        yield Static(id="diagram", markup=False)
        with Form(id="form"):
            yield FieldRow("preset", "preset", self._preset_select())
            for index, (title, rows) in enumerate(field_sections(), start=1):
                yield SectionTitle(title, id=f"section-{index}")
                for name, label in rows:
                    self._rows[name] = FieldRow(name, label, self._make_control(name),
                                                hidden=not self._shown(name, self._initial))
                    yield self._rows[name]
        with Vertical(id="footer"):
            yield Static(id="message", markup=False)
            with Horizontal(id="actions"):
                yield Button("Apply", id="apply", variant="primary", compact=True)
                yield Static(id="status", markup=False, classes="-clean")  # as on_mount sets

    def on_mount(self) -> None:
        """Show the initial state without announcing it."""
        self._refresh_view(post=False)

    def _preset_select(self) -> Select[str]:
        options = [(name, name) for name in (*PRESET_NAMES, CUSTOM)]
        return _make_compact(Choice(
            options, value=matching_preset(self._initial), allow_blank=False,
            id="preset", tooltip="fill every field from a preset",
        ))

    def _make_control(self, name: str) -> ControlWidget:
        spec = FIELDS[name]
        config = self._initial
        control: ControlWidget
        if name == "bias":
            control = Checkbox(config.field_text(name), config.bias)
        elif spec.choices and name not in TEXT_CHOICE_FIELDS:
            options = [(choice, choice) for choice in spec.choices]
            control = Choice(options, value=getattr(config, name), allow_blank=False)
        else:
            suggester = ListSuggester(spec.choices) if spec.choices else None
            control = Input(
                config.field_text(name), placeholder=PLACEHOLDERS.get(name, ""),
                validate_on=[], select_on_focus=False, suggester=suggester,
            )
        _make_compact(control)
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
        """Explain the focused field on the message line, and keep the field in view.

        Textual scrolls a focused widget into view, but the message line then changes
        to the field's help, maybe one line taller, and the form one shorter: the
        field could end up under the message. The form scrolls to it again when it is
        resized (``Form``), and here once the new message is laid out.
        """
        name = self._field_name_of(event.widget)
        self._focused_field = name
        refused, self._refused_field = name is not None and name == self._refused_field, None
        self._show_message(self._validate()[1], refused=refused)
        if name is not None:
            self.call_after_refresh(self._reveal, self._row_of(name))

    def _row_of(self, name: str) -> Widget:
        """The form row of field ``name`` (the preset has one too)."""
        return self._rows.get(name) or self.query_one("#row-preset")

    def _reveal(self, row: Widget) -> None:
        """Scroll the form so the whole of ``row`` shows (none of it under the footer)."""
        form = self.query_one("#form", VerticalScroll)
        form.scroll_to_widget(row, animate=False, immediate=True)

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
        def value_of(field: str) -> str:
            return self._text_of(self._fields[field])

        for name, row in self._rows.items():
            if SETTINGS[name].shown_when is not None:
                row.set_class(not SETTINGS[name].shown(value_of), "-hidden")

    @staticmethod
    def _shown(name: str, config: ExperimentConfig) -> bool:
        """Whether field ``name``'s row shows for ``config`` (its setting's ``shown_when``)."""
        return SETTINGS[name].shown(functools.partial(getattr, config))

    def _show_diagram(self, config: ExperimentConfig | None) -> None:
        sizes, details = describe(config or self._last_valid)
        diagram = self.query_one("#diagram", Static)
        diagram.set_class(config is None, "-stale")
        if config is None:
            _update(diagram, Content(f"{sizes}  (invalid)\n{details}"))
        else:
            _update(diagram, Content.assemble((sizes, "bold $text-primary"), "\n", details))

    def _show_message(self, errors: dict[str, str], *, refused: bool = False) -> None:
        line = self.query_one("#message", Static)
        line.set_class(refused, "-refused")
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
        return "ctrl+s applies · alt+letter jumps"

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
        """Show why an apply was refused, ring the bell and focus the first invalid field."""
        self._show_message(errors, refused=True)
        self._set_status("-error", "✗ not applied")
        self.app.bell()
        bad = self._first_invalid(errors)
        if bad is None:
            return
        if self._fields[bad].has_focus:
            self.call_after_refresh(self._reveal, self._row_of(bad))
        else:
            self._refused_field = bad
            self._fields[bad].focus()  # on_descendant_focus scrolls it into view

    def _first_invalid(self, errors: dict[str, str]) -> str | None:
        """The first invalid field in form order that shows, else the field that would
        show the first invalid one (the optimizer of a hidden, invalid momentum)."""
        invalid = [name for name in self._rows if name in errors]
        shown = [name for name in invalid if not self._rows[name].has_class("-hidden")]
        if shown:
            return shown[0]
        owner = SETTINGS[invalid[0]].shown_when if invalid else None
        return owner.field if owner is not None else None


def _make_compact(control: CompactControl) -> CompactControl:
    """``control`` in its compact style, as ``compact=True`` would make it.

    ``compact=True`` toggles the class through ``set_class``, which restyles the widget
    at once, before it is even mounted (~0.7 ms each, 30 controls); here the class is
    set without that restyle: the widget is styled when it mounts.
    """
    control.set_reactive(type(control).compact, True)
    control.set_class(True, "-textual-compact", update=False)
    return control


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
