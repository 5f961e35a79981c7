"""The backprop explainer (engine/explain): its stages, checked against an independent
NumPy pass written here; its drill-down; its new weights equal to the trainer's own, bit
for bit; and the trainer it explains left exactly as it was."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer, preset
from engine.explain import apply_step, drill, drill_text, explain, stage_text, twin

COURSE_NAMES = [
    "X_raw", "X", "Z_1", "A_1", "Z_2", "A_2", "Z_3", "A_3", "E", "dE/dA_3", "delta_3",
    "dE/dW_3", "dE/dA_2", "delta_2", "dE/dW_2", "dE/dA_1", "delta_1", "dE/dW_1",
    "ΔW_1", "ΔW_2", "ΔW_3", "new W_1", "new W_2", "new W_3",
]


def adam_config(**changes) -> ExperimentConfig:
    """relu, tanh and a sigmoid output with bce, biases and Adam."""
    values = dict(dataset="moons", n=40, hidden=(5, 3), activation=("relu", "tanh", "sigmoid"),
                  loss="bce", optimizer="adam", lr=0.02, bias=True, scale="standard",
                  epochs=100, seed=3)
    values.update(changes)
    return ExperimentConfig.from_dict(values)


def config_for(optimizer: str, bias: bool, **changes) -> ExperimentConfig:
    values = dict(dataset="xor", hidden=(4, 3), activation=("tanh", "sigmoid", "sigmoid"),
                  loss="mse", optimizer=optimizer, lr=0.3, bias=bias, epochs=50, seed=1)
    values.update(changes)
    return ExperimentConfig.from_dict(values)


# --- an independent pass, in the test's own words ----------------------------------------
F = {"sigmoid": lambda z: 1 / (1 + np.exp(-z)), "tanh": np.tanh,
     "relu": lambda z: np.where(z > 0, z, 0.0), "linear": lambda z: z,
     "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z)}
DF = {"sigmoid": lambda z: F["sigmoid"](z) * (1 - F["sigmoid"](z)),
      "tanh": lambda z: 1 / np.cosh(z) ** 2, "relu": lambda z: (z > 0) * 1.0,
      "linear": lambda z: np.ones_like(z), "leaky_relu": lambda z: np.where(z > 0, 1.0, 0.01)}


def independent(Ws, bs, acts, loss, X, y) -> dict[str, np.ndarray]:
    """Forward and backward from scratch: Z, A, E, delta, the gradients by stage name."""
    out, a = {"X": X}, X
    for layer, (W, act) in enumerate(zip(Ws, acts, strict=True), start=1):
        z = a @ W + (bs[layer - 1] if bs else 0)
        a = F[act](z)
        out[f"Z_{layer}"], out[f"A_{layer}"] = z, a
    L, N = len(Ws), y.size
    if loss == "sse":
        out["E"], dA = 0.5 * np.sum((a - y) ** 2), a - y
    elif loss == "mse":
        out["E"], dA = np.mean((a - y) ** 2), 2 * (a - y) / N
    else:
        out["E"] = -np.mean(y * np.log(a) + (1 - y) * np.log(1 - a))
        dA = -(y / a - (1 - y) / (1 - a)) / N
    out[f"dE/dA_{L}"] = dA
    for layer in range(L, 0, -1):
        delta = out[f"dE/dA_{layer}"] * DF[acts[layer - 1]](out[f"Z_{layer}"])
        out[f"delta_{layer}"] = delta
        prev = out["X"] if layer == 1 else out[f"A_{layer - 1}"]
        out[f"dE/dW_{layer}"] = prev.T @ delta
        if bs:
            out[f"dE/db_{layer}"] = delta.sum(axis=0, keepdims=True)
        if layer > 1:
            out[f"dE/dA_{layer - 1}"] = delta @ Ws[layer - 1].T
    return out


def check_against_independent(walk, rtol=1e-9) -> None:
    Ws, bs = walk.weights, walk.biases
    X, y = walk["X"].values, walk.inputs["y"]
    expected = independent(Ws, bs, walk.activations, walk.loss, X, y)
    for name, value in expected.items():
        np.testing.assert_allclose(walk.value(name), np.atleast_2d(value), rtol=rtol,
                                   atol=1e-13, err_msg=name)


# --- the stages ------------------------------------------------------------------------
def test_the_course_network_walks_through_its_stages_in_order():
    trainer = Trainer(preset("dlp-xor"))
    walk = explain(trainer)
    assert [s.name for s in walk.stages] == COURSE_NAMES
    assert [s.stage for s in walk.stages] == list(range(len(COURSE_NAMES)))
    assert walk["Z_1"].shape == "21x2 @ 2x4 -> 21x4"
    assert walk["Z_1"].equation == "Z_1 = X W_1"
    assert walk["Z_1"].operands == ("X", "W_1")
    assert walk["dE/dW_1"].shape == "2x21 @ 21x4 -> 2x4"
    assert walk["delta_3"].equation.endswith("A_3 (1 - A_3)")
    assert walk["delta_3"].operands == ("dE/dA_3", "A_3")
    assert walk["X"].equation.startswith("A_0 = X = X_raw / max(X_raw)")
    assert walk["A_2"].layer == 2 and walk["E"].layer is None
    assert "(y - a) * a(1 - a)" in walk.notes[0]
    for stage in walk.stages:  # every operand is an earlier stage or an input
        for name in stage.operands:
            assert name in walk.inputs or walk[name].stage < stage.stage
    np.testing.assert_array_equal(walk["X_raw"].values, trainer.data.X_train_raw)
    np.testing.assert_array_equal(walk["X"].values, trainer.data.X_train)
    check_against_independent(walk)
    scaled = walk["X_raw"].values / walk["X_raw"].values.max(axis=0)
    np.testing.assert_allclose(walk["X"].values, scaled, rtol=1e-15)
    lr = trainer.lr
    for layer in (1, 2, 3):
        np.testing.assert_allclose(walk[f"ΔW_{layer}"].values, -lr * walk[f"dE/dW_{layer}"].values,
                                   rtol=1e-15)


def test_relu_tanh_bce_with_bias_and_adam():
    trainer = Trainer(adam_config())
    trainer.step(7)  # Adam's moments are not zero any more
    walk = explain(trainer)
    names = [s.name for s in walk.stages]
    assert names[:9] == ["X_raw", "X", "Z_1", "A_1", "Z_2", "A_2", "Z_3", "A_3", "E"]
    assert names[9:14] == ["dE/dA_3", "delta_3", "dE/dW_3", "dE/db_3", "dE/dA_2"]
    assert names.index("m(W_1)") < names.index("v(W_1)") < names.index("m_hat(W_1)")
    assert names[-6:] == ["new W_1", "new b_1", "new W_2", "new b_2", "new W_3", "new b_3"]
    assert walk["Z_1"].shape == "40x2 @ 2x5 + 1x5 -> 40x5"
    assert walk["Z_1"].operands == ("X", "W_1", "b_1")
    check_against_independent(walk)
    # Adam, from the optimizer state before the step, in the textbook form
    adam = trainer.optimizer
    b1, b2, eps, t = adam.b1, adam.b2, adam.eps, adam.t + 1
    for layer in (1, 2, 3):
        for name, rows in ((f"W_{layer}", slice(0, -1)), (f"b_{layer}", slice(-1, None))):
            g = walk.value(f"dE/d{name}")
            m = b1 * adam.m[layer - 1][rows] + (1 - b1) * g
            v = b2 * adam.v[layer - 1][rows] + (1 - b2) * g**2
            step = -walk.lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
            np.testing.assert_allclose(walk.value(f"m({name})"), m, rtol=1e-12)
            np.testing.assert_allclose(walk.value(f"v({name})"), v, rtol=1e-12)
            np.testing.assert_allclose(walk.value(f"Δ{name}"), step, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "linear"])
@pytest.mark.parametrize("loss", ["sse", "mse"])
def test_every_activation_and_loss(activation, loss):
    config = config_for("sgd", True, activation=(activation,), loss=loss, hidden=(3,))
    trainer = Trainer(config)
    trainer.step(3)
    walk = explain(trainer)
    check_against_independent(walk)
    assert walk.agreement < 1e-12


def test_momentum_shows_its_velocity():
    trainer = Trainer(config_for("momentum", True))
    trainer.step(4)
    walk = explain(trainer)
    mu = trainer.optimizer.mu
    v_old = trainer.optimizer.velocity[0][:-1]
    expected = mu * v_old - walk.lr * walk.value("dE/dW_1")
    np.testing.assert_allclose(walk.value("v(W_1)"), expected, rtol=1e-12)
    assert walk["new W_1"].operands == ("W_1", "v(W_1)")


# --- the numbers are the trainer's --------------------------------------------------------
def new_params_equal(walk, trainer) -> None:
    for ours, theirs in zip(walk.new_params, trainer.network.params, strict=True):
        assert np.array_equal(ours, theirs)
    for layer in range(1, len(walk.activations) + 1):
        assert np.array_equal(walk.value(f"new W_{layer}"), trainer.network.weights[layer - 1])
        if walk.bias:
            bias = trainer.network.biases[layer - 1]
            assert np.array_equal(walk.value(f"new b_{layer}")[0], bias)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("bias", [True, False])
def test_new_weights_are_the_trainers_exactly(optimizer, bias):
    trainer = Trainer(config_for(optimizer, bias))
    trainer.step(5)
    walk = explain(trainer)
    assert walk.exact and walk.agreement < 1e-12
    apply_step(trainer)
    new_params_equal(walk, trainer)
    check_against_independent(walk)


def test_the_course_case_exactly_at_a_halving_epoch():
    """dlp-xor: full batch, sigmoid, sse, no biases; explained at epoch 4,999 the next
    epoch is the schedule's check, and at 5,000 the epoch after it."""
    trainer = Trainer(preset("dlp-xor"))
    for target in (1, 4999, 5000):
        trainer.step(target - trainer.epoch)
        walk = explain(trainer)
        assert walk.epoch == target + 1 and walk.agreement < 1e-12
        apply_step(trainer)
        new_params_equal(walk, trainer)


