"""Tests for the themes package: shipped files, user themes, bad files, colours, NO_COLOR."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.theme import BUILTIN_THEMES, Theme
from textual.widgets import Button, DataTable, Input, Label

import themes
from themes import (
    DEFAULT_THEME,
    NN_VARIABLES,
    ThemeError,
    builtin_theme_files,
    load_theme_file,
    load_themes,
    no_color,
    theme_colors,
    theme_variables,
)
from tui.core.settings import user_themes_dir

SHIPPED = ("nn-dark", "nn-light", "nn-high-contrast", "nn-ansi16")

GOOD = """\
name = "{name}"
dark = true
primary = "#112233"
secondary = "#223344"
accent = "#334455"
warning = "#445566"
error = "#556677"
success = "#667788"
foreground = "#EEEEEE"
background = "#000000"
surface = "#111111"
panel = "#222222"
"""


def write(directory: Path, filename: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / filename
    path.write_text(text, encoding="utf-8")
    return path


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two '#RRGGBB' colours."""

    def luminance(hex_color: str) -> float:
        def channel(c: float) -> float:
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(v) for v in Color.parse(hex_color).normalized)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def theme_values(theme: Theme) -> dict[str, str]:
    """Every colour-valued setting of a theme (base colours and colour variables)."""
    values = {
        key: getattr(theme, key)
        for key in (*themes.COLOR_KEYS, "boost")
        if getattr(theme, key) is not None
    }
    values.update({k: v for k, v in theme.variables.items() if "style" not in k})
    return values


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return user_themes_dir()


# ------------------------------------------------------------------ shipped themes


def test_the_four_themes_ship() -> None:
    names = [path.stem for path in builtin_theme_files()]
    assert set(SHIPPED) <= set(names)
    loaded, warnings = load_themes()
    assert warnings == []
    assert set(SHIPPED) <= set(loaded) and DEFAULT_THEME in loaded
    assert not set(loaded) & set(BUILTIN_THEMES), "shadowing a Textual theme"


@pytest.mark.parametrize("path", builtin_theme_files(), ids=lambda p: p.stem)
def test_shipped_theme_is_valid(path: Path) -> None:
    theme = load_theme_file(path)
    assert theme.name == path.stem
    assert set(NN_VARIABLES) <= set(path.read_text().split("[variables]")[1].split())
    for key in NN_VARIABLES:
        Color.parse(theme.variables[key])
    for value in theme_values(theme).values():
        Color.parse(value.split()[0])
    theme.to_color_system().generate()  # Textual accepts it
    colors = theme_colors(theme)
    assert len({colors["class-0"], colors["class-1"]}) == 2
    assert len({colors["chart-train"], colors["chart-test"], colors["chart-marker"]}) == 3


def test_ansi16_uses_only_the_16_ansi_colours() -> None:
    theme = load_theme_file(themes.THEMES_DIR / "nn-ansi16.toml")
    assert theme.ansi
    names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]
    names += [f"bright_{name}" for name in names]
    ansi = {f"ansi_{name}" for name in names} | {"ansi_default"}
    bad = {k: v for k, v in theme_values(theme).items() if v not in ansi}
    assert not bad
    assert all(v in ansi for v in theme_colors(theme).values())
    assert {"ansi-background", "ansi-foreground"} <= set(theme.variables)


@pytest.mark.parametrize(
    ("name", "minimum"), [("nn-dark", 4.5), ("nn-light", 4.5), ("nn-high-contrast", 7.0)]
)
def test_text_and_chart_colours_contrast_with_the_background(name: str, minimum: float) -> None:
    """WCAG AA (4.5:1) everywhere, AAA (7:1) for the high-contrast theme."""
    theme = load_themes()[0][name]
    colors = theme_colors(theme)
    low = {
        key: round(contrast(value, colors["background"]), 2)
        for key, value in colors.items()
        if key != "background" and contrast(value, colors["background"]) < minimum
    }
    assert not low


def test_high_contrast_is_black_white_and_bright() -> None:
    theme = load_themes()[0]["nn-high-contrast"]
    assert (theme.background, theme.foreground) == ("#000000", "#FFFFFF")
    assert contrast(theme.primary, theme.background) > 15


# ------------------------------------------------------------------ user themes


def test_user_theme_adds_and_overrides(user_dir: Path) -> None:
    write(user_dir, "mine.toml", GOOD.format(name="mine") + '[variables]\nclass-0 = "red"\n')
    write(user_dir, "dark.toml", GOOD.format(name="nn-dark"))
    write(user_dir, "notes.txt", "not a theme")
    loaded, warnings = load_themes(user_dir)
    assert warnings == []
    assert loaded["mine"].primary == "#112233"
    assert theme_colors(loaded["mine"])["class-0"] == "#FF0000"
    assert loaded["nn-dark"].primary == "#112233"  # the user's file wins
    assert set(SHIPPED) <= set(loaded)


