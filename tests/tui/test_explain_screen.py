"""The backprop explainer screen (``x``): every stage forward and back, the element
drill-down, the step applied equal to the trainer's next epoch, the session followed,
the palette, and snapshots at 120x36 and 80x24.

The snapshots show epoch 0 of dlp-xor: seeded initial weights and a forward pass of a
few small products, with numbers shown to 4 (table) or 6 (drill-down) significant
digits, so they are the same on any machine (see tests/tui/test_snapshots.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from textual.widgets import Static

from engine import Trainer, preset
from engine.explain import drill, explain
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.screens.explain import ExplainScreen, highlights
from tui.widgets.matrix import MatrixView, cell, operand_text, window

WIDE = (120, 36)
SMALL = (80, 24)

pytestmark = pytest.mark.usefixtures("sandbox")


def xor_config(**values):
    """The course's 2-4-4-1 sigmoid / sse network, cut short."""
    return preset("dlp-xor").replace(**{"epochs": 200, "log_every": 50, **values})


def adam_config(**values):
    """relu, tanh, a sigmoid output, bce, biases and Adam."""
    return xor_config(activation=("relu", "tanh", "sigmoid"), loss="bce", optimizer="adam",
                      bias=True, lr=0.01, **values)


async def open_explainer(pilot, app: NNApp) -> ExplainScreen:
    await pilot.press("x")
    await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen))
    await pilot.pause()
    return app.screen


def shown(screen: ExplainScreen, name: str) -> str:
    return str(screen.query_one(f"#{name}", Static).render())


def assert_shows(screen: ExplainScreen, k: int) -> None:
    """The screen shows stage k: its title, equation, shape and values."""
    stage = screen.walk.stages[k]
    assert screen.index == k and screen.stage is stage
    title = screen.query_one("#explain-stage").border_title
    assert title.startswith(f"Stage {k + 1} of {len(screen.walk)} · {stage.name}")
    assert shown(screen, "explain-equation") == stage.equation
    assert shown(screen, "explain-shape").startswith(f"shape {stage.shape}")
    assert screen.matrix.values is stage.values


@pytest.mark.parametrize("config", [xor_config(), adam_config(), adam_config(batch_size=8)],
                         ids=["sigmoid-sse", "relu-tanh-bce-adam-bias", "minibatch"])
async def test_every_stage_forward_and_back(config):
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_explainer(pilot, app)
        walk = screen.walk
        reference = explain(Trainer(config))
        assert [s.name for s in walk.stages] == [s.name for s in reference.stages]
        assert all(np.array_equal(a.values, b.values)
                   for a, b in zip(walk.stages, reference.stages, strict=True))
        n = len(walk)
        for k in range(n):
            assert_shows(screen, k)
            await pilot.press("right")
        assert_shows(screen, n - 1)  # the last stage stays put
        for k in reversed(range(n)):
            assert_shows(screen, k)
            await pilot.press("left")
        assert_shows(screen, 0)
        await pilot.press("end")
        assert_shows(screen, n - 1)
        await pilot.press("home", "right_square_bracket", "right_square_bracket",
                          "left_square_bracket")
        assert_shows(screen, 1)
        await pilot.press("enter")
        assert_shows(screen, 2)
        assert app.session.trainer.epoch == 0, "walking changes nothing"


async def test_the_operands_show_the_row_and_column_used():
    app = NNApp(xor_config())
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_explainer(pilot, app)
        await pilot.press("right", "right", "tab", "down", "down", "down", "right")
        await pilot.pause()
        assert screen.stage.name == "Z_1" and screen.cursor == (3, 1)
        operands = shown(screen, "explain-operands-text")
        assert "X" in operands and "W_1" in operands
        marks = highlights(screen.walk, screen.stage, 3, 1)
        assert marks == {"X": {"rows": (3,)}, "W_1": {"columns": (1,)}}


