"""Tests for tui.widgets.editor: the ArchitectureEditor driven by keyboard in a tiny host app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static
from textual.widgets._select import SelectCurrent, SelectOverlay

from engine.config.experiment import FIELDS, ConfigError, ExperimentConfig, parse_field, preset
from engine.config.fields import SECTIONS, SETTINGS
from tui.widgets.editor import (
    CUSTOM,
    JUMP_KEYS,
    LABEL_WIDTH,
    ArchitectureEditor,
    Choice,
    FieldRow,
    ListSuggester,
    SectionTitle,
    describe,
    field_sections,
    jump_letter_index,
    matching_preset,
    validate_texts,
)

SIZE = (60, 40)


class Host(App[None]):
    """Mounts one editor, records its messages and the app bindings that fire."""

    BINDINGS = [("r", "hit('r')", "Reset"), ("space", "hit('space')", "Pause")]

    def __init__(self, config: ExperimentConfig | None = None) -> None:
        super().__init__()
        self.config = config
        self.changed: list[ArchitectureEditor.Changed] = []
        self.applied: list[ArchitectureEditor.Applied] = []
        self.hits: list[str] = []

    def compose(self) -> ComposeResult:
        yield ArchitectureEditor(self.config, id="editor")

    def on_architecture_editor_changed(self, message: ArchitectureEditor.Changed) -> None:
        self.changed.append(message)

    def on_architecture_editor_applied(self, message: ArchitectureEditor.Applied) -> None:
        self.applied.append(message)

    def action_hit(self, key: str) -> None:
        self.hits.append(key)

    @property
    def editor(self) -> ArchitectureEditor:
        return self.query_one(ArchitectureEditor)


Check = Callable[[Host, Pilot], Awaitable[None]]


def run(check: Check, config: ExperimentConfig | None = None) -> None:
    """Run ``check`` against a fresh host app of a fixed size."""

    async def main() -> None:
        app = Host(config)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await check(app, pilot)

    asyncio.run(main())


def text_of(app: Host, selector: str) -> str:
    return str(app.editor.query_one(selector, Static).content)


def field(app: Host, name: str) -> Input:
    return app.editor.query_one(f"#field-{name}", Input)


def row_shown(app: Host, name: str) -> bool:
    return not app.editor.query_one(f"#row-{name}").has_class("-hidden")


def row_label(app: Host, name: str) -> str:
    """The label a form row draws (it is not a widget of its own)."""
    return app.editor.query_one(f"#row-{name}", FieldRow).render().plain


async def retype(pilot: Pilot, app: Host, name: str, text: str) -> None:
    """Focus a text field, clear it by keyboard and type ``text``."""
    field(app, name).focus()
    await pilot.press("end", "ctrl+u", *text)
    await pilot.pause()


async def choose(pilot: Pilot, app: Host, name: str, value: str) -> None:
    """Pick ``value`` in the Select of field ``name`` with the keyboard."""
    select = app.editor.query_one(f"#field-{name}" if name != "preset" else "#preset", Select)
    select.focus()
    await pilot.press("enter")
    options = [value for _, value in select._options]
    steps = options.index(value) - options.index(select.value)
    await pilot.press(*(["down"] * steps if steps > 0 else ["up"] * -steps), "enter")
    await pilot.pause()
    assert select.value == value


def engine_message(name: str, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_field(name, text)
    return info.value.message


# ------------------------------------------------------------------ pure helpers


def test_describe_the_course_network() -> None:
    sizes, details = describe(preset("dlp-linear"))
    assert sizes == "2 → 10 → 5 → 3 → 5 → 1"
    assert details == "sigmoid ×5 · 105 params · no bias"
    mixed = ExperimentConfig(hidden=(4, 4), activation=("relu", "relu", "sigmoid"), bias=True)
    assert describe(mixed) == ("2 → 4 → 4 → 1", "relu,relu,sigmoid · 37 params · bias")


def test_every_engine_field_has_a_row() -> None:
    listed = [name for _, rows in field_sections() for name, _ in rows]
    assert sorted(listed) == sorted(FIELDS)
    assert len(set(listed)) == len(listed)  # in exactly one section


def test_the_sections_and_labels_are_the_settings() -> None:
    """The form is engine.config.fields.SECTIONS, as --help's groups are."""
    assert field_sections() == [
        (section.title, tuple((s.name, s.label) for s in section.settings))
        for section in SECTIONS
    ]
    assert all(len(label) <= LABEL_WIDTH for _, rows in field_sections() for _, label in rows)


