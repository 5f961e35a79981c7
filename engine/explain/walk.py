"""The stages of one training step, computed with the course's plain backprop.

Every stage's values come from the reference arithmetic (``engine/nn/reference.py``:
``a W + b``, ``f(z)``, ``delta``, ``a^T delta``) on the trainer's own batch, weights, rate
and optimizer state, except the last ones, the new weights, which are the trainer's
(see ``engine/explain/__init__.py`` for why, and how the two are held together).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from engine.data.features import DEFAULT_FEATURES
from engine.explain import twin as twins
from engine.nn.activations import LEAKY_SLOPE
from engine.nn.reference import ACTIVATIONS
from engine.train.events import Event
from engine.train.trainer import Trainer

KINDS = ("data", "product", "sum", "loss", "elementwise")
POINT_ROWS = re.compile(r"^(X_raw|X scaled|X|Z_\d+|A_\d+|dE/dA_\d+|delta_\d+)$")


@dataclass(frozen=True)
class Product:
    """How a product stage was made: ``left @ right`` (each maybe transposed) ``+ addend``."""

    left: str
    right: str
    left_t: bool = False  # the left operand enters transposed (A^T in dE/dW = A^T delta)
    right_t: bool = False  # the right operand enters transposed (W^T in delta W^T)
    addend: str | None = None  # the bias row, broadcast over the rows


@dataclass(frozen=True, eq=False)
class Stage:
    """One step of the walk.

    ``values`` is always 2-D (a bias or a sum over the points is one row, the loss 1x1);
    ``operands`` name the earlier stages and the inputs (``Walk.inputs``) it reads;
    ``kind`` says how an element was computed (see ``engine.explain.drill``): ``data``,
    ``product`` (with ``product``), ``sum`` (down the column of its one operand), ``loss``
    (a sum over every element), ``features`` (column j is feature ``columns[j]`` of the
    row of its one operand, the scaled x1 and x2), ``penalty`` (a sum over the weights of
    every layer) or ``elementwise`` (with ``rule``: the formula of one element, each
    operand's element written ``{name}``).
    """

    stage: int
    layer: int | None
    name: str
    equation: str
    shape: str
    values: np.ndarray
    operands: tuple[str, ...]
    kind: str
    rule: str = ""
    product: Product | None = None
    note: str = ""
    columns: tuple[str, ...] = ()  # what each column is, where it has a name (X's features)

    @property
    def by_point(self) -> bool:
        """Whether row i is the batch's point i (X, Z, A, dE/dA, delta), as ``Walk.rows``."""
        return POINT_ROWS.match(self.name) is not None


@dataclass(frozen=True, eq=False)
class Walk:
    """One training step, stage by stage (build it with ``explain``).

    ``epoch`` is the epoch this step belongs to (the trainer's epoch + 1); ``rows`` are
    the batch's points as indices into the training set (``trainer.data.X_train``), in
    the order the trainer feeds them; ``batch`` counts from 0 of ``batches``. ``inputs``
    holds what the step reads without computing it: ``W_l`` and ``b_l`` (the weights in
    use), ``y``, ``lr``, the scaler's ``X offset`` and ``X scale``, the penalty's ``l2`` and
    ``l1`` (with one), and the optimizer's state
    before the step (``old v(W_1)``, ``old m(b_2)``, ...), all 2-D. ``new_params`` are the
    trainer's weights after the step, as augmented arrays ``[W_l; b_l]``; ``agreement`` is
    how far the reference update lands from them (the largest difference over the
    largest weight, per parameter); ``exact`` is True when the trainer itself has
    ``new_params`` after the epoch (a full batch, or the epoch's last batch).
    """

    epoch: int
    batch: int
    batches: int
    rows: np.ndarray
    lr: float
    loss: str
    optimizer: str
    activations: tuple[str, ...]
    bias: bool
    dtype: np.dtype
    inputs: dict[str, np.ndarray]
    stages: tuple[Stage, ...]
    new_params: list[np.ndarray]
    agreement: float
    exact: bool
    notes: tuple[str, ...] = ()
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({s.name: s.stage for s in self.stages})

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, key: int | str) -> Stage:
        """A stage by its index or its name."""
        return self.stages[self._index[key] if isinstance(key, str) else key]

    def value(self, name: str) -> np.ndarray:
        """The values of a stage or of an input, by name (an operand's, say)."""
        return self[name].values if name in self._index else self.inputs[name]

    @property
    def weights(self) -> list[np.ndarray]:
        return [self.inputs[f"W_{layer}"] for layer in range(1, len(self.activations) + 1)]

    @property
    def biases(self) -> list[np.ndarray]:
        """The biases in use, each a 1 x fan_out row (empty without biases)."""
        if not self.bias:
            return []
        return [self.inputs[f"b_{layer}"] for layer in range(1, len(self.activations) + 1)]


