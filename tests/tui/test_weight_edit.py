"""Editing a weight by hand on the inspect screen: the cursor, the prompt, and what the app
shows at once (the status line's loss, the log's line, the predictions); the CLI's replay
names the edit."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer, load_run, preset, save_run
from tests.tui.pilot import tap, wait_for
from tui.app import NNApp
from tui.cli import main
from tui.core.training import TrainingSession
from tui.screens.inspect_runs import InspectScreen
from tui.screens.prompts import ValuePrompt
from tui.widgets.inspect import WeightsView
from tui.widgets.panels import EpochLog, StatusLine

pytestmark = pytest.mark.usefixtures("sandbox")

WIDE = (120, 36)


def small_config(**values):
    """The course's XOR run (2-4-4-1, sigmoid, no bias), cut short."""
    return preset("dlp-xor").replace(**{"epochs": 3000, "log_every": 500, **values})


async def open_inspect(pilot, app: NNApp) -> InspectScreen:
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen))
    return app.screen


async def test_the_cursor_moves_over_the_cells_and_on_through_the_layers():
    app = NNApp(small_config(), autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_inspect(pilot, app)
        weights = screen.query_one(WeightsView)
        assert weights.cursor_entry() == (1, "weight", 1, 1)
        await pilot.press("down", "right", "l")
        assert weights.cursor_entry() == (1, "weight", 2, 3)
        await pilot.press("right", "right")  # past layer 1's last unit: layer 2's first
        assert weights.selected_layer == 2 and weights.cursor_entry() == (2, "weight", 2, 1)
        assert "Weights · layer 2 of 3" in screen.query_one("#inspect-weights").border_title
        await pilot.press("j", "j", "j", "j")  # stops at the last row (4 inputs, no bias)
        assert weights.cursor_entry() == (2, "weight", 4, 1)
        await pilot.press("h")  # back into layer 1, its last unit; the row fits its 2 inputs
        assert weights.cursor_entry() == (1, "weight", 2, 4)
        caption = screen.query_one("#inspect-weights").border_subtitle
        value = float(app.session.trainer.network.params[0][1, 3])
        assert caption.startswith(f"x2 → 4 = {value:.6g} · enter edits")
        await pilot.press("k", "k")
        assert weights.cursor_entry() == (1, "weight", 1, 4)


async def test_enter_edits_the_weight_and_the_loss_the_log_and_the_predictions_follow():
    app = NNApp(small_config(epochs=10_000_000), autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_inspect(pilot, app)
        await tap(app, "space")  # training runs underneath: enter pauses it first
        await wait_for(pilot, lambda: app.session.trainer.epoch > 50)
        await pilot.press("down", "right")  # layer 1: input x2 -> unit 2
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        assert not app.training.running and app.session.state == "paused"
        trainer = app.session.trainer
        epoch = trainer.epoch
        prompt = app.screen
        assert "training paused" in str(prompt.query_one("#value-text").render())
        status = screen.query_one(StatusLine)
        loss_before = status.status.loss
        predictions_before = app.session.points().y_pred.copy()

        prompt.input.value = "inf"  # refused in one line; the prompt stays
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt and "inf is not a finite number" in prompt.error
        prompt.input.value = "abc"
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is prompt and "'abc' is not a number" in prompt.error

        prompt.input.value = "-6"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen)
        assert trainer.network.params[0][1, 1] == -6.0
        [event] = trainer.weight_edits
        assert (event.epoch, event.layer, event.kind, event.row, event.col, event.new) == (
            epoch, 1, "weight", 2, 2, -6.0)
        assert trainer.epoch == epoch, "no epoch trained: only the weight changed"
        await pilot.pause()
        assert status.status.loss == event.loss != loss_before, "the status line's loss"
        assert screen.query_one("#inspect-weights").border_subtitle.startswith("x2 → 2 = -6 ")
        assert not np.array_equal(app.session.points().y_pred, predictions_before)
        await pilot.press("escape")
        await pilot.pause()
        log = app.main.query_one(EpochLog)
        line = next(text for text in log.plain_lines if "set by hand" in text)
        assert line.startswith(f"✎ epoch {epoch} weight set by hand: layer 1, input 2 -> unit 2, ")
        assert f"-> -6 (loss now {event.loss:.10f})" in line
        main_status = app.main.query_one(StatusLine).status
        assert main_status.loss == event.loss and main_status.state == "paused"


async def test_escape_leaves_the_weight_and_an_unchanged_value_edits_nothing():
    app = NNApp(small_config(), autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await open_inspect(pilot, app)
        before = [p.copy() for p in app.session.trainer.network.params]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        await pilot.press("enter")  # the value shown, as it was: closes, edits nothing
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen))
        trainer = app.session.trainer
        assert trainer.weight_edits == []
        assert all(np.array_equal(p, q) for p, q in zip(before, trainer.network.params,
                                                        strict=True))


