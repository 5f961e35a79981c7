"""One text for each event: the app's log and ``nn-tui train`` print the same words
(``tui.core.event_text``), in the course's homework's wording."""

from __future__ import annotations

import math

import numpy as np

from engine import Diverged, EpochReport, Finished, RateChange, Trainer, preset
from tui.core.event_text import (
    diverged_text,
    epoch_text,
    finished_event_text,
    finished_text,
    prediction_lines,
    printout_lines,
    race_rate_text,
    rate_change_text,
    stopped_text,
    totals_text,
)
from tui.core.training import TrainingSession


def test_the_epoch_line_is_the_courses():
    report = EpochReport(5000, 0.0123456789, 1.0, 0.5)
    assert epoch_text(report) == "epoch 5000 loss : 0.0123456789 accuracy : 100.00% lr : 0.5"
    assert epoch_text(report, two_lines=True) == epoch_text(report)


def test_the_test_figures_on_one_line_or_under_the_first():
    report = EpochReport(500, 0.25, 0.5, 0.01, 0.375, 0.25)
    assert epoch_text(report) == (
        "epoch 500 loss : 0.2500000000 accuracy :  50.00% test loss : 0.3750000000 "
        "test accuracy :  25.00% lr : 0.01"
    )
    first, second = epoch_text(report, two_lines=True).splitlines()
    assert first == "epoch 500 loss : 0.2500000000 accuracy :  50.00% lr : 0.01"
    assert second == "     test loss : 0.3750000000 accuracy :  25.00%"
    assert first.index("loss :") == second.index("loss :")
    assert first.index("accuracy :") == second.index("accuracy :")


def test_rate_changes_say_what_and_why():
    halving = RateChange(60000, 0.5, 0.25, 0.97331, "halving")
    assert rate_change_text(halving) == (
        "epoch 60000 learning rate halved 0.5 -> 0.25 (loss ratio 0.9733)")
    plateau = RateChange(300, 0.1, 0.05, 1.0, "plateau")
    assert rate_change_text(plateau) == (
        "epoch 300 learning rate halved 0.1 -> 0.05 (plateau: loss / best 1.0000)")
    assert rate_change_text(RateChange(7, 0.5, 1.0, math.nan, "manual")) == (
        "epoch 7 learning rate doubled 0.5 -> 1 (by hand)")
    assert rate_change_text(RateChange(7, 0.5, 0.3, math.nan, "manual")) == (
        "epoch 7 learning rate reduced 0.5 -> 0.3 (by hand)")
    # the rate to 8 digits: a chain of halvings stays exact
    assert "0.00390625 -> 0.001953125" in rate_change_text(
        RateChange(9, 0.00390625, 0.001953125, 0.99, "halving"))


def test_a_races_rates_in_one_line():
    """[ in a race halves every rate: one line, each distinct change once."""
    rates = [RateChange(1200, lr, lr / 2, math.nan, "manual") for lr in (0.125, 0.25, 0.5)]
    assert race_rate_text(rates) == (
        "epoch 1200 learning rates halved 0.125 -> 0.0625, 0.25 -> 0.125, 0.5 -> 0.25 "
        "(by hand, 3 networks)")
    seeds = [RateChange(7, 0.5, 1.0, math.nan, "manual")] * 8
    assert race_rate_text(seeds) == "epoch 7 learning rates doubled 0.5 -> 1 (by hand, 8 networks)"


def test_the_ends_of_a_run():
    assert finished_text(5000) == "finished 5,000 epochs"
    assert finished_text(5000, 2.0) == "finished 5,000 epochs in 2.00 s (2,500 epochs/s)"
    event = Finished(1000, 0.1, 1.0, 12.5)
    assert finished_event_text(event) == "finished 1,000 epochs in 12.5 s (80 epochs/s)"
    assert finished_event_text(event, timed=False) == "finished 1,000 epochs"
    assert stopped_text(12, 1000) == "stopped at epoch 12 of 1,000"
    diverged = Diverged(12, math.inf, 100.0, 11)
    assert diverged_text(diverged) == diverged.message


def test_the_testing_printout():
    X = np.array([[0.0, 0.0], [1.0, -1.0]])
    y = np.array([[0.0], [1.0]])
    lines = prediction_lines(X, y, np.array([0.00061714, 0.25]))
    assert lines == [
        "[  0] x=( 0.000,  0.000) truth 0 predict 0.00061714",
        "[  1] x=( 1.000, -1.000) truth 1 predict 0.25000000  wrong",
    ]
    assert prediction_lines(X, y, np.array([0.1, 0.9]), limit=1)[-1] == (
        "... 1 more predictions not shown")
    assert totals_text(4.51988e-05, 1.0) == "loss=0.0000451988 accuracy=100.00%"
    assert totals_text(0.5, 0.25, "test") == "test loss=0.5000000000 test accuracy=25.00%"


def test_the_app_and_the_cli_print_the_same_printout_lines():
    trainer = Trainer(preset("dlp-xor").replace(epochs=50))
    trainer.run(epochs=50)
    lines = printout_lines(trainer, "train")
    assert lines[0] == "testing the final weights on the training set (21 points):"
    assert len(lines) == 23 and lines[-1].startswith("loss=")
    session = TrainingSession(trainer.config)
    session.adopt(trainer)
    assert session.test_summary() == lines
    assert printout_lines(trainer, "train", points=False) == [lines[0], lines[-1]]