@pytest.mark.parametrize("config", [xor_config(), adam_config()], ids=["sse", "adam"])
async def test_the_drill_down_sums_to_the_element(config):
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_explainer(pilot, app)
        walk = screen.walk
        for name in ("Z_2", "dE/dW_2", "dE/dA_1", "A_2", "delta_2"):
            await pilot.press("home", *["right"] * walk[name].stage)
            await pilot.press("tab", "home", "down", *["left"] * 5, "right", "escape")
            await pilot.pause()
            stage = screen.stage
            assert stage.name == name and screen.cursor == (1, 1)
            d = drill(walk, name, (1, 1))
            text = shown(screen, "explain-drill-text")
            assert d.formula in text
            title = screen.query_one("#explain-drill").border_title
            assert title == f"How {name}[1, 1] = {d.value:.6g} was computed"
            if stage.kind == "product":
                assert "row" in text and "column" in text
                bound = 1e-12 * math.fsum(abs(t) for t in d.terms) + 1e-300
                assert abs(d.total - stage.values[1, 1]) <= bound
            else:  # the inputs, and the formula with numbers
                for operand in stage.operands:
                    assert f"{operand} = " in text


async def test_applying_the_step_is_the_trainers_next_epoch():
    config = adam_config()
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_explainer(pilot, app)
        await pilot.press("end")
        expected_new = [p.copy() for p in screen.walk.new_params]
        await pilot.press("a")  # apply, and stay on the stage
        await pilot.pause()
        trainer = app.session.trainer
        assert trainer.epoch == 1 and screen.index == len(screen.walk) - 1
        assert all(np.array_equal(a, b) for a, b in
                   zip(trainer.network.params, expected_new, strict=True))
        assert screen.walk.epoch == 2, "the walk follows the next epoch"
        await pilot.press("enter")  # enter on the last stage applies too, then starts over
        await pilot.pause()
        assert trainer.epoch == 2 and screen.index == 0 and screen.walk.epoch == 3
        fresh = Trainer(config)
        fresh.step(2)
        assert all(np.array_equal(a, b) for a, b in
                   zip(trainer.network.params, fresh.network.params, strict=True))
        assert app.session.trainer.history.arrays()["loss"].size >= 2


async def test_applying_past_the_end_extends_the_run():
    config = xor_config(epochs=3)
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s", "s", "s")
        assert app.session.trainer.status == "finished"
        screen = await open_explainer(pilot, app)
        await pilot.press("a")
        await pilot.pause()
        assert app.session.trainer.epoch == 4 and screen.walk.epoch == 5


async def test_the_screen_pauses_training_and_follows_the_session():
    # far more epochs than can train before x is pressed, on any machine: the run must
    # still be training when the screen opens (100,000 finished first on a quiet one)
    app = NNApp(xor_config(epochs=100_000_000))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 10)
        screen = await open_explainer(pilot, app)
        assert not app.training.running
        epoch = app.session.trainer.epoch
        assert screen.walk.epoch == epoch + 1
        await pilot.press("s")  # the app's step: the walk follows
        await pilot.pause()
        assert screen.walk.epoch == epoch + 2
        await pilot.press("r")  # a new trainer: the walk is its
        await pilot.pause()
        assert app.session.trainer.epoch == 0 and screen.walk.epoch == 1
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1


async def test_the_next_mini_batch():
    config = adam_config(batch_size=8)
    app = NNApp(config)
    async with app.run_test(size=WIDE) as pilot:
        screen = await open_explainer(pilot, app)
        assert screen.walk.batch == 0 and screen.walk.batches == 3
        await pilot.press("b")
        assert screen.walk.batch == 1
        assert np.array_equal(screen.walk.rows, explain(Trainer(config), 1).rows)
        assert "batch 2 of 3" in screen.query_one("#explain-stage").border_subtitle
        await pilot.press("b", "b")
        assert screen.walk.batch == 0


