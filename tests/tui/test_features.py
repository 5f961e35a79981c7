"""Pilot tests of the features beyond the main loop: decision boundary, kept runs and
their overlays, sweeps in the runs table, the inspect screen, the gradient check,
save / open / export, your own data, and the data keys. Seeded, short configs."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from textual.widgets import ContentSwitcher, DataTable, Input

from engine import load_config, load_run, preset
from engine.experiments.sweep import run_one, sweep_csv
from engine.io.export import HISTORY_COLUMNS, PREDICTION_COLUMNS
from tests.tui.pilot import tap, wait_for
from tui.app import NNApp, run_file_path
from tui.core.runs import RunRecord, RunStore, overlay_label
from tui.screens.help import HelpScreen
from tui.screens.inspect_runs import InspectScreen, RunsScreen
from tui.screens.prompts import (
    ExportMenu,
    GradcheckScreen,
    PathPrompt,
    complete_path,
    matching_entries,
)
from tui.widgets.boundary import DecisionBoundary
from tui.widgets.charts import LossChart, ScatterPair
from tui.widgets.editor import ArchitectureEditor
from tui.widgets.inspect import NeuronView, NormsChart, WeightsView
from tui.widgets.panels import Panel, StatusLine

WIDE = (120, 36)
SMALL = (80, 24)


pytestmark = pytest.mark.usefixtures("sandbox")


def small_config(**values):
    """The course's XOR run, cut short."""
    return preset("dlp-xor").replace(**{"epochs": 3000, "log_every": 500, **values})


async def answer(pilot, app: NNApp, path) -> PathPrompt:
    """Type ``path`` into the open path prompt and press enter; returns the prompt."""
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
    prompt = app.screen
    prompt.input.value = str(path)
    await pilot.press("enter")
    await pilot.pause()
    return prompt


def write_points_csv(path, n: int = 30) -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, (n, 2))  # noqa: N806
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    lines = ["x1,x2,label"] + [f"{a:.6f},{b:.6f},{c}" for (a, b), c in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# ------------------------------------------------------------------ decision boundary


async def test_b_switches_panel_3_to_the_decision_boundary_and_back():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        switcher = app.query_one("#predictions", ContentSwitcher)
        boundary = app.query_one(DecisionBoundary)
        panel = app.query_one("#scatter-panel", Panel)
        assert switcher.current == "scatter" and not boundary.display
        assert boundary.eval_count == 0, "not shown: never evaluated"
        await pilot.press("b")
        await pilot.pause()
        assert switcher.current == "boundary" and boundary.display
        assert panel.border_title == "3 Decision boundary"
        assert boundary.region.width > 20 and boundary.region.height > 5
        evaluations, shown = boundary.eval_count, boundary.evaluate(np.array([[0.0, 1.0]]))
        assert evaluations >= 1, "the map was drawn"
        await pilot.press("n")
        await pilot.pause()
        assert boundary.eval_count > evaluations, "stepping re-evaluates the map"
        assert boundary.evaluate(np.array([[0.0, 1.0]])) != shown
        lines = [boundary.render_line(y).text for y in range(boundary.size.height)]
        assert "train" in lines[0] and "p=0" in lines[-1]
        assert sum(line.count("●") for line in lines) >= 15, "the points are on the map"
        await pilot.press("b")
        await pilot.pause()
        assert switcher.current == "scatter"
        assert panel.border_title.startswith("3 Predictions · accuracy")


async def test_boundary_follows_training_live():
    app = NNApp(small_config(epochs=10_000_000))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        boundary = app.query_one(DecisionBoundary)
        before = boundary.eval_count
        await tap(app, "space")
        await wait_for(pilot, lambda: boundary.eval_count >= before + 2, timeout=15)
        assert app.training.running
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)


async def test_boundary_toggle_in_the_compact_layout():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n")
        assert app.main.compact and app.main.active_panel == "loss"
        await pilot.press("b")
        await pilot.pause()
        boundary = app.query_one(DecisionBoundary)
        assert app.main.active_panel == "scatter"
        assert boundary.display and boundary.region.height > 5
        assert not app.query_one("#loss-panel").display


# ------------------------------------------------------------------ kept runs