def dims(a: np.ndarray) -> str:
    return "x".join(str(n) for n in a.shape)


def num(x: float) -> str:
    """A constant as the equations print it: 0.5, 0.9, 1e-08."""
    return f"{x:.6g}"


# f(Z) per element, with the operand written {Z}; f' in terms of the output, with {A}
FORMULAS = {
    "sigmoid": ("sigmoid(Z) = 1 / (1 + e^-Z)", "1 / (1 + e^-{Z})", "A (1 - A)",
                "{A} * (1 - {A})"),
    "tanh": ("tanh(Z)", "tanh({Z})", "(1 - A^2)", "(1 - {A}^2)"),
    "relu": ("max(Z, 0)", "max({Z}, 0)", "[A > 0]", "[{A} > 0]"),
    "leaky_relu": (f"max(Z, {LEAKY_SLOPE} Z)", f"max({{Z}}, {LEAKY_SLOPE} * {{Z}})",
                   f"(1 if A > 0 else {LEAKY_SLOPE})",
                   f"(1 if {{A}} > 0 else {LEAKY_SLOPE})"),
    "linear": ("Z (no activation)", "{Z}", "1", "1"),
    "elu": ("Z if Z > 0 else e^Z - 1", "({Z} if {Z} > 0 else e^{Z} - 1)", "(min(A, 0) + 1)",
            "(min({A}, 0) + 1)"),
    "softplus": ("log(1 + e^Z)", "log(1 + e^{Z})", "(1 - e^-A)", "(1 - e^-{A})"),
    # not monotonic: f' is written with Z (the drill-down reads Z too)
    "swish": ("Z sigmoid(Z)", "{Z} * sigmoid({Z})",
              "(sigmoid(Z) + A (1 - sigmoid(Z)))", "(sigmoid({Z}) + {A} * (1 - sigmoid({Z})))"),
    "gelu": ("0.5 Z (1 + tanh(u)), u = sqrt(2/pi) (Z + 0.044715 Z^3) (the tanh form)",
             "0.5 * {Z} * (1 + tanh(0.797885 * ({Z} + 0.044715 * {Z}^3)))",
             "(s + 2 Z s (1 - s) sqrt(2/pi) (1 + 3 0.044715 Z^2)), s = (1 + tanh u) / 2",
             "gelu'({Z})"),
    # the output of ce: each row of Z over its classes (the drill-down shows the row)
    "softmax": ("softmax(Z) = e^Z_k / sum_j e^Z_j, row by row", "e^{Z} / sum_j e^{Z}_j",
                "", ""),
}
SCALINGS = {
    "max": ("X = X_raw / max(X_raw), column by column (the course's)", "{X_raw} / {X scale}"),
    "minmax": ("X = (X_raw - min(X_raw)) / (max(X_raw) - min(X_raw)), column by column",
               "({X_raw} - {X offset}) / {X scale}"),
    "standard": ("X = (X_raw - mean(X_raw)) / std(X_raw), column by column",
                 "({X_raw} - {X offset}) / {X scale}"),
    "none": ("X = X_raw (not scaled)", "{X_raw}"),
}
SIGN_NOTE = (
    "Sign convention: delta_l = dE/dZ_l, so delta_L = (A_L - y) * f'(Z_L) and every step "
    "goes down the gradient, W <- W - lr * dE/dW. The course writes delta = (y - a) * "
    "a(1 - a), the negative of ours, and W += lr * a^T delta: the very same step."
)


def _name(name: str, layer: int) -> str:
    """Layer ``layer``'s output: ``A_l``, with A_0 called X."""
    return "X" if layer == 0 and name == "A" else f"{name}_{layer}"


