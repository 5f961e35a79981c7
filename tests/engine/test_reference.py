"""``engine.nn.reference``, backprop as the course writes it, and the fast path held to it.

* (a) The reference against central finite differences: every activation x loss (bce
  with a sigmoid output) x bias, float64.
* (b) One pass of the trainer's workspace (``engine.fast.workspace``, built as
  ``Trainer._setup_buffers`` builds it, driven through its public passes) against the
  reference: every activation x loss x bias x dtype x outputs, gradients to 1e-12
  relative in float64 and 1e-5 in float32.
* (c) 1,000 epochs of plain SGD by the ``Trainer`` against a plain loop over the
  reference: the same losses to 1e-12 relative (not bit for bit, see
  ``test_the_trainer_follows_the_reference_for_1000_epochs``), and bit for bit once
  only the matrix products are laid out as the workspace lays them out.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

import numpy as np
import pytest

import engine
from engine import ExperimentConfig, Trainer
from engine.fast.workspace import Workspace
from engine.nn import reference
from engine.nn.activations import ACTIVATION_NAMES
from engine.nn.losses import LOSS_NAMES, get_loss
from engine.nn.network import Network
from engine.train.trainer import make_network

pytestmark = pytest.mark.filterwarnings("error")

KINKED = ("relu", "leaky_relu")
# ce last: each combination's index seeds its problem, and the older ones keep theirs
COMBOS = [(act, loss, bias) for loss in (*(n for n in LOSS_NAMES if n != "ce"), "ce")
          for act, bias in itertools.product(ACTIVATION_NAMES, (True, False))]
COMBOS.sort(key=lambda c: (c[1] == "ce", ACTIVATION_NAMES.index(c[0]), LOSS_NAMES.index(c[1]),
                           not c[2]))


def _activations(act: str, loss: str, layers: int) -> list[str]:
    """``act`` on every layer; bce's output layer is a sigmoid, ce's a softmax."""
    output = {"bce": "sigmoid", "ce": "softmax"}.get(loss, act)
    return [act] * (layers - 1) + [output]


def _network(sizes, act: str, loss: str, bias: bool, seed: int, dtype="float64") -> Network:
    """A network with random weights and random (not zero) biases."""
    net = Network(sizes, _activations(act, loss, len(sizes) - 1), bias=bias, init="normal",
                  seed=seed, dtype=dtype)
    if bias:
        rng = np.random.default_rng(seed + 1)
        net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
    return net


def _data(n: int, n_in: int, n_out: int, seed: int, loss: str = ""):
    """Random inputs and 0/1 targets: one-hot rows (one class per point) for ce."""
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(n, n_in)), (rng.random((n, n_out)) > 0.5).astype(np.float64)
    if loss == "ce":
        y = np.eye(n_out)[rng.integers(0, n_out, n)]
    return X, y


# --- the contract ------------------------------------------------------------------------
def test_engine_reference_is_the_module() -> None:
    assert engine.reference is reference
    assert engine.reference.loss_and_gradients is reference.loss_and_gradients


def test_it_knows_every_activation_and_loss() -> None:
    assert tuple(reference.ACTIVATIONS) == (*ACTIVATION_NAMES, "softmax")  # ce's output
    assert tuple(reference.LOSSES) == LOSS_NAMES


def test_it_imports_only_numpy_and_engine_nn() -> None:
    tree = ast.parse(Path(reference.__file__).read_text())
    modules = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert all(m in ("__future__", "typing", "numpy") or m.startswith("engine.nn.")
               for m in modules), modules


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_network_loss_and_gradients_is_the_reference(bias: bool, dtype: str) -> None:
    net = _network((2, 7, 3, 1), "tanh", "bce", bias, seed=2, dtype=dtype)
    X, y = _data(13, 2, 1, seed=0)
    value, grad_w, grad_b = net.loss_and_gradients(X, y, "bce")
    ref_value, ref_w, ref_b = reference.loss_and_gradients(net, X, y, "bce")
    assert isinstance(value, float) and value == ref_value
    assert len(grad_b) == (3 if bias else 0)
    for g, r, p in zip(grad_w + grad_b, ref_w + ref_b, net.weights + net.biases, strict=True):
        assert g.shape == p.shape and g.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(g, r)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_its_forward_pass_is_predict_bit_for_bit(dtype: str) -> None:
    acts = ["sigmoid", "leaky_relu", "relu", "linear", "tanh"]  # every kind
    net = Network((2, 5, 4, 4, 3, 2), acts, bias=True, init="normal", seed=5, dtype=dtype)
    rng = np.random.default_rng(5)
    net.set_parameters(net.weights, [rng.normal(size=b.shape) for b in net.biases])
    X, _ = _data(31, 2, 2, seed=1)
    a, z = reference.forward(net, X)
    assert len(a) == net.n_layers + 1 and len(z) == net.n_layers
    assert all(v.dtype == np.dtype(dtype) for v in a + z)
    np.testing.assert_array_equal(a[-1], net.predict(X))
    for out, hidden in zip(a[1:], net.hidden_outputs(X), strict=True):
        np.testing.assert_array_equal(out, hidden)


def test_bad_losses_are_refused() -> None:
    net = _network((2, 3, 1), "tanh", "mse", True, seed=0)
    X, y = _data(4, 2, 1, seed=0)
    with pytest.raises(ValueError, match="needs a sigmoid output"):
        reference.loss_and_gradients(net, X, y, "bce")
    with pytest.raises(ValueError, match="needs a sigmoid output"):
        net.loss_and_gradients(X, y, "bce")
    with pytest.raises(ValueError, match="unknown loss 'mae'; choose one of mse, sse, bce"):
        net.loss_and_gradients(X, y, "mae")


# --- (a) against finite differences -----------------------------------------------------
def _loss(net: Network, X, y, loss: str) -> float:
    a, z = reference.forward(net, X)
    return reference.loss_value(loss, a[-1], z[-1], y)


def _textbook_loss(loss: str, out, y) -> float:
    if loss == "mse":
        return float(np.mean((out - y) ** 2))
    if loss == "sse":
        return float(0.5 * np.sum((out - y) ** 2))
    if loss == "ce":  # -sum_k y_k log a_k, meaned over the points
        return float(-np.mean(np.sum(y * np.log(out), axis=1)))
    return float(-np.mean(y * np.log(out) + (1 - y) * np.log(1 - out)))


def _problem(act: str, loss: str, bias: bool, seed: int):
    """A network and a batch whose pre-activations keep clear of relu's kink."""
    for attempt in range(100):
        n_out = 1 + (seed + attempt) % 2 + (loss == "ce")  # ce: 2 or 3 classes
        net = _network((3, 5, 4, n_out), act, loss, bias, seed=1000 * seed + attempt)
        X, y = _data(7, 3, n_out, seed=seed + attempt, loss=loss)
        _, z = reference.forward(net, X)
        if act not in KINKED or min(np.abs(zl).min() for zl in z) > 1e-3:
            return net, X, y
    raise AssertionError("could not draw a problem away from the kink")


