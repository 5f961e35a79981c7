"""Comparing runs in a classroom (issue #13): overlay labels say what differs, the legend
names the current run, no overlay leaves the chart without a note, the runs table fits
80 columns, ``nn-tui runs`` tells two "xor 2-4-4-1" runs apart, and reopening a run from
the table does not list it twice."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from textual.theme import BUILTIN_THEMES
from textual.widgets import DataTable

from engine import Trainer, preset
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.cli import main
from tui.core.archive import runs_dir, write_run
from tui.core.runs import MAX_OVERLAYS, RunRecord, RunStore, label_fields, overlay_label
from tui.screens.inspect_runs import COLUMNS, RunsScreen, fit_columns
from tui.widgets.charts import LossChart, colors_from_theme

pytestmark = pytest.mark.usefixtures("sandbox")

SMALL = (80, 24)
WIDE = (120, 36)
DARK = colors_from_theme(BUILTIN_THEMES["textual-dark"])


def small_config(**values):
    return preset("dlp-xor").replace(**{"epochs": 300, "log_every": 100, **values})


def record(**config) -> RunRecord:
    """A kept run of ``small_config(**config)`` with a made-up curve."""
    cfg = small_config(**config).to_dict()
    return RunRecord(cfg, np.arange(1.0, 4.0), np.array([1.0, 0.5, 0.25]), 0.25, 1.0, None,
                     3, 1.0, "finished", test_accuracy=0.75)


def legend_of(chart: LossChart, width: int = 100) -> str:
    return chart.draw(width, 20, DARK).plain.splitlines()[0]


# ------------------------------------------------------------------ labels


def test_labels_name_what_differs_and_only_what_matters():
    store = RunStore()
    for values in ({"hidden": "2,2", "lr": 0.1}, {"lr": 0.1}, {"optimizer": "adam"},
                   {"activation": "relu,relu,sigmoid"}):
        store.toggle_overlay(store.add(record(**values)).number)
    overlays = store.overlay_curves(small_config(lr=1.0))
    assert [label for label, *_ in overlays] == [
        "#1 hidden 2,2 lr 0.1…",
        "#2 hidden 4,4 lr 0.1…", "#3 hidden 4,4 lr 0.5…", "#4 hidden 4,4 lr 0.5…"]
    assert overlays.current == "now hidden 4,4 lr 1…"
    two = RunStore()
    for values in ({"hidden": "2,2", "lr": 0.1}, {"lr": 0.1}):
        two.toggle_overlay(two.add(record(**values)).number)
    assert [label for label, *_ in two.overlay_curves(small_config(lr=0.1))] == [
        "#1 hidden 2,2", "#2 hidden 4,4"]
    # values that name themselves, without the field's name; per-layer activations short
    configs = [small_config(optimizer="momentum", activation="relu,relu,sigmoid").to_dict(),
               small_config(optimizer="adam").to_dict()]
    assert label_fields(configs) == ["activation", "optimizer"]
    mine = RunRecord(configs[0], np.arange(2.0), np.ones(2), 1, 1, None, 2, 1, "finished",
                     label="#7")
    assert overlay_label(mine, label_fields(configs), width=40) == "#7 relu,relu,sig momentum"
    assert overlay_label(mine, label_fields(configs)) == "#7 relu,relu,sig…", "whole values"


def test_momentum_and_log_every_tell_no_runs_apart_where_they_do_nothing():
    sgd = [small_config(momentum=m, log_every=e).to_dict() for m, e in ((0.5, 10), (0.9, 20))]
    assert label_fields(sgd) == []
    mixed = [small_config(optimizer="momentum", momentum=0.5).to_dict(),
             small_config(momentum=0.9).to_dict()]
    assert label_fields(mixed) == ["optimizer", "momentum"]


# ------------------------------------------------------------------ the legend


def test_the_legend_names_the_current_run_and_counts_what_does_not_fit():
    store = RunStore()
    for lr in (0.25, 2.0, 4.0):
        store.toggle_overlay(store.add(record(lr=lr)).number)
    chart = LossChart()
    x = np.arange(1.0, 50.0)
    chart.set_series((x, 1 / x), None, (), store.overlay_curves(small_config(lr=1.0)))
    legend = legend_of(chart, 120)
    assert "train (now lr 1)" in legend
    assert all(label in legend for label in ("#1 lr 0.25", "#2 lr 2", "#3 lr 4"))
    assert "more" not in legend
    narrow = legend_of(chart, 44)
    assert "train (now lr 1)" in narrow and narrow.rstrip().endswith("more")
    shown = sum(label in narrow for label in ("#1 lr 0.25", "#2 lr 2", "#3 lr 4"))
    assert f"+{3 - shown} more" in narrow, narrow
    chart.set_series((x, 1 / x))  # no overlays: plainly "train"
    assert "train" in legend_of(chart) and "now" not in legend_of(chart)


async def test_the_app_legend_names_the_current_run():
    app = NNApp(small_config(lr=1.0))
    async with app.run_test(size=WIDE) as pilot:
        app.runs.add(record(lr=0.25))
        await pilot.press("s", "R")
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        for chart in (screen.query_one("#runs-chart", LossChart), app.query_one(LossChart)):
            legend = legend_of(chart)
            assert "train (now lr 1)" in legend and "#1 lr 0.25" in legend, legend


# ------------------------------------------------------------------ no silent drop


async def test_one_overlay_too_many_takes_the_oldest_off_with_a_note():
    app = NNApp(small_config())
    async with app.run_test(size=WIDE) as pilot:
        for lr in (0.1, 0.2, 0.3, 0.4, 0.6):
            app.runs.add(record(lr=lr))
        no_curve = app.runs.add(record(lr=0.7))
        no_curve.epochs, no_curve.losses = np.empty(0), np.empty(0)
        await pilot.press("R")
        await pilot.pause()
        for _ in range(MAX_OVERLAYS):
            await pilot.press("space", "down")
        assert [r.label for r in app.runs.overlaid] == ["#1", "#2", "#3", "#4"]
        assert not app._notifications
        await pilot.press("space")  # #5: #1 goes, and the app says so
        await pilot.pause()
        assert [r.label for r in app.runs.overlaid] == ["#2", "#3", "#4", "#5"]
        messages = [n.message for n in app._notifications]
        assert any("#1 taken off the loss chart" in m and "4 overlays at most" in m
                   for m in messages), messages
        await pilot.press("down", "space")  # no curve: refused, with the reason
        await pilot.pause()
        assert [r.label for r in app.runs.overlaid] == ["#2", "#3", "#4", "#5"]
        assert any("#6 has no loss curve" in n.message for n in app._notifications)
        chart = app.screen.query_one("#runs-chart", LossChart)
        assert len(chart._overlays) == 4


def test_a_full_table_that_forgets_an_overlaid_run_says_so():
    from tui.core.archive import Autosaver
    from tui.core.keeper import RunKeeper

    store = RunStore(capacity=2)
    keeper = RunKeeper(store, Autosaver(None))
    store.toggle_overlay(store.add(record(lr=0.1)).number)
    store.add(record(lr=0.2))
    trainer = Trainer(small_config(epochs=5))
    trainer.run()
    kept = keeper.keep(trainer)
    assert [r.label for r in store] == ["#2", "#3"] and store.overlaid == []
    assert any("#1 left the loss chart" in text for _, text in kept.lines), kept.lines


# ------------------------------------------------------------------ the runs table


def test_fit_columns_drops_the_least_useful_first():
    widths = {column: 8 for column, _, _ in COLUMNS}
    assert fit_columns(widths, 200) == list(widths)
    assert fit_columns(widths, 8 * 11) == [c for c in widths if c not in ("seconds", "epoch_100")]
    assert fit_columns(widths, 0) == ["number"]


async def test_the_runs_table_shows_the_settings_and_fits_80_columns():
    app = NNApp(small_config(test_split=0.2))
    async with app.run_test(size=SMALL) as pilot:
        app.runs.add(record(optimizer="momentum", activation="leaky_relu", bias=True,
                            lr=0.001))
        app.runs.add(record(hidden="10,10,10"))
        await pilot.press("s", "r", "R")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one(DataTable)
        headers = [c.label.plain for c in table.ordered_columns]
        for header in ("3 act", "4 opt", "5 lr", "bias", "8 acc", "test"):
            assert header in headers, headers
        width = sum(c.get_render_width(table) for c in table.ordered_columns)
        assert width <= table.scrollable_content_region.width, (width, headers)
        assert table.virtual_size.width <= table.size.width, "no sideways scrolling"
        row = [getattr(c, "plain", c) for c in table.get_row("1")]
        assert {"leaky_relu", "momentum", "0.001", "on", "75.0%"} <= set(row), row
        assert "xor" in str(screen.query_one("#runs-detail").render()), "the data is named"
        await pilot.resize_terminal(140, 30)  # wider: every column
        await pilot.pause()
        assert screen.shown_columns == [column for column, _, _ in COLUMNS]
        assert len(table.ordered_columns) == len(COLUMNS) + 1


# ------------------------------------------------------------------ nn-tui runs


def archive(trainer: Trainer, when: datetime):
    return write_run(trainer, RunRecord.from_trainer(trainer).to_summary(), runs_dir(),
                     now=when)


def test_nn_tui_runs_tells_two_xor_runs_apart(capsys):
    start = datetime(2026, 3, 1, 9)
    for minutes, values in enumerate(({"lr": 0.5}, {"lr": 2.0}, {"lr": 2.0, "seed": 3})):
        trainer = Trainer(small_config(**values))
        trainer.run()
        archive(trainer, start + timedelta(minutes=minutes))
    assert main(["runs", "--limit", "2"]) == 0  # the two lr 2 runs: seeds differ
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["saved", "data", "layers", "act", "opt", "lr", "epochs",
                              "status", "loss", "acc", "other", "file"]
    assert out[2].split()[2:7] == ["xor", "2-4-4-1", "sigmoid", "sgd", "2"]
    assert "seed 3" in out[2] and "seed 0" in out[3]
    assert main(["runs"]) == 0  # all three: lr and seed
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[6] for line in out[2:]] == ["2", "2", "0.5"]
    assert "seed 0" in out[4]
    assert main(["runs", "--json"]) == 0
    import json

    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(i["lr"], i["seed"], i["optimizer"], i["activation"]) for i in items] == [
        (2.0, 3, "sgd", "sigmoid"), (2.0, 0, "sgd", "sigmoid"), (0.5, 0, "sgd", "sigmoid")]
    assert len({i["config_digest"] for i in items}) == 3


def test_nn_tui_runs_without_other_differences_has_no_other_column(capsys):
    for minutes, lr in enumerate((0.5, 2.0)):
        trainer = Trainer(small_config(lr=lr))
        trainer.run()
        archive(trainer, datetime(2026, 3, 1, 9, minutes))
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "other" not in out[1].split()
    assert [line.split()[6] for line in out[2:]] == ["2", "0.5"]


# ------------------------------------------------------------------ reopening


async def test_reopening_a_run_from_the_table_does_not_list_it_twice():
    trainer = Trainer(small_config(lr=2.0))
    trainer.run(200)  # of 300
    path = archive(trainer, datetime(2026, 3, 1, 9))
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [(r.label, r.source) for r in app.runs] == [("#1", "archive")]
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("l")
        await wait_for(pilot, lambda: app.session.trainer.epoch == 200)
        await pilot.press("r")  # replaced: kept, in its own row
        await pilot.pause()
        assert [(r.label, r.path, r.source) for r in app.runs] == [
            ("#1", str(path), "archive")]
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("l")  # and once more
        await wait_for(pilot, lambda: app.session.trainer.epoch == 200)
        await pilot.press("s", "r")  # trained further: a new file, so a new row
        await pilot.pause()
        assert [r.label for r in app.runs] == ["#1", "#2"]
        assert app.runs.get(2).path != str(path) and app.runs.get(2).epochs_run == 201
        assert app.runs.get(1).path == str(path)