def test_the_form_shows_the_sections_rows_labels_and_help_in_order() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        form = app.editor.query_one("#form")
        shown = [(child.title, ()) if isinstance(child, SectionTitle)
                 else (child.field_name, child.label) for child in form.children[1:]]
        expected = []
        for section in SECTIONS:
            expected += [(section.title, ()), *((s.name, s.label) for s in section.settings)]
        assert shown == expected
        for name, setting in SETTINGS.items():
            assert app.editor.field_widget(name).tooltip == setting.help, name

    run(check)


@pytest.mark.parametrize(("owner", "value"), [
    *(("schedule", name) for name in SETTINGS["schedule"].choices),
    *(("optimizer", name) for name in SETTINGS["optimizer"].choices),
])
def test_rows_show_when_their_setting_says(owner: str, value: str) -> None:
    config = ExperimentConfig(**{owner: value})

    async def check(app: Host, pilot: Pilot) -> None:
        for name, setting in SETTINGS.items():
            assert row_shown(app, name) == setting.shown(lambda f: getattr(config, f)), name

    run(check, config)


def test_validate_texts_reports_the_engines_messages() -> None:
    texts = {name: ExperimentConfig().field_text(name) for name in FIELDS}
    assert validate_texts(texts) == (ExperimentConfig(), {})
    config, errors = validate_texts({**texts, "hidden": "4,x", "lr": "0"})
    assert config is None
    assert errors == {"hidden": engine_message("hidden", "4,x"), "lr": engine_message("lr", "0")}


def test_matching_preset() -> None:
    assert matching_preset(preset("dlp-linear")) == "dlp-linear"
    assert matching_preset(preset("dlp-linear").replace(seed=3)) == CUSTOM
    assert matching_preset(None) == CUSTOM


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("sig", "sigmoid"), ("relu,relu,si", "relu,relu,sigmoid"), ("relu,", None),
     ("l", None), ("relu", None), ("lea", "leaky_relu")],
)
def test_list_suggester_completes_the_last_item(typed: str, suggested: str | None) -> None:
    suggester = ListSuggester(["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
    assert asyncio.run(suggester.get_suggestion(typed)) == suggested


# ------------------------------------------------------------------ the widget


def test_keyboard_edit_of_hidden_sizes_applies() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "hidden", "8,8")
        assert app.editor.config is not None and app.editor.config.hidden == (8, 8)
        assert app.applied == []
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [m.config.hidden for m in app.applied] == [(8, 8)]
        assert app.applied[-1].config == ExperimentConfig(hidden=(8, 8))
        assert "in use" in text_of(app, "#status")

    run(check)


def test_apply_button_click_applies() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "hidden", "3")
        assert "edited" in text_of(app, "#status")
        assert await pilot.click("#apply")
        await pilot.pause()
        assert [m.config.hidden for m in app.applied] == [(3,)]

    run(check)


def test_diagram_follows_typing() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        field(app, "hidden").focus()
        await pilot.press("end", "ctrl+u", "8")
        await pilot.pause()
        assert text_of(app, "#diagram").splitlines() == [
            "2 → 8 → 1", "sigmoid ×2 · 24 params · no bias"
        ]
        await pilot.press(*",8")
        await pilot.pause()
        assert text_of(app, "#diagram").splitlines()[0] == "2 → 8 → 8 → 1"
        assert app.changed[-1].config == ExperimentConfig(hidden=(8, 8))
        assert app.changed[-1].errors == {}

    run(check)