async def test_runs_are_kept_when_finished_and_when_replaced():
    app = NNApp(small_config(epochs=1000))
    async with app.run_test(size=SMALL) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "finished")
        await pilot.pause()
        assert len(app.runs) == 1
        first = app.runs.records[0]
        assert first.label == "#1" and first.status == "finished"
        assert first.epochs_run == 1000 and first.source == "app"
        assert first.config == app.session.config.to_dict()
        assert 0 < first.epochs.size <= 512 and first.epochs.size == first.losses.size
        await pilot.press("r")  # the finished run is kept already: not twice
        assert len(app.runs) == 1
        await pilot.press("n")  # 500 epochs, then replaced by a reset: kept, stopped
        await pilot.press("r")
        assert len(app.runs) == 2 and app.runs.records[1].status == "stopped"
        await pilot.press("r")  # nothing trained: nothing kept
        assert len(app.runs) == 2
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        labels = [str(c.label.plain) for c in table.columns.values()]
        # at 80 columns: data, loss, 100% at and secs do not fit (the detail line names the data)
        assert labels[1:] == ["# ▲", "2 layers", "3 act", "4 opt", "5 lr", "bias", "6 epochs",
                              "8 acc", "test"]
        row = [str(getattr(c, "plain", c)) for c in table.get_row("1")]
        assert row[1:7] == ["#1", "2-4-4-1", "sigmoid", "sgd", "0.5", "off"]
        assert row[7] == "1,000" and row[8].endswith("%") and row[9] == "—"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RunsScreen)


async def test_a_diverged_run_is_kept():
    app = NNApp(small_config(lr=1e5, activation="linear"))
    async with app.run_test(size=SMALL) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "diverged")
        await pilot.pause()
        assert [r.status for r in app.runs] == ["diverged"]


async def test_overlays_add_the_runs_to_the_loss_chart_legend():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        editor = app.query_one(ArchitectureEditor)
        for lr in ("0.25", "2"):
            editor.field_widget("lr").value = lr
            await pilot.pause()
            await pilot.press("ctrl+s")
            await pilot.pause()
            await pilot.press("n")
        editor.field_widget("lr").value = "1"
        await pilot.pause()
        await pilot.press("ctrl+s")  # keeps the lr 2 run
        await pilot.press("n")
        assert [r.lr for r in app.runs] == [0.25, 2.0]
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        await pilot.press("space")  # the cursor starts on the first row: #1
        await pilot.press("down", "enter")  # enter toggles too
        await pilot.pause()
        assert [r.label for r in app.runs.overlaid] == ["#1", "#2"]
        chart = app.query_one(LossChart)
        assert [label for label, *_ in chart._overlays] == ["#1 lr 0.25", "#2 lr 2"]
        legend = chart.draw(100, 20, chart.chart_colors).plain.splitlines()[0]
        assert "train" in legend and "#1 lr 0.25" in legend and "#2 lr 2" in legend
        preview = screen.query_one("#runs-chart", LossChart)
        assert [label for label, *_ in preview._overlays] == ["#1 lr 0.25", "#2 lr 2"]
        marks = [str(getattr(c, "plain", c)) for c in
                 (screen.query_one(DataTable).get_row(str(n))[0] for n in (1, 2))]
        assert marks == ["●", "●"]
        await pilot.press("up", "space")  # #1 off
        assert [r.label for r in app.runs.overlaid] == ["#2"]
        await pilot.press("x")
        assert app.runs.overlaid == [] and app.query_one(LossChart)._overlays == []


async def test_runs_table_sorts_by_number_keys_and_header_clicks():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        editor = app.query_one(ArchitectureEditor)
        for lr in ("2", "0.25", "1"):
            editor.field_widget("lr").value = lr
            await pilot.pause()
            await pilot.press("ctrl+s", "n")
        await pilot.press("r")
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(DataTable)

        def order() -> list[str]:
            return [str(table.get_row_at(i)[1].plain) for i in range(table.row_count)]

        assert order() == ["#1", "#2", "#3"]
        await pilot.press("5")  # lr
        assert order() == ["#2", "#3", "#1"]
        await pilot.press("5")  # again: reversed
        assert order() == ["#1", "#3", "#2"]
        await pilot.press("number_sign")
        assert order() == ["#1", "#2", "#3"]
        table.post_message(DataTable.HeaderSelected(table, table.ordered_columns[6].key, 6,
                                                    table.ordered_columns[6].label))
        await pilot.pause()
        assert screen.sort_column == "lr" and order() == ["#2", "#3", "#1"]
        await pilot.click("#runs-table", offset=(3, 0))  # the "#" header
        await pilot.pause()
        assert screen.sort_column == "number"


