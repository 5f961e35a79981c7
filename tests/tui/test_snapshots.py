"""SVG snapshot tests of the main screen and the help screen.

Seeded and deterministic: the app opens on ``dlp-xor``, ``n`` steps exactly one log
interval (5,000 epochs) without the clock, and ``deterministic=True`` hides timings
(epochs per second, seconds). Textual is pinned in pyproject.toml, since its
rendering changes between releases.

Update after an intended change:  pytest tests/tui/test_snapshots.py --snapshot-update
then look at the SVGs in __snapshots__/ (or the report pytest links to on failure).
"""

from __future__ import annotations

from tui.app import NNApp

STEPS = ("n", "n", "n")  # 15,000 epochs of the course's XOR network


def test_main_screen_120x36(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=STEPS, terminal_size=(120, 36))


def test_main_screen_80x24(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=STEPS, terminal_size=(80, 24))


def test_editor_panel_80x24(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=("1",), terminal_size=(80, 24))


def test_decision_boundary_120x36(snap_compare):
    """Panel 3 switched (b) to the decision boundary of the course's XOR network."""
    assert snap_compare(NNApp(deterministic=True), press=(*STEPS, "b"), terminal_size=(120, 36))


def test_help_screen(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=("question_mark",),
                        terminal_size=(120, 36))
