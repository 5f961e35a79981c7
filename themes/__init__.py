"""nn-tui's colour themes: one TOML data file per theme, plus this small loader.

A theme file holds the arguments of :class:`textual.theme.Theme`::

    name = "nn-dark"            # how the theme is selected (letters, digits, - and _)
    dark = true
    primary = "#2DD4BF"         # any colour textual.color.Color.parse accepts:
    secondary = "#818CF8"       # "#RRGGBB", "rgb(…)", "hsl(…)", CSS names, "ansi_red", …
    accent = "#FBBF24"
    warning = "#FB923C"
    error = "#F87171"
    success = "#4ADE80"
    foreground = "#E2E8F0"
    background = "#0F1522"
    surface = "#172033"
    panel = "#1F2B40"
    # optional: boost, ansi (bool), luminosity_spread, text_alpha (floats)

    [variables]                 # nn-tui's own colours, usable in TCSS as $class-0 …
    class-0 = "#FB7185"         # …plus overrides of any Textual variable ($border, …)

nn-tui's variables are :data:`NN_VARIABLES`; a theme that leaves one out gets it
derived from its base colours (see :func:`theme_colors`), so every loaded theme
defines all of them. Built-in files live next to this module; users drop more into
``$XDG_CONFIG_HOME/nn-tui/themes/`` (see ``tui.core.settings.user_themes_dir``).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.css.constants import VALID_STYLE_FLAGS
from textual.design import ColorSystem
from textual.theme import Theme

from engine.data.files import FileTooLargeError, read_regular_file

__all__ = [
    "CLASS_VARIABLES",
    "DEFAULT_THEME",
    "MAX_CLASS_COLORS",
    "NN_VARIABLES",
    "ThemeError",
    "builtin_theme_files",
    "load_theme_file",
    "load_themes",
    "no_color",
    "theme_colors",
    "theme_variables",
]

DEFAULT_THEME = "nn-dark"

THEMES_DIR = Path(__file__).resolve().parent

# Keys of a theme file. Colours are strings for Color.parse.
COLOR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
)
REQUIRED_KEYS = ("name", "dark", *COLOR_KEYS)
OPTIONAL_KEYS = ("boost", "ansi", "luminosity_spread", "text_alpha", "variables")
ALL_KEYS = REQUIRED_KEYS + OPTIONAL_KEYS

MAX_CLASS_COLORS = 8
"""Class colours a theme names (``class-0`` .. ``class-7``): one per class of a run with
up to 8 classes (``--classes K``)."""

CLASS_VARIABLES = tuple(f"class-{c}" for c in range(MAX_CLASS_COLORS))

NN_VARIABLES = (
    # the classes in the scatter plots and the decision map (class-0 and class-1 also
    # the two ends of the ramps: the binary map, a regression's values, weights)
    *CLASS_VARIABLES,
    "chart-train",  # training loss curve
    "chart-test",  # test loss curve
    "chart-marker",  # learning-rate change markers on the loss chart
    "log-rate",  # learning-rate changes in the epoch log
    "log-error",  # errors / divergence in the epoch log
)

# The base colours of a Textual theme that the charts need.
BASE_COLORS = (
    "foreground",
    "background",
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
)

# Everything theme_colors returns (NN_VARIABLES and the base colours charts need).
COLOR_NAMES = (*NN_VARIABLES, *BASE_COLORS)

# Filled in for `ansi = true` themes that leave them out (keyed by `dark`).
ANSI_DEFAULTS = {
    True: {"ansi-background": "ansi_bright_black", "ansi-foreground": "ansi_white"},
    False: {"ansi-background": "ansi_white", "ansi-foreground": "ansi_black"},
}

MAX_FILE_BYTES = 256 * 1024
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# "<colour>" or "<colour> <percent>%", as Textual's own variables use ("#81a1c1 35%").
_CSS_COLOR_RE = re.compile(r"^(?P<color>\S+)(?:\s+(?P<percent>\d+(?:\.\d+)?)%)?$")


def _textual_variables() -> frozenset[str]:
    """Names of the CSS variables Textual derives from a theme (both colour modes)."""
    rgb = ColorSystem("#808080").generate()
    ansi = ColorSystem("ansi_blue", ansi=True).generate()
    return frozenset(rgb) | frozenset(ansi)


TEXTUAL_VARIABLES = _textual_variables()


class ThemeError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""

    def __init__(self, path: Path | str, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


def _did_you_mean(word: str, choices: tuple[str, ...] | frozenset[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_color(path: Path, where: str, value: object) -> str:
    if not isinstance(value, str):
        raise ThemeError(path, f"{where!r} must be a colour string, not {_type_name(value)}")
    try:
        Color.parse(value)
    except ColorParseError as error:
        hint = f"did you mean {error.suggested_color!r}? " if error.suggested_color else ""
        raise ThemeError(
            path,
            f"{where!r} = {value!r} is not a colour ({hint}use '#RRGGBB', a CSS colour"
            " name or 'ansi_<name>')",
        ) from None
    return value


def _check_variable(path: Path, name: str, value: object) -> str:
    """Validate one [variables] entry: nn-tui colours strictly, Textual's as Textual does."""
    where = f"variables.{name}"
    if name in NN_VARIABLES:
        return _check_color(path, where, value)
    if name not in TEXTUAL_VARIABLES:
        hint = _did_you_mean(name, TEXTUAL_VARIABLES | frozenset(NN_VARIABLES))
        raise ThemeError(path, f"unknown variable {name!r}{hint}")
    if not isinstance(value, str):
        raise ThemeError(path, f"{where!r} must be a string, not {_type_name(value)}")
    if "style" in name:
        bad = [flag for flag in value.split() if flag not in VALID_STYLE_FLAGS]
        if bad or not value.split():
            valid = ", ".join(sorted(VALID_STYLE_FLAGS))
            raise ThemeError(path, f"{where!r} = {value!r} is not a text style (use: {valid})")
        return value
    match = _CSS_COLOR_RE.match(value.strip())
    color = match.group("color") if match else value
    if color in ("auto", "initial", "transparent"):
        return value
    if match is None:
        raise ThemeError(path, f"{where!r} = {value!r} is not a colour")
    _check_color(path, where, color)
    return value


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


