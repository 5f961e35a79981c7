"""A run written out as one plain NumPy script a student can read, run and hand in.

``training_script(config)`` returns the source of a standalone Python file that trains
the network nn-tui trains for ``config``: the same points (the raw points as literal
arrays, and the scaling and features written out), the same initial weights (literal
arrays, every float exact), and the forward pass, backward pass and update in the
course's notation (``engine/nn/reference.py``), with the config's learning rate,
schedule, optimizer, penalty, batches and dtype. Run with ``python FILE.py`` it prints
nn-tui's log: the epoch lines every ``log_every`` epochs, the rate changes, a divergence,
then the course's testing printout of the final weights.

Its arithmetic is nn-tui's formulas in the plainest order, not the trainer's prebuilt
buffers (``engine/fast/workspace.py``), so its losses agree with nn-tui's to rounding
(tests/engine/test_script.py holds them to 6 significant digits over 5,000 epochs).

The script is put together from pieces, one per setting's value
(``engine.io.script_parts``): activations, the output layer and its loss, optimizers,
schedules. A setting that cannot be written out is refused (``ScriptError``), in one
line that names the setting and the fix.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engine import __version__
from engine.config.experiment import FIELDS, ExperimentConfig
from engine.config.fields import default
from engine.config.toml_text import toml_value
from engine.fast.workspace import halved_layers
from engine.io import script_parts as parts
from engine.io.export import ExportError, write_text_atomic
from engine.nn.activations import GELU_C, GELU_CLIP, GELU_K, softplus_floor
from engine.nn.losses import get_loss
from engine.train.bundle import DataBundle, build_data
from engine.train.trainer import BLOW_UP_FACTOR, make_network

BODY = " " * 8  # the indent of the epoch loop's body in the script
MAX_SCRIPT_POINTS = 10_000  # training and test points written into a script
MAX_SCRIPT_PARAMETERS = 20_000  # weights and biases written into a script
WIDTH = 100  # the project's line length (ruff), which the script keeps


class ScriptError(ExportError):
    """A run that cannot be written as a script; the message names the setting and the fix."""


def task(config: ExperimentConfig) -> str:
    """What the outputs mean: "binary" (one output, 0.5 parts the classes), "classes"
    (a softmax over K classes) or "regress" (a real target)."""
    if config.regression:
        return "regress"
    return "classes" if config.loss == "ce" else "binary"


# --- what can be written ------------------------------------------------------------
def check_exportable(config: ExperimentConfig, data: DataBundle | None = None) -> None:
    """Refuse, in one line naming the setting and the fix, a config the script cannot
    reproduce or would be unreadably large for."""
    if config.loss not in parts.LOSS_CODE:
        raise ScriptError(f"loss {config.loss}: a script cannot write it out yet; "
                          f"use --loss {' or '.join(parts.LOSS_CODE)}")
    if config.n_parameters > MAX_SCRIPT_PARAMETERS:
        raise ScriptError(
            f"hidden {config.field_text('hidden')}: {config.n_parameters:,} weights are too "
            f"many to write into a script (at most {MAX_SCRIPT_PARAMETERS:,}); use narrower "
            "or fewer hidden layers")
    points = _point_count(config, data)
    if points > MAX_SCRIPT_POINTS:
        flag, fix = ("--data", "a smaller CSV file") if config.data_path else (
            "--n", f"--n {MAX_SCRIPT_POINTS} or fewer")
        raise ScriptError(f"{flag}: {points:,} points are too many to write into a script "
                          f"(at most {MAX_SCRIPT_POINTS:,}); use {fix}")


def _point_count(config: ExperimentConfig, data: DataBundle | None) -> int:
    if data is not None:
        return data.n_train + len(data.X_test)
    if config.data_path:
        return 0  # counted once the file is read (training_script reads it)
    return 21 if config.dataset == "xor" else config.n


# --- writing ------------------------------------------------------------------------
def write_script(path: str | Path, config: ExperimentConfig, data: DataBundle | None = None,
                 *, command: str = "", intro: Sequence[str] = (), name: str = "") -> Path:
    """Write ``training_script`` to ``path`` atomically; returns the path written.
    ScriptError (an ExportError) for a run that cannot be written or a bad target."""
    text = training_script(config, data, command=command, intro=intro,
                           name=name or Path(path).name)
    return write_text_atomic(path, text)


def training_script(config: ExperimentConfig, data: DataBundle | None = None, *,
                    command: str = "", intro: Sequence[str] = (),
                    name: str = "train.py") -> str:
    """The script's source. ``data``: the run's data (built from ``config`` if None);
    ``command``: how it was made, for its docstring; ``intro``: lines it prints first
    (``nn-tui train``'s own); ``name``: its file name, for the usage lines."""
    check_exportable(config, data)
    data = data if data is not None else build_data(config)
    check_exportable(config, data)
    network = make_network(config)  # the initial weights: the config's seed makes them
    head = _docstring(config, command, name) + "\n\n" + IMPORTS
    blocks = [
        _settings(config),
        _activations(config),
        _headed("the network: forward and backward passes", _network_code(config)),
        _headed(f"the output layer's loss ({config.loss})", parts.LOSS_CODE[config.loss]),
        _headed(TASK_TITLES[task(config)], parts.TASK_CODE[task(config)]),
        _headed("the penalty on the weights (the biases go free)", _penalty_code(config)),
        _headed(f"the update rule ({config.optimizer})", parts.OPTIMIZER_CODE[config.optimizer]),
        _headed(f"the learning-rate schedule ({config.schedule})", _schedule_code(config)),
        _data_code(config, data),
        _headed("the log, in nn-tui's words", _log_code(config)),
        _train_code(config),
        _headed("the course's testing printout", _printout_code(config)),
        _main_code(config, data, intro),
        _literals(config, data, network),
        'if __name__ == "__main__":\n    main()',
    ]
    body = "\n\n\n".join(block.strip("\n") for block in blocks if block.strip())
    return f"{head}\n\n{body}\n"


TASK_TITLES = {"binary": "the classes: 0.5 parts them", "classes": "the classes: the most "
               "probable one", "regress": "the scores of a regression: R^2 and MAE"}
IMPORTS = "import math\nimport sys\nimport time\n\nimport numpy as np"


def _headed(title: str, code: str) -> str:
    """A block of code under its section heading (nothing for no code)."""
    return section(title) + "\n" + code.strip("\n") if code.strip() else ""


def section(title: str) -> str:
    """A section's heading comment in the script, ruled out to 80 columns."""
    return f"# --- {title} ".ljust(80, "-")


# --- the docstring ------------------------------------------------------------------
FORMULAS = """\
Backpropagation as the course writes it (engine/nn/reference.py in nn-tui), transposed:
one column per data point, as nn-tui lays the points out, so that every matrix product
is the same BLAS call as nn-tui's and rounds the same. For layers l = 1 .. L:

    forward    a_0 = X,   z_l = W_l^T a_{l-1} + b_l,   a_l = f_l(z_l)
    output     delta_L = dE/dz_L   (= dE/da_L * f_L'(z_L))
    backward   delta_l = (W_{l+1} delta_{l+1}) * f_l'(z_l)
    gradients  dE/dW_l = a_{l-1} delta_l^T,   dE/db_l = delta_l summed over the points"""


def bit_for_bit(config: ExperimentConfig) -> bool:
    """Whether the script's floats are nn-tui's to the last bit (on one machine): it makes
    nn-tui's NumPy calls in nn-tui's order, but plain gradient descent folds the rate into
    the output's delta (exact only for a rate that is a power of 2, and schedules that
    halve it), and nn-tui's adam and momentum steps mix a float64 scalar into float32."""
    def power_of_2(x: float) -> bool:
        return math.frexp(x)[0] == 0.5

    if len(_sigmoid_primes(config)) > 1:  # the script writes one sigmoid' for both kinds
        return False
    if config.optimizer != "sgd":
        return config.dtype == "float64"
    factor = {"halving": config.halve_factor, "plateau": config.plateau_factor}
    return power_of_2(config.lr) and power_of_2(factor.get(config.schedule, 0.5))


def _sigmoid_primes(config: ExperimentConfig) -> set[bool]:
    """Of the sigmoid layers whose f' the backward pass takes: is each one of nn-tui's
    halved layers (True) or a plain one (False)? The script writes f' as one or the other."""
    acts = list(config.layer_activations)
    halved = halved_layers(acts, get_loss(config.loss).through_output)
    takes_prime = [True] * (len(acts) - 1) + [not get_loss(config.loss).through_output]
    return {h for a, h, t in zip(acts, halved, takes_prime, strict=True)
            if a == "sigmoid" and t}


def _exactness(config: ExperimentConfig) -> str:
    if bit_for_bit(config):
        return ("It makes nn-tui's NumPy calls in nn-tui's order, so on the machine it was "
                "written on its losses are nn-tui's to the last bit.")
    if len(_sigmoid_primes(config)) > 1:
        why = "nn-tui rounds sigmoid' two ways, in the first layers and after others"
    elif config.optimizer == "sgd":
        why = "nn-tui folds the rate into the output layer's delta"
    else:
        why = f"nn-tui's {config.optimizer} step mixes a float64 scalar into float32"
    return ("It makes nn-tui's NumPy calls in nn-tui's order but one (" + why + "), so its "
            "losses agree with nn-tui's to rounding: about 1e-13 apart in float64, 1e-6 in "
            "float32.")


def _formulas(config: ExperimentConfig) -> list[str]:
    """The course's formulas, without the biases' terms for a network without biases."""
    lines = FORMULAS.splitlines()
    if not config.bias:
        return [line.replace(" + b_l,  ", ",  ").replace(
            ",   dE/db_l = delta_l summed over the points", "") for line in lines]
    return [*lines, "", *_wrap("Each layer's biases b_l are kept as the last row of its W_l, "
                               "which a row of ones under a_{l-1} meets: z_l = W_l^T "
                               "[a_{l-1}; 1], one product, as nn-tui computes it.")]


def _docstring(config: ExperimentConfig, command: str, name: str) -> str:
    made = f"Written by nn-tui {__version__}" + (f" ({command})" if command else "") + "."
    lines = [
        f"{config.dataset_label}: nn-tui's training run as a plain NumPy script.",
        "",
        *_wrap(made + " It trains the network nn-tui trained, from the same initial "
               "weights on the same points with the same settings, and prints the log "
               "nn-tui prints. It needs only NumPy:"),
        "",
        f"    python {name}           the log, then the final weights tested on each point",
        f"    python {name} --quiet   the same without the per-point listing",
        f"    python {name} --exact   every loss in full, to hold beside the history",
        f"    {' ' * len(name)}                  nn-tui exports (--export-history FILE.csv)",
        "",
        *_wrap(_exactness(config)),
        "",
        *_formulas(config),
        "",
        "The settings, as a config file for nn-tui train --config (the others are nn-tui's",
        "defaults):",
        "",
        *(f"    {line}" for line in _changed_settings(config)),
    ]
    body = "\n".join(_doc_safe(line) for line in lines)
    return f'"""{body}\n"""'


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, WIDTH - 4, break_on_hyphens=False, break_long_words=False)


