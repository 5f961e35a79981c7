"""Functional tests of the app, driven with Textual's Pilot (seeded, small epoch counts)."""

from __future__ import annotations

import asyncio
import math
import re

import numpy as np
import pytest
from textual.command import CommandPalette
from textual.widgets import Input

from engine import Trainer, preset
from tests.tui.pilot import tap, wait_for
from tui.app import NNApp
from tui.core.settings import load_settings
from tui.core.training import (
    RateMeter,
    TrainingLoop,
    TrainingSession,
)
from tui.screens.help import HelpScreen
from tui.widgets.charts import LossChart, ScatterPair
from tui.widgets.editor import ArchitectureEditor
from tui.widgets.panels import PANELS, EpochLog, Panel, StatusLine

WIDE = (120, 36)
SMALL = (80, 24)


@pytest.fixture
def config_home(private_xdg_dirs):
    """Where the app's settings go in a test."""
    return private_xdg_dirs / "config"


def small_config(**values):
    """The course's XOR run, cut short."""
    return preset("dlp-xor").replace(**{"epochs": 3000, "log_every": 500, **values})


def weights(app: NNApp) -> list[np.ndarray]:
    return [p.copy() for p in app.session.trainer.network.params]




def log_lines(app: NNApp) -> list[str]:
    return app.query_one(EpochLog).plain_lines


# ------------------------------------------------------------------ start


@pytest.mark.asyncio
async def test_opens_on_dlp_xor_one_key_from_running():
    app = NNApp()
    async with app.run_test(size=WIDE) as pilot:
        assert app.session.config == preset("dlp-xor")
        assert app.session.state == "ready"
        assert app.theme == "nn-dark"
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 0)
        assert app.session.state == "running"
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)
        assert app.session.state == "paused"


@pytest.mark.asyncio
async def test_run_pause_keeps_epoch_and_updates_panels():
    app = NNApp(small_config(epochs=10_000_000, log_every=100_000))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 2000)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)
        epoch = app.session.trainer.epoch
        await pilot.pause(0.1)
        assert app.session.trainer.epoch == epoch, "paused training does not move"
        status = app.query_one(StatusLine).status
        assert status.state == "paused" and status.epoch == epoch
        chart = app.query_one(LossChart)
        assert chart._train is not None and chart._train[0][-1] <= epoch
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > epoch)
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)


@pytest.mark.asyncio
async def test_step_one_epoch_and_one_log_interval():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")
        assert app.session.trainer.epoch == 1
        await pilot.press("n")
        assert app.session.trainer.epoch == 501
        await pilot.press("s")
        assert app.session.trainer.epoch == 502
        assert any(line.startswith("epoch 500 loss : ") for line in log_lines(app))
        assert app.session.state == "paused"
        scatter = app.query_one("#scatter-panel", Panel)
        assert scatter.border_title == "3 Predictions · accuracy 85.7%"  # 18 of 21


@pytest.mark.asyncio
async def test_step_while_running_pauses_first():
    app = NNApp(small_config(epochs=10_000_000))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 100)
        await tap(app, "s")
        await wait_for(pilot, lambda: not app.training.running)
        epoch = app.session.trainer.epoch
        await pilot.press("s")
        assert app.session.trainer.epoch == epoch + 1


# ------------------------------------------------------------------ the log


@pytest.mark.asyncio
async def test_rate_change_rule_is_highlighted_in_the_log():
    app = NNApp(small_config(halve_every=50))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        log = app.query_one(EpochLog)
        rate_lines = [text for kind, text in log.entries if kind == "rate"]
        # the ratio is measured by training: its digits may differ on another machine
        assert re.fullmatch(
            r"▸ epoch 50 learning rate halved 0\.5 -> 0\.25 \(loss ratio 0\.9\d{3}\)",
            rate_lines[0]), rate_lines[0]
        assert app.query_one(LossChart)._rate_changes[0] == 50