@pytest.mark.parametrize(("act", "loss", "bias"), COMBOS)
def test_the_reference_matches_finite_differences(act: str, loss: str, bias: bool) -> None:
    net, X, y = _problem(act, loss, bias, seed=COMBOS.index((act, loss, bias)))
    value, grad_w, grad_b = reference.loss_and_gradients(net, X, y, loss)
    # bce's textbook log(1 - a) loses digits as a nears 1 (a gelu network's large outputs)
    rel = 1e-10 if loss == "bce" else 1e-12
    assert value == pytest.approx(_textbook_loss(loss, net.predict(X), y), rel=rel)
    h = 1e-6
    for params, grads in ((net.weights, grad_w), (net.biases, grad_b)):
        for p, g in zip(params, grads, strict=True):  # p is a view into net.params
            numeric = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                saved = p[idx]
                p[idx] = saved + h
                up = _loss(net, X, y, loss)
                p[idx] = saved - h
                down = _loss(net, X, y, loss)
                p[idx] = saved
                numeric[idx] = (up - down) / (2 * h)
            np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)
    assert len(grad_b) == (net.n_layers if bias else 0)


# --- (b) one pass of the workspace -------------------------------------------------------
@pytest.mark.parametrize("n_out", [1, 2])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("act", "loss", "bias"), COMBOS)
def test_the_workspace_computes_the_reference_gradients(act, loss, bias, dtype, n_out) -> None:
    """The trainer's backward pass leaves ``scale * dE/d[W; b]`` in ``ws.grads`` (weight
    rows, then the bias row), where ``scale`` is the loss's ``grad_scale`` (which turns
    ``a - y`` into dE/da) times, for plain SGD, ``-lr``. Its sigmoid layers run halved
    with deltas that carry a factor 2, which the halved input cancels: ``grads`` are the
    gradients themselves, so they must be the reference's, up to rounding."""
    seed = COMBOS.index((act, loss, bias)) + 100 * n_out
    n_out += loss == "ce"  # a softmax over one class is the constant 1: 2 or 3 classes
    net = _network((3, 6, 4, n_out), act, loss, bias, seed=seed, dtype=dtype)
    X, y = _data(37, 3, n_out, seed=seed, loss=loss)
    X, y = X.astype(dtype), y.astype(dtype)
    loss_fn = get_loss(loss)
    value, grad_w, grad_b = reference.loss_and_gradients(net, X, y, loss)
    tol = 1e-12 if dtype == "float64" else 1e-5
    for lr in (None, 0.3):  # the plain gradient; plain SGD's step, -lr folded in
        ws = Workspace(net, len(X), loss_fn)  # as Trainer._setup_buffers makes it
        ws.load(X, y)
        ws.forward(net.params)
        factor = 1.0 if lr is None else -lr
        fast_value = ws.backward(net.params, loss_fn, loss_fn.scale(len(y), n_out) * factor)
        assert fast_value == pytest.approx(value, rel=tol)
        if act == "sigmoid" and loss not in ("bce", "ce"):
            assert all(ws.halved)  # the halved path is the one under test
        for i, g in enumerate(ws.grads):
            fan_in = net.sizes[i]
            assert g.shape == (fan_in + bias, net.sizes[i + 1]) and g.dtype == np.dtype(dtype)
            expected = [grad_w[i]] + ([grad_b[i][None, :]] if bias else [])
            expected = factor * np.vstack(expected)
            scale = np.abs(expected).max()
            np.testing.assert_allclose(g, expected, rtol=tol, atol=tol * scale,
                                       err_msg=f"layer {i + 1}")