def _doc_safe(text: str) -> str:
    """Text that cannot end the docstring or start an escape: backslashes doubled, quotes
    that would close it escaped, characters that are not printable spelled out."""
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text).rstrip()


def _changed_settings(config: ExperimentConfig) -> list[str]:
    """``key = value`` for every setting that is not nn-tui's default (``--config`` reads
    them back as this config); a data path too long for a line is left to its name."""
    lines = []
    for field, value in config.to_dict().items():
        if field == "data_path" and value:
            from engine.io.export import config_toml

            value = next(line.split(" = ", 1)[1] for line in config_toml(config).splitlines()
                         if line.startswith("data_path = "))
            line = f"data_path = {value}"
            if len(line) > WIDTH - 8:
                line = f"# data_path: {Path(config.data_path).name} (its points are below)"
            lines.append(line)
            continue
        if getattr(config, field) != default(field) and field in FIELDS:
            lines.append(f"{field} = {toml_value(value)}")
    return lines


# --- settings -----------------------------------------------------------------------
def _settings(config: ExperimentConfig) -> str:
    c = config
    rows = [
        section("the settings (nn-tui's)"),
        f"DTYPE = np.{c.dtype}",
        f"LR = {c.lr!r}  # the learning rate",
        f"EPOCHS = {c.epochs}",
        f"LOG_EVERY = {c.log_every}  # an epoch line every this many epochs, and the last",
    ]
    if task(c) == "classes":
        rows.append(f"CLASSES = {c.classes}  # a softmax output unit for each")
    if c.batch_size:
        rows.append(f"BATCH_SIZE = {c.batch_size}  # points per step")
        rows.append(f"SEED = {c.seed}  # nn-tui shuffles the points with a stream of this seed")
    if c.optimizer == "momentum":
        rows.append(f"MOMENTUM = {c.momentum!r}")
    if c.l2:
        rows.append(f"L2 = {c.l2!r}  # E += L2/2 sum W^2 over the weights (never the biases)")
    if c.l1:
        rows.append(f"L1 = {c.l1!r}  # E += L1 sum |W| over the weights (never the biases)")
    if c.schedule == "halving":
        rows += [f"HALVE_EVERY = {c.halve_every}",
                 f"HALVE_BAND = {tuple(c.halve_band)!r}",
                 f"HALVE_FACTOR = {c.halve_factor!r}"]
    elif c.schedule == "plateau":
        rows += [f"PATIENCE = {c.patience}",
                 f"PLATEAU_FACTOR = {c.plateau_factor!r}",
                 f"THRESHOLD = {c.threshold!r}",
                 f"COOLDOWN = {c.cooldown}"]
    if c.schedule != "none":
        rows.append(f"MIN_LR = {c.min_lr!r}  # the schedule never goes below it")
    rows += [
        f"BLOW_UP = {BLOW_UP_FACTOR!r}  # a reported loss this many times the first epoch's: "
        "diverged",
        'QUIET = "--quiet" in sys.argv[1:]',
        'EXACT = "--exact" in sys.argv[1:]',
    ]
    return "\n".join(rows)


