"""Every theme, with and without NO_COLOR, draws every character readably.

The app is driven with Pilot and its screen rendered as the terminal gets it (after
Textual's line filters: ANSI-to-truecolour, NO_COLOR's monochrome / no-colour). Each
cell that holds a visible character must have a foreground that differs from its
background, and is not allowed to come close either (contrast ratio below
:data:`MIN_CONTRAST`).

Colours are compared as the terminal sees them:

* ``default`` foreground and background are the terminal's own two colours: unequal;
* ANSI colours 0-15 are equal only to the same number (a terminal may draw any two
  numbers alike, but a theme must not ask for cyan on cyan);
* ``reverse`` swaps foreground and background;
* for the contrast ratio, ANSI and default colours are turned into RGB with the
  terminal palette Textual itself uses for the theme (``App.ansi_theme``), and ``dim``
  text is blended toward its background as Textual's ANSI filter does.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.color import ColorType
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import TerminalTheme
from textual.app import App
from textual.constants import DIM_FACTOR
from textual.errors import NoWidget
from textual.widgets import Checkbox, RadioButton

from tui.app import COMPACT_HEIGHT, COMPACT_WIDTH, NNApp
from tui.core.settings import Settings, save_settings

RUNS = Path(__file__).parent / "runs"
TRAINED = "dlp-xor-15000.npz"  # the course's XOR network after 15,000 epochs (committed)

THEMES = ("nn-dark", "nn-light", "nn-high-contrast", "nn-ansi16", "textual-dark")
MIN_CONTRAST = 1.5
"""Below this WCAG ratio text is as good as invisible (equal colours: 1.0)."""

# Characters that draw a picture rather than text. Block elements are drawn by both
# colours (the decision map's half blocks): not checked. Box drawing (frames, rules,
# the progress bar's track) may be faint by design (a dimmed frame behind a dialog):
# only equal colours fail there.
BLOCKS = (0x2580, 0x259F)
BOX_DRAWING = (0x2500, 0x257F)
BLANK = frozenset(" \u2800\u00a0")


# ------------------------------------------------------------------ colours of cells


ColorKey = tuple  # ("default", "fg"|"bg") | ("ansi", n) | ("rgb", (r, g, b))


def color_key(color: RichColor | None, foreground: bool) -> ColorKey:
    """How the terminal tells the colour apart from others."""
    if color is None or color.type == ColorType.DEFAULT:
        return ("default", "fg" if foreground else "bg")
    if color.type == ColorType.STANDARD or (
        color.type == ColorType.EIGHT_BIT and color.number is not None and color.number < 16
    ):
        return ("ansi", color.number)
    return ("rgb", tuple(color.get_truecolor()))


def to_rgb(key: ColorKey, palette: TerminalTheme) -> tuple[int, int, int]:
    kind, value = key
    if kind == "default":
        color = palette.foreground_color if value == "fg" else palette.background_color
        return tuple(color)
    if kind == "ansi":
        return tuple(palette.ansi_colors[value])
    return value


def luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    char: str
    fg: ColorKey
    bg: ColorKey
    style: Style
    kind: str

    def describe(self) -> str:
        return f"({self.x},{self.y}) {self.char!r} fg={self.fg} bg={self.bg} [{self.style}]"


def kind_of(char: str) -> str | None:
    """``text``, ``line`` (box drawing) or None (blank, or a block drawn by both colours)."""
    if not char or char in BLANK or char.isspace():
        return None
    code = ord(char[0])
    if BLOCKS[0] <= code <= BLOCKS[1]:
        return None
    if unicodedata.category(char[0]) in ("Cc", "Cf", "Zs"):
        return None
    return "line" if BOX_DRAWING[0] <= code <= BOX_DRAWING[1] else "text"


def screen_segments(app: App) -> list[list[Segment]]:
    """The segments of each screen row, as the terminal gets them (filters applied)."""
    update = app.screen._compositor.render_update(
        full=True, screen_stack=app._background_screens
    )
    return [[segment for strip in line for segment in strip] for line in update.strips]


def screen_cells(app: App) -> list[Cell]:
    """Every cell of the screen with a visible character, its colours resolved."""
    cells = []
    for y, segments in enumerate(screen_segments(app)):
        x = 0
        for segment in segments:
            if segment.control:
                continue
            style = segment.style or Style()
            fg, bg = color_key(style.color, True), color_key(style.bgcolor, False)
            if style.reverse:
                fg, bg = bg, fg
            for char in segment.text:
                kind = kind_of(char)
                if kind is not None:
                    cells.append(Cell(x, y, char, fg, bg, style, kind))
                x += cell_len(char)
    return cells


def hidden_on_purpose(app: App, cell: Cell) -> bool:
    """The X of an unchecked checkbox: Textual draws it in about its background colour
    (in nn-high-contrast exactly), so that the box looks empty."""
    try:
        widget, _ = app.screen.get_widget_at(cell.x, cell.y)
    except NoWidget:
        return False
    return (isinstance(widget, Checkbox | RadioButton) and not widget.value
            and cell.char == widget.BUTTON_INNER)


def unreadable(app: App, min_contrast: float = MIN_CONTRAST) -> list[str]:
    """The cells whose character cannot be told from its background, described."""
    palette = app.ansi_theme
    bad = []
    for cell in screen_cells(app):
        if cell.fg == cell.bg:
            if not hidden_on_purpose(app, cell):
                bad.append("equal " + cell.describe())
            continue
        if cell.kind != "text":
            continue
        fg, bg = to_rgb(cell.fg, palette), to_rgb(cell.bg, palette)
        if cell.style.dim:
            fg = tuple(round(b + (f - b) * DIM_FACTOR) for f, b in zip(fg, bg, strict=True))
        ratio = contrast_ratio(fg, bg)
        if ratio < min_contrast and not hidden_on_purpose(app, cell):
            bad.append(f"contrast {ratio:.2f} " + cell.describe())
    return bad


# ------------------------------------------------------------------ the app's screens


def screens(compact: bool) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(name, keys that open it, keys that go back to the main screen).

    Compact (80x24): the main screen's panels, one at a time; the other screens are the
    same widgets as at 120x36, only smaller, and are left to that size (time)."""
    if compact:
        return [
            ("main", (), ()),
            ("editor", ("1",), ("escape", "2")),
            ("map", ("3", "b"), ("b", "2")),
        ]
    return [
        ("main", (), ()),
        # panel 1 with a field focused (the input cursor, the focused row's label)
        ("editor", ("1",), ("escape", "2")),
        ("map", ("b",), ("b",)),
        ("help", ("question_mark",), ("escape",)),
        ("inspect", ("i",), ("escape",)),
        ("runs", ("R",), ("escape",)),
    ]