def test_a_stateful_optimizer_steps_with_the_rate_the_schedule_just_set():
    config = config_for("momentum", True, schedule="plateau", patience=1, threshold=0.5,
                        cooldown=0, epochs=40)
    trainer = Trainer(config)
    changed = False
    while trainer.epoch < 30:
        walk = explain(trainer)
        apply_step(trainer)
        new_params_equal(walk, trainer)
        assert walk.agreement < 1e-12
        changed |= len(walk.notes) > 1  # the note on the rate just set
    assert changed, "the schedule never changed the rate: the test proves nothing"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float32_and_float64(dtype):
    trainer = Trainer(adam_config(dtype=dtype))
    trainer.step(2)
    walk = explain(trainer)
    assert walk["Z_2"].values.dtype == np.dtype(dtype)
    assert walk.agreement < (1e-5 if dtype == "float32" else 1e-12)
    apply_step(trainer)
    new_params_equal(walk, trainer)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_mini_batches_show_the_trainers_own_batches(optimizer):
    """40 points in batches of 12: three of 12 and a tail of 4, in the epoch's shuffled
    order. The last batch's new weights are the trainer's after the epoch; each batch
    starts from the weights the batch before it left."""
    trainer = Trainer(adam_config(optimizer=optimizer, batch_size=12, lr=0.05))
    trainer.step(3)
    walks = [explain(trainer, batch=k) for k in range(4)]
    assert [w.batches for w in walks] == [4] * 4
    assert [len(w.rows) for w in walks] == [12, 12, 12, 4]
    assert sorted(np.concatenate([w.rows for w in walks])) == list(range(40))
    assert [w.exact for w in walks] == [False, False, False, True]
    order = copy.deepcopy(trainer._shuffle).permutation(40)
    np.testing.assert_array_equal(np.concatenate([w.rows for w in walks]), order)
    for before, after in zip(walks, walks[1:], strict=False):
        for layer, p in enumerate(before.new_params, start=1):
            assert np.array_equal(after.inputs[f"W_{layer}"], p[:-1])
    for w in walks:
        check_against_independent(w)
        assert w.agreement < 1e-12
        np.testing.assert_array_equal(w["X"].values, trainer.data.X_train[w.rows])
    apply_step(trainer)
    new_params_equal(walks[-1], trainer)
    with pytest.raises(ValueError, match="batch must be from 0 to 3"):
        explain(trainer, batch=4)