# --- activations --------------------------------------------------------------------
def _activations(config: ExperimentConfig) -> str:
    used = list(dict.fromkeys(config.layer_activations))
    needed = list(dict.fromkeys(n for name in used for n in (*parts.ACTIVATION_NEEDS.get(
        name, ()), name)))
    code = []
    if "softplus" in needed:
        floor = softplus_floor(np.dtype(config.dtype))
        code.append(f"SOFTPLUS_FLOOR = {floor!r}  # log of the dtype's smallest normal, plus 1")
    for name in needed:
        block = parts.ACTIVATION_CODE[name].strip("\n")
        if name == "sigmoid" and True not in _sigmoid_primes(config):
            block = block.split("\n\n\ndef sigmoid_prime")[0] + "\n\n" + \
                parts.SIGMOID_PRIME_PLAIN
        block = block.replace("{gelu_c}", repr(GELU_C)).replace("{gelu_k}", repr(GELU_K))
        code.append(block.replace("{gelu_clip}", repr(GELU_CLIP)))
    acts = config.layer_activations
    code.append("# layer l's f and f' (the list counts from 0: F[0] is layer 1's)\n"
                f"F = [{', '.join(acts)}]\n"
                f"F_PRIME = [{', '.join(_prime(a) for a in acts)}]")
    return section("activations: f(z), and f'(a, z) from the output a = f(z)") + "\n" + \
        "\n\n\n".join(code)