def test_user_theme_without_nn_variables_gets_fallbacks(user_dir: Path) -> None:
    theme = load_theme_file(write(user_dir, "plain.toml", GOOD.format(name="plain")))
    assert set(NN_VARIABLES) <= set(theme.variables)
    assert theme.variables["class-0"] == "#556677"  # error
    assert theme.variables["class-1"] == theme.variables["chart-train"] == "#112233"
    assert theme.variables["chart-test"] == "#334455"  # accent


def test_user_ansi_theme_gets_the_variables_textual_forgets(user_dir: Path) -> None:
    text = GOOD.format(name="a").replace('"#', '"ansi_red" #') + "ansi = true\n"
    theme = load_theme_file(write(user_dir, "a.toml", text))
    assert theme.variables["ansi-background"] == "ansi_bright_black"


def test_missing_user_dir_is_fine(tmp_path: Path) -> None:
    loaded, warnings = load_themes(tmp_path / "nope")
    assert warnings == [] and set(SHIPPED) <= set(loaded)


def test_duplicate_user_names_warn(user_dir: Path) -> None:
    write(user_dir, "a.toml", GOOD.format(name="twin"))
    write(user_dir, "b.toml", GOOD.format(name="twin").replace("#112233", "#010203"))
    loaded, warnings = load_themes(user_dir)
    assert loaded["twin"].primary == "#010203"
    assert len(warnings) == 1 and "a.toml" in warnings[0] and "b.toml" in warnings[0]


