"""The app's own files when they are not what they seem (issue #16, "Files and terminals"):
``settings.toml`` (promised never to raise) and user themes (a bad one is skipped, the app
starts) linked to ``/dev/zero``, made a named pipe, or nested too deep for ``tomllib``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.engine.test_special_files import DEEP, fifo, promptly  # noqa: F401 (fixture)
from themes import load_themes
from tui.core.settings import Settings, load_settings


def _refused_with_defaults(path: Path, *fragments: str) -> None:
    outcome = promptly(lambda: load_settings(path))
    assert isinstance(outcome, tuple), outcome
    settings, warnings = outcome
    assert settings == Settings() and len(warnings) == 1
    assert str(path) in warnings[0] and "using defaults" in warnings[0]
    for fragment in fragments:
        assert fragment in warnings[0]


def test_settings_nested_too_deep_give_the_defaults_and_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(DEEP, encoding="utf-8")
    _refused_with_defaults(path, "nested too deep")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_settings_linked_to_dev_zero_are_not_read(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.symlink_to("/dev/zero")
    _refused_with_defaults(path, "not a regular file")


def test_settings_that_are_a_pipe_do_not_hang(fifo: Path) -> None:  # noqa: F811
    _refused_with_defaults(fifo, "named pipe")


def test_a_user_theme_nested_too_deep_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "deep.toml").write_text(DEEP, encoding="utf-8")
    outcome = promptly(lambda: load_themes(tmp_path))
    assert isinstance(outcome, tuple), outcome
    themes, warnings = outcome
    assert "nn-dark" in themes
    assert [w for w in warnings if "deep.toml" in w and "nested too deep" in w]