def _prime(name: str) -> str:
    """A layer's f' in the F_PRIME list (ce's delta needs none of the softmax)."""
    return "None" if name == "softmax" else f"{name}_prime"


# --- the network ------------------------------------------------------------------------
def _network_code(config: ExperimentConfig) -> str:
    if config.bias:
        return '''
def with_ones(a):
    """[a; 1]: a layer's input with a row of ones below, which meets the biases in the
    last row of its W (z = W^T [a; 1] = W_weights^T a + b, in one product as nn-tui)."""
    return np.vstack([a, np.ones((1, a.shape[1]), dtype=a.dtype)])


def forward(W, X):
    """a_0 = X, then for every layer z_l = W_l^T [a_{l-1}; 1] (= W_l^T a_{l-1} + b_l) and
    a_l = f_l(z_l). Returns [a_0, .., a_L] and [z_1, .., z_L] (layer i + 1's z is z[i])."""
    a, z = [X], []
    for i in range(len(W)):
        z.append(W[i].T @ with_ones(a[i]))
        a.append(F[i](z[i]))
    return a, z


def backward(W, a, z, y):
    """dE/dW_l of the data loss for every layer (its last row dE/db_l), from the output
    down."""
    L = len(W)
    delta = output_delta(a[L], z[L - 1], y)  # delta_L
    grad_W = [None] * L
    for i in reversed(range(L)):  # layer i + 1: its input is a[i], its delta is delta
        grad_W[i] = with_ones(a[i]) @ delta.T  # [a_{l-1}; 1] delta_l^T: b's row sums delta_l
        if i > 0:  # on to the layer below: delta_{l-1} = (W_l delta_l) * f', W_l's weights
            delta = (W[i][:-1] @ delta) * F_PRIME[i - 1](a[i], z[i - 1])
    return grad_W
'''
    return '''
def forward(W, X):
    """a_0 = X, then for every layer z_l = W_l^T a_{l-1} and a_l = f_l(z_l).
    Returns [a_0, .., a_L] and [z_1, .., z_L] (layer i + 1's z is z[i])."""
    a, z = [X], []
    for i in range(len(W)):
        z.append(W[i].T @ a[i])
        a.append(F[i](z[i]))
    return a, z


def backward(W, a, z, y):
    """dE/dW_l of the data loss for every layer, from the output down."""
    L = len(W)
    delta = output_delta(a[L], z[L - 1], y)  # delta_L
    grad_W = [None] * L
    for i in reversed(range(L)):  # layer i + 1: its input is a[i], its delta is delta
        grad_W[i] = a[i] @ delta.T  # a_{l-1} delta_l^T, shaped like W_l
        if i > 0:  # on to the layer below: delta_{l-1} = (W_l delta_l) * f'
            delta = (W[i] @ delta) * F_PRIME[i - 1](a[i], z[i - 1])
    return grad_W
'''


def _penalty_code(config: ExperimentConfig) -> str:
    if not config.regularized:
        return ""
    rows = "W_l[:-1]" if config.bias else "W_l"  # the biases' row goes free
    value, grad, terms = [], [], []
    if config.l2:
        value.append("        total += L2 / 2 * float(w @ w)")
        grad.append(f"L2 * {rows}")
        terms.append("L2/2 sum W^2")
    if config.l1:
        value.append("        total += L1 * float(np.abs(w).sum())")
        grad.append(f"L1 * np.sign({rows})")
        terms.append("L1 sum |W|")
    said = " + ".join(g.replace(rows, "W").replace(" * ", " ").replace("np.", "")
                      for g in grad)
    if config.bias:
        adds = "\n".join(f"        g[:-1] += {g}" for g in grad)
        gradient = (f"    for g, W_l in zip(grad_W, W, strict=True):\n{adds}\n"
                    "    return grad_W")
    else:
        gradient = f"    return [g + {' + '.join(grad)} for g, W_l in zip(grad_W, W, strict=True)]"
    where = "the weights (not the biases' row)" if config.bias else "the weights"
    return f'''
def penalty(W):
    """{" + ".join(terms)}, over {where}."""
    total = 0.0
    for W_l in W:
        w = {rows}.ravel()
{chr(10).join(value)}
    return total


def penalty_gradient(grad_W, W):
    """dE/dW_l plus the penalty's own on the weights: {said}."""
{gradient}
'''


def _schedule_code(config: ExperimentConfig) -> str:
    if config.schedule == "none":
        return ""
    return (parts.RATIO_CODE.strip("\n") + "\n\n\n"
            + parts.SCHEDULE_CODE[config.schedule].strip("\n"))


# --- the data -----------------------------------------------------------------------------
COLUMNS_CODE = '''


def columns(points):
    """The network's inputs X and targets y for rows of x1, x2, {what}, with one column
    per point: the course's formulas transposed, nn-tui's own layout (every matrix
    product is then the same BLAS call as nn-tui's, which rounds the same)."""
    X = np.ascontiguousarray(inputs(points[:, :2]).T)
    y = np.ascontiguousarray({targets}, dtype=DTYPE)
    return X, y
'''
TARGETS = {"binary": ("label", "points[:, 2:].T"), "classes": ("class", "one_hot(points[:, 2])"),
           "regress": ("target", "points[:, 2:].T")}