# --- (c) 1,000 epochs of SGD ---------------------------------------------------------------
EPOCHS = 1000


def _config(act: str, loss: str, bias: bool, dtype: str, n: int, lr: float) -> ExperimentConfig:
    return ExperimentConfig(
        dataset="circle", n=n, hidden=(5, 3), activation=tuple(_activations(act, loss, 3)),
        loss=loss, bias=bias, dtype=dtype, lr=lr, optimizer="sgd", schedule="none",
        epochs=EPOCHS, log_every=EPOCHS, init="xavier", seed=3, test_split=0.0,
    )


def _trainer_losses(config: ExperimentConfig) -> tuple[Trainer, np.ndarray]:
    trainer = Trainer(config)
    trainer.run()
    losses = trainer.history.arrays()["loss"]
    assert trainer.status == "finished" and len(losses) == EPOCHS  # a row every epoch
    return trainer, losses


def _sgd_losses(config: ExperimentConfig, X, y, loss_and_gradients) -> np.ndarray:
    """Plain SGD from the trainer's initial weights: W -= lr dE/dW, b -= lr dE/db."""
    net = make_network(config)
    losses = []
    for _ in range(EPOCHS):
        value, grad_w, grad_b = loss_and_gradients(net, X, y, config.loss)
        losses.append(value)
        for W, g in zip(net.weights, grad_w, strict=True):
            W -= config.lr * g
        for b, g in zip(net.biases, grad_b, strict=True):
            b -= config.lr * g
    return np.array(losses)


@pytest.mark.parametrize(("act", "loss", "bias"), COMBOS)
def test_the_trainer_follows_the_reference_for_1000_epochs(act, loss, bias) -> None:
    """The same losses to 1e-12 relative, float64, every activation x loss x bias.

    Not bit for bit, for any of these networks: the two compute the same sums of
    products in different orders. The workspace keeps every layer's input feature-major,
    ``x`` shaped (units + 1, points) with a row of ones for the bias, and computes
    ``z = P^T x``, the weight and bias gradients in one product ``x delta^T`` and
    ``delta_below = W delta``; the reference computes ``a W + b``, ``a^T delta``,
    ``delta.sum(axis=0)`` and ``delta W^T`` on point-major arrays. OpenBLAS picks its
    kernel by shape and memory order, and its kernels add up the terms in different
    orders (in several SIMD partial sums); measured here, ``a^T delta`` and ``x delta^T``
    differ in the last bits from 64 points on, ``a W`` and ``P^T x`` for a layer of one
    unit (a matrix-vector product), and NumPy's pairwise ``delta.sum(axis=0)`` and the
    product with the ones row from 4 points on. Every epoch's update then differs by a
    rounding (measured: the 1,000 losses agree to 5e-15). That nothing else differs is
    ``test_laid_out_like_the_workspace_the_reference_is_the_trainer_bit_for_bit``.

    float32 is not compared over a run: its roundings of 6e-8 are amplified by the
    training itself (up to 1e-4 measured on these networks); test (b) compares its
    single passes.
    """
    lr = 0.005 if loss == "sse" else 0.1
    if act == "elu" and bias:  # these oscillate at the rates above (elu'' jumps at 0),
        lr /= 4  # which amplifies the order of the products' roundings beyond 1e-12
    config = _config(act, loss, bias, "float64", n=60, lr=lr)
    trainer, fast = _trainer_losses(config)
    data = trainer.data
    slow = _sgd_losses(config, data.X_train, data.y_train, reference.loss_and_gradients)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=0)
    assert fast[-1] < fast[0]  # it learned something: the runs are not trivially equal


