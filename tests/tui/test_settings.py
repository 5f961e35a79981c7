"""Tests for tui.core.settings: XDG directories, settings round trip, corrupt files, atomic save."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import themes
from engine.config.toml_text import toml_value
from tui.core import settings as st
from tui.core.settings import (
    Settings,
    config_dir,
    data_dir,
    load_settings,
    save_settings,
    settings_path,
    user_themes_dir,
)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private XDG config home; returns it."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


# ------------------------------------------------------------------ directories


def test_dirs_follow_xdg_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "d"))
    assert config_dir() == tmp_path / "c" / "nn-tui"
    assert data_dir() == tmp_path / "d" / "nn-tui"
    assert user_themes_dir() == tmp_path / "c" / "nn-tui" / "themes"
    assert settings_path() == tmp_path / "c" / "nn-tui" / "settings.toml"


@pytest.mark.parametrize("value", [None, "", "relative/dir"])
def test_dirs_fall_back_to_home(
    value: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unset, empty or relative XDG variables are ignored, as the XDG spec says."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert config_dir() == tmp_path / ".config" / "nn-tui"
    assert data_dir() == tmp_path / ".local" / "share" / "nn-tui"


def test_nothing_is_created_by_looking(xdg: Path) -> None:
    config_dir(), data_dir(), user_themes_dir()
    assert not xdg.exists()


# ------------------------------------------------------------------ round trip


def test_defaults_without_a_file(xdg: Path) -> None:
    assert load_settings() == (Settings(), [])
    assert Settings().theme == themes.DEFAULT_THEME == st.DEFAULT_THEME


def test_round_trip_creates_dirs(xdg: Path) -> None:
    path = save_settings(Settings(theme="nn-light"))
    assert path == xdg / "nn-tui" / "settings.toml"
    assert load_settings() == (Settings(theme="nn-light"), [])
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#") and 'theme = "nn-light"' in text
    assert tomllib.loads(text) == {"theme": "nn-light", "autosave": True}


def test_overwrite_leaves_no_temp_files(xdg: Path) -> None:
    for name in ("a", "b", "c"):
        save_settings(Settings(theme=name))
    assert load_settings()[0].theme == "c"
    assert [p.name for p in settings_path().parent.iterdir()] == ["settings.toml"]


@pytest.mark.parametrize(
    "text",
    ['say "hi"', "back\\slash", "line\nbreak\ttab\r", "del\x7fbell\x07", "ünïcødé ✓ 😀", ""],
)
def test_strings_are_escaped(text: str, tmp_path: Path) -> None:
    path = save_settings(Settings(theme=text), tmp_path / "s.toml")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["theme"] == text


@pytest.mark.parametrize(
    ("value", "toml"),
    [
        (True, "true"),
        (False, "false"),
        (3, "3"),
        (0.5, "0.5"),
        (1e-5, "1e-05"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    ],
)
def test_scalar_values_are_toml(value: object, toml: str) -> None:
    assert toml_value(value) == toml
    assert tomllib.loads(f"x = {toml}")["x"] == value


def test_unsupported_values_are_refused() -> None:
    for value in (None, {"a": 1}, [1, None]):
        with pytest.raises(TypeError):
            toml_value(value)


def test_one_toml_writer_for_settings_and_configs() -> None:
    """Settings and experiment configs write TOML through engine.config.toml_text."""
    from engine.config.experiment import ExperimentConfig

    config = ExperimentConfig(data_path="données/x 🙂.csv", hidden=(4, 4))
    assert tomllib.loads(config.to_toml())["data_path"] == "données/x 🙂.csv"
    assert toml_value([4, 4]) == "[4, 4]" and toml_value("a\"b") == '"a\\"b"'



# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    "content",
    ['theme = "nn-dark', "theme = nn-dark\n", "[[[", "\x00\x01", 'theme = "a"\ntheme = "b"\n'],
)
def test_corrupt_file_gives_defaults_and_a_warning(content: str, xdg: Path) -> None:
    path = settings_path()
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    settings, warnings = load_settings()
    assert settings == Settings()
    assert len(warnings) == 1 and str(path) in warnings[0] and "TOML" in warnings[0]


def test_undecodable_file_gives_defaults_and_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_bytes(b'theme = "\xff\xfe"\n')
    settings, warnings = load_settings(path)
    assert settings == Settings() and len(warnings) == 1 and str(path) in warnings[0]


def test_unreadable_path_gives_defaults_and_a_warning(tmp_path: Path) -> None:
    settings, warnings = load_settings(tmp_path)  # a directory, not a file
    assert settings == Settings() and len(warnings) == 1


def test_bad_and_unknown_keys_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('theme = 3\ncolour = "red"\n', encoding="utf-8")
    settings, warnings = load_settings(path)
    assert settings == Settings()
    assert len(warnings) == 2
    assert "'theme' should be str" in warnings[0] and "unknown setting 'colour'" in warnings[1]
    path.write_text('theme = "  "\n', encoding="utf-8")
    assert load_settings(path)[0] == Settings()
    assert "empty" in load_settings(path)[1][0]


def test_unknown_theme_name_is_kept_for_the_app_to_check(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('theme = "no-such-theme"\n', encoding="utf-8")
    assert load_settings(path) == (Settings(theme="no-such-theme"), [])


# ------------------------------------------------------------------ atomic save


def test_failed_replace_keeps_the_old_file(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_settings(Settings(theme="nn-light"))
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        save_settings(Settings(theme="nn-high-contrast"))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]  # temp removed
    monkeypatch.undo()
    assert load_settings(path)[0].theme == "nn-light"


def test_failed_write_keeps_the_old_file(xdg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_settings(Settings(theme="nn-light"))

    def broken_fsync(fd: int) -> None:
        raise KeyboardInterrupt  # even an interrupt mid-write cleans up

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(KeyboardInterrupt):
        save_settings(Settings(theme="x"))
    assert [p.name for p in path.parent.iterdir()] == ["settings.toml"]
    assert load_settings(path)[0].theme == "nn-light"


def test_settings_module_does_not_import_textual() -> None:
    code = "import sys, tui.core.settings; sys.exit('textual' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