def _data_code(config: ExperimentConfig, data: DataBundle) -> str:
    method = data.scaler.method
    scaled = {
        "max": ("scaled by the training points' largest value per column (the course's "
                "X / max(X))", "X = X_raw / SCALE"),
        "minmax": ("scaled to [0, 1] by the training points' range per column",
                   "X = (X_raw - OFFSET) / SCALE"),
        "standard": ("standardized by the training points' mean and standard deviation",
                     "X = (X_raw - OFFSET) / SCALE"),
        "none": ("as they are (no scaling)", "X = X_raw"),
    }[method]
    features = tuple(config.features)
    columns = {"x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2",
               "x1*x2": "x1 * x2", "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)"}
    if features == ("x1", "x2"):
        said, body = "", f"    {scaled[1]}\n    return X.astype(DTYPE)"
    else:
        said = f", then the features {', '.join(features)}"
        stack = ", ".join(columns[f] for f in features)
        body = (f"    {scaled[1]}\n    x1, x2 = X[:, 0], X[:, 1]\n"
                f"    return np.column_stack([{stack}]).astype(DTYPE)")
    doc = _wrap_doc(f"The network's input for points (x1, x2), one row each: {scaled[0]}"
                    f"{said}.")
    return (section("the data") + "\n"
            f"def inputs(X_raw):\n{doc}\n{body}"
            + COLUMNS_CODE.replace("{what}", TARGETS[task(config)][0])
            .replace("{targets}", TARGETS[task(config)][1]))


def _wrap_doc(text: str, indent: str = "    ") -> str:
    lines = textwrap.wrap(text, WIDTH - len(indent) - 6, break_on_hyphens=False)
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""'
    return (f'{indent}"""' + f"\n{indent}".join(lines) + '"""')


# --- the log ------------------------------------------------------------------------------
R2_TEXT = '''


def r2_text(x):
    """R^2 to four decimals (1 is a perfect fit; it can go below 0)."""
    return f"{x:.4f}" if math.isfinite(x) else "nan"'''

def _score_names(c: ExperimentConfig) -> str:
    """The names of an epoch's score in the script: a classifier's accuracy, or a
    regression's R^2 and mean absolute error."""
    return "r2, mae" if c.regression else "accuracy"


def _log_code(config: ExperimentConfig) -> str:
    args = ["epoch", "E", _score_names(config), "lr"]
    loss_part = "    shown = loss_text(E)\n"
    if config.regularized:
        args.insert(2, "P")
        loss_part += '    shown += f" (penalty {loss_text(P)})"  # E includes it\n'
    if config.regression:
        score = 'R² : {r2_text(r2)} MAE : {mae:.4g}'
        test_score = 'test R² : {r2_text(test[1])} test MAE : {test[2]:.4g}'
    else:
        score = "accuracy : {percent(accuracy)}"
        test_score = "test accuracy : {percent(test[1])}"
    test = ""
    if config.test_split > 0:
        args.append("test")
        test = (f'    line += f" test loss : {{loss_text(test[0])}}"\n'
                f'    line += f" {test_score}"\n')
    rate = ""
    if config.schedule != "none":
        rate = '''


def rate_line(epoch, old, new, why):
    verb = "halved" if new == old * 0.5 else "reduced"
    return f"epoch {epoch} learning rate {verb} {old:.8g} -> {new:.8g} ({why})"'''
    return f'''
def loss_text(x):
    """Ten decimals as the course prints them (scientific from a million on); in full
    (repr) with --exact."""
    if not math.isfinite(x):
        return str(x)
    if EXACT:
        return repr(x)
    return f"{{x:.10f}}" if abs(x) < 1e6 else f"{{x:.6e}}"


def percent(x):
    return f"{{100 * x:6.2f}}%"{R2_TEXT if config.regression else ""}


def epoch_line({", ".join(args)}):
{loss_part}    line = f"epoch {{epoch}} loss : {{shown}} {score}"
{test}    return line + f" lr : {{lr:.8g}}"{rate}


def diverged_line(epoch, E, lr, kept, reason):
    shown = f"{{E:.4g}}" if math.isfinite(E) else str(E)
    return (f"diverged at epoch {{epoch}}: the loss {{reason}} ({{shown}}) with learning rate "
            f"{{lr:g}}; kept the weights of epoch {{kept}}. Try a smaller learning rate "
            f"(e.g. {{lr / 10:g}}).")


def timing(epochs, seconds):
    speed = epochs / seconds if seconds > 0 else 0.0
    shown = f"{{seconds:.2f}} s" if seconds < 10 else f"{{seconds:.1f}} s"
    return f" in {{shown}} ({{speed:,.0f}} epochs/s)"
'''