def test_invalid_value_is_marked_and_refused_then_fixed() -> None:
    expected = engine_message("hidden", "4,x")

    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "hidden", "4,x")
        editor = app.editor
        assert field(app, "hidden").has_class("-invalid")
        assert row_label(app, "hidden") == "hidden     ✗"
        assert row_label(app, "activation") == "activation"
        assert text_of(app, "#message") == expected
        assert editor.errors == {"hidden": expected}
        assert editor.config is None
        assert editor.query_one("#apply", Button).disabled
        assert app.changed[-1].config is None
        assert app.changed[-1].errors == {"hidden": expected}
        diagram = editor.query_one("#diagram", Static)
        assert diagram.has_class("-stale") and "invalid" in text_of(app, "#diagram")
        assert text_of(app, "#diagram").startswith("2 → 4 → 1")  # last valid (after "4")

        await pilot.press("ctrl+s")
        await pilot.pause()
        assert editor.apply() is False
        await pilot.pause()
        assert app.applied == []
        assert text_of(app, "#message") == expected
        assert editor.query_one("#message").has_class("-refused")

        await pilot.press("backspace", "4")
        await pilot.pause()
        assert not field(app, "hidden").has_class("-invalid")
        assert row_label(app, "hidden") == "hidden"
        assert not editor.query_one("#apply", Button).disabled
        assert editor.errors == {} and editor.config == ExperimentConfig(hidden=(4, 4))
        assert not diagram.has_class("-stale")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [m.config.hidden for m in app.applied] == [(4, 4)]

    run(check)


def test_cross_field_error_names_the_field() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "activation", "relu,relu")
        with pytest.raises(ConfigError) as info:
            ExperimentConfig(activation=("relu", "relu"))
        assert app.editor.errors == {"activation": info.value.message}
        assert text_of(app, "#message") == info.value.message
        assert field(app, "activation").has_class("-invalid")
        assert app.editor.query_one("#apply", Button).disabled
        await pilot.press(",", "s", "i")  # the suggester completes the last name
        await pilot.pause()
        await pilot.press("right")
        await pilot.pause()
        assert field(app, "activation").value == "relu,relu,sigmoid"
        config = app.editor.config
        assert config is not None and config.activation == ("relu", "relu", "sigmoid")
        assert "relu,relu,sigmoid" in text_of(app, "#diagram")

    run(check)


def test_preset_choice_fills_every_field_without_applying() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await choose(pilot, app, "preset", "dlp-linear")
        editor = app.editor
        assert field(app, "hidden").value == "10,5,3,5"
        assert editor.query_one("#field-dataset", Select).value == "linear"
        assert editor.config == preset("dlp-linear")
        assert app.changed[-1].config == preset("dlp-linear")
        assert app.applied == []
        assert text_of(app, "#diagram").startswith("2 → 10 → 5 → 3 → 5 → 1")
        await retype(pilot, app, "seed", "7")
        assert editor.query_one("#preset", Select).value == CUSTOM

    run(check)


def test_schedule_choice_shows_only_its_settings() -> None:
    halving = ["halve_every", "halve_band", "halve_factor"]
    plateau = ["patience", "plateau_factor", "threshold", "cooldown"]

    async def check(app: Host, pilot: Pilot) -> None:
        assert all(row_shown(app, n) for n in [*halving, "min_lr"])
        assert not any(row_shown(app, n) for n in plateau)
        await choose(pilot, app, "schedule", "plateau")
        assert all(row_shown(app, n) for n in [*plateau, "min_lr"])
        assert not any(row_shown(app, n) for n in halving)
        await choose(pilot, app, "schedule", "none")
        assert not any(row_shown(app, n) for n in [*halving, *plateau, "min_lr"])
        assert not row_shown(app, "momentum")
        await choose(pilot, app, "optimizer", "momentum")
        assert row_shown(app, "momentum")

    run(check)


