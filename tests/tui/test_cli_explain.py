"""``nn-tui explain``: the stages printed as JSON lines, recomputed here from the printed
weights, X and y by an independent NumPy forward and backward pass; the text output; and
bad flags."""

from __future__ import annotations

import numpy as np
import pytest

from tests.tui.test_cli import json_lines, run


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def course_step(Ws: list[np.ndarray], X: np.ndarray, y: np.ndarray, lr: float) -> dict:
    """The course's sigmoid / sse step without biases, written out independently."""
    out, a = {}, X
    for layer, W in enumerate(Ws, start=1):
        out[f"Z_{layer}"] = a @ W
        a = out[f"A_{layer}"] = sigmoid(out[f"Z_{layer}"])
    L = len(Ws)
    out["E"] = np.array([[0.5 * np.sum((a - y) ** 2)]])
    out[f"dE/dA_{L}"] = a - y
    course_delta = (y - a) * a * (1 - a)  # the course's sign
    for layer in range(L, 0, -1):
        out[f"delta_{layer}"] = -course_delta
        below = X if layer == 1 else out[f"A_{layer - 1}"]
        out[f"dE/dW_{layer}"] = -(below.T @ course_delta)
        out[f"ΔW_{layer}"] = lr * below.T @ course_delta  # W += lr a^T delta
        out[f"new W_{layer}"] = Ws[layer - 1] + out[f"ΔW_{layer}"]
        if layer > 1:
            out[f"dE/dA_{layer - 1}"] = -(course_delta @ Ws[layer - 1].T)
            a = out[f"A_{layer - 1}"]
            course_delta = (course_delta @ Ws[layer - 1].T) * a * (1 - a)
    return out


def check_course_walk(lines: list[dict]) -> None:
    head, stages = lines[0], lines[1:]
    assert head["event"] == "explain" and head["biases"] == [] and head["loss"] == "sse"
    Ws = [np.array(W) for W in head["weights"]]
    X, y = np.array(head["X"]), np.array(head["y"])
    assert [W.shape for W in Ws] == [(2, 4), (4, 4), (4, 1)] and X.shape == (21, 2)
    expected = course_step(Ws, X, y, head["lr"])
    by_name = {s["name"]: s for s in stages}
    assert [s["stage"] for s in stages] == list(range(len(stages)))
    for s in stages:
        assert {"stage", "layer", "name", "equation", "shape", "values"} <= s.keys()
    assert by_name["Z_1"]["shape"] == "21x2 @ 2x4 -> 21x4"
    np.testing.assert_array_equal(by_name["X"]["values"], X)
    for name, value in expected.items():
        np.testing.assert_allclose(np.array(by_name[name]["values"]), value, rtol=1e-9,
                                   atol=1e-15, err_msg=name)


def test_json_of_the_course_network(capsys):
    code, out, err = run(capsys, "explain", "--preset", "dlp-xor", "--json")
    assert code == 0 and err == ""
    lines = json_lines(out)
    assert lines[0]["epoch"] == 1 and lines[0]["lr"] == 0.5
    check_course_walk(lines)


def test_json_after_5000_epochs_matches_the_trainer(capsys):
    code, out, _ = run(capsys, "explain", "--preset", "dlp-xor", "--epoch", "5000", "--json")
    assert code == 0
    lines = json_lines(out)
    assert lines[0]["epoch"] == 5001 and lines[0]["exact"] is True
    check_course_walk(lines)
    # the printed new weights are the trainer's after epoch 5001, exactly
    from engine import Trainer, preset

    trainer = Trainer(preset("dlp-xor"))
    trainer.step(5001)
    by_name = {s["name"]: s for s in lines[1:]}
    for layer, W in enumerate(trainer.network.weights, start=1):
        assert np.array_equal(np.array(by_name[f"new W_{layer}"]["values"]), W)


def test_json_with_biases_and_adam(capsys):
    code, out, _ = run(capsys, "explain", "--dataset", "moons", "--n", "30", "--hidden", "3",
                       "--activation", "tanh,sigmoid", "--bias", "--loss", "bce",
                       "--optimizer", "adam", "--lr", "0.01", "--epoch", "3", "--json")
    assert code == 0
    head, *stages = json_lines(out)
    W1, W2 = (np.array(W) for W in head["weights"])
    b1, b2 = (np.array(b) for b in head["biases"])
    X, y = np.array(head["X"]), np.array(head["y"])
    a1 = np.tanh(X @ W1 + b1)
    a2 = sigmoid(a1 @ W2 + b2)
    delta2 = (a2 - y) / y.size
    delta1 = (delta2 @ W2.T) * (1 - a1**2)
    by_name = {s["name"]: np.array(s["values"]) for s in stages}
    expected = {"A_1": a1, "A_2": a2, "delta_2": delta2, "delta_1": delta1,
                "dE/dW_1": X.T @ delta1, "dE/db_1": delta1.sum(0, keepdims=True),
                "E": [[-np.mean(y * np.log(a2) + (1 - y) * np.log(1 - a2))]]}
    for name, value in expected.items():
        np.testing.assert_allclose(by_name[name], value, rtol=1e-9, atol=1e-15, err_msg=name)
    assert "m_hat(W_1)" in by_name and "v_hat(b_2)" in by_name


def test_text_names_every_stage_and_abridges(capsys):
    code, out, _ = run(capsys, "explain", "--preset", "dlp-xor")
    assert code == 0
    assert out.startswith("one training step of 2-4-4-1 sigmoid,sigmoid,sigmoid with sse")
    for text in ("[2] Z_1  (layer 1)", "Z_1 = X W_1", "21x2 @ 2x4 -> 21x4",
                 "delta_3 = dE/dA_3 * f'(Z_3) = dE/dA_3 * A_3 (1 - A_3)", "ΔW_1 = -lr dE/dW_1",
                 "W += lr * a^T delta", "new W_3", "the weights in use:", "…", "#20"):
        assert text in out, text


def test_mini_batches_pick_a_batch(capsys):
    code, out, _ = run(capsys, "explain", "--dataset", "linear", "--n", "20",
                       "--batch-size", "8", "--batch", "2", "--json")
    assert code == 0
    head = json_lines(out)[0]
    assert (head["batch"], head["batches"], len(head["rows"])) == (2, 3, 4)
    assert head["exact"] is True


@pytest.mark.parametrize(("argv", "message"), [
    (["--epoch", "x"], '--epoch: must be a whole number from 0 to 1,000,000,000, got "x"'),
    (["--batch", "3"], "--batch: this epoch has 1 batch, numbered from 0 to 0; got 3"),
    (["--hidden", "4,x"], "--hidden: "),
    (["--epochz", "3"], "unknown flag --epochz"),
])
def test_bad_flags_get_one_line(capsys, argv, message):
    code, out, err = run(capsys, "explain", "--preset", "dlp-xor", *argv)
    assert code == 2 and out == ""
    assert err.startswith(f"nn-tui: error: {message}") and err.count("\n") == 1