# --- training -----------------------------------------------------------------------------
def _train_code(c: ExperimentConfig) -> str:
    test = c.test_split > 0
    scheduled = c.schedule != "none"
    lines = [
        section("training"),
        f"def train(W, X, y{', X_test, y_test' if test else ''}):",
        _wrap_doc(
            f"EPOCHS epochs of {'mini-batch' if c.batch_size else 'full-batch'} training "
            "as nn-tui trains, printing the log. Returns the weights it ends with (or "
            "kept, after a divergence), the epochs completed and whether it diverged."),
    ]
    optimizer = parts.OPTIMIZER_CLASSES[c.optimizer].replace("params", "W")
    lines.append(f"    optimizer = {optimizer}")
    if scheduled:
        lines.append(f"    schedule = {parts.SCHEDULE_CLASSES[c.schedule]}")
    lines += [
        "    lr = LR",
        "    first = None  # epoch 1's loss: a report above BLOW_UP times it has diverged",
        "    best_loss = best_epoch = best = None  # the lowest reported loss and its weights",
        "    before = W  # the weights before the last update",
    ]
    if c.batch_size:
        lines += ["    shuffle = np.random.default_rng([SEED, 0x5EED])  # nn-tui's stream for it",
                  "    N = X.shape[1]  # the number of points"]
        if c.regression:
            lines.append("    spread = float(np.sum((y - y.mean()) ** 2))  # for R^2 over "
                         "the batches")
    lines.append("    for epoch in range(1, EPOCHS + 1):")
    lines += _minibatch_epoch(c) if c.batch_size else _full_batch_epoch(c)
    figures = f"E, {'P, ' if c.regularized else ''}{_score_names(c)}, lr"
    if test:
        figures += ", test_figures(W, X_test, y_test)"
    ind = BODY
    lines += [
        f"{ind}if first is None:  # nn-tui keeps epoch 1's weights as the best so far",
        f"{ind}    first, best_loss, best_epoch, best = E, E, epoch, W",
        f"{ind}if epoch % LOG_EVERY == 0 or epoch == EPOCHS:",
        f"{ind}    if first * BLOW_UP < E:  # worse than at the start: the rate is too large",
        f"{ind}        reason = f\"rose to {{E / first:.1f}}x the first epoch's loss\"",
        f"{ind}        print(diverged_line(epoch, E, lr, best_epoch, reason))",
        f"{ind}        return best, epoch, True",
        f"{ind}    if best_loss > E:",
        f"{ind}        best_loss, best_epoch, best = E, epoch, W",
        f"{ind}    print(epoch_line(epoch, {figures}))",
    ]
    step = [f"{ind}before = W", f"{ind}W = optimizer.step(W, grad_W, lr)"]
    rate = []
    if scheduled:
        rate = [f"{ind}if epoch < EPOCHS:  # a rate after the last epoch would go unused",
                f"{ind}    new, why = schedule.new_rate(epoch, E, lr)",
                f"{ind}    if why is not None:",
                f"{ind}        print(rate_line(epoch, lr, new, why))",
                f"{ind}        lr = new"]
    if c.batch_size:
        lines += rate  # the epoch's steps are made: a new rate is the next epoch's
    elif c.optimizer != "sgd" and scheduled:
        lines.append(f"{ind}# nn-tui's {c.optimizer} steps with the rate the schedule sets now")
        lines += rate + step
    else:
        if scheduled:
            lines.append(f"{ind}# this epoch steps with its own rate; a new one is the next's")
        lines += step + rate
    lines.append("    return W, EPOCHS, False")
    out = "\n".join(lines)
    if test:
        out += "\n\n\n" + _test_figures_code(c.regression).strip("\n")
    return out


def _full_batch_epoch(c: ExperimentConfig) -> list[str]:
    ind = BODY
    lines = [f"{ind}a, z = forward(W, X)", f"{ind}E = loss(a[-1], z[-1], y)"]
    if c.regularized:
        lines += [f"{ind}P = penalty(W)  # the penalty of the weights in use", f"{ind}E += P"]
    lines += [
        f"{ind}if not math.isfinite(E):  # overflow: keep the last weights with a finite loss",
        f"{ind}    reason = \"became infinite or not a number\"",
        f"{ind}    print(diverged_line(epoch, E, lr, epoch - 1, reason))",
        f"{ind}    return before, epoch - 1, True",
        f"{ind}grad_W = backward(W, a, z, y)",
    ]
    if c.regularized:
        lines.append(f"{ind}grad_W = penalty_gradient(grad_W, W)")
    lines.append(f"{ind}r2, mae = scores(a[-1], y)" if c.regression
                 else f"{ind}accuracy = correct(a[-1], y) / y.shape[1]")
    return lines