async def test_a_sweep_csv_fills_the_runs_table(tmp_path):
    base = small_config(epochs=300, log_every=100)
    results = [run_one(base.replace(lr=lr).to_dict(), i) for i, lr in enumerate((0.5, 2.0))]
    sweep = tmp_path / "sweep.csv"
    sweep.write_text(sweep_csv(results), encoding="utf-8")
    app = NNApp(base.replace(lr=1.0))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("o")
        await answer(pilot, app, sweep)
        assert isinstance(app.screen, RunsScreen)
        assert [(r.source, r.lr, r.epochs_run) for r in app.runs] == [
            ("sweep", 0.5, 300), ("sweep", 2.0, 300)]
        assert all(r.has_curve for r in app.runs)
        assert app.screen.query_one(DataTable).row_count == 2
        await pilot.press("space")
        assert [label for label, *_ in app.query_one(LossChart)._overlays] == ["#1 lr 0.5"]


# ------------------------------------------------------------------ inspect


async def test_inspect_screen_cycles_layers_and_units_and_leaves_the_rate_alone():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, InspectScreen)
        weights, neuron = screen.query_one(WeightsView), screen.query_one(NeuronView)
        assert weights.selected_layer == 1 and weights.n_layers == 3
        assert weights.render_line(0).text.startswith("layer 1: 2×4 weights")
        await pilot.press("right_square_bracket")
        assert weights.selected_layer == 2
        await pilot.press("left_square_bracket", "left_square_bracket")
        assert weights.selected_layer == 3, "wraps around"
        assert app.session.trainer.lr == 0.5, "[ and ] are the layer keys here"
        assert (neuron.selected_layer, neuron.selected_unit) == (1, 1)
        await pilot.press("full_stop")
        assert (neuron.selected_layer, neuron.selected_unit) == (1, 2)
        await pilot.press("comma", "comma")
        assert (neuron.selected_layer, neuron.selected_unit) == (2, 4), "wraps to the last unit"
        assert "Hidden unit 8 of 8" in screen.query_one("#inspect-neuron").border_title
        assert len(app.norms) == 2  # epochs 0 and 500
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, InspectScreen)


async def test_inspect_screen_follows_the_training_and_a_new_trainer():
    app = NNApp(small_config(epochs=10_000_000))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await pilot.pause()
        screen = app.screen
        norms, neuron = screen.query_one(NormsChart), screen.query_one(NeuronView)
        draws, evaluations = norms.draw_count, neuron.eval_count
        await tap(app, "space")  # the app's keys work here: training runs underneath
        await wait_for(pilot, lambda: len(app.norms) > 3 and norms.draw_count > draws + 1
                       and neuron.eval_count > evaluations + 1, timeout=15)
        status = screen.query_one(StatusLine).status
        assert status.state == "running" and status.epoch > 0
        await tap(app, "space")
        await wait_for(pilot, lambda: not app.training.running)
        await pilot.press("r")  # a new trainer: the screen shows it
        await pilot.pause()
        assert screen.trainer is app.session.trainer
        assert screen.query_one(WeightsView)._network is app.session.trainer.network


# ------------------------------------------------------------------ gradient check


async def test_gradient_check_modal_passes_for_the_default_network():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n")
        trainer = app.session.trainer
        before = [p.copy() for p in trainer.network.params]
        await pilot.press("g")
        screen = app.screen
        assert isinstance(screen, GradcheckScreen)
        await wait_for(pilot, lambda: screen.report is not None)
        await pilot.pause()
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        verdicts = [str(table.get_row_at(i)[-1]) for i in range(3)]
        assert verdicts == ["✔ pass"] * 3
        assert screen.report.passed and screen.report.points == 20
        verdict = str(screen.query_one("#gradcheck-verdict").render())
        assert verdict.startswith("✔ passed: max relative error")
        assert app.session.trainer is trainer and trainer.epoch == 500
        for old, new in zip(before, trainer.network.params, strict=True):
            np.testing.assert_array_equal(old, new)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, GradcheckScreen)


async def test_gradient_check_of_a_relu_network_with_fresh_zero_biases():
    app = NNApp(preset("circle-relu").replace(epochs=100, log_every=50))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("g")
        screen = app.screen
        await wait_for(pilot, lambda: screen.report is not None)
        assert screen.report.passed, "random biases on the copy keep relu off its kink"
        assert not np.any(app.session.trainer.network.biases[0]), "the trainer's stay zero"