def open_app(theme: str, no_color: bool, monkeypatch) -> NNApp:
    """The app as a user with ``theme`` in the settings and NO_COLOR set (or not) starts
    it, on the committed run (a loss curve, rate changes in the log, a decided map)."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    save_settings(Settings(theme=theme, autosave=False))
    monkeypatch.chdir(RUNS)
    app = NNApp(deterministic=True, run_path=TRAINED, autosave=False)
    assert app.theme == theme and bool(app.no_color) is no_color
    return app


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", [(120, 36), (80, 24)], ids=["120x36", "80x24"])
async def test_every_character_is_readable(theme, no_color, size, monkeypatch):
    """Main screen, editor, decision map (and at 120x36 help, inspect and runs)."""
    app = open_app(theme, no_color, monkeypatch)
    compact = size[0] < COMPACT_WIDTH or size[1] < COMPACT_HEIGHT
    found: dict[str, list] = {}
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        main = app.screen
        for name, keys, back in screens(compact):
            for key in keys:
                await pilot.press(key)
            await pilot.pause()
            if name in ("help", "inspect", "runs"):
                assert app.screen is not main, name
            bad = unreadable(app)
            if bad:
                found[name] = [f"{len(bad)} cells", *bad[:8]]
            for key in back:
                await pilot.press(key)
            await pilot.pause()
            assert app.screen is main, f"did not come back from {name}"
    assert not found, "unreadable cells:\n" + "\n".join(
        f"{name}: " + "\n    ".join(lines) for name, lines in found.items()
    )


# ------------------------------------------------------------------ the checker itself


def test_the_checker_sees_equal_and_close_colours():
    black, white = RichColor.parse("#000000"), RichColor.parse("#ffffff")
    assert color_key(None, True) != color_key(None, False)  # terminal's fg and bg
    assert color_key(RichColor.parse("cyan"), True) == color_key(RichColor.parse("cyan"), False)
    assert color_key(black, True) == color_key(RichColor.parse("#000000"), False)
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((20, 20, 20), (30, 30, 30)) < MIN_CONTRAST
    assert kind_of("a") == "text" and kind_of("─") == "line"
    assert kind_of(" ") is None and kind_of("▀") is None and kind_of("\u2800") is None
    assert color_key(white, True) == ("rgb", (255, 255, 255))