class _Builder:
    """Collects the stages in order, each numbered as it comes."""

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self.values: dict[str, np.ndarray] = {}

    def add(self, name: str, values, equation: str, shape: str, operands, kind: str,
            layer: int | None = None, **extra) -> np.ndarray:
        values = np.asarray(values)
        values = values.reshape(1, -1) if values.ndim < 2 else values
        self.stages.append(Stage(len(self.stages), layer, name, equation, shape, values,
                                 tuple(operands), kind, **extra))
        self.values[name] = values
        return values


def explain(trainer: Trainer, batch: int = 0) -> Walk:
    """The stages of the trainer's next step, at its current epoch, without changing it.

    With a full batch that step is the whole next epoch. With mini-batches it is batch
    ``batch`` (0: the first) of the next epoch, in the trainer's own shuffled order,
    taken from the weights the batches before it leave.
    """
    rows_of = twins.batch_rows(trainer)
    if not 0 <= batch < len(rows_of):
        raise ValueError(f"batch must be from 0 to {len(rows_of) - 1}, got {batch}")
    if trainer.full_batch:
        after = twins.step_on_twin(trainer)
        before, optimizer = trainer.network.params, trainer.optimizer
        new_params = [p.copy() for p in after.network.params]
        # plain SGD steps with the rate from before this epoch's schedule check, a
        # stateful optimizer with the rate after it (Trainer._bookkeeping_epoch)
        lr = trainer.lr if trainer.optimizer.folds_lr else after.lr
    else:
        step = twins.batch_step(trainer, batch)
        before, optimizer, new_params, lr = step.before, step.optimizer, step.after, trainer.lr
    config, rows = trainer.config, rows_of[batch]
    b = _Builder()
    inputs = _inputs(trainer, before, optimizer, rows, lr)
    b.values.update(inputs)
    _data_stages(b, trainer, rows)
    _forward_stages(b, trainer)
    _loss_stages(b, trainer)
    grads = _backward_stages(b, trainer)
    reference_new = _update_stages(b, trainer, optimizer, grads, lr)
    _new_weight_stages(b, trainer, new_params)
    exact = trainer.full_batch or batch == len(rows_of) - 1
    notes = [SIGN_NOTE]
    if lr != trainer.lr:
        notes.append(f"The schedule changes the rate at this epoch, from {trainer.lr:g} to "
                     f"{lr:g}; {config.optimizer} steps with the new rate.")
    agreement = _agreement(reference_new, b, trainer)
    return Walk(trainer.epoch + 1, batch, len(rows_of), np.array(rows), float(lr),
                config.loss, config.optimizer, trainer.network.activation_names,
                trainer.network.bias, trainer.network.dtype, inputs, tuple(b.stages),
                new_params, agreement, exact, tuple(notes))


def apply_step(trainer: Trainer) -> list[Event]:
    """Advance the real run by one epoch, as the walk's end does: ``Trainer.step(1)``, the
    trainer's normal path (history, events and schedule as always). Past the configured
    end the run is extended by one epoch (as the app trains on after the end); a diverged
    run raises ValueError."""
    if trainer.status == "diverged":
        raise ValueError(twins.DIVERGED)
    if trainer.status == "finished" or trainer.epoch >= trainer.config.epochs:
        trainer.extend(1)
    return trainer.step(1)


