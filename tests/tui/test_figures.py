"""Every figure on screen means one thing: predictions always drawn, figures shown together
computed at the same weights and labelled, outputs named for what they are."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from engine import Trainer, preset
from engine.io.export import predictions_csv
from engine.nn.losses import predicted_class
from tui.app import NNApp
from tui.cli import main
from tui.widgets.boundary import DecisionBoundary
from tui.widgets.charts import ScatterPair
from tui.widgets.panels import Panel, StatusLine

WIDE = (120, 36)
# The case: the course's XOR network with a linear output, lr 0.01. Its outputs
# leave [0, 1] (1.46, -0.3), and one update moves its accuracy from 52.4% to 47.6%.
LINEAR = preset("dlp-xor").replace(activation=("linear",), lr=0.01, epochs=1000)


def _now(trainer: Trainer, split: str = "train") -> dict:
    return trainer.evaluate(split)


def test_predicted_class_is_the_threshold_accuracy_counts_with():
    out = np.array([1.46, -0.3, 0.5, 0.500001, np.nan, np.inf, -np.inf])
    assert predicted_class(out).tolist() == [1, 0, 0, 1, -1, -1, -1]


@pytest.mark.asyncio
async def test_every_point_is_drawn_when_the_output_is_not_a_sigmoid():
    app = NNApp(LINEAR, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        for key in ("", "s"):  # as applied (outputs down to -3.3), then one step on
            if key:
                await pilot.press(key)
            await pilot.pause()
            pair = app.query_one(ScatterPair)
            outputs = app.session.trainer.predict_raw(app.session.trainer.data.X_train_raw)
            assert (outputs > 1).any() or (outputs < 0).any()  # the case the issue saw
            # every one of the 21 points is drawn, coloured by the 0.5 threshold
            assert len(pair._predicted) == 21
            assert set(np.unique(pair._predicted)) <= {0, 1}
            assert pair._predicted.tolist() == (outputs > 0.5).astype(int).tolist()
            picture = pair.draw(120, 14, pair.chart_colors).plain
            right = "\n".join(line[60:] for line in picture.splitlines())
            assert right.count("●") >= 15  # drawn (a few may share a cell)


@pytest.mark.asyncio
async def test_an_output_that_is_not_finite_is_shown_as_such():
    app = NNApp(LINEAR, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        app.session.trainer.network.params[0][0, 0] = np.nan
        app.main.refresh_scatter(force=True)
        await pilot.pause()
        pair = app.query_one(ScatterPair)
        assert (pair._predicted == -1).sum() == 21
        picture = pair.draw(120, 14, pair.chart_colors).plain
        assert "× 21 not finite" in picture and picture.count("×") > 1


@pytest.mark.asyncio
async def test_the_status_line_and_panel_3_show_the_same_weights_figures():
    """After one step the status line said 52.38% (before the update) while panel 3 said
    47.6% (after it). Both now show the current weights' figures."""
    app = NNApp(LINEAR, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("s")
        await pilot.pause()
        trainer = app.session.trainer
        before_update = trainer.last_accuracy  # epoch 1's own figure, as the log has it
        now = _now(trainer)
        assert before_update != now["accuracy"]  # the case the issue saw
        status = app.query_one(StatusLine).status
        assert (status.loss, status.accuracy) == (now["loss"], now["accuracy"])
        note = app.query_one("#scatter-panel", Panel).note
        assert note == f"accuracy {100 * now['accuracy']:.1f}%"
        await pilot.press("b")
        await pilot.pause()
        assert app.query_one(DecisionBoundary)._accuracy == (now["accuracy"], None)


@pytest.mark.asyncio
async def test_with_a_test_split_every_accuracy_is_labelled():
    config = preset("dlp-xor").replace(dataset="circle", n=200, test_split=0.3, epochs=500,
                                       log_every=100)
    app = NNApp(config, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        trainer = app.session.trainer
        train, test = _now(trainer), _now(trainer, "test")
        status = app.query_one(StatusLine)
        assert (status.status.accuracy, status.status.test_accuracy) == (
            train["accuracy"], test["accuracy"])
        line = str(status.render())
        assert "train loss " in line and "test loss " in line
        note = app.query_one("#scatter-panel", Panel).note
        assert note == (f"acc train {100 * train['accuracy']:.1f}% · "
                        f"test {100 * test['accuracy']:.1f}%")


def test_exports_call_a_linear_output_output_and_leave_no_class_for_a_non_finite_one():
    trainer = Trainer(LINEAR)
    trainer.run(5)
    table = list(csv.DictReader(io.StringIO(predictions_csv(trainer))))
    assert "output" in table[0] and "probability" not in table[0]
    assert all(int(r["predicted"]) == (float(r["output"]) > 0.5) for r in table)
    trainer.network.params[0][...] = np.nan
    table = list(csv.DictReader(io.StringIO(predictions_csv(trainer))))
    assert {r["predicted"] for r in table} == {""}
    sigmoid = Trainer(preset("dlp-xor").replace(epochs=5))
    assert "probability" in predictions_csv(sigmoid).splitlines()[0]


@pytest.mark.asyncio
async def test_the_map_names_a_linear_output_output():
    app = NNApp(LINEAR, autosave=False)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("b")
        await pilot.pause()
        view = app.query_one(DecisionBoundary)
        assert view.title == "output" and view.ramp_labels() == ("≤0", "0.5", "≥1")
    app = NNApp(preset("dlp-xor"), autosave=False)
    async with app.run_test(size=WIDE):
        assert app.query_one(DecisionBoundary).title == "p(class 1)"


def test_json_done_labels_the_last_epoch_and_the_final_weights(capsys):
    """The report of the last epoch and "done" gave two losses for one epoch, unlabelled:
    "done" now carries the last epoch's own figures apart from the final weights'."""
    args = ["train", "--preset", "dlp-xor", "--epochs", "2000", "--log-every", "1000",
            "--json"]
    assert main(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    last_report = [e for e in events if e["event"] == "epoch"][-1]
    done = events[-1]
    assert done["last_epoch"] == {key: last_report[key] for key in ("epoch", "loss", "accuracy")}
    again = Trainer(preset("dlp-xor").replace(epochs=2000, log_every=1000))
    again.run()
    final = again.evaluate("train")
    assert (done["loss"], done["accuracy"]) == (final["loss"], final["accuracy"])
    assert done["loss"] != done["last_epoch"]["loss"]  # one update apart