def _minibatch_epoch(c: ExperimentConfig) -> list[str]:
    ind, inner = BODY, BODY + "    "
    add = ("E += E_batch  # the loss is a sum over the points" if c.loss in parts.SUMMED_LOSSES
           else "E += E_batch * len(batch) / N  # each batch's mean, weighted by its size")
    lines = [f"{ind}order = shuffle.permutation(N)  # a fresh order every epoch"]
    if c.regularized:
        lines.append(f"{ind}P = penalty(W)  # at the weights the epoch starts from")
    lines += [
        f"{ind}E, squares, absolute = 0.0, 0.0, 0.0" if c.regression
        else f"{ind}E, right = 0.0, 0",
        f"{ind}for start in range(0, N, BATCH_SIZE):",
        f"{inner}batch = order[start : start + BATCH_SIZE]",
        f"{inner}X_b, y_b = np.ascontiguousarray(X[:, batch]), y[:, batch]  # C order: "
        "nn-tui's",
        f"{inner}a, z = forward(W, X_b)",
        f"{inner}E_batch = loss(a[-1], z[-1], y_b)",
        f"{inner}if not math.isfinite(E_batch):  # overflow: keep the weights before the step",
        f"{inner}    reason = \"became infinite or not a number\"",
        f"{inner}    print(diverged_line(epoch, E_batch, lr, epoch - 1, reason))",
        f"{inner}    return before, epoch - 1, True",
        f"{inner}grad_W = backward(W, a, z, y_b)",
    ]
    if c.regularized:
        lines.append(f"{inner}grad_W = penalty_gradient(grad_W, W)  # all of it, every step")
    lines += [
        f"{inner}{add}",
        *([f"{inner}e = (a[-1] - y_b).ravel()",
           f"{inner}squares, absolute = squares + float(e @ e), absolute + float(np.abs(e).sum())"]
          if c.regression else [f"{inner}right += correct(a[-1], y_b)"]),
        f"{inner}before = W",
        f"{inner}W = optimizer.step(W, grad_W, lr)",
    ]
    if c.regularized:
        lines += [
            f"{ind}E += P",
            f"{ind}if not math.isfinite(E):  # the weights blew up, the data loss did not",
            f"{ind}    reason = \"became infinite or not a number\"",
            f"{ind}    print(diverged_line(epoch, E, lr, epoch - 1, reason))",
            f"{ind}    return before, epoch - 1, True",
        ]
    if c.regression:
        lines += [f"{ind}r2 = 1.0 - squares / spread if spread > 0 else math.nan",
                  f"{ind}mae = absolute / y.size"]
    else:
        lines.append(f"{ind}accuracy = right / N")
    return lines


def _test_figures_code(regression: bool) -> str:
    if regression:
        return '''
def test_figures(W, X_test, y_test):
    """The test set's loss (the data's alone), R^2 and mean absolute error, at these
    weights."""
    a, z = forward(W, X_test)
    return loss(a[-1], z[-1], y_test), *scores(a[-1], y_test)
'''
    return '''
def test_figures(W, X_test, y_test):
    """The test set's loss (the data's alone) and accuracy, at these weights."""
    a, z = forward(W, X_test)
    return loss(a[-1], z[-1], y_test), correct(a[-1], y_test) / y_test.shape[1]
'''


# --- the testing printout ----------------------------------------------------------------------
PRINTOUT_SCORES = {
    "binary": ('''
    classes, truths = predicted(out), points[:, 2]
    accuracy = np.count_nonzero(classes == (truths > 0.5)) / len(points)''', '''
        mark = "  wrong" if classes[i] != (truths[i] > 0.5) else ""
        shown = f"truth {truths[i]:.0f} predict {out[0, i]:.8f}{mark}"''',
        'accuracy={percent(accuracy).strip()}'),
    "classes": ('''
    classes, truths = predicted(out), points[:, 2].astype(int)
    accuracy = np.count_nonzero(classes == truths) / len(points)''', '''
        k = classes[i]  # the predicted class, and its probability
        p = out[k, i] if k >= 0 else math.nan
        mark = "  wrong" if k != truths[i] else ""
        shown = f"truth {truths[i]} predict {k} (p {p:.4f}){mark}"''',
        'accuracy={percent(accuracy).strip()}'),
    "regress": ('''
    predictions, truths = out[0], points[:, 2]
    residual = float(np.sum((predictions - truths) ** 2))
    spread = float(np.sum((truths - truths.mean()) ** 2))
    r2 = 1.0 - residual / spread if spread > 0 else math.nan
    mae = float(np.mean(np.abs(predictions - truths)))''', '''
        shown = f"truth {truths[i]:.5g} predict {predictions[i]:.5g}"''',
        'R²={r2_text(r2)} {prefix}MAE={mae:.4g}'),
}
"""Per task: the printout's score, one point's truth and prediction, and the totals'."""


def _printout_code(c: ExperimentConfig) -> str:
    plus = ""
    if c.regularized:
        plus = ('\n    if split == "train":  # the training loss includes the penalty\n'
                "        E += penalty(W)")
    score, point, totals = PRINTOUT_SCORES[task(c)]
    what = "R^2 and mean absolute error" if c.regression else "accuracy"
    doc = _wrap_doc(f"Every point's prediction beside its truth, then the loss and {what} "
                    "of these weights (after the last update; an epoch line measures its "
                    "epoch before its update), computed in float64 as nn-tui's printout does.")
    return f'''
def printout(W, points, split, kept):
{doc}
    X, y = columns(points)
    a, z = forward(W, X)
    out, z_out = a[-1].astype(np.float64), z[-1].astype(np.float64)
    E = loss(out, z_out, y.astype(np.float64)){plus}{score}
    weights = "the weights it kept" if kept else "the final weights"
    name = "training set" if split == "train" else "test set"
    if not QUIET:
        print()
    print(f"testing {{weights}} on the {{name}} ({{len(points):,}} points):")
    width = max(3, len(str(len(points) - 1)))
    for i in range(0 if QUIET else len(points)):
        x = ", ".join(f"{{v:6.3f}}" for v in points[i, :2]){point}
        print(f"[{{i:{{width}}d}}] x=({{x}}) {{shown}}")
    prefix = "test " if split == "test" else ""
    print(f"{{prefix}}loss={{loss_text(E)}} {{prefix}}{totals}")
'''


