"""Suite-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_xdg_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the real settings or run archive: the XDG data and config
    homes point into a fresh temporary folder (a test may point them elsewhere again).
    NO_COLOR and NN_TUI_DETERMINISTIC are cleared, so the environment the suite runs in
    changes no outcome."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("NN_TUI_DETERMINISTIC", raising=False)
    return home


@pytest.fixture
def sandbox(private_xdg_dirs, monkeypatch):
    """For tests whose keys may write anywhere (prompts' default paths, downloads): HOME
    and the working directory are the test's private folder too."""
    monkeypatch.setenv("HOME", str(private_xdg_dirs))
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(private_xdg_dirs / "downloads"))
    monkeypatch.chdir(private_xdg_dirs)
    return private_xdg_dirs