# ------------------------------------------------------------------ save, open, export


async def test_save_then_open_gives_identical_predictions(tmp_path):
    app = NNApp(small_config(halve_every=200))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n", "b")
        await pilot.pause()
        trainer = app.session.trainer
        X = np.random.default_rng(0).uniform(-0.5, 1.5, (200, 2))  # noqa: N806
        predicted = trainer.predict_raw(X)
        scatter = app.query_one(ScatterPair)
        points = app.session.points()
        history = trainer.history.arrays()
        await pilot.press("w")
        prompt = await answer(pilot, app, tmp_path / "xor-run")
        assert not prompt.is_attached and (tmp_path / "xor-run.npz").is_file()
        assert app.last_run_path == str(tmp_path / "xor-run.npz")
        await pilot.press("r")  # fresh weights: different predictions
        assert not np.array_equal(app.session.trainer.predict_raw(X), predicted)
        await pilot.press("ctrl+o")
        await answer(pilot, app, tmp_path / "xor-run.npz")
        opened = app.session.trainer
        assert opened is not trainer and opened.epoch == 500
        np.testing.assert_array_equal(opened.predict_raw(X), predicted)
        np.testing.assert_array_equal(opened.network.predict(trainer.data.X_train),
                                      trainer.network.predict(trainer.data.X_train))
        for name, column in opened.history.arrays().items():
            np.testing.assert_array_equal(column, history[name])
        assert opened.lr == trainer.lr and opened.rate_changes == trainer.rate_changes
        assert opened.last_loss == trainer.last_loss
        assert app.query_one(ArchitectureEditor).applied_config == trainer.config
        boundary = app.query_one(DecisionBoundary)
        assert boundary._trainer is opened
        np.testing.assert_array_equal(boundary.evaluate(X), predicted)
        assert app.query_one(StatusLine).status.epoch == 500
        await pilot.press("b")  # back to the scatter pair: same picture as before
        await pilot.pause()
        np.testing.assert_array_equal(app.session.points().y_pred, points.y_pred)
        np.testing.assert_array_equal(scatter._predicted, np.round(points.y_pred))
        assert [r.source for r in app.runs] == ["app"]  # the reset's run... not yet: epoch 0
        await pilot.press("n", "r")
        assert app.runs.records[-1].source == "file"


async def test_export_writes_each_artefact(tmp_path):
    app = NNApp(small_config(test_split=0.2))
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        trainer = app.session.trainer
        for kind, key, default in (("history", "h", "nn-tui-history.csv"),
                                   ("predictions", "p", "nn-tui-predictions.csv"),
                                   ("config", "c", "nn-tui-config.toml"),
                                   ("screenshot", "s", "nn-tui-screenshot.svg")):
            await pilot.press("e")
            assert isinstance(app.screen, ExportMenu)
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
            assert app.screen.input.value == default
            target = tmp_path / "out" / default
            target.parent.mkdir(exist_ok=True)
            await answer(pilot, app, target)
            await wait_for(pilot, target.is_file)
            text = target.read_text(encoding="utf-8")
            if kind == "history":
                lines = text.splitlines()
                assert lines[0] == ",".join(HISTORY_COLUMNS) and len(lines) == 501
            elif kind == "predictions":
                lines = text.splitlines()
                assert lines[0] == ",".join(PREDICTION_COLUMNS)
                assert len(lines) == 22 and sum(line.startswith("test,") for line in lines) == 4
            elif kind == "config":
                assert tomllib.loads(text)["test_split"] == 0.2
                assert load_config(target) == trainer.config
            else:
                assert text.lstrip().startswith("<svg") and "Loss" in text
                assert "Export" not in text, "the screenshot shows the app, not the prompt"


async def test_saving_to_the_default_path_then_replacing_it_takes_a_second_enter(sandbox):
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n", "w")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        await pilot.press("enter")  # the default: in the current folder
        await pilot.pause()
        target = sandbox / "nn-tui-run.npz"
        assert target.is_file() and not isinstance(app.screen, PathPrompt)
        saved = target.read_bytes()
        await pilot.press("n", "w")  # the default is now the file just saved
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        prompt = app.screen
        await pilot.press("enter")
        assert app.screen is prompt and "exists: enter again to replace it" in prompt.error
        assert target.read_bytes() == saved
        await pilot.press("enter")
        await pilot.pause()
        assert not prompt.is_attached
        assert load_run(target).epoch == 1000