@pytest.mark.asyncio
async def test_bracket_keys_double_and_halve_the_rate_live():
    app = NNApp(small_config(epochs=10_000_000, schedule="none"))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 100)
        await tap(app, "right_square_bracket")
        await wait_for(pilot, lambda: app.session.trainer.lr == 1.0)
        await tap(app, "left_square_bracket", "left_square_bracket")
        await wait_for(pilot, lambda: app.session.trainer.lr == 0.25)
        assert app.training.running, "changing the rate does not stop training"
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)
        manual = [c for c in app.session.trainer.rate_changes if c.reason == "manual"]
        assert [c.new_lr for c in manual] == [1.0, 0.5, 0.25]
        assert sum(line.endswith("(by hand)") for line in log_lines(app)) == 3


@pytest.mark.asyncio
async def test_finish_prints_the_test_summary():
    app = NNApp(small_config(epochs=1000))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "finished")
        await pilot.pause()
        lines = log_lines(app)
        assert any(line.startswith("✔ finished 1,000 epochs") for line in lines)
        assert "testing the final weights on the training set (21 points):" in lines
        truth_lines = [line for line in lines if re.match(r"\[ *\d+\] x=\(.*\) truth ", line)]
        assert len(truth_lines) == 21
        assert lines[-1].startswith("loss=") and lines[-1].endswith("%")
        assert app.query_one(StatusLine).status.state == "finished"
        await pilot.press("space")  # finished: says so, does not crash or restart
        assert app.session.state == "finished"


@pytest.mark.asyncio
async def test_divergence_is_reported_in_the_error_colour():
    app = NNApp(small_config(lr=1e5, activation="linear"))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "diverged")
        await pilot.pause()
        log = app.query_one(EpochLog)
        errors = [text for kind, text in log.entries if kind == "error"]
        assert errors and "diverged at epoch" in errors[0]
        assert app.query_one(StatusLine).status.state == "diverged"
        # halving the rate by hand resumes a diverged run
        await pilot.press("left_square_bracket")
        assert app.session.state != "diverged"


@pytest.mark.asyncio
async def test_after_a_divergence_the_message_says_what_recovers_and_it_does():
    """A linear XOR network at lr 0.5 blows up within 5 epochs; its kept weights are already
    too large, so [ then space diverges again: the message says [ then r (fresh weights
    at the halved rate), and following it, again while it diverges, recovers."""
    app = NNApp(small_config(lr=0.5, activation="linear"))
    async with app.run_test(size=WIDE) as pilot:
        attempts = 0
        while True:
            await tap(app, "space")
            await wait_for(pilot, lambda: app.session.trainer.done)
            await pilot.pause()
            if app.session.state == "finished":
                break
            hint = "Diverged at epoch "
            assert any(n.message.startswith(hint) and "then r to start afresh" in n.message
                       for n in app._notifications)
            assert any("press [ to halve the rate, then r" in line for line in log_lines(app))
            await pilot.press("space")  # space reminds of the same
            assert list(app._notifications)[-1].message.startswith(hint)
            lr = app.session.trainer.lr
            await pilot.press("left_square_bracket", "r")
            assert app.session.trainer.epoch == 0 and app.session.trainer.lr == lr / 2
            assert app.session.config.lr == lr / 2  # the editor's config follows
            attempts += 1
            assert attempts <= 8
        assert attempts >= 2 and app.session.trainer.epoch == 3000


@pytest.mark.asyncio
async def test_reset_keeps_the_default_rate_unless_one_was_set_by_hand():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s", "r")
        assert app.session.trainer.lr == 0.5
        await pilot.press("right_square_bracket", "r")
        assert app.session.trainer.lr == 1.0 and app.session.config.lr == 1.0


# ------------------------------------------------------------------ editor


@pytest.mark.asyncio
async def test_edit_hidden_sizes_by_keyboard_and_apply():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.press("1")
        await pilot.pause()
        field = app.query_one("#field-hidden", Input)
        assert app.focused is field
        await pilot.press("ctrl+u", "8", "comma", "3")
        assert field.value == "8,3"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.session.trainer.network.sizes == (2, 8, 3, 1)
        assert app.session.trainer.epoch == 0
        # and with "a" once the field is left with escape
        await pilot.press("ctrl+u", "5", "escape", "a")
        await pilot.pause()
        assert app.session.trainer.network.sizes == (2, 5, 1)