# --- the drill-down ------------------------------------------------------------------------
def test_drill_down_of_a_product_sums_its_terms():
    trainer = Trainer(adam_config())
    walk = explain(trainer)
    for name in ("Z_1", "Z_2", "dE/dW_2", "dE/dA_1", "dE/db_2", "E"):
        values = walk[name].values
        for i, j in {(0, 0), (values.shape[0] - 1, values.shape[1] - 1)}:
            d = drill(walk, name, (i, j))
            assert d.value == values[i, j]
            bound = 1e-13 * (sum(abs(t) for t in d.terms) + abs(d.addend or 0)) + 1e-300
            assert abs(d.total - d.value) <= bound, (name, i, j)
    d = drill(walk, "Z_2", (3, 1))
    np.testing.assert_array_equal(d.row, walk.value("A_1")[3])
    np.testing.assert_array_equal(d.column, walk.value("W_2")[:, 1])
    assert d.addend == walk.value("b_2")[0, 1]
    assert d.terms == tuple(walk.value("A_1")[3] * walk.value("W_2")[:, 1])
    d = drill(walk, "dE/dW_1", (1, 2))  # A_0^T row 1 is column 1 of X
    np.testing.assert_array_equal(d.row, walk.value("X")[:, 1])
    assert "X^T row 1" in d.row_name and "Z_2[3, 1]" in drill_text(drill(walk, "Z_2", (3, 1)))