async def test_a_bad_path_shows_the_error_in_the_prompt_and_changes_nothing(tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("x1,x2,label\n0,0,0\n1,oops,1\n", encoding="utf-8")
    not_a_run = tmp_path / "not-a-run.npz"
    not_a_run.write_text("hello", encoding="utf-8")
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n")
        trainer, config = app.session.trainer, app.session.config
        cases = [
            ("w", tmp_path / "missing" / "run.npz", "cannot save run"),
            ("ctrl+o", tmp_path / "nowhere.npz", "does not exist"),
            ("ctrl+o", not_a_run, "not an nn-tui run file"),
            ("L", bad_csv, "line 3"),
        ]
        for key, path, message in cases:
            await pilot.press(key)
            prompt = await answer(pilot, app, path)
            assert app.screen is prompt, f"{key} {path}: the prompt stays open"
            assert message in prompt.error, (key, prompt.error)
            shown = str(prompt.query_one("#prompt-error").render())
            assert shown.startswith("✖") and message in shown
            await pilot.press("escape")
            await pilot.pause()
        await pilot.press("e", "h")
        prompt = await answer(pilot, app, tmp_path / "missing" / "history.csv")
        assert "does not exist" in prompt.error
        await pilot.press("escape")
        await pilot.pause()
        assert app.session.trainer is trainer and trainer.epoch == 500
        assert app.session.config == config
        assert app.query_one(ArchitectureEditor).config == config
        assert len(app.runs) == 0, "a refused path replaces nothing, so nothing is kept"
        assert not list(tmp_path.glob("*.npz.*")) and not (tmp_path / "missing").exists()


# ------------------------------------------------------------------ your own data


async def test_load_a_csv_dataset(tmp_path):
    points = tmp_path / "points.csv"
    write_points_csv(points)
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n", "L")
        await answer(pilot, app, points)
        config = app.session.config
        assert config.data_path == str(points)
        assert app.session.trainer.data.n_train == 30 and app.session.trainer.epoch == 0
        assert app.query_one("#field-data_path", Input).value == str(points)
        assert app.query_one(StatusLine).dataset == "csv:points.csv"
        assert len(app.runs) == 1, "the xor run it replaced is kept"
        await pilot.press("plus")  # noise applies to generated data only
        assert app.session.config == config


async def test_noise_and_test_split_keys_rebuild_the_data():
    app = NNApp(small_config(dataset="linear", n=60, epochs=10_000_000))
    async with app.run_test(size=SMALL) as pilot:
        X0 = app.session.trainer.data.X_train_raw.copy()  # noqa: N806
        await pilot.press("plus")
        assert app.session.config.noise == 0.05
        assert app.query_one("#field-noise", Input).value == "0.05"
        await pilot.press("plus", "minus", "minus")
        assert app.session.config.noise == 0.0
        await pilot.press("minus")  # at the bottom: stays
        assert app.session.config.noise == 0.0
        np.testing.assert_array_equal(app.session.trainer.data.X_train_raw, X0)
        await pilot.press("greater_than_sign")
        assert app.session.config.test_split == 0.1
        assert app.query_one("#field-test_split", Input).value == "0.1"
        assert len(app.session.trainer.data.X_test) == 6
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 100)
        old = app.session.trainer
        await tap(app, "greater_than_sign")
        await wait_for(pilot, lambda: app.session.trainer is not old)
        assert not app.training.running and app.session.trainer.epoch == 0
        assert app.session.config.test_split == 0.2
        assert app.runs.records[-1].status == "stopped"
        await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")
        assert app.session.config.test_split == 0.0 and not app.session.trainer.data.has_test


# ------------------------------------------------------------------ keys


async def test_typing_in_a_field_never_triggers_the_new_keys():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n")
        trainer, config = app.session.trainer, app.session.config
        await pilot.press("1", "ctrl+u")
        await tap(app, "b", "i", "g", "R", "w", "e", "L", "plus", "minus",
                  "greater_than_sign", "less_than_sign")
        await pilot.pause()
        assert app.query_one("#field-hidden", Input).value == "bigRweL+-><"
        assert app.session.trainer is trainer and app.session.config == config
        assert app.main.prediction_view == "scatter" and len(app.screen_stack) == 1