def load_theme_file(path: Path | str) -> Theme:
    """Read and validate one theme file.

    Raises:
        ThemeError: unreadable file, TOML syntax error (with its line), a missing or
            unknown key (with the nearest valid one), a wrong type or a bad colour.
    """
    path = Path(path)
    try:  # only a regular file (a pipe would hang the start), bounded before it is read
        text = read_regular_file(path, MAX_FILE_BYTES).decode("utf-8")
    except FileTooLargeError:
        raise ThemeError(path, f"file is larger than {MAX_FILE_BYTES // 1024} KiB") from None
    except UnicodeDecodeError as error:
        raise ThemeError(path, f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise ThemeError(path, f"cannot read file: {error.strerror or error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        # The message carries "(at line N, column M)", or "(at end of document)".
        message = str(error).replace(
            "(at end of document)", f"(at end of file, line {max(1, len(text.splitlines()))})"
        )
        raise ThemeError(path, f"TOML syntax error: {message}") from None
    except (RecursionError, MemoryError):  # x = [[[[...]]]]: tomllib recurses per level
        raise ThemeError(path, "TOML nested too deep to be a theme") from None

    for key in data:
        if key not in ALL_KEYS:
            raise ThemeError(path, f"unknown key {key!r}{_did_you_mean(key, ALL_KEYS)}")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ThemeError(
            path,
            "missing required key"
            + "s" * (len(missing) > 1)
            + " "
            + ", ".join(repr(key) for key in missing),
        )

    name = data["name"]
    if not isinstance(name, str):
        raise ThemeError(path, f"'name' must be a string, not {_type_name(name)}")
    if not _NAME_RE.match(name):
        raise ThemeError(path, f"'name' = {name!r}: use letters, digits, '-' and '_' (no spaces)")
    for key in ("dark", "ansi"):
        if key in data and not isinstance(data[key], bool):
            raise ThemeError(path, f"{key!r} must be true or false, not {_type_name(data[key])}")
    for key in ("luminosity_spread", "text_alpha"):
        value = data.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ThemeError(path, f"{key!r} must be a number, not {_type_name(value)}")
        if not 0.0 <= value <= 1.0:
            raise ThemeError(path, f"{key!r} = {value} is outside 0..1")
    colors = {key: _check_color(path, key, data[key]) for key in COLOR_KEYS}
    if "boost" in data:
        colors["boost"] = _check_color(path, "boost", data["boost"])

    table = data.get("variables", {})
    if not isinstance(table, dict):
        raise ThemeError(path, f"'variables' must be a table, not {_type_name(table)}")
    variables = {key: _check_variable(path, key, value) for key, value in table.items()}

    extra = {key: data[key] for key in ("luminosity_spread", "text_alpha") if key in data}
    theme = Theme(
        name=name,
        dark=data["dark"],
        ansi=data.get("ansi", False),
        variables=variables,
        **colors,
        **extra,
    )
    try:
        derived = theme_colors(theme)
    except ColorParseError as error:  # pragma: no cover - every input was parsed above
        raise ThemeError(path, str(error)) from None
    for key in NN_VARIABLES:
        variables.setdefault(key, derived[key])
    if theme.ansi:
        # Textual's ANSI colour system does not generate these two, yet its widgets'
        # CSS uses them ($ansi-background: button hover, tree guides): without them
        # switching to the theme fails with "reference to undefined variable".
        for key, value in ANSI_DEFAULTS[theme.dark].items():
            variables.setdefault(key, value)
    return theme


def builtin_theme_files() -> list[Path]:
    """The theme files shipped with nn-tui, sorted by file name."""
    return sorted(THEMES_DIR.glob("*.toml"))


def load_themes(user_dir: Path | None = None) -> tuple[dict[str, Theme], list[str]]:
    """Load the built-in themes, then the user's ``*.toml`` files from ``user_dir``.

    ``user_dir`` None loads the built-ins only; the app passes
    ``tui.core.settings.user_themes_dir()``. A missing directory is not an error. A bad
    file is skipped with a warning naming it (never an exception); a user theme whose
    name is already taken (a built-in, or an earlier user file) replaces it.

    Returns:
        (themes by name, warnings). Register each theme with ``App.register_theme``.
    """
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for path in builtin_theme_files():
        try:
            theme = load_theme_file(path)
        except ThemeError as error:  # a broken install; keep going with the rest
            warnings.append(f"built-in theme skipped: {error}")
        else:
            themes[theme.name] = theme
    if user_dir is None:
        return themes, warnings

    user_dir = Path(user_dir)
    try:
        paths = sorted(p for p in user_dir.glob("*.toml") if p.is_file())
    except OSError as error:
        warnings.append(f"cannot list user themes in {user_dir}: {error.strerror or error}")
        return themes, warnings
    origin: dict[str, Path] = {}
    for path in paths:
        try:
            theme = load_theme_file(path)
        except ThemeError as error:
            warnings.append(f"theme skipped: {error}")
            continue
        if theme.name in origin:
            warnings.append(
                f"{path}: theme {theme.name!r} is also defined in {origin[theme.name]};"
                f" using {path.name}"
            )
        origin[theme.name] = path
        themes[theme.name] = theme
    return themes, warnings


def theme_colors(theme: Theme) -> dict[str, str]:
    """The colours nn-tui draws with outside CSS (charts, scatter plots, log), by name.

    Keys: :data:`COLOR_NAMES` (``class-0`` .. ``class-7``, ``chart-train``,
    ``chart-test``, ``chart-marker``, ``log-rate``, ``log-error``, ``foreground``,
    ``background``, ``primary``, ``secondary``, ``accent``, ``warning``, ``error``,
    ``success``). Values are Textual colour strings: ``"#RRGGBB"`` (``"#RRGGBBAA"``
    if translucent), or ``"ansi_<name>"`` / ``"ansi_default"`` for ANSI themes, so
    that 16-colour themes keep the terminal's own palette.

    Works for any Theme: nn-tui variables a theme does not define are derived from
    its base colours (classes: error, primary, accent, success, secondary, warning,
    foreground, the dimmed foreground; train: primary, test: accent, marker:
    the foreground dimmed toward the background, log: warning / error).
    """
    system = theme.to_color_system().generate()  # fills in what the theme leaves out

    def pick(name: str) -> str:
        # As in App.get_css_variables: [variables] win, then the theme's own value
        # (exact; the generated one went through HSL), then Textual's default.
        value = theme.variables.get(name) or getattr(theme, name) or system[name]
        match = _CSS_COLOR_RE.match(value.strip())
        return Color.parse(match.group("color") if match else value).hex

    colors = {name: pick(name) for name in BASE_COLORS}
    foreground, background = Color.parse(colors["foreground"]), Color.parse(colors["background"])
    if foreground.ansi is None and background.ansi is None:
        marker = foreground.blend(background, 0.45).hex
    else:
        marker = "ansi_bright_black"
    fallbacks = {
        "class-0": colors["error"],
        "class-1": colors["primary"],
        # more classes (--classes K): the other base colours, then the foreground
        "class-2": colors["accent"],
        "class-3": colors["success"],
        "class-4": colors["secondary"],
        "class-5": colors["warning"],
        "class-6": colors["foreground"],
        "class-7": marker,
        "chart-train": colors["primary"],
        "chart-test": colors["accent"],
        "chart-marker": marker,
        "log-rate": colors["warning"],
        "log-error": colors["error"],
    }
    for name, fallback in fallbacks.items():
        value = theme.variables.get(name)
        colors[name] = Color.parse(value).hex if value else fallback
    return {name: colors[name] for name in COLOR_NAMES}


def theme_variables(theme: Theme) -> dict[str, str]:
    """nn-tui's CSS variables for any theme (for ``App.get_theme_variable_defaults``).

    Themes loaded from files already define them; this fills them in for Textual's
    built-in themes, so TCSS using ``$class-0`` works whatever theme is chosen.
    """
    colors = theme_colors(theme)
    return {name: colors[name] for name in NN_VARIABLES}


def no_color() -> bool:
    """True when ``NO_COLOR`` is set to a non-empty value (https://no-color.org).

    Note Textual's App goes monochrome whenever NO_COLOR is *present*, even empty.
    """
    return bool(os.environ.get("NO_COLOR"))