def test_a_choice_builds_its_list_when_first_opened() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        choices = list(app.editor.query(Choice))
        assert len(choices) == 9  # task (classify, regress) is one too
        assert not app.editor.query(SelectOverlay)  # none built at start-up
        loss = app.editor.query_one("#field-loss", Choice)
        current = loss.query_one(SelectCurrent)
        assert current.render().plain.split() == ["sse", "▼"]

        await pilot.click(current)  # a click opens it too
        await pilot.pause()
        assert loss.expanded and app.focused is loss.query_one(SelectOverlay)
        assert current.render().plain.split() == ["sse", "▲"]
        await pilot.press("escape")  # closes it, the value kept, the focus back
        await pilot.pause()
        assert not loss.expanded and loss.value == "sse" and app.focused is loss
        assert len(app.editor.query(SelectOverlay)) == 1  # only the one opened

        await choose(pilot, app, "loss", "bce")  # opened again: the same list
        assert current.render().plain.split() == ["bce", "▼"]
        assert len(loss.query(SelectOverlay)) == 1

    run(check)


def test_a_page_key_right_after_opening_a_choice_is_harmless() -> None:
    """Keys queued behind the one that opens a list reach it before its first layout
    (the fuzz test found it): a page key there did raise KeyError in OptionList."""

    async def check(app: Host, pilot: Pilot) -> None:
        loss = app.editor.query_one("#field-loss", Choice)
        loss.focus()
        await loss.action_show_overlay()
        overlay = loss.query_one(SelectOverlay)
        overlay.action_page_down()  # no layout yet: ignored
        overlay.action_page_up()
        await pilot.pause()
        overlay.action_page_down()  # laid out: pages as usual, to the last option
        await pilot.press("enter")
        assert loss.value == "ce"

    run(check)


def test_typing_in_a_field_never_fires_app_bindings() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "data_path", "r r")
        assert field(app, "data_path").value == "r r"
        assert app.hits == []
        app.editor.query_one("#apply", Button).focus()
        await pilot.press("r")  # outside a text field the app's binding works
        assert app.hits == ["r"]

    run(check)


def test_enter_moves_to_the_next_field() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        field(app, "hidden").focus()
        await pilot.press("enter")
        assert app.focused is field(app, "activation")
        assert app.applied == []

    run(check)


def test_set_config_fills_without_applying() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        target = preset("spiral-tanh")
        app.editor.set_config(target)
        await pilot.pause()
        assert app.editor.config == target
        assert app.editor.applied_config == target
        assert app.changed[-1].config == target
        assert app.applied == []
        assert field(app, "activation").value == "tanh,tanh,sigmoid"
        assert app.editor.query_one("#preset", Select).value == "spiral-tanh"
        assert row_shown(app, "patience") and not row_shown(app, "halve_every")
        assert "in use" in text_of(app, "#status")

    run(check)


def test_starts_from_the_given_config() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        assert app.editor.config == preset("circle-relu")
        assert app.editor.query_one("#preset", Select).value == "circle-relu"
        assert row_shown(app, "momentum")
        assert not app.editor.query_one("#apply", Button).disabled
        assert app.changed == [] and app.applied == []  # mounting announces nothing

    run(check, preset("circle-relu"))


# ------------------------------------------------- getting around (issue #13)


def inside_form(app: Host, name: str) -> bool:
    """Whether the whole row of field ``name`` shows in the form's visible region
    (below the diagram, above the message line and the Apply bar)."""
    form = app.editor.query_one("#form")
    row = app.editor.query_one(f"#row-{name}").region
    return bool(row.height) and form.content_region.contains_region(row)


def test_jump_keys_are_in_their_labels_and_underlined() -> None:
    for name, letter in JUMP_KEYS.items():
        label = "preset" if name == "preset" else SETTINGS[name].label
        index = jump_letter_index(label, letter)
        assert index >= 0 and label[index] == letter, name
    assert jump_letter_index("learn rate", "r") == 6  # a word's first letter first
    assert len(set(JUMP_KEYS.values())) == len(JUMP_KEYS)

    async def check(app: Host, pilot: Pilot) -> None:
        label = app.editor.query_one("#row-lr", FieldRow).render()
        underlined = [label.plain[span.start:span.end] for span in label.spans
                      if "underline" in str(span.style)]
        assert underlined == ["r"]

    run(check)


