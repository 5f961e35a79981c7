"""Suite-wide fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def private_xdg_dirs(tmp_path_factory, monkeypatch):
    """No test reads or writes the real settings or run archive: the XDG data and config
    homes point into a fresh temporary folder (a test may point them elsewhere again)."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    return home
