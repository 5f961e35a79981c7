"""elu, softplus, swish and gelu (issue #15): stable up to 1e4 with every floating-point
error raised, derivatives against finite differences, the tape against the reference,
gradient checks through whole networks, and training with each one."""

from __future__ import annotations

import numpy as np
import pytest

from engine import ExperimentConfig, Trainer
from engine.nn import reference
from engine.nn.activations import ACTIVATIONS
from engine.nn.network import Network
from engine.stack.trainer import StackTrainer
from engine.train.gradcheck import gradient_check

pytestmark = pytest.mark.filterwarnings("error")

NEW = ("elu", "softplus", "swish", "gelu")
DTYPES = (np.float64, np.float32)
# (not 1e-30: its square underflows to 0 in float32, harmless, and test_activations.py
# covers it with underflow ignored)
HUGE = np.array([-1e4, -9999.5, -1e3, -710.0, -100.0, -88.0, -40.0, -9.5, -1.0, -1e-3, 0.0,
                 1e-3, 1.0, 9.5, 40.0, 88.0, 100.0, 710.0, 1e3, 9999.5, 1e4])


def _pass(name: str, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(act(z), act'(z)) through the registry's calls; the scratch holds z on entry."""
    out, slope = np.empty_like(z), np.ones_like(z)
    ACTIVATIONS[name].forward(z, out)
    ACTIVATIONS[name].backward(out, slope, z.copy())
    return out, slope


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", NEW)
def test_inputs_up_to_1e4_raise_nothing_and_stay_finite(name: str, dtype) -> None:
    rng = np.random.default_rng(0)
    z = np.concatenate([HUGE, rng.uniform(-1e4, 1e4, 200)]).astype(dtype)
    with np.errstate(all="raise"):  # overflow, underflow to subnormals, invalid: all errors
        a, d = _pass(name, z)
    assert a.dtype == d.dtype == dtype
    assert np.isfinite(a).all() and np.isfinite(d).all()
    big = np.abs(z) >= 100
    np.testing.assert_allclose(a[big & (z > 0)], z[big & (z > 0)], rtol=1e-6)  # ~z up there
    np.testing.assert_allclose(d[big & (z > 0)], 1.0, rtol=1e-6)
    np.testing.assert_allclose(d[big & (z < 0)], 0.0, atol=1e-6)
    if name == "elu":
        np.testing.assert_allclose(a[big & (z < 0)], -1.0)
    else:  # softplus, swish and gelu all tend to 0 from their own side
        np.testing.assert_allclose(a[big & (z < 0)], 0.0, atol=1e-6)
    assert (a > -1.0 - 1e-7).all()  # elu >= -1, swish >= -0.279, gelu >= -0.17


@pytest.mark.parametrize("name", NEW)
def test_the_derivative_is_the_slope_of_the_forward_pass(name: str) -> None:
    z = np.linspace(-8, 8, 641)
    z = z[np.abs(z) > 1e-3]  # elu's second derivative jumps at 0
    h = 1e-6
    numeric = (_pass(name, z + h)[0] - _pass(name, z - h)[0]) / (2 * h)
    np.testing.assert_allclose(_pass(name, z)[1], numeric, rtol=1e-7, atol=1e-9)


def test_known_values() -> None:
    z = np.array([-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(_pass("elu", z)[0], [np.expm1(-1), 0, 1, 2])
    np.testing.assert_allclose(_pass("softplus", z)[0], np.log1p(np.exp(z)), rtol=1e-15)
    np.testing.assert_allclose(_pass("softplus", z)[1], 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_allclose(_pass("swish", z)[0], z / (1 + np.exp(-z)), rtol=1e-15)
    # gelu's tanh form at 1: 0.8411920; the exact erf form would give 0.8413447
    assert _pass("gelu", np.array([1.0]))[0][0] == pytest.approx(0.841192, abs=1e-6)
    assert _pass("gelu", np.array([0.0]))[1][0] == 0.5


@pytest.mark.parametrize("name", NEW)
def test_the_reference_table_is_the_same_function(name: str) -> None:
    z = np.random.default_rng(1).normal(scale=4, size=(9, 7))
    f, f_prime = reference.ACTIVATIONS[name]
    a, d = _pass(name, z)
    np.testing.assert_array_equal(f(z), a)
    np.testing.assert_allclose(f_prime(a, z), d, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("loss", ["mse", "sse", "bce"])
@pytest.mark.parametrize("name", NEW)
def test_gradient_check_passes_through_every_layer(name: str, loss: str, bias: bool) -> None:
    acts = [name, name, "sigmoid" if loss == "bce" else name]
    net = Network((2, 5, 4, 1), acts, bias=bias, init="normal", seed=3)
    if bias:
        rng = np.random.default_rng(4)
        net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(13, 2)), (rng.random((13, 1)) > 0.5).astype(float)
    check = gradient_check(net, X, y, loss)
    assert check.passed, check.summary()


@pytest.mark.parametrize("name", NEW)
def test_each_trains_the_circle(name: str) -> None:
    config = ExperimentConfig(dataset="circle", n=200, hidden=(8,), bias=True, init="xavier",
                              activation=(name, "sigmoid"), loss="bce", optimizer="adam",
                              lr=0.03, epochs=1500, log_every=500, scale="standard",
                              schedule="none")
    trainer = Trainer(config)
    trainer.run()
    assert trainer.status == "finished" and trainer.last_accuracy >= 0.95


@pytest.mark.parametrize("name", NEW)
def test_a_stack_trains_them_as_the_single_trainer_does(name: str) -> None:
    config = ExperimentConfig(hidden=(4,), activation=(name, "sigmoid"), bias=True,
                              epochs=100, log_every=50, lr=0.05, schedule="none")
    stack = StackTrainer([config, config.replace(seed=1)])
    stack.run()
    for i, cfg in enumerate((config, config.replace(seed=1))):
        alone = Trainer(cfg)
        alone.run()
        np.testing.assert_allclose(stack.members[i].history.arrays()["loss"],
                                   alone.history.arrays()["loss"], rtol=1e-11)