async def test_a_diverged_run_is_not_edited_and_says_why():
    config = ExperimentConfig(dataset="moons", n=60, hidden=(6,), activation=("tanh", "linear"),
                              bias=True, loss="mse", optimizer="momentum", lr=50.0,
                              epochs=600, schedule="none", log_every=100)
    app = NNApp(config, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        assert app.session.trainer.status == "diverged"
        await open_inspect(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, InspectScreen), "no prompt"
        assert any("The run diverged" in str(n.message) for n in app._notifications)


def test_the_session_refuses_an_edit_while_training_runs():
    session = TrainingSession(small_config())
    session.running = True
    with pytest.raises(ValueError, match="pause training"):
        session.edit_weight(1, "weight", 1, 1, "2")


def test_the_cli_replay_names_the_edit_and_reproduces_the_run(capsys, tmp_path):
    trainer = Trainer(ExperimentConfig(epochs=1000, log_every=500, halve_every=500))
    trainer.run(300)
    trainer.edit_weight(2, "weight", 3, 1, -2.5)
    trainer.run(200)
    path = save_run(tmp_path / "edited.npz", trainer)
    again = tmp_path / "again.npz"
    code = main(["train", "--from", str(path), "--quiet", "--save", str(again)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"reproducing {path}: 500 epochs, making 1 weight edit by hand again" in out
    edit = trainer.weight_edits[0]
    assert (f"epoch 300 weight set by hand: layer 2, input 3 -> unit 1, {edit.old:.8g} -> -2.5 "
            f"(loss now {edit.loss:.10f})") in out.splitlines()
    assert "history reproduced exactly (500 rows)" in out
    assert load_run(again).weight_edits == trainer.weight_edits


def test_the_json_replay_lists_the_edits(capsys, tmp_path):
    import json

    trainer = Trainer(ExperimentConfig(epochs=400, log_every=200))
    trainer.run(100)
    trainer.edit_weight(1, "weight", 1, 2, 0.5)
    trainer.run(50)
    path = save_run(tmp_path / "edited.npz", trainer)
    assert main(["train", "--from", str(path), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    replay = next(line for line in lines if line["event"] == "replay")
    assert [e["new"] for e in replay["weight_edits"]] == [0.5] and replay["left_out_edits"] == 0
    edited = next(line for line in lines if line["event"] == "weight_edited")
    assert (edited["epoch"], edited["layer"], edited["row"], edited["col"]) == (100, 1, 1, 2)
    assert next(line for line in lines if line["event"] == "reproduction")["exact"]


def test_a_rerun_on_another_network_says_which_edits_it_leaves_out(capsys, tmp_path):
    trainer = Trainer(ExperimentConfig(epochs=300, log_every=100))
    trainer.run(100)
    trainer.edit_weight(1, "weight", 2, 4, 1.0)  # unit 4: a 3-unit first layer has none
    trainer.run(50)
    path = save_run(tmp_path / "edited.npz", trainer)
    assert main(["train", "--from", str(path), "--hidden", "3,3", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "leaving out 1 weight edit that the changed network does not have" in out


def test_the_edit_s_words_for_a_weight_and_a_bias():
    from engine import WeightEdited
    from tui.core.event_text import weight_edit_text

    weight = WeightEdited(12, 2, "weight", 3, 1, 0.123456789, -2.0, 0.25)
    assert weight_edit_text(weight) == ("epoch 12 weight set by hand: layer 2, input 3 -> "
                                        "unit 1, 0.12345679 -> -2 (loss now 0.2500000000)")
    bias = WeightEdited(0, 1, "bias", 1, 4, 0.0, 1e-3, float("nan"))
    assert weight_edit_text(bias) == ("epoch 0 bias set by hand: layer 1, unit 4, 0 -> 0.001 "
                                      "(loss now nan)")


async def test_the_decision_map_is_drawn_again_at_the_edited_weights():
    from tui.widgets.boundary import DecisionBoundary

    app = NNApp(small_config(), autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "b")  # panel 3 shows the decision map
        boundary = app.main.query_one(DecisionBoundary)
        await wait_for(pilot, lambda: boundary.eval_count > 0)
        before, grid = boundary.eval_count, boundary._grid.copy()
        await open_inspect(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ValuePrompt))
        app.screen.input.value = "12"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InspectScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: boundary.eval_count > before)
        assert app.session.trainer.network.params[0][0, 0] == 12.0
        assert not np.array_equal(boundary._grid, grid), "the map of the new weights"