def _print_line(text: str, indent: str = "    ") -> str:
    """``print("text")``, the string split over lines within WIDTH where it is long."""
    one = f"{indent}print({text!r})"
    if len(one) <= WIDTH:
        return one
    chunks = textwrap.wrap(text, WIDTH - len(indent) - 16, drop_whitespace=False,
                           break_on_hyphens=False)
    inner = indent + "      "
    return f"{indent}print(" + f"\n{inner}".join(repr(chunk) for chunk in chunks) + ")"


def _main_code(c: ExperimentConfig, data: DataBundle, intro: Sequence[str]) -> str:
    layers = range(1, len(c.sizes))
    start = f"[{', '.join(f'W{i}' for i in layers)}]"
    has_test = len(data.X_test) > 0
    lines = ["def main():", "    X, y = columns(TRAIN)"]
    if has_test:
        lines.append("    X_test, y_test = columns(TEST)")
    lines += [_print_line(line) for line in intro]
    lines += [
        "    start = time.perf_counter()",
        '    with np.errstate(all="ignore"):  # an overflow becomes inf, which train reports',
        f"        W, epochs, diverged = train({start}, X, y"
        f"{', X_test, y_test' if has_test else ''})",
        "        seconds = time.perf_counter() - start",
        "        if diverged:",
        '            print(f"stopped at epoch {epochs:,} of {EPOCHS:,}" + timing(epochs, seconds))',
        "        else:",
        '            print(f"finished {epochs:,} epochs" + timing(epochs, seconds))',
        '        printout(W, TRAIN, "train", kept=diverged)',
    ]
    if has_test:
        lines.append('        printout(W, TEST, "test", kept=diverged)')
    return "\n".join(lines)


# --- the literal arrays -------------------------------------------------------------------
def _literals(c: ExperimentConfig, data: DataBundle, network) -> str:
    blocks = [section("the points and the initial weights (nn-tui's, every float exact)")]
    if data.scaler.method != "none":
        if data.scaler.method != "max":
            blocks.append(_array("OFFSET", data.scaler.offset, "the training points' "
                                 + ("minimum" if data.scaler.method == "minmax" else "mean")))
        blocks.append(_array("SCALE", data.scaler.scale, "per column"))
    label = f"rows of x1, x2, {TARGETS[task(c)][0]}, as nn-tui"
    blocks.append(_array("TRAIN", np.column_stack([data.X_train_raw, data.labels("train")]),
                         f"the training points: {label} has them"))
    if len(data.X_test):
        blocks.append(_array("TEST", np.column_stack([data.X_test_raw, data.labels("test")]),
                             "the test points held out"))
    for i, (P, fan_in) in enumerate(zip(network.params, c.sizes, strict=False), start=1):
        what = f"layer {i}'s weights, {fan_in} x {P.shape[1]}"
        if c.bias:
            zero = "" if np.any(P[fan_in]) else " (0 to start)"
            what += f", and its biases{zero} as the last row"
        blocks.append(_array(f"W{i}", P, what, dtype=True))
    return "\n".join(blocks)


def _array(name: str, values: np.ndarray, comment: str, dtype: bool = False) -> str:
    """``NAME = np.array([...])``, one row per line, every float exact (``repr``)."""
    values = np.asarray(values)
    tail = ", dtype=DTYPE)" if dtype else ")"
    head = f"{name} = np.array(["
    if values.ndim == 1:
        items = [_float(v) for v in values]
        one = f"{head}{', '.join(items)}]{tail}  # {comment}"
        if len(one) <= WIDTH:
            return one
        return f"# {comment}\n{head}\n" + "\n".join(_wrapped(items, "    ")) + f"\n]{tail}"
    rows = []
    for row in values:
        rows += _wrapped([_float(v) for v in row], "    ", bracket=True)
    return f"# {comment}\n{head}\n" + "\n".join(rows) + f"\n]{tail}"


def _wrapped(items: list[str], indent: str, bracket: bool = False) -> list[str]:
    """Items separated by commas in lines of at most WIDTH characters; with ``bracket``,
    one row ``[a, b, ...],`` (continued under its first item)."""
    lines, line = [], indent + ("[" if bracket else "")
    lead = indent + (" " if bracket else "")
    for k, item in enumerate(items):
        last = k == len(items) - 1
        piece = item + ("]," if bracket and last else ",")
        if len(line) + len(piece) + 1 > WIDTH and line.strip(" ["):
            lines.append(line.rstrip())
            line = lead
        line += piece if line.endswith(("[", " ")) else " " + piece
    lines.append(line.rstrip())
    return lines


def _float(value: float) -> str:
    """The shortest text that reads back as this float (a float32 as its exact float64)."""
    value = float(value)
    if not math.isfinite(value):
        raise ScriptError(f"a value {value} cannot be written into a script")
    return repr(value)


__all__ = ["MAX_SCRIPT_PARAMETERS", "MAX_SCRIPT_POINTS", "ScriptError", "bit_for_bit",
           "check_exportable",
           "training_script", "write_script"]
