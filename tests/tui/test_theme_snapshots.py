"""SVG snapshots of the main screen in every shipped theme, with and without NO_COLOR.

The state is the app as it opens on its default preset (epoch 0): what it shows comes
from a forward pass only, the same on every machine. The theme is chosen as a user
chooses it, in the settings file, and NO_COLOR is set before the app is made (Textual
reads it in ``App.__init__``). tests/tui/test_theme_contrast.py checks the same screens
cell by cell; these show what they look like.

Update after an intended change:  pytest tests/tui/test_theme_snapshots.py --snapshot-update
then look at the SVGs in __snapshots__/test_theme_snapshots/.
"""

from __future__ import annotations

import pytest

from tui.app import NNApp
from tui.core.settings import Settings, save_settings

THEMES = ("nn-dark", "nn-light", "nn-high-contrast", "nn-ansi16")


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("theme", THEMES)
def test_theme(snap_compare, theme, no_color, monkeypatch):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    save_settings(Settings(theme=theme, autosave=False))
    app = NNApp(deterministic=True)
    assert app.theme == theme and bool(app.no_color) is no_color
    assert snap_compare(app, terminal_size=(120, 36))
