"""SVG snapshot tests of the main screen and the help screen.

Every snapshot shows a state that is the same on every machine. Training is not: after
thousands of epochs another BLAS kernel, CPU or NumPy release prints other digits (seen:
0.00105027 where this machine has 0.0010497 after 15,000 epochs). So a trained state
comes from a committed run file (``runs/``, written by ``python -m
tests.tui.core.runs.make_runs``): its weights and history are read back exactly, and what the
app adds to them is a forward pass. ``deterministic=True`` hides timings. Textual is
pinned in pyproject.toml, since its rendering changes between releases.

Update after an intended change:  pytest tests/tui/test_snapshots.py --snapshot-update
then look at the SVGs in __snapshots__/ (or the report pytest links to on failure).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine import load_run
from tui.app import NNApp
from tui.core import training

RUNS = Path(__file__).parent / "runs"
TRAINED = "dlp-xor-15000.npz"  # the course's XOR network after 15,000 epochs


@pytest.fixture
def trained_app(monkeypatch):
    """The app opened on the committed run (by a relative name, as the log shows it), as
    on the machine that saved it: elsewhere the log would add that this machine rounds
    differently (tests/tui/test_other_machines.py shows that note)."""
    monkeypatch.chdir(RUNS)
    saved = load_run(TRAINED).numerics
    monkeypatch.setattr(training, "fingerprint", lambda: dict(saved))
    return lambda: NNApp(deterministic=True, run_path=TRAINED, autosave=False)


def test_main_screen_120x36(snap_compare, trained_app):
    assert snap_compare(trained_app(), terminal_size=(120, 36))


def test_main_screen_100x30(snap_compare, trained_app):
    """A projector with a large font (issue #13): the four panels, the predictions
    wide enough for their two plots and ticks, the log narrower (its lines wrap)."""
    assert snap_compare(trained_app(), terminal_size=(100, 30))


def test_main_screen_80x24(snap_compare, trained_app):
    assert snap_compare(trained_app(), terminal_size=(80, 24))


def test_editor_panel_80x24(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=("1",), terminal_size=(80, 24))


def test_decision_boundary_120x36(snap_compare, trained_app):
    """Panel 3 switched (b) to the decision boundary of the course's XOR network."""
    assert snap_compare(trained_app(), press=("b",), terminal_size=(120, 36))


def test_help_screen(snap_compare):
    assert snap_compare(NNApp(deterministic=True), press=("question_mark",),
                        terminal_size=(120, 36))


def test_the_snapshots_state_comes_from_the_file_not_from_training(monkeypatch):
    """The opened run is at epoch 15,000 with its saved history: nothing was trained."""
    monkeypatch.chdir(RUNS)
    app = NNApp(deterministic=True, run_path=TRAINED, autosave=False)
    saved = load_run(RUNS / TRAINED)
    assert app.session.trainer.epoch == saved.epoch == 15_000
    assert app.session.trainer.history is saved.history or np.array_equal(
        app.session.trainer.history.arrays()["loss"], saved.history.arrays()["loss"])


def test_inspect_screen_with_the_weight_cursor_120x36(snap_compare):
    """The inspect screen before training (the seed's weights), the weights' cursor moved
    to layer 1's input x2 -> unit 3: that cell reversed, its value on the box's edge."""
    assert snap_compare(NNApp(deterministic=True, autosave=False),
                        press=("i", "down", "right", "right"), terminal_size=(120, 36))