@pytest.mark.asyncio
async def test_invalid_field_shows_its_message_and_leaves_the_model_alone():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        trainer, before = app.session.trainer, weights(app)
        await pilot.press("1", "ctrl+u", "4", "comma", "x", "ctrl+s")
        await pilot.pause()
        editor = app.query_one(ArchitectureEditor)
        assert "hidden" in editor.errors
        message = str(editor.query_one("#message").render())
        assert message == editor.errors["hidden"]
        assert "4,x" in message
        await pilot.press("escape", "a")
        await pilot.pause()
        assert app.session.trainer is trainer
        assert trainer.epoch == 500
        for old, new in zip(before, weights(app), strict=True):
            np.testing.assert_array_equal(old, new)


@pytest.mark.asyncio
async def test_apply_stops_a_running_training_first():
    app = NNApp(small_config(epochs=10_000_000))
    async with app.run_test(size=WIDE) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 100)
        old = app.session.trainer
        await tap(app, "a")
        await wait_for(pilot, lambda: app.session.trainer is not old)
        assert not app.training.running
        assert app.session.trainer is not old and app.session.trainer.epoch == 0
        assert app.session.state == "ready"


@pytest.mark.asyncio
async def test_typing_in_a_field_never_triggers_a_shortcut():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        trainer = app.session.trainer
        await pilot.press("1", "ctrl+u")
        await pilot.press("r", "space", "s", "n", "d", "c", "a", "q", "2", "question_mark")
        await pilot.pause()
        assert app.query_one("#field-hidden", Input).value == "r sndcaq2?"
        assert app.session.trainer is trainer and trainer.epoch == 500
        assert not app.training.running and app.is_running
        assert not isinstance(app.screen, HelpScreen)


# ------------------------------------------------------------------ reset and data


@pytest.mark.asyncio
async def test_reset_reinitialises_the_weights_at_epoch_zero():
    config = small_config()
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        trained = weights(app)
        await pilot.press("r")
        assert app.session.trainer.epoch == 0
        fresh = Trainer(config).network.params
        for new, init, old in zip(weights(app), fresh, trained, strict=True):
            np.testing.assert_array_equal(new, init)
            assert not np.array_equal(new, old)
        assert app.query_one(StatusLine).status.state == "ready"
        assert "reset" in log_lines(app)[-1]


@pytest.mark.asyncio
async def test_new_data_seed_and_cycle_dataset_reach_the_editor():
    app = NNApp(small_config(dataset="linear"))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("d")
        assert app.session.config.data_seed == 1
        assert app.query_one("#field-data_seed", Input).value == "1"
        await pilot.press("c")
        assert app.session.config.dataset == "xor"
        assert app.session.trainer.epoch == 0
        assert app.query_one(ArchitectureEditor).config.dataset == "xor"


# ------------------------------------------------------------------ themes


@pytest.mark.asyncio
async def test_theme_switch_persists_to_settings(config_home):
    app = NNApp()
    async with app.run_test(size=WIDE) as pilot:
        assert {"nn-dark", "nn-light", "nn-high-contrast", "nn-ansi16"} <= set(app.available_themes)
        app.theme = "nn-light"
        await pilot.pause()
    settings, warnings = load_settings()
    assert settings.theme == "nn-light" and warnings == []
    again = NNApp()
    async with again.run_test(size=WIDE):
        assert again.theme == "nn-light"


@pytest.mark.asyncio
async def test_theme_picker_from_the_t_key(config_home):
    app = NNApp()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"nn-high-contrast")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.theme == "nn-high-contrast"
    assert load_settings()[0].theme == "nn-high-contrast"