async def test_every_feature_is_in_the_command_palette_and_the_help():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        titles = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("Scatter pair / decision boundary", "Inspect weights, units and norms",
                      "Compare runs, overlay their losses", "Gradient check, layer by layer",
                      "Save the run to a file", "Open a saved run", "Export CSV, TOML, SVG or PNG",
                      "Load a CSV dataset (x1,x2,label)", "More noise (+0.05)",
                      "Smaller test split (-0.1)", "Export Predictions (CSV)",
                      "Load a sweep CSV into the runs table"):
            assert title in titles, title
        await titles["Export Config (TOML)"].callback()
        await pilot.pause()
        assert isinstance(app.screen, PathPrompt)
        assert app.screen.input.value == "nn-tui-config.toml"
        await pilot.press("escape")
        await pilot.press("i")
        await pilot.pause()
        on_inspect = {c.title for c in app.get_system_commands(app.screen)}
        assert "Next hidden unit" in on_inspect and "Previous layer (weights)" in on_inspect
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.rows()
        keys = [key for key, _, _ in rows]
        for key in ("b", "i", "R", "g", "w", "^o", "e", "L", "+", "-", ">", "<",
                    "[ / ]", ", / .", "1-9 0 #", "space", "o", "x", "del"):
            assert key in keys, key
        headings = [heading for heading, _ in app.screen.sections()]
        assert headings == ["Main screen", "Inspect screen (i)", "Runs screen (R)", "Everywhere"]


async def test_every_new_screen_survives_small_terminals(tmp_path):
    app = NNApp(small_config())
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.press("n", "b", "3")
        for keys in (("R", "space", "5"), ("g",), ("e",), ("w",), ("i", "full_stop")):
            await pilot.press(*keys)
            await pilot.pause(0.05)
            if keys[0] != "i":
                await pilot.press("escape")
        await pilot.resize_terminal(80, 24)  # under the inspect screen
        await pilot.pause()
        await pilot.resize_terminal(40, 12)
        await pilot.press("R", "i")  # one full screen at a time: each replaces the other
        await pilot.pause()
        assert len(app.screen_stack) == 2 and isinstance(app.screen, InspectScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert len(app.screen_stack) == 1 and app.is_running


# ------------------------------------------------------------------ building blocks


def test_the_run_file_a_save_writes(tmp_path):
    assert run_file_path(tmp_path / "run") == tmp_path / "run.npz"
    assert run_file_path(tmp_path / "run.npz") == tmp_path / "run.npz"
    assert run_file_path(tmp_path / "run.v2") == tmp_path / "run.v2.npz"


def test_path_completion(tmp_path):
    (tmp_path / "alpha.csv").write_text("")
    (tmp_path / "alpine").mkdir()
    (tmp_path / "beta.npz").write_text("")
    (tmp_path / ".hidden").write_text("")
    base = str(tmp_path) + "/"
    assert complete_path(base + "al") == base + "alp"
    assert complete_path(base + "alph") == base + "alpha.csv"
    assert complete_path(base + "alpi") == base + "alpine/"
    assert complete_path(base + "b") == base + "beta.npz"
    assert complete_path(base + "beta.npz") is None
    assert complete_path(base + "zz") is None
    assert complete_path(base + ".h") == base + ".hidden"
    assert complete_path(base + "nowhere/x") is None
    assert complete_path("al", cwd=tmp_path) == "alp"
    assert matching_entries(base) == "alpine/  alpha.csv  beta.npz"


async def test_tab_accepts_the_completion_in_the_prompt(sandbox):
    (sandbox / "my-saved-run.npz").write_text("")  # in the working directory
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt))
        prompt = app.screen
        await pilot.press("ctrl+u", *"my")
        await wait_for(pilot, lambda: prompt.input._suggestion == "my-saved-run.npz")
        await pilot.press("tab")
        assert prompt.input.value == "my-saved-run.npz"
        assert "my-saved-run.npz" in str(prompt.query_one("#prompt-matches").render())


def record(lr: float, accuracy: float, epoch_100=None, **config) -> RunRecord:
    cfg = small_config(lr=lr, **config).to_dict()
    return RunRecord(cfg, np.arange(3.0), np.ones(3), 0.1, accuracy, epoch_100, 3, 1.0,
                     "finished")