async def test_the_table_keys_and_escape():
    app = NNApp(xor_config())
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_explainer(pilot, app)
        await pilot.press("right", "right", "down", "down")  # up/down pick the row
        assert screen.index == 2 and screen.cursor == (2, 0)
        await pilot.press("tab", "right", "right", "end")  # in the table: the cell cursor
        assert screen.index == 2 and screen.cursor == (20, 2)
        assert screen.matrix.has_focus
        await pilot.press("escape", "right")  # out of the table: arrows move the stages
        assert screen.index == 3 and not screen.matrix.has_focus
        assert screen.cursor == (20, 2)
        await pilot.press("escape")
        assert not isinstance(app.screen, ExplainScreen)


async def test_the_explainer_opens_from_the_command_palette():
    app = NNApp(xor_config())
    async with app.run_test(size=WIDE) as pilot:
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert "Explain one step of backprop" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Explain one step")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ExplainScreen))
        on_screen = {c.title for c in app.get_system_commands(app.screen)}
        assert "Apply the step: the run advances one epoch" in on_screen
        assert "Next stage" in on_screen


async def test_a_diverged_run_says_why_there_is_no_step():
    app = NNApp(xor_config(lr=1e6, epochs=500))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await wait_for(pilot, lambda: app.session.trainer.status == "diverged")
        screen = await open_explainer(pilot, app)
        assert screen.walk is None and "diverged" in shown(screen, "explain-equation")
        await pilot.press("right", "a", "b", "tab", "down")
        assert app.session.trainer.status == "diverged"


# ------------------------------------------------------------------ building blocks


def test_cells_and_windows():
    assert cell(-0.13210512) == "-0.1321" and cell(2.8e-05) == "2.8e-05" and cell(0.5) == "0.5"
    assert window(5, 3, 10) == (0, 5)
    assert window(100, 0, 7) == (0, 7) and window(100, 99, 7) == (93, 100)
    assert window(100, 50, 7) == (47, 54)


def test_operand_text_abridges_around_the_highlight():
    values = np.arange(200.0).reshape(20, 10)
    text = operand_text("A", values, rows=(15,), max_rows=5, max_columns=4)
    plain = text.plain
    assert plain.startswith("A  20x10")
    assert "150" in plain and "0 " not in plain.splitlines()[2]
    assert "⋮" in plain and "(2 more)" in plain and "…" in plain
    lit = [span for span in text.spans if span.style and getattr(span.style, "reverse", False)]
    assert len(lit) == 4  # the row's four shown elements


async def test_a_long_matrix_reaches_every_row():
    from textual.app import App, ComposeResult

    class One(App):
        def compose(self) -> ComposeResult:
            yield MatrixView()

    values = np.arange(3000.0).reshape(1000, 3)
    app = One()
    async with app.run_test(size=(40, 12)) as pilot:
        view = app.query_one(MatrixView)
        view.show(values, [f"#{i}" for i in range(1000)], (0, 0))
        view.focus()
        await pilot.press("end", "right", "right", "right")
        await pilot.pause()
        assert view.cursor == (999, 2)
        assert view.scroll_y > 980
        lines = ["".join(s.text for s in view.render_line(y)) for y in range(view.size.height)]
        assert any("#999" in line and "2999" in line for line in lines)


# ------------------------------------------------------------------ snapshots


SNAPSHOT_KEYS = ("x", "right", "right", "tab", "down", "down", "down", "right")
"""Z_1 of dlp-xor at epoch 0, the element [3, 1] picked (X row 3 times W_1 column 1)."""


def test_explainer_120x36(snap_compare):
    assert snap_compare(NNApp(preset("dlp-xor"), deterministic=True, autosave=False),
                        press=SNAPSHOT_KEYS, terminal_size=WIDE)


def test_explainer_80x24(snap_compare):
    assert snap_compare(NNApp(preset("dlp-xor"), deterministic=True, autosave=False),
                        press=SNAPSHOT_KEYS, terminal_size=SMALL)
