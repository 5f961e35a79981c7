"""The gradient check in the app (``g``) and in ``nn-tui gradcheck``: one verdict, one text.

The reported case: relu,relu,sigmoid with biases, adam at lr 0.01 on the xor data,
trained to a loss of about 1e-11, then ``g``: "FAILED: max relative error 4.5e-06"
for a correct backprop. Both front ends print ``engine.train.gradcheck``'s words; these
tests hold them to it on that network. Figures from training differ between
machines, so they assert verdicts, and compare the two front ends with each other.
"""

from __future__ import annotations

import json

import pytest
from textual.widgets import DataTable

from engine import ExperimentConfig, Trainer, load_run, save_run
from engine.nn.network import Network
from tests.tui.pilot import wait_for
from tui.app import NNApp
from tui.cli import main
from tui.core.training import check_gradients, trainer_from_saved
from tui.screens.prompts import GradcheckScreen

TRAINED_EPOCHS = 40_000  # the loss reaches a few 1e-11 (about a second)
FLAGS = ["--hidden", "4,4", "--activation", "relu,relu,sigmoid", "--bias", "--optimizer", "adam",
         "--lr", "0.01"]


def reported_config() -> ExperimentConfig:
    return ExperimentConfig().replace(
        hidden=(4, 4), activation=("relu", "relu", "sigmoid"), bias=True, optimizer="adam",
        lr=0.01,
    )


@pytest.fixture(scope="module")
def trained() -> Trainer:
    trainer = Trainer(reported_config())
    trainer.run(epochs=TRAINED_EPOCHS)
    assert trainer.last_loss < 1e-9  # the regime of the report, not its digits
    return trainer


def gradcheck(capsys, *argv: str) -> tuple[int, list[str]]:
    code = main(["gradcheck", *FLAGS, *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out.splitlines()


def wrong_backprop(monkeypatch, layer: int) -> None:
    """Backprop with one layer's weight gradient 1% too big."""
    backprop = Network.loss_and_gradients

    def scaled(self, X, y, loss="mse", *penalty):
        value, grad_w, grad_b = backprop(self, X, y, loss, *penalty)
        grad_w[layer] = grad_w[layer] * 1.01
        return value, grad_w, grad_b

    monkeypatch.setattr(Network, "loss_and_gradients", scaled)


# --- the reported case ---------------------------------------------------------------------
def test_the_apps_check_of_the_trained_network_is_not_failed(trained):
    report = check_gradients(trained)
    assert report.passed or report.inconclusive, report
    assert report.verdict == "inconclusive"
    assert report.summary.startswith("inconclusive: the gradients (max ")
    assert all(c.error < 1e-6 for c in report.checks)


def test_the_cli_at_the_same_epoch_gives_the_apps_verdict_in_the_same_words(capsys, trained):
    code, lines = gradcheck(capsys, "--at-epoch", str(TRAINED_EPOCHS))
    report = check_gradients(trained)
    assert lines[-1] == f"gradient check {report.summary}"
    assert code == 3  # inconclusive: neither a pass nor a failure
    assert lines[0].endswith(f"(float64), weights of epoch {TRAINED_EPOCHS:,}")
    assert not any("FAILED" in line for line in lines)
    for line in lines[1:-1]:
        assert "too small to check" in line


def test_the_cli_json_gives_the_same_verdict(capsys, trained):
    code, lines = gradcheck(capsys, "--at-epoch", str(TRAINED_EPOCHS), "--json")
    events = [json.loads(line) for line in lines]
    report = check_gradients(trained)
    assert [e["verdict"] for e in events[:-1]] == [c.verdict for c in report.checks]
    done = events[-1]
    assert done["event"] == "gradcheck" and done["epoch"] == TRAINED_EPOCHS
    assert done["verdict"] == report.verdict == "inconclusive"
    assert done["reason"] == report.check.reason
    assert done["passed"] is False and done["inconclusive"] is True and code == 3
    assert done["max_error"] < done["tolerance"] == 1e-6
    assert done["floor"] == pytest.approx(done["noise"] / 1e-6)


def test_both_still_fail_a_wrong_gradient_on_the_trained_network(capsys, trained, monkeypatch):
    wrong_backprop(monkeypatch, 1)
    report = check_gradients(trained)
    assert report.verdict == "FAILED" and not report.layer_passed(1)
    code, lines = gradcheck(capsys, "--at-epoch", str(TRAINED_EPOCHS))
    assert code == 1
    assert lines[-1] == f"gradient check {report.summary}"
    assert lines[-1].startswith("gradient check FAILED: max relative error ")


def test_both_fail_a_wrong_gradient_at_epoch_0(capsys, monkeypatch):
    wrong_backprop(monkeypatch, 0)
    report = check_gradients(Trainer(reported_config()))
    assert report.verdict == "FAILED"
    code, lines = gradcheck(capsys)
    assert code == 1
    assert lines[-1] == f"gradient check {report.summary}"
    assert lines[-1] == "gradient check FAILED: max relative error 9.9e-03 >= 1e-06"


def test_at_epoch_0_both_pass(capsys):
    report = check_gradients(Trainer(reported_config()))
    assert report.passed
    code, lines = gradcheck(capsys, "--at-epoch", "0")
    assert code == 0 and lines[-1] == f"gradient check {report.summary}"


@pytest.mark.parametrize("value", ["-1", "x", "1.5", "2000000000"])
def test_at_epoch_refuses_what_is_not_an_epoch(capsys, value):
    code = main(["gradcheck", "--at-epoch", value])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.startswith("nn-tui: error: --at-epoch: ")
    assert len(captured.err.splitlines()) == 1


# --- the app, driven ---------------------------------------------------------------------------
@pytest.mark.usefixtures("sandbox")
async def test_the_screen_says_inconclusive_for_the_trained_network(tmp_path, trained):
    path = save_run(tmp_path / "trained.npz", trained)
    expected = check_gradients(trainer_from_saved(load_run(path))).summary
    app = NNApp(run_path=path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.session.trainer.epoch == TRAINED_EPOCHS
        await pilot.press("g")
        screen = app.screen
        assert isinstance(screen, GradcheckScreen)
        await wait_for(pilot, lambda: screen.report is not None)
        await pilot.pause()
        verdict = str(screen.query_one("#gradcheck-verdict").render())
        assert verdict == expected  # the CLI's words (test above), with no mark
        assert verdict.startswith("inconclusive: the gradients (max ")
        assert "FAILED" not in verdict and "-fail" not in screen.query_one(
            "#gradcheck-verdict").classes
        table = screen.query_one(DataTable)
        assert [str(table.get_row_at(i)[-1]) for i in range(table.row_count)] == [
            "too small"] * 3