def test_run_store_numbers_bounds_sorts_and_labels():
    store = RunStore(capacity=3)
    for lr, acc, e100 in ((0.5, 1.0, 40), (2.0, 0.5, None), (0.1, 1.0, 900), (1.0, 0.9, None)):
        store.add(record(lr, acc, e100))
    assert [r.label for r in store] == ["#2", "#3", "#4"], "the oldest goes"
    assert [r.label for r in store.sorted("epoch_100")] == ["#3", "#2", "#4"], "None last"
    assert [r.label for r in store.sorted("lr", reverse=True)] == ["#2", "#4", "#3"]
    assert store.toggle_overlay(3) and store.toggle_overlay(2)
    assert [label for label, *_ in store.overlay_curves(small_config(lr=0.5))] == [
        "#3 lr 0.1", "#2 lr 2"]
    replaced = store.replace(2, record(4.0, 0.2))
    assert replaced.label == "#2" and store.get(2).lr == 4.0 and len(store) == 3
    store.add(record(0.5, 1.0))  # #2 leaves, and its overlay with it
    assert [r.label for r in store.overlaid] == ["#3"]
    long = record(0.5, 1.0, hidden="100,100,100", activation="tanh")
    long.label = "#12"
    assert overlay_label(long, ["hidden", "activation"]) == "#12 hidden 100,100,10…"


async def test_a_record_from_a_trainer_finds_the_first_perfect_epoch():
    from engine import Trainer

    trainer = Trainer(small_config(epochs=2000))
    trainer.run()
    kept = RunRecord.from_trainer(trainer)
    accuracy = trainer.history.arrays()["accuracy"]
    first = int(np.flatnonzero(accuracy >= 1.0)[0]) + 1
    assert kept.epoch_100 == first and kept.status == "finished"
    assert kept.accuracy == 1.0 and kept.final_loss == pytest.approx(trainer.last_loss, rel=0.1)


# ------------------------------------------------------------------ help names the data folder


@pytest.mark.asyncio
@pytest.mark.parametrize("under_home", [True, False])
async def test_help_names_the_real_run_folder(tmp_path, monkeypatch, under_home):
    """The help screen names this machine's archive (XDG_DATA_HOME), ``~`` for home; the
    README's table, generated from the same rows, keeps the generic default."""
    from tui.screens.help import RUNS_FOLDER, readme_keys

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    data = home / "xdg" if under_home else tmp_path / "elsewhere"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    shown = "~/xdg/nn-tui/runs" if under_home else str(data / "nn-tui" / "runs")
    app = NNApp(preset("dlp-xor"), autosave=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        reopen = next(detail for _, title, detail in screen.rows() if title == "Reopen the run")
        assert reopen.endswith(f"runs are kept in {shown}.")
        assert ".local/share" not in reopen
    assert f"runs are kept in {RUNS_FOLDER}." in readme_keys()
    assert RUNS_FOLDER == "~/.local/share/nn-tui/runs"


# ------------------------------------------------------------------ the footer, truncated


def footer_text(app: NNApp) -> str:
    """The footer as drawn: the screen's last line."""
    return app.screen._compositor.render_strips()[-1].text


@pytest.mark.asyncio
async def test_the_footer_shows_whole_keys_only_at_every_size():
    """A key that does not fit is left out whole: no "^p palettet", "paletteo" or a
    group's keys without their label ("][" without "Rate")."""
    from textual.widgets._footer import FooterKey

    from tui.keys import KEYS

    words = {"▏^p", "^s", "esc", "palette", "][", "1234", "Rate", "Panel"}
    for binding in KEYS:
        words |= {binding.key_display or "", *binding.key.split(","),
                  *binding.description.split()}
    app = NNApp(preset("dlp-xor"), autosave=False)
    async with app.run_test(size=(120, 36)) as pilot:
        for size in ((80, 24), (100, 30), (120, 36), (90, 24), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            await pilot.pause()
            text = footer_text(app)
            assert text.rstrip().endswith("▏^p palette"), (size, text)
            shown = " ".join(text.split())
            for word in shown.split(" "):
                assert word in words, (size, word)
            assert ("][" in text) == ("Rate" in text), (size, text)
            palette = next(k for k in app.screen.query(FooterKey)
                           if k.has_class("-command-palette"))
            for key in app.screen.query(FooterKey):
                if key is not palette and key.display and key.parent.display:
                    assert key.region.right <= palette.region.x, (size, key.description)
        assert "Data" in footer_text(app)
