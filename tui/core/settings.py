"""User settings and XDG directories.

Settings live in ``$XDG_CONFIG_HOME/nn-tui/settings.toml`` (``~/.config/nn-tui/...``
when the variable is unset, empty or relative, as the XDG spec asks). The file is
plain TOML with flat keys, written by hand here so users can edit it::

    # nn-tui settings
    theme = "nn-dark"
    autosave = true

Loading never fails: a missing file gives the defaults, a corrupt one the defaults
plus a warning, a bad or unknown key is skipped with a warning. Saving is atomic
(temporary file in the same directory, then ``os.replace``), so a crash mid-write
leaves the old file intact.

No Textual import here: the headless CLI may read settings too.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from engine.config.toml_text import toml_value
from engine.data.files import read_regular_file

APP_NAME = "nn-tui"
SETTINGS_FILE = "settings.toml"
MAX_SETTINGS_BYTES = 64 * 2**10  # a settings file is a few lines; more is not one
DEFAULT_THEME = "nn-dark"  # == themes.DEFAULT_THEME; not imported, to keep Textual out

__all__ = [
    "Settings",
    "config_dir",
    "data_dir",
    "load_settings",
    "save_settings",
    "settings_path",
    "user_themes_dir",
]


def _xdg_dir(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable, "")
    base = Path(value) if value and os.path.isabs(value) else Path.home() / fallback
    return base / APP_NAME


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/nn-tui``, else ``~/.config/nn-tui`` (not created)."""
    return _xdg_dir("XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    """``$XDG_DATA_HOME/nn-tui``, else ``~/.local/share/nn-tui`` (not created)."""
    return _xdg_dir("XDG_DATA_HOME", os.path.join(".local", "share"))


def user_themes_dir() -> Path:
    """Where users drop their own ``*.toml`` themes (``config_dir()/themes``)."""
    return config_dir() / "themes"


def settings_path() -> Path:
    """``config_dir()/settings.toml``."""
    return config_dir() / SETTINGS_FILE


@dataclass
class Settings:
    """What nn-tui remembers between runs. Fields: str, bool, int or float only."""

    theme: str = DEFAULT_THEME
    autosave: bool = True
    """Keep every run in ``data_dir()/runs`` (``tui.core.archive``); false: only what ``w``
    saves."""


def load_settings(path: Path | None = None) -> tuple[Settings, list[str]]:
    """Read the settings file (default: :func:`settings_path`).

    Returns:
        (settings, warnings). Never raises for a missing, unreadable or corrupt file.
        The theme name is not checked against the available themes: the app does that
        (and falls back to DEFAULT_THEME) once the themes are loaded.
    """
    path = settings_path() if path is None else Path(path)
    defaults = Settings()
    try:  # a regular file of at most MAX_SETTINGS_BYTES: /dev/zero or a pipe is refused
        text = read_regular_file(path, MAX_SETTINGS_BYTES).decode("utf-8")
    except FileNotFoundError:
        return defaults, []
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        return defaults, [f"{path}: cannot read settings ({reason}); using defaults"]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return defaults, [f"{path}: settings file is not valid TOML ({error}); using defaults"]
    except (RecursionError, MemoryError):  # x = [[[[...]]]]: tomllib recurses per level
        return defaults, [f"{path}: settings file is nested too deep; using defaults"]

    warnings: list[str] = []
    values: dict[str, object] = {}
    types = {field.name: type(getattr(defaults, field.name)) for field in fields(Settings)}
    for key, value in data.items():
        expected = types.get(key)
        if expected is None:
            warnings.append(f"{path}: unknown setting {key!r} ignored")
        elif not _type_ok(value, expected):
            warnings.append(
                f"{path}: setting {key!r} should be {expected.__name__}, "
                f"not {type(value).__name__}; using the default"
            )
        elif expected is str and not value.strip():
            warnings.append(f"{path}: setting {key!r} is empty; using the default")
        else:
            values[key] = float(value) if expected is float else value
    return Settings(**values), warnings


def _type_ok(value: object, expected: type) -> bool:
    if expected is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, expected)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the settings atomically (default: :func:`settings_path`), creating dirs.

    Returns:
        The path written.

    Raises:
        OSError: the directory or file cannot be written; the old file is untouched.
    """
    path = settings_path() if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(settings)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(OSError):  # keep the mode of the file it replaces
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def dumps(settings: Settings) -> str:
    """The settings as TOML text (flat keys; strings, booleans and numbers)."""
    lines = [f"# {APP_NAME} settings (TOML). Written by nn-tui; safe to edit."]
    for field in fields(settings):
        lines.append(f"{field.name} = {toml_value(getattr(settings, field.name))}")
    return "\n".join(lines) + "\n"