def test_drill_down_of_an_elementwise_step_shows_its_inputs():
    walk = explain(Trainer(preset("dlp-xor")))
    d = drill(walk, "delta_3", (3, 0))
    a, dA = walk.value("A_3")[3, 0], walk.value("dE/dA_3")[3, 0]
    assert d.inputs == {"dE/dA_3": dA, "A_3": a}
    assert d.formula == f"({dA:.6g}) * {a:.6g} * (1 - {a:.6g}) = ({d.value:.6g})"
    d = drill(walk, "ΔW_2", (1, 2))
    assert d.inputs["lr"] == 0.5 and d.formula.startswith("-0.5 * ")
    assert drill(walk, "X_raw", (4, 1)).formula.startswith("x2 of training point #4")
    with pytest.raises(IndexError):
        drill(walk, "Z_1", (21, 0))


def test_text_rendering_abridges_large_matrices():
    walk = explain(Trainer(preset("dlp-xor")))
    text = stage_text(walk["Z_1"])
    assert "Z_1 = X W_1" in text and "21x2 @ 2x4 -> 21x4" in text
    assert "…" in text and "\n    20 " in text and "\n     4 " not in text
    assert "…" not in stage_text(walk["Z_1"], full=True)


# --- the trainer is left alone ---------------------------------------------------------------
def snapshot(trainer: Trainer) -> dict:
    state = {"params": [p.copy() for p in trainer.network.params],
             "spare": [p.copy() for p in trainer._spare], "epoch": trainer.epoch,
             "lr": trainer.lr, "status": trainer.status, "rows": len(trainer.history),
             "rng": copy.deepcopy(trainer._shuffle.bit_generator.state),
             "optimizer": copy.deepcopy(vars(trainer.optimizer)),
             "schedule": copy.deepcopy(vars(trainer.schedule)),
             "config": trainer.config, "changes": list(trainer.rate_changes)}
    return state


def assert_same(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b)
    else:
        assert a == b or (a != a and b != b)


@pytest.mark.parametrize("config", [preset("dlp-xor"), adam_config(batch_size=12)],
                         ids=["full-batch-sgd", "mini-batch-adam"])
def test_the_explainer_leaves_the_trainer_as_it_was(config):
    trainer = Trainer(config)
    trainer.step(5)
    before = snapshot(trainer)
    for batch in range(explain(trainer).batches):
        explain(trainer, batch)
    twin(trainer).step(3)
    assert_same(before, snapshot(trainer))
    # and it trains on exactly as an untouched trainer does
    untouched = Trainer(config)
    untouched.step(5)
    trainer.step(4)
    untouched.step(4)
    assert_same(snapshot(untouched), snapshot(trainer))


def test_past_the_end_the_step_trains_on():
    trainer = Trainer(config_for("sgd", False, epochs=3))
    trainer.run()
    assert trainer.status == "finished"
    walk = explain(trainer)
    assert walk.epoch == 4
    apply_step(trainer)
    assert trainer.epoch == 4
    new_params_equal(walk, trainer)
