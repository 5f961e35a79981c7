"""The trainer's fast paths give the same numbers as the plain ones they stand in for.

* History rows whose accuracy is counted many at a time (``Trainer._marks``) against
  ``Workspace.correct`` and ``History.record`` one row at a time.
* The halved input of sigmoid layers (``Workspace.halved``) against the plain sigmoid:
  the same forward pass bit for bit, the same gradients to rounding.
* ``History.record_rows`` against ``History.record``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine.fast.workspace as workspace_module
from engine import ExperimentConfig, Trainer, preset
from engine.fast.workspace import Workspace, halved_layers
from engine.nn.losses import get_loss
from engine.nn.network import Network
from engine.train.history import History

pytestmark = pytest.mark.filterwarnings("error")


def _row_by_row(trainer: Trainer) -> Trainer:
    """The trainer with the batched accuracy switched off: every row through ``record``."""
    trainer._marks, trainer._mark_rows = None, []
    return trainer


def _assert_same(a: Trainer, b: Trainer) -> None:
    ha, hb = a.history.arrays(), b.history.arrays()
    for name in ha:
        np.testing.assert_array_equal(ha[name], hb[name], err_msg=name)
    for p, q in zip(a.network.params, b.network.params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert (a.epoch, a.status, a.last_loss, a.last_accuracy, a.lr) == (
        b.epoch, b.status, b.last_loss, b.last_accuracy, b.lr
    )
    assert a.rate_changes == b.rate_changes


CASES = {
    # a small history thins many times: rows at strides 1 to 128, batches cut at capacity
    "thinning": (preset("dlp-xor").replace(epochs=9_000, log_every=700), 64),
    "halving": (preset("dlp-linear").replace(epochs=12_000, log_every=1000), 32768),
    "momentum": (preset("dlp-xor").replace(optimizer="momentum", lr=0.1, epochs=3_000), 100),
    "mse": (preset("dlp-xor").replace(loss="mse", epochs=3_000), 300),
    "bce": (preset("dlp-xor").replace(loss="bce", epochs=3_000), 300),
    "relu": (preset("circle-relu").replace(epochs=2_000), 200),
    # a rate too large: the loss overflows at epoch 10, in the middle of a run of rows
    "overflow": (ExperimentConfig(dataset="linear", hidden=(4, 4), activation="linear",
                                  loss="mse", lr=0.25, epochs=2_000), 32768),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("chunks", [None, 333])
def test_rows_counted_in_batches_equal_row_by_row(case: str, chunks: int | None) -> None:
    config, capacity = CASES[case]
    fast = Trainer(config, history_capacity=capacity)
    slow = _row_by_row(Trainer(config, history_capacity=capacity))
    assert fast._marks is not None
    for trainer in (fast, slow):
        events = []
        while not trainer.done:
            events.append(trainer.run(epochs=chunks))
    _assert_same(fast, slow)
    assert len(fast.history) > 10 or fast.status == "diverged"


def test_a_divergence_mid_run_keeps_the_rows_before_it() -> None:
    t = Trainer(CASES["overflow"][0])
    events = t.run()
    assert t.status == "diverged" and t.epoch == 9
    assert events[-1].epoch == 10 and not math.isfinite(events[-1].loss)
    np.testing.assert_array_equal(t.history.arrays()["epoch"], np.arange(1, 10))
    assert math.isfinite(t.last_loss) and t.last_loss == t.history.arrays()["loss"][-1]


# --- the halved sigmoid ------------------------------------------------------------------
def test_which_layers_take_a_halved_input() -> None:
    assert halved_layers(["sigmoid"] * 3, keep_output_z=False) == [True, True, True]
    assert halved_layers(["sigmoid"] * 3, keep_output_z=True) == [True, True, False]
    assert halved_layers(["relu", "sigmoid", "sigmoid"], False) == [False, False, False]
    assert halved_layers(["sigmoid", "tanh", "sigmoid"], False) == [True, False, False]


def _passes(net: Network, X, y, loss: str, halve: bool, monkeypatch):
    if not halve:
        monkeypatch.setattr(workspace_module, "halved_layers",
                            lambda acts, keep: [False] * len(acts))
    loss_fn = get_loss(loss)
    ws = Workspace(net, len(X), loss_fn)
    ws.load(X, y)
    out = ws.forward(net.params).copy()
    value = ws.backward(net.params, loss_fn, loss_fn.grad_scale(y.size))
    monkeypatch.undo()
    return ws, out, value, [g.copy() for g in ws.grads]


@pytest.mark.parametrize(
    "acts, loss",
    [(("sigmoid",) * 3, "sse"), (("sigmoid",) * 3, "mse"), (("sigmoid",) * 3, "bce"),
     (("sigmoid", "sigmoid", "tanh", "sigmoid"), "sse"), (("sigmoid",), "sse")],
)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_halved_sigmoid_layers_match_the_plain_formula(acts, loss, dtype, monkeypatch) -> None:
    rng = np.random.default_rng(3)
    sizes = (2,) + (5,) * (len(acts) - 1) + (1,)
    net = Network(sizes, list(acts), bias=True, seed=1, dtype=dtype)
    X = rng.uniform(-1, 1, (37, 2)).astype(dtype)
    y = (X[:, :1] * X[:, 1:] > 0).astype(dtype)
    ws, out, value, grads = _passes(net, X, y, loss, True, monkeypatch)
    assert any(ws.halved)
    plain_ws, plain_out, plain_value, plain_grads = _passes(net, X, y, loss, False, monkeypatch)
    assert not any(plain_ws.halved)
    np.testing.assert_array_equal(out, plain_out)  # the forward pass: bit for bit
    assert value == plain_value
    assert ws.correct() == plain_ws.correct()
    tol = 1e-5 if dtype == "float32" else 1e-12
    for g, h in zip(grads, plain_grads, strict=True):
        np.testing.assert_allclose(g, h, rtol=tol, atol=tol * np.abs(h).max())


def test_a_bce_workspace_must_know_its_loss() -> None:
    net = Network((2, 3, 1), ["sigmoid", "sigmoid"], seed=0)
    ws = Workspace(net, 4)  # made for predictions: every sigmoid layer halved
    ws.load(np.zeros((4, 2)), np.zeros((4, 1)))  # not np.empty's leftovers, which may overflow
    ws.forward(net.params)
    with pytest.raises(ValueError, match="bce"):
        ws.backward(net.params, get_loss("bce"), 0.25)


# --- History.record_rows ---------------------------------------------------------------------
@pytest.mark.parametrize("capacity, batch", [(16, 5), (16, 16), (64, 7), (32768, 256)])
def test_record_rows_is_record_row_by_row(capacity: int, batch: int) -> None:
    one, many = History(capacity), History(capacity)
    epoch = 1
    while epoch < 3_000:
        rows = []
        while len(rows) < min(batch, capacity - len(many)):  # what the trainer keeps to
            rows.append(epoch if not rows else rows[-1] + many.stride)
        for e in rows:
            assert e == one.next_epoch
            one.record(e, 1 / e, e % 7 / 7, 0.5)
        arr = np.array(rows, dtype=np.float64)
        many.record_rows(arr, 1 / arr, arr % 7 / 7, 0.5)
        assert many.next_epoch == one.next_epoch and many.stride == one.stride
        epoch = many.next_epoch
    a, b = one.arrays(), many.arrays()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