def _split(p: np.ndarray, fan_in: int, bias: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """An augmented array ``[W; b]`` as ``W`` and the row ``b`` (copies)."""
    return p[:fan_in].copy(), (p[fan_in:fan_in + 1].copy() if bias else None)


def _params(trainer: Trainer) -> list[tuple[str, int]]:
    """Every parameter's name and layer: W_1, b_1, W_2, ..."""
    kinds = ("W", "b") if trainer.network.bias else ("W",)
    layers = range(1, trainer.network.n_layers + 1)
    return [(f"{k}_{layer}", layer) for layer in layers for k in kinds]


def _inputs(trainer: Trainer, params, optimizer, rows, lr: float) -> dict[str, np.ndarray]:
    net, dt, scaler = trainer.network, trainer.network.dtype, trainer.data.scaler
    inputs: dict[str, np.ndarray] = {}
    for layer, (p, fan_in) in enumerate(zip(params, net.sizes, strict=False), start=1):
        W, bias = _split(p, fan_in, net.bias)
        inputs[f"W_{layer}"] = W
        if bias is not None:
            inputs[f"b_{layer}"] = bias
    inputs["y"] = trainer.data.y_train[rows].astype(dt).reshape(len(rows), -1)
    inputs["lr"] = np.array([[lr]])
    inputs["X offset"] = scaler.offset.reshape(1, -1).copy()
    inputs["X scale"] = scaler.scale.reshape(1, -1).copy()
    if trainer.config.regularized:  # the penalty's lambdas
        inputs["l2"] = np.array([[trainer.config.l2]])
        inputs["l1"] = np.array([[trainer.config.l1]])
    for state, arrays in _optimizer_state(optimizer).items():
        for (name, _), p in zip(_params(trainer), _per_param(arrays, net), strict=True):
            inputs[f"old {state}({name})"] = p
    return inputs


def _optimizer_state(optimizer) -> dict[str, list[np.ndarray]]:
    if optimizer.name == "momentum":
        return {"v": optimizer.velocity}
    if optimizer.name == "adam":
        return {"m": optimizer.m, "v": optimizer.v}
    return {}


def _per_param(arrays: list[np.ndarray], net) -> list[np.ndarray]:
    """Augmented arrays as W_1, b_1, W_2, ... (copies)."""
    out = []
    for p, fan_in in zip(arrays, net.sizes, strict=False):
        W, bias = _split(p, fan_in, net.bias)
        out += [W] if bias is None else [W, bias]
    return out


def _data_stages(b: _Builder, trainer: Trainer, rows) -> None:
    data, dt = trainer.data, trainer.network.dtype
    n, batch_text = len(rows), f"{len(rows)} of the {data.n_train} training points"
    b.add("X_raw", data.X_train_raw[rows], f"X_raw = the batch: {batch_text}, one per row",
          dims(data.X_train_raw[rows]), (), "data")
    equation, rule = SCALINGS[data.scaler.method]
    operands = ("X_raw", "X offset", "X scale")
    note = (f"Scaled with the training set's {data.scaler.method} scaler, in {dt.name}: what "
            "the network reads.")
    if data.features == DEFAULT_FEATURES:
        b.add("X", data.X_train[rows].astype(dt), f"A_0 = {equation}",
              f"{n}x{data.X_train.shape[1]}", operands, "elementwise", rule=rule, note=note)
        return
    scaled = data.scaler.transform(data.X_train_raw[rows]).astype(dt)
    b.add("X scaled", scaled, equation.replace("X =", "X scaled =", 1), dims(scaled), operands,
          "elementwise", rule=rule,
          note=note.replace("what the network reads", "its features are what the network reads"))
    names = ", ".join(data.features)
    b.add("X", data.X_train[rows].astype(dt),
          f"A_0 = X = [{names}], of the scaled x1, x2 (X scaled's columns)",
          f"{dims(scaled)} -> {n}x{len(data.features)}", ("X scaled",), "features",
          columns=data.features,
          note=f"The features: column j of X is feature j, computed from the scaled point "
               f"(--features {','.join(data.features)}).")


def _forward_stages(b: _Builder, trainer: Trainer) -> None:
    net = trainer.network
    for layer, name in enumerate(net.activation_names, start=1):
        a, W = b.values[_name("A", layer - 1)], b.values[f"W_{layer}"]
        z = a @ W
        bias = f" + b_{layer}" if net.bias else ""
        shape = f"{dims(a)} @ {dims(W)}{f' + 1x{W.shape[1]}' if net.bias else ''}"
        if net.bias:
            z = z + b.values[f"b_{layer}"]
        A = _name("A", layer - 1)
        b.add(f"Z_{layer}", z, f"Z_{layer} = {A} W_{layer}{bias}", f"{shape} -> {dims(z)}",
              (A, f"W_{layer}") + ((f"b_{layer}",) if net.bias else ()), "product", layer,
              product=Product(A, f"W_{layer}", addend=f"b_{layer}" if net.bias else None))
        f, _ = ACTIVATIONS[name]
        text, rule, _, _ = FORMULAS[name]
        kind = "softmax" if name == "softmax" else "elementwise"  # softmax: row by row
        b.add(f"A_{layer}", f(z), f"A_{layer} = {text.replace('Z', f'Z_{layer}')}", dims(z),
              (f"Z_{layer}",), kind, layer, rule=rule.replace("{Z}", f"{{Z_{layer}}}"))


def _loss_stages(b: _Builder, trainer: Trainer) -> None:
    L, loss = trainer.network.n_layers, trainer.config.loss
    a, z, y = b.values[f"A_{L}"], b.values[f"Z_{L}"], b.values["y"]
    N, e = (len(y) if loss == "ce" else y.size), a - y
    if loss == "ce":
        eq = (f"E = mean over points of -sum_k y_k log A_{L},k = mean[logsumexp(Z_{L}) - "
              f"y . Z_{L}]")
    elif loss == "sse":
        eq = f"E = 1/2 sum (A_{L} - y)^2 (the course's)"
    elif loss == "mse":
        eq = f"E = mean (A_{L} - y)^2 = 1/{N} sum (A_{L} - y)^2"
    else:
        eq = (f"E = mean[softplus(Z_{L}) - y Z_{L}] = -mean[y log A_{L} + (1 - y) "
              f"log(1 - A_{L})]")
    operands = (f"A_{L}", "y") if loss not in ("bce", "ce") else (f"Z_{L}", "y")
    E = np.array([[_loss_value(loss, e, z, y)]], dtype=a.dtype)
    note = ("The loss of this batch at the weights in use, before the update: the figure "
            "the epoch log prints for this epoch.")
    if trainer.config.regularized:  # E_data here; the penalty and E follow
        b.add("E_data", E, eq.replace("E =", "E_data =", 1), f"{dims(a)} -> 1x1", operands,
              "loss", rule=_loss_rule(loss, L, N), note="The data's part of the loss.")
        _penalty_stages(b, trainer, note)
    else:
        b.add("E", E, eq, f"{dims(a)} -> 1x1", operands, "loss", rule=_loss_rule(loss, L, N),
              note=note)
    _, f_prime = ACTIVATIONS[trainer.network.activation_names[-1]]
    d_text, d_rule, d_reads = _derivative_text(trainer.network.activation_names[-1], L)
    A = f"A_{L}"
    if loss == "sse":
        dA, eq, rule = e, f"dE/dA_{L} = A_{L} - y", f"{{{A}}} - {{y}}"
    elif loss == "mse":
        dA, eq, rule = 2 * e / N, f"dE/dA_{L} = 2 (A_{L} - y) / {N}", f"2 * ({{{A}}} - {{y}}) / {N}"
    elif loss == "ce":
        dA, eq, rule = -y / (N * a), f"dE/dA_{L} = -y / ({N} A_{L})", f"-{{y}} / ({N} * {{{A}}})"
    else:
        dA = e / (N * a * (1 - a))
        eq = f"dE/dA_{L} = (A_{L} - y) / ({N} A_{L} (1 - A_{L}))"
        rule = f"({{{A}}} - {{y}}) / ({N} * {{{A}}} * (1 - {{{A}}}))"
    b.add(f"dE/dA_{L}", dA, eq, dims(a), (A, "y"), "elementwise", L, rule=rule)
    if loss == "bce":  # the sigmoid's a (1 - a) cancels: computed from a - y, never 0/0
        b.add(f"delta_{L}", e / N, f"delta_{L} = dE/dA_{L} * {d_text} = (A_{L} - y) / {N}",
              dims(a), (A, "y"), "elementwise", L, rule=f"({{{A}}} - {{y}}) / {N}",
              note="The sigmoid's derivative cancels the cross-entropy's denominator.")
        return
    if loss == "ce":  # the softmax's Jacobian folds dE/dA into a - y, one row at a time
        b.add(f"delta_{L}", e / N, f"delta_{L} = dE/dZ_{L} = (A_{L} - y) / {N}", dims(a),
              (A, "y"), "elementwise", L, rule=f"({{{A}}} - {{y}}) / {N}",
              note="The softmax's Jacobian cancels the cross-entropy's 1/A: the same "
                   "simple delta as the sigmoid's with bce.")
        return
    b.add(f"delta_{L}", dA * f_prime(a, z), f"delta_{L} = dE/dA_{L} * f'(Z_{L}) = dE/dA_{L} * "
          f"{d_text}", dims(a), (f"dE/dA_{L}", *d_reads), "elementwise", L,
          rule=f"{{dE/dA_{L}}} * {d_rule}",
          note=("The course's delta_L = (y - a) * a(1 - a) is minus this one." if
                loss == "sse" else ""))


def _penalty_stages(b: _Builder, trainer: Trainer, note: str) -> None:
    """The penalty on the weights (never the biases), and E = E_data + penalty."""
    l2, l1, layers = trainer.config.l2, trainer.config.l1, trainer.network.n_layers
    Ws = [b.values[f"W_{layer}"] for layer in range(1, layers + 1)]
    terms = [l2 / 2 * float(np.sum(W * W)) + l1 * float(np.sum(np.abs(W))) for W in Ws]
    sums = " + ".join(f"W_{layer}" for layer in range(1, layers + 1))
    rule = f"{num(l2)}/2 * sum W_l^2 + {num(l1)} * sum |W_l|"
    dt = Ws[0].dtype
    b.add("penalty", np.array([[math.fsum(terms)]], dtype=dt),
          f"penalty = l2/2 sum W^2 + l1 sum |W|   (l2 = {num(l2)}, l1 = {num(l1)}; over "
          f"{sums}, not the biases)", "1x1",
          tuple(f"W_{layer}" for layer in range(1, layers + 1)), "penalty", rule=rule,
          note="Regularization: large weights cost loss, so every step also pulls each "
               "weight towards 0 (L2 in proportion, L1 by a constant amount).")
    E = b.values["E_data"] + b.values["penalty"]
    b.add("E", E, "E = E_data + penalty", "1x1", ("E_data", "penalty"), "elementwise",
          rule="{E_data} + {penalty}", note=note)


def _loss_value(loss: str, e, z, y) -> float:
    if loss == "ce":
        m = z.max(axis=1, keepdims=True)
        lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
        return float(np.mean(lse - (y * z).sum(axis=1)))
    if loss == "sse":
        return 0.5 * float(e.ravel() @ e.ravel())
    if loss == "mse":
        return float(e.ravel() @ e.ravel()) / y.size
    return float(np.mean(np.logaddexp(0, z) - y * z))


def _loss_rule(loss: str, L: int, N: int) -> str:
    """One point's term of the loss (the drill-down adds them up)."""
    if loss == "sse":
        return f"1/2 * ({{A_{L}}} - {{y}})^2"
    if loss == "mse":
        return f"({{A_{L}}} - {{y}})^2 / {N}"
    return f"(softplus({{Z_{L}}}) - {{y}} * {{Z_{L}}}) / {N}"


def _backward_stages(b: _Builder, trainer: Trainer) -> dict[str, np.ndarray]:
    """delta, dE/dW and dE/db from the output layer down; returns the gradients by name."""
    net, grads = trainer.network, {}
    for top in range(net.n_layers, 0, -1):  # layer ``top``, then the one below it
        A, d, delta = _name("A", top - 1), b.values[f"delta_{top}"], f"delta_{top}"
        a = b.values[A]
        grad = "dE_data" if trainer.config.regularized else "dE"
        grads[f"W_{top}"] = b.add(
            f"{grad}/dW_{top}", a.T @ d, f"{grad}/dW_{top} = {A}^T {delta}",
            f"{dims(a.T)} @ {dims(d)} -> {a.shape[1]}x{d.shape[1]}", (A, delta), "product",
            top, product=Product(A, delta, left_t=True))
        if trainer.config.regularized:
            grads[f"W_{top}"] = _penalty_gradient(b, trainer, top)
        if net.bias:
            grads[f"b_{top}"] = b.add(
                f"dE/db_{top}", d.sum(axis=0, keepdims=True),
                f"dE/db_{top} = sum of {delta} over the points (each column)",
                f"{dims(d)} -> 1x{d.shape[1]}", (delta,), "sum", top)
        if top > 1:
            _delta_below(b, net.activation_names[top - 2], top)
    return grads


def _penalty_gradient(b: _Builder, trainer: Trainer, layer: int) -> np.ndarray:
    """dpenalty/dW_l = l2 W_l + l1 sign(W_l), then dE/dW_l = dE_data/dW_l + dpenalty/dW_l."""
    l2, l1, W = trainer.config.l2, trainer.config.l1, b.values[f"W_{layer}"]
    name = f"W_{layer}"
    b.add(f"dpenalty/d{name}", l2 * W + l1 * np.sign(W),
          f"dpenalty/d{name} = l2 {name} + l1 sign({name})   (l2 = {num(l2)}, l1 = {num(l1)})",
          dims(W), (name,), "elementwise", layer,
          rule=f"{num(l2)} * {{{name}}} + {num(l1)} * sign({{{name}}})",
          note="The penalty's gradient: weight decay (L2) and a constant pull to 0 (L1). "
               "The biases have none.")
    return b.add(f"dE/d{name}", b.values[f"dE_data/d{name}"] + b.values[f"dpenalty/d{name}"],
                 f"dE/d{name} = dE_data/d{name} + dpenalty/d{name}", dims(W),
                 (f"dE_data/d{name}", f"dpenalty/d{name}"), "elementwise", layer,
                 rule=f"{{dE_data/d{name}}} + {{dpenalty/d{name}}}")


def _delta_below(b: _Builder, activation: str, top: int) -> None:
    """dE/dA and delta of layer ``top - 1`` from layer ``top``'s delta."""
    below, W, d = top - 1, b.values[f"W_{top}"], b.values[f"delta_{top}"]
    dA = b.add(f"dE/dA_{below}", d @ W.T, f"dE/dA_{below} = delta_{top} W_{top}^T",
               f"{dims(d)} @ {dims(W.T)} -> {d.shape[0]}x{W.shape[0]}",
               (f"delta_{top}", f"W_{top}"), "product", below,
               product=Product(f"delta_{top}", f"W_{top}", right_t=True))
    _, f_prime = ACTIVATIONS[activation]
    d_text, d_rule, d_reads = _derivative_text(activation, below)
    A, Z = f"A_{below}", f"Z_{below}"
    b.add(f"delta_{below}", dA * f_prime(b.values[A], b.values[Z]),
          f"delta_{below} = (delta_{top} W_{top}^T) * f'(Z_{below}) = dE/dA_{below} * "
          f"{d_text}", dims(dA), (f"dE/dA_{below}", *d_reads), "elementwise",
          below, rule=f"{{dE/dA_{below}}} * {d_rule}")


def _derivative_text(activation: str, layer: int) -> tuple[str, str, tuple[str, ...]]:
    """f' of ``activation`` for layer ``layer``: its text, its drill-down rule and what it
    reads (A_l, and Z_l for swish and gelu, whose f' needs Z)."""
    _, _, text, rule = FORMULAS[activation]
    A, Z = f"A_{layer}", f"Z_{layer}"
    text = re.sub(r"\bZ\b", Z, re.sub(r"\bA\b", A, text))
    reads = tuple(name for name, slot in ((A, "{A}"), (Z, "{Z}")) if slot in rule) or (A,)
    return text, rule.replace("{A}", f"{{{A}}}").replace("{Z}", f"{{{Z}}}"), reads


def _update_stages(b: _Builder, trainer: Trainer, optimizer, grads, lr: float):
    """The optimizer's own rule for every parameter; returns the reference new weights."""
    new = {}
    for name, layer in _params(trainer):
        g, P, grad = grads[name], b.values[name], f"dE/d{name}"
        if optimizer.name == "momentum":
            mu, v = optimizer.mu, b.values[f"old v({name})"]
            step = b.add(f"v({name})", mu * v - lr * g,
                         f"v({name}) = mu v({name}) - lr dE/d{name}   (mu = {num(mu)}, "
                         f"lr = {num(lr)}): the velocity, which is the step", dims(g),
                         (f"old v({name})", grad), "elementwise", layer,
                         rule=f"{num(mu)} * {{old v({name})}} - {num(lr)} * {{{grad}}}")
            new[name] = P + step
            continue
        if optimizer.name == "adam":
            new[name] = P + _adam_stages(b, optimizer, name, layer, g, lr)
            continue
        step = b.add(f"Δ{name}", -lr * g, f"Δ{name} = -lr dE/d{name}   (lr = {num(lr)})",
                     dims(g), ("lr", grad), "elementwise", layer, rule=f"-{{lr}} * {{{grad}}}",
                     note=f"The course writes {name.replace('_', '')} += lr * a^T delta with "
                          "its delta = -ours: the same step." if name[0] == "W" else "")
        new[name] = P + step
    return new


def _adam_stages(b: _Builder, adam, name: str, layer: int, g, lr: float) -> np.ndarray:
    b1, b2, eps, t = adam.b1, adam.b2, adam.eps, adam.t + 1
    grad, m, v = f"dE/d{name}", f"m({name})", f"v({name})"
    b.add(m, b1 * b.values[f"old {m}"] + (1 - b1) * g,
          f"{m} = b1 {m} + (1 - b1) dE/d{name}   (b1 = {num(b1)}): the first moment",
          dims(g), (f"old {m}", grad), "elementwise", layer,
          rule=f"{num(b1)} * {{old {m}}} + {num(1 - b1)} * {{{grad}}}")
    b.add(v, b2 * b.values[f"old {v}"] + (1 - b2) * g * g,
          f"{v} = b2 {v} + (1 - b2) (dE/d{name})^2   (b2 = {num(b2)}): the second moment",
          dims(g), (f"old {v}", grad), "elementwise", layer,
          rule=f"{num(b2)} * {{old {v}}} + {num(1 - b2)} * {{{grad}}}^2")
    c1, c2 = 1 - b1**t, 1 - b2**t
    m_hat = b.add(f"m_hat({name})", b.values[m] / c1,
                  f"m_hat({name}) = {m} / (1 - b1^t)   (t = {t}: 1 - b1^t = {num(c1)})",
                  dims(g), (m,), "elementwise", layer, rule=f"{{{m}}} / {num(c1)}",
                  note="Bias correction: the moments start at 0.")
    v_hat = b.add(f"v_hat({name})", b.values[v] / c2,
                  f"v_hat({name}) = {v} / (1 - b2^t)   (t = {t}: 1 - b2^t = {num(c2)})",
                  dims(g), (v,), "elementwise", layer, rule=f"{{{v}}} / {num(c2)}")
    return b.add(f"Δ{name}", -lr * m_hat / (np.sqrt(v_hat) + eps),
                 f"Δ{name} = -lr m_hat({name}) / (sqrt(v_hat({name})) + eps)   "
                 f"(lr = {num(lr)}, eps = {num(eps)})", dims(g),
                 ("lr", f"m_hat({name})", f"v_hat({name})"), "elementwise", layer,
                 rule=f"-{{lr}} * {{m_hat({name})}} / (sqrt({{v_hat({name})}}) + {num(eps)})",
                 note="The engine computes the same step folded into one step size, "
                      "lr sqrt(1 - b2^t) / (1 - b1^t) (Kingma & Ba, section 2).")


def _step_name(trainer: Trainer, name: str) -> str:
    return f"v({name})" if trainer.optimizer.name == "momentum" else f"Δ{name}"


def _new_weight_stages(b: _Builder, trainer: Trainer, new_params) -> None:
    net = trainer.network
    for (name, layer), value in zip(_params(trainer), _per_param(new_params, net), strict=True):
        step = _step_name(trainer, name)
        b.add(f"new {name}", value, f"new {name} = {name} + {step}", dims(value),
              (name, step), "elementwise", layer, rule=f"{{{name}}} + {{{step}}}",
              note="The trainer's own numbers: these are the weights it holds after the step.")


def _agreement(reference_new: dict[str, np.ndarray], b: _Builder, trainer: Trainer) -> float:
    """max over parameters of max|reference - trainer| / max|trainer| (0 when equal)."""
    worst = 0.0
    for name, ref in reference_new.items():
        ours = b.values[f"new {name}"].astype(np.float64)
        gap = float(np.max(np.abs(ref.astype(np.float64) - ours), initial=0.0))
        scale = float(np.max(np.abs(ours), initial=0.0)) or 1.0
        worst = max(worst, gap / scale if math.isfinite(gap) else math.inf)
    return worst