BAD_FILES = {
    "syntax": ('name = "x\n', "line 1"),
    "syntax-later": (GOOD.format(name="x") + "variables = [\n", "line 13"),
    "bad-colour": (GOOD.format(name="x").replace("#112233", "#12345G"), "'primary'"),
    "colour-name": (GOOD.format(name="x").replace('"#112233"', '"rde"'), "did you mean 'red'"),
    "missing": (GOOD.format(name="x").replace('panel = "#222222"\n', ""), "missing"),
    "unknown": (GOOD.format(name="x") + 'primay = "#fff"\n', "did you mean 'primary'"),
    "type": (GOOD.format(name="x").replace("dark = true", 'dark = "yes"'), "'dark'"),
    "colour-type": (GOOD.format(name="x").replace('"#112233"', "112233"), "colour string"),
    "name": (GOOD.format(name="my theme"), "'name'"),
    "variables": (GOOD.format(name="x") + "variables = 3\n", "'variables' must be a table"),
    "variable": (GOOD.format(name="x") + '[variables]\nclass0 = "red"\n', "'class-0'"),
    "variable-colour": (GOOD.format(name="x") + '[variables]\nclass-0 = "nope"\n', "class-0"),
    "textual-variable": (GOOD.format(name="x") + '[variables]\nborder = "#zz"\n', "border"),
    "style": (
        GOOD.format(name="x") + '[variables]\nblock-cursor-text-style = "bolt"\n',
        "text style",
    ),
    "spread": (GOOD.format(name="x") + "text_alpha = 2\n", "outside 0..1"),
    "utf8": ("name = '\xff'\n", "UTF-8"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_bad_user_file_is_skipped_with_a_warning(case: str, user_dir: Path) -> None:
    text, expected = BAD_FILES[case]
    if case == "utf8":
        path = user_dir / "bad.toml"
        user_dir.mkdir(parents=True)
        path.write_bytes(text.encode("latin-1"))
    else:
        path = write(user_dir, "bad.toml", text)
    write(user_dir, "good.toml", GOOD.format(name="good"))
    with pytest.raises(ThemeError) as raised:
        load_theme_file(path)
    assert raised.value.path == path and str(path) in str(raised.value)
    assert expected in str(raised.value)
    assert isinstance(raised.value, ValueError)
    loaded, warnings = load_themes(user_dir)
    assert len(warnings) == 1 and str(path) in warnings[0] and expected in warnings[0]
    assert "good" in loaded and set(SHIPPED) <= set(loaded)


def test_textual_variable_overrides_are_accepted(user_dir: Path) -> None:
    extra = (
        '[variables]\ninput-selection-background = "#81a1c1 35%"\n'
        'text = "auto 87%"\nbutton-focus-text-style = "b reverse"\nlink-background = "initial"\n'
    )
    theme = load_theme_file(write(user_dir, "t.toml", GOOD.format(name="t") + extra))
    assert theme.variables["input-selection-background"] == "#81a1c1 35%"


def test_every_textual_builtin_theme_variable_is_known() -> None:
    for theme in BUILTIN_THEMES.values():
        assert set(theme.variables) <= themes.TEXTUAL_VARIABLES, theme.name


# ------------------------------------------------------------------ colours for charts


@pytest.mark.parametrize("name", sorted(BUILTIN_THEMES))
def test_theme_colors_work_for_textual_themes(name: str) -> None:
    colors = theme_colors(BUILTIN_THEMES[name])
    assert set(colors) == set(themes.COLOR_NAMES)
    for value in colors.values():
        Color.parse(value)
        assert value.startswith(("#", "ansi_"))


def test_theme_colors_of_textual_dark() -> None:
    colors = theme_colors(BUILTIN_THEMES["textual-dark"])
    assert colors["primary"] == colors["class-1"] == colors["chart-train"] == "#0178D4"
    assert colors["class-0"] == colors["error"] == "#BA3C5B"
    assert colors["chart-test"] == "#FFA62B"
    assert colors["background"] == "#121212"  # Textual's default, filled in
    assert colors["chart-marker"] not in (colors["foreground"], colors["background"])
    assert theme_variables(BUILTIN_THEMES["textual-dark"]) == {
        key: colors[key] for key in NN_VARIABLES
    }


def test_theme_colors_prefer_the_theme_variables() -> None:
    theme = load_themes()[0]["nn-dark"]
    assert theme_colors(theme)["class-0"] == Color.parse(theme.variables["class-0"]).hex
    assert theme_colors(theme)["primary"] == theme.primary  # exact, not HSL-rounded


# ------------------------------------------------------------------ NO_COLOR


@pytest.mark.parametrize(
    ("value", "expected"), [(None, False), ("", False), ("1", True), ("0", True), ("yes", True)]
)
def test_no_color(value: str | None, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if value is None:
        monkeypatch.delenv("NO_COLOR", raising=False)
    else:
        monkeypatch.setenv("NO_COLOR", value)
    assert no_color() is expected


# ------------------------------------------------------------------ in a running app


class ThemedApp(App[None]):
    CSS = """
    #c0 { color: $class-0; }
    #c1 { color: $class-1; background: $surface; }
    #train { color: $chart-train; } #marker { color: $chart-marker; }
    """

    def __init__(self, loaded: dict[str, Theme]) -> None:
        super().__init__()
        for theme in loaded.values():
            self.register_theme(theme)
        self.changes: list[str] = []

    def get_theme_variable_defaults(self) -> dict[str, str]:
        # nn-tui variables for themes that lack them (Textual's own, e.g. "nord").
        return theme_variables(self.current_theme)

    def compose(self) -> ComposeResult:
        yield Label("class 0", id="c0")
        yield Label("class 1", id="c1")
        yield Label("train", id="train")
        yield Label("marker", id="marker")
        yield Button("Train", variant="primary")
        yield Input(placeholder="hidden sizes")
        yield DataTable()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, lambda theme: self.changes.append(theme.name))
        self.theme = DEFAULT_THEME


def test_app_registers_and_switches_themes(user_dir: Path) -> None:
    write(user_dir, "mine.toml", GOOD.format(name="mine") + '[variables]\nclass-0 = "#00FF00"\n')
    loaded, warnings = load_themes(user_dir)
    assert warnings == []

    async def run() -> None:
        app = ThemedApp(loaded)
        async with app.run_test(size=(60, 20)) as pilot:
            await pilot.pause()
            c0 = app.query_one("#c0", Label)

            def color(widget_id: str) -> Color:
                return app.query_one(widget_id, Label).styles.color

            assert set(loaded) <= set(app.available_themes)
            assert "textual-dark" in app.available_themes  # next to Textual's own
            assert app.current_theme is loaded["nn-dark"]
            assert color("#c0") == Color.parse(loaded["nn-dark"].variables["class-0"])
            for name in ("nn-light", "nn-high-contrast", "nn-ansi16", "mine", "nord"):
                app.theme = name
                await pilot.pause()
                expected = theme_colors(app.current_theme)
                assert app.has_class(f"-theme-{name}")
                assert c0.styles.color == Color.parse(expected["class-0"]), name
                assert color("#c1") == Color.parse(expected["class-1"]), name
                assert color("#marker") == Color.parse(expected["chart-marker"]), name
            assert app.changes[-5:] == ["nn-light", "nn-high-contrast", "nn-ansi16", "mine", "nord"]
            assert c0.styles.color == Color.parse(BUILTIN_THEMES["nord"].error)

    asyncio.run(run())