def _laid_out_like_the_workspace(net: Network, X, y, loss: str):
    """``reference.loss_and_gradients`` with its matrix products (and bias sums) computed
    as the workspace computes them, on feature-major arrays with a row of ones for the
    bias; every elementwise step is the reference's own. Returns the gradients augmented,
    ``[W; b]``, as the trainer steps with them."""
    X = np.asarray(X, dtype=net.dtype)
    y = np.asarray(y, dtype=net.dtype).reshape(len(X), -1)
    L, ones = net.n_layers, np.ones((1, len(X)), dtype=net.dtype)
    x = [np.ascontiguousarray(X.T)]  # x[i]: layer i + 1's input, (units (+ 1), points)
    zs = []
    for i, name in enumerate(net.activation_names):
        if net.bias:
            x[i] = np.vstack([x[i], ones])
        z = net.params[i].T.dot(x[i])  # z = P^T x, the bias row in the product
        f, _ = reference.ACTIVATIONS[name]
        x.append(f(z))
        zs.append(z)
    _, f_prime = reference.ACTIVATIONS[net.activation_names[-1]]
    delta = reference.output_delta(loss, x[L], z, y.T, f_prime)
    grads = [None] * L
    for i in reversed(range(L)):
        grads[i] = x[i].dot(delta.T)  # [a, 1]^T delta: weight and bias gradients at once
        if i > 0:
            _, f_prime = reference.ACTIVATIONS[net.activation_names[i - 1]]
            delta = net.weights[i].dot(delta) * f_prime(x[i][: net.sizes[i]], zs[i - 1])
    return reference.loss_value(loss, x[L], z, y.T), grads


# ce is left out: its softmax and loss reduce over the classes, which the workspace keeps
# in rows, so the two lay out even the elementwise steps differently (1e-12 above)
IDENTICAL = list(itertools.product(("tanh", "relu", "leaky_relu", "linear", "elu", "softplus",
                                    "swish", "gelu"), [n for n in LOSS_NAMES if n != "ce"],
                                   (True, False), ("float64", "float32")))


@pytest.mark.parametrize(("act", "loss", "bias", "dtype"), IDENTICAL)
def test_laid_out_like_the_workspace_the_reference_is_the_trainer_bit_for_bit(
    act, loss, bias, dtype
) -> None:
    """Where the arithmetic is the same, 1,000 epochs give the same losses bit for bit.

    Same arithmetic: the reference's elementwise steps with the workspace's products
    (``_laid_out_like_the_workspace``), N = 64 targets and lr a power of two (the trainer
    folds ``grad_scale * -lr`` into the output delta, exact only then), and no sigmoid
    layer other than bce's output. The workspace computes a run of sigmoid layers from
    the input up halved (``t = tanh(z / 2)`` on a halved input, the derivative as
    ``a (1 - t)``) and any other sigmoid's derivative as ``a - a^2``, not ``a (1 - a)``:
    the same numbers to a rounding, not bit for bit. bce's output sigmoid is computed as
    in the reference, and its derivative cancels.
    """
    lr = 2.0**-9 if loss == "sse" else 0.125
    config = _config(act, loss, bias, dtype, n=64, lr=lr)
    trainer, fast = _trainer_losses(config)
    assert trainer.data.y_train.size == 64

    def laid_out(net, X, y, loss):  # for _sgd_losses: the augmented step is W's and b's
        value, grads = _laid_out_like_the_workspace(net, X, y, loss)
        grad_w = [g[:fan_in] for g, fan_in in zip(grads, net.sizes, strict=False)]
        if not net.bias:
            return value, grad_w, []
        return value, grad_w, [g[fan_in] for g, fan_in in zip(grads, net.sizes, strict=False)]

    slow = _sgd_losses(config, trainer.data.X_train, trainer.data.y_train, laid_out)
    np.testing.assert_array_equal(fast, slow)
    assert fast[-1] < fast[0]