@pytest.mark.parametrize(("key", "name"), [("alt+r", "lr"), ("alt+e", "epochs"),
                                           ("alt+o", "optimizer"), ("alt+a", "activation"),
                                           ("alt+p", "preset")])
def test_alt_letter_jumps_to_the_field_and_shows_it(key: str, name: str) -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        field(app, "hidden").focus()
        await pilot.pause()
        await pilot.press(key)
        await pilot.pause()
        control = app.editor.query_one("#preset" if name == "preset" else f"#field-{name}")
        assert app.focused is control
        assert inside_form(app, name if name != "preset" else "preset")
        assert field(app, "hidden").value == "4,4"  # nothing typed on the way

    run(check)


def test_alt_letter_from_a_text_field_as_a_terminal_sends_it() -> None:
    """A terminal's alt+e carries the character "e": a text field would type it, were
    the jump not a priority binding."""
    async def check(app: Host, pilot: Pilot) -> None:
        field(app, "hidden").focus()
        await pilot.pause()
        app.post_message(events.Key("alt+e", "e"))
        await pilot.pause(0.1)
        assert app.focused is field(app, "epochs")
        assert field(app, "hidden").value == "4,4"

    run(check)


def test_a_jump_to_a_hidden_row_rings_the_bell() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        field(app, "hidden").focus()
        await pilot.pause()
        bells = []
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        app.editor.action_jump("n")  # xor's point count does not show
        await pilot.pause()
        assert bells == [1] and app.focused is field(app, "hidden")

    run(check)


def test_invalid_apply_focuses_the_first_invalid_field() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await retype(pilot, app, "epochs", "")
        await retype(pilot, app, "lr", "x")
        field(app, "hidden").focus()
        await pilot.pause()
        assert app.editor.apply() is False
        await pilot.pause()
        await pilot.pause()
        assert app.focused is field(app, "lr")  # learn rate comes before epochs
        assert inside_form(app, "lr")
        assert app.editor.query_one("#message").has_class("-refused")
        assert text_of(app, "#message") == engine_message("lr", "x")

    run(check)


def test_invalid_apply_of_a_hidden_field_focuses_the_field_that_shows_it() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        await choose(pilot, app, "optimizer", "momentum")
        await retype(pilot, app, "momentum", "2")
        await choose(pilot, app, "optimizer", "sgd")
        field(app, "hidden").focus()
        await pilot.pause()
        assert not row_shown(app, "momentum") and "momentum" in app.editor.errors
        assert app.editor.apply() is False
        await pilot.pause()
        assert app.focused is app.editor.query_one("#field-optimizer")

    run(check)


def test_xor_hides_the_point_count_its_data_does_not_use() -> None:
    async def check(app: Host, pilot: Pilot) -> None:
        assert app.editor.config.dataset == "xor" and not row_shown(app, "n")
        await choose(pilot, app, "dataset", "linear")
        assert row_shown(app, "n")
        await choose(pilot, app, "dataset", "xor")
        assert not row_shown(app, "n")

    run(check)


@pytest.mark.parametrize("name", ["hidden", "epochs", "halve_factor", "min_lr"])
def test_a_focused_field_is_never_under_the_message_line(name: str) -> None:
    """The form is short (60x16): focusing a field whose help takes two lines shrinks
    the form after Textual scrolled to the field; the field is scrolled to again."""
    async def check(app: Host, pilot: Pilot) -> None:
        await pilot.resize_terminal(40, 16)
        await pilot.pause()
        field(app, name).focus()
        await pilot.pause()
        await pilot.pause()
        assert inside_form(app, name), name

    run(check)