@pytest.mark.asyncio
async def test_no_color_is_respected(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        assert app.no_color
        assert app.query_one(ScatterPair).chart_colors.monochrome


# ------------------------------------------------------------------ layout


def visible(app: NNApp, name: str) -> bool:
    panel = app.query_one(f"#{name}-panel", Panel)
    return panel.display and panel.region.width > 10 and panel.region.height > 5


@pytest.mark.asyncio
async def test_resize_to_80x24_and_back_keeps_every_panel_reachable():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        assert not app.main.compact
        assert all(visible(app, name) for name in PANELS)
        await pilot.resize_terminal(*SMALL)
        await pilot.pause()
        assert app.main.compact
        assert [visible(app, name) for name in PANELS] == [False, True, False, False]
        for key, name in zip("1234", PANELS, strict=True):
            await pilot.press(key)
            await pilot.pause()
            assert visible(app, name), name
            assert [n for n in PANELS if visible(app, n)] == [name]
            assert app.focused is not None and name in {
                p.panel for p in app.focused.ancestors_with_self if isinstance(p, Panel)
            }
            await pilot.press("escape")
        await pilot.resize_terminal(*WIDE)
        await pilot.pause()
        assert not app.main.compact
        assert all(visible(app, name) for name in PANELS)


@pytest.mark.asyncio
async def test_panel_bar_click_switches_panels():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.click("#panel-bar", offset=(30, 0))  # " 3 Predictions "
        await pilot.pause()
        assert app.main.active_panel == "scatter" and visible(app, "scatter")


@pytest.mark.asyncio
async def test_survives_40x12():
    app = NNApp(small_config())
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.press("n", "1", "escape", "2", "3", "4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.resize_terminal(120, 36)  # resizing under the help screen
        await pilot.pause()
        assert not app.main.compact
        await pilot.resize_terminal(40, 12)
        await pilot.pause()
        await pilot.press("escape")
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "finished")
        await pilot.resize_terminal(20, 6)
        await pilot.pause()
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert app.is_running


# ------------------------------------------------------------------ help and palette


@pytest.mark.asyncio
async def test_help_lists_every_key_and_escape_closes_it():
    app = NNApp()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        keys = [key for key, _, _ in screen.rows()]
        for expected in ("space", "s", "n", "r", "d", "a / ^s", "c", "]", "[", "1", "2", "3",
                         "4", "t", "?", "q", "esc", "ctrl+p"):
            assert expected in keys
        assert all(detail for _, _, detail in screen.rows())
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


def test_every_binding_has_a_description_and_an_id():
    ids = [b.id for b in NNApp.BINDINGS]
    assert all(b.description and b.tooltip for b in NNApp.BINDINGS)
    assert all(ids) and len(set(ids)) == len(ids)


@pytest.mark.asyncio
async def test_every_action_is_in_the_command_palette():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for binding in NNApp.BINDINGS:
            if binding.id not in ("leave-field", "theme", "quit"):
                assert binding.tooltip in titles, binding.id
        assert "Theme" in titles and "Quit" in titles
        await titles["Step one log interval"].callback()
        await pilot.pause()
        assert app.session.trainer.epoch == 500


@pytest.mark.asyncio
async def test_the_palette_has_every_preset_and_dataset_and_they_replace_the_run():
    from engine import DATASET_NAMES, PRESET_NAMES

    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        assert {f"Preset: {name}" for name in PRESET_NAMES} <= set(titles)
        assert {f"Dataset: {name}" for name in DATASET_NAMES} <= set(titles)
        await pilot.press("s")
        await titles["Preset: dlp-linear"].callback()
        await pilot.pause()
        assert app.session.config == preset("dlp-linear")
        assert app.session.trainer.epoch == 0
        editor = app.query_one(ArchitectureEditor)
        assert editor.config == preset("dlp-linear")
        await titles["Dataset: spiral"].callback()
        await pilot.pause()
        assert app.session.config == preset("dlp-linear").replace(dataset="spiral")
        assert editor.config.dataset == "spiral"
        assert any("dataset spiral" in line for line in log_lines(app))
        # typed into the palette, it is found by name
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"preset dlp-x")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.session.config == preset("dlp-xor"))


# ------------------------------------------------------------------ training module


def test_rate_meter_uses_a_sliding_window():
    meter = RateMeter(window=1.0)
    assert math.isnan(meter.rate)
    for i in range(30):
        meter.add(epoch=100 * i if i < 10 else 900 + 10 * (i - 9), now=0.1 * i)
    assert meter.rate == pytest.approx(100, rel=0.15)


def test_loop_updates_at_a_bounded_rate_and_stops_cleanly():
    session = TrainingSession(small_config(epochs=10_000_000))
    updates: list[tuple[int, bool]] = []
    loop = TrainingLoop(session, lambda events, final: updates.append((len(events), final)))

    async def main():
        assert loop.start()
        await asyncio.sleep(0.35)
        await loop.stop()

    asyncio.run(main())
    assert updates[-1][1] is True and all(not final for _, final in updates[:-1])
    assert 2 <= len(updates) <= 5
    assert session.state == "paused" and not loop.running
