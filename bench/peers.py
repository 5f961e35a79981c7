"""The engine against the alternatives: microseconds per epoch on the engine issue's workloads.

Run:  python bench/peers.py            (about 2.5 minutes on 2 cores)
      python bench/peers.py --quick    (shorter blocks, fewer repeats, (e) skipped)

Every variant trains the same network the same way: full batch, sigmoid on every layer,
biases on, loss 1/2 sum (a - y)^2, plain SGD with lr 0.5 (n <= 100) or 0.5 / n (beyond,
so that nothing saturates), one step per epoch. They are timed side by side in one run,
taking turns block by block (each block lasts about as long for every variant), and each
figure is the median over the repeats of (block time) / (epochs in the block).

  trainer64/32  engine.Trainer in float64 / float32 with all its bookkeeping: the loss
                every epoch, the accuracy on every epoch it records in its bounded
                history (every epoch for its first 32,768, which a run of this script
                mostly stays within) or reports, the halving schedule, the divergence
                guard, double-buffered parameters
  floor64/32    the hand-tuned NumPy floor (``Floor`` below): the same math as a flat list
                of preallocated in-place NumPy calls and nothing else (no loss, no
                accuracy, no history). Two exact rewritings of the sigmoid are timed and
                the faster one is shown (its name in brackets)
  naive         bench/naive.py, the homework's plain code (no biases, allocates every array)
  torch32/64    PyTorch CPU eager, as a PyTorch user writes it: nn.Sequential of Linear and
                Sigmoid, MSELoss(reduction="sum") / 2, optim.SGD, zero_grad / backward /
                step; torch.set_num_threads(2); no .item() per epoch (its best case)
  sklearn       scikit-learn's MLPClassifier (logistic hidden units, solver="sgd",
                batch_size=n, momentum=0, alpha=0, shuffle=False), one partial_fit per
                epoch. Same architecture, NOT the same loss: it minimises the mean log-loss
                of its logistic output (learning_rate_init=0.5 on the mean gradient)

PyTorch and scikit-learn are optional (never a dependency of nn-tui): a column says
"not installed" when the import fails. Ratios quoted below are ratios of medians.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script from bench/: keep bench/ off sys.path (bench/engine.py would shadow the
# engine package) and put the repository root on it.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from bench.common import (  # noqa: E402
    Timings,
    calibrate,
    fmt_ratio,
    fmt_us,
    interleaved,
    learning_rate,
    numpy_call_counter,
    print_header,
    spread,
    targets_block,
    trainer_for,
)
from bench.naive import HomeworkNetwork  # noqa: E402
from engine import make_dataset  # noqa: E402

# name, dataset, n, hidden
WORKLOADS = [
    ("(a) linear n=100 h=4,4", "linear", 100, (4, 4)),
    ("(b) xor n=21 h=4,4", "xor", 21, (4, 4)),
    ("(c) linear n=100 h=10,5,3,5", "linear", 100, (10, 5, 3, 5)),
    ("(d) linear n=10,000 h=64,64", "linear", 10_000, (64, 64)),
    ("(e) linear n=100,000 h=256,256", "linear", 100_000, (256, 256)),
]
# seconds per timed block and repeats: (full, quick)
BLOCK_SECONDS = (0.08, 0.03)
REPEATS = (9, 5)
BIG_REPEATS = (5, 3)  # (d) and (e), whose blocks are one or a few epochs
# rounds run again at most when other processes were busy: (small, big) workloads
EXTRA_ROUNDS = (9, 2)
SETTLE_SECONDS = 0.15  # untimed pause before each block of (d) and (e): see interleaved()


# --- the floor ---------------------------------------------------------------------------
class Floor:
    """The trainer's math as the tightest NumPy we could write: a flat tape of calls.

    Feature-major buffers (one row per unit, one column per point), the augmented-bias
    trick (a row of ones under each layer's input, the bias as the last row of each
    parameter matrix: no call is spent on biases; separate biases cost three more calls
    per layer), ``out=`` everywhere, scalars as 0-d arrays of the buffers' dtype (a
    Python float costs NumPy a conversion on every call), the learning rate folded into
    the output delta, the update in place, the matrix products as the arrays' own ``dot``
    methods (``np.dot`` costs a dispatch more). An epoch is one loop over a prebuilt list of
    ``(function, arguments)``: 4 calls per layer forward, 5 for the output delta, then per
    layer 1 for the gradient, 1 for the update and, below the top, 4 for the delta: 31
    calls for 2-4-4-1.

    Two exact rewritings of the sigmoid (both need only 3 ufunc calls; the plain
    ``0.5 tanh(z / 2) + 0.5`` needs 4). Each keeps the parameters multiplied by a power
    of two, ``Q = c P``, which is exact in binary floating point, so every float matches
    the plain formula's up to rounding of the sigmoid itself (the trainer gets the same
    saving from the tanh form by halving its sigmoid layers' inputs instead of the
    weights, see engine/fast/workspace.py):

    * ``exp``  (c = -1): ``z' = -z``, ``a = 1 / (1 + exp(z'))``;
      the deltas absorb the sign: delta_below = (Q_W D) * (a^2 - a)
    * ``tanh`` (c = 1/2): ``z' = z / 2``, ``t = tanh(z')``, ``a = 0.5 t + 0.5``;
      ``2 a (1 - a) = a (1 - t)`` absorbs the factor 2 that ``c`` puts into the deltas

    It keeps no loss, no accuracy, no history: that is the trainer's bookkeeping.
    """

    FORMS = ("exp", "tanh")

    def __init__(self, X, y, params, lr: float, dtype: str, form: str) -> None:
        dt = np.dtype(dtype)
        n = len(X)
        sizes = [params[0].shape[0] - 1] + [p.shape[1] for p in params]
        c = -1.0 if form == "exp" else 0.5
        self.c, self.form, self.dtype = c, form, dt
        Q = [np.ascontiguousarray(np.asarray(p, np.float64) * c, dtype=dt) for p in params]
        self.Q = Q
        L = len(Q)
        x = [np.ones((fan_in + 1, n), dtype=dt) for fan_in in sizes[:-1]]
        x[0][:-1] = X.T
        a = [xi[:-1] for xi in x[1:]] + [np.empty((sizes[-1], n), dtype=dt)]
        z = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        D = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        s = [np.empty((fan_out, n), dtype=dt) for fan_out in sizes[1:]]
        G = [np.empty_like(q) for q in Q]
        yT = np.ascontiguousarray(np.asarray(y).reshape(n, -1).T, dtype=dt)
        one, half = np.array(1.0, dtype=dt), np.array(0.5, dtype=dt)
        # D_L = k (a - y) a (1 - a) with k = -c lr; the tanh form's s is 2 a (1 - a)
        k = np.array(lr if form == "exp" else -lr / 4, dtype=dt)
        add, sub, mul = np.add, np.subtract, np.multiply
        tape: list[tuple[Callable, tuple]] = []
        for i in range(L):
            tape.append((Q[i].T.dot, (x[i], z[i])))
            if form == "exp":  # z holds 1 + exp(-z) afterwards
                tape += [(np.exp, (z[i], z[i])), (add, (z[i], one, z[i]))]
                tape.append((np.reciprocal, (z[i], a[i])))
            else:  # z holds t = tanh(z / 2) afterwards
                tape += [(np.tanh, (z[i], z[i])), (mul, (z[i], half, a[i]))]
                tape.append((add, (a[i], half, a[i])))
        out, top, st = a[-1], D[-1], s[-1]
        tape.append((sub, (out, yT, top)))
        if form == "exp":  # s = a - a^2
            tape += [(mul, (out, out, st)), (sub, (out, st, st))]
        else:  # s = a (1 - t) = 2 a (1 - a)
            tape += [(sub, (one, z[-1], st)), (mul, (st, out, st))]
        tape += [(mul, (top, st, top)), (mul, (top, k, top))]
        for i in range(L - 1, -1, -1):
            tape.append((x[i].dot, (D[i].T, G[i])))
            if i:
                below, ab, sb = D[i - 1], a[i - 1], s[i - 1]
                tape.append((Q[i][:-1].dot, (D[i], below)))
                if form == "exp":  # s = a^2 - a = -a (1 - a): the sign of c
                    tape += [(mul, (ab, ab, sb)), (sub, (sb, ab, sb))]
                else:  # s = a (1 - t) = 2 a (1 - a): the factor 1 / c^2 * c
                    tape += [(sub, (one, z[i - 1], sb)), (mul, (sb, ab, sb))]
                tape.append((mul, (below, sb, below)))
            tape.append((add, (Q[i], G[i], Q[i])))
        self.tape = tape

    @property
    def calls_per_epoch(self) -> int:
        return len(self.tape)

    def params(self) -> list[np.ndarray]:
        """The parameters in the trainer's own layout and scale (``P = Q / c``)."""
        return [q.astype(np.float64) / self.c for q in self.Q]

    def run(self, epochs: int) -> None:
        tape = self.tape
        with np.errstate(over="ignore"):  # exp of a large -z is inf: 1 / inf is the right 0
            for _ in range(epochs):
                for f, args in tape:
                    f(*args)


# --- the optional peers ------------------------------------------------------------------
def load_torch():
    try:
        import torch
    except Exception:  # ImportError, or a broken install: either way, not available
        return None
    torch.set_num_threads(2)
    return torch


def load_sklearn():
    try:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except Exception:
        return None
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    return MLPClassifier


class TorchNet:
    """What a PyTorch user writes, started from the trainer's initial weights."""

    def __init__(self, torch, X, y, params, lr: float, dtype: str) -> None:
        tdt = getattr(torch, dtype)
        layers = []
        for p in params:
            lin = torch.nn.Linear(p.shape[0] - 1, p.shape[1], dtype=tdt)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(p[:-1].T)))
                lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(p[-1])))
            layers += [lin, torch.nn.Sigmoid()]
        self.model = torch.nn.Sequential(*layers)
        self.X = torch.from_numpy(np.ascontiguousarray(X)).to(tdt)
        self.y = torch.from_numpy(np.ascontiguousarray(y).reshape(len(X), -1)).to(tdt)
        self.loss_fn = torch.nn.MSELoss(reduction="sum")
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr)

    def run(self, epochs: int) -> None:
        model, loss_fn, opt, X, y = self.model, self.loss_fn, self.opt, self.X, self.y
        for _ in range(epochs):
            opt.zero_grad()
            loss = loss_fn(model(X), y) / 2
            loss.backward()
            opt.step()

    def params(self) -> list[np.ndarray]:
        lins = [m for m in self.model if hasattr(m, "weight")]
        return [
            np.vstack([m.weight.detach().numpy().T, m.bias.detach().numpy()[None, :]]).astype(
                np.float64
            )
            for m in lins
        ]


class SklearnNet:
    """MLPClassifier with the same architecture, one full-batch SGD step per partial_fit."""

    def __init__(self, MLPClassifier, X, y, hidden, n: int) -> None:
        self.clf = MLPClassifier(
            hidden_layer_sizes=hidden,
            activation="logistic",
            solver="sgd",
            batch_size=n,
            learning_rate_init=0.5,
            max_iter=1,
            warm_start=True,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            shuffle=False,
            random_state=0,
        )
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.y = np.asarray(y).reshape(-1).astype(int)
        self.clf.partial_fit(self.X, self.y, classes=np.array([0, 1]))

    def run(self, epochs: int) -> None:
        fit, X, y = self.clf.partial_fit, self.X, self.y
        for _ in range(epochs):
            fit(X, y)


# --- one workload --------------------------------------------------------------------------
def max_param_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(p - q))) for p, q in zip(a, b, strict=True))


def trainer_calls(dataset: str, n: int, hidden) -> tuple[float, float]:
    """The trainer's NumPy calls per epoch: on an epoch it records in its history, and not.

    It first trains inside the counter, so that the tapes it builds then hold the counting
    wrappers. Its first 2,048 epochs are all recorded (their accuracies are counted up to
    1,024 at a time). A history of capacity 4 soon keeps only every 16th epoch or fewer,
    leaving epochs it does not record.
    """
    every = trainer_for(dataset, n, hidden, "float64")
    t = trainer_for(dataset, n, hidden, "float64", history_capacity=4)
    with numpy_call_counter() as counts:
        every.run(epochs=2)
        counts.clear()
        every.run(epochs=2048)  # epochs 3 to 2,050: all recorded
        recorded = sum(counts.values()) / 2048
        t.run(epochs=64)  # epoch 64 is a row (the stride is 32 by then)
        start = t.epoch
        counts.clear()
        t.run(epochs=t.history.next_epoch - 1 - start)  # up to the next row, in one go
        plain = sum(counts.values()) / (t.epoch - start)
    return plain, recorded


def same_math(dataset: str, n: int, hidden, torch) -> str:
    """Train 10 epochs from one start: the floor's and torch's weights against the trainer's."""
    epochs = 10
    t = trainer_for(dataset, n, hidden, "float64")
    start = [p.copy() for p in t.network.params]
    X, y, lr = t.data.X_train, t.data.y_train, learning_rate(n)
    t.run(epochs=epochs)
    ref = [p.copy() for p in t.network.params]
    parts = []
    for form in Floor.FORMS:
        f = Floor(X, y, start, lr, "float64", form)
        f.run(epochs)
        parts.append(f"floor[{form}] {max_param_diff(ref, f.params()):.0e}")
    if torch is not None:
        tn = TorchNet(torch, X, y, start, lr, "float64")
        tn.run(epochs)
        parts.append(f"torch64 {max_param_diff(ref, tn.params()):.0e}")
    plain, recorded = trainer_calls(dataset, n, hidden)
    return (
        f"same math: max |weight difference| to trainer64 after {epochs} epochs: "
        + ", ".join(parts)
        + f"\nNumPy calls per epoch: trainer {plain:.0f} ({recorded:.0f} on an epoch it records"
        + f" in its history), floor {f.calls_per_epoch}"
    )


def bench(workload, quick: bool, torch, MLPClassifier) -> Timings:
    name, dataset, n, hidden = workload
    big = n > 1000
    reps = (BIG_REPEATS if big else REPEATS)[quick]
    block_seconds = BLOCK_SECONDS[quick]
    lr = learning_rate(n)

    X_raw, y_raw = make_dataset(dataset, n, 0.0, 0)
    naive = HomeworkNetwork(X_raw, y_raw, hidden, lr=lr)
    counter = [0]

    def naive_step(k: int) -> None:
        for _ in range(k):
            naive.train(counter[0])
            counter[0] += 1

    steps: dict[str, Callable[[int], object]] = {}
    steps["naive"] = naive_step
    for dtype, suffix in (("float64", "64"), ("float32", "32")):
        t = trainer_for(dataset, n, hidden, dtype)
        start = [p.astype(np.float64) for p in t.network.params]
        X, y = t.data.X_train, t.data.y_train
        steps["trainer" + suffix] = lambda k, t=t: t.run(epochs=k)
        for form in Floor.FORMS:
            steps[f"floor{suffix}[{form}]"] = Floor(X, y, start, lr, dtype, form).run
        if torch is not None:
            steps["torch" + suffix] = TorchNet(torch, X, y, start, lr, dtype).run
    if MLPClassifier is not None:
        steps["sklearn"] = SklearnNet(MLPClassifier, X, y, hidden, n).run

    # blocks of about the same duration for every variant (calibration warms them up)
    most = 1 if n >= 100_000 else 1 << 20
    blocks = {key: calibrate(step, block_seconds, most) for key, step in steps.items()}
    extra = EXTRA_ROUNDS[big] if not quick else 2
    # let the BLAS and OpenMP threads of the previous variant go idle before each block
    settle = SETTLE_SECONDS if big else 0.0
    return interleaved(steps, blocks, reps, warmup=False, extra_rounds=extra, settle=settle)


# --- the report ------------------------------------------------------------------------------
ROWS = [
    ("trainer64", "engine.Trainer float64, bookkeeping included"),
    ("floor64", "hand-tuned NumPy float64, no bookkeeping"),
    ("trainer32", "engine.Trainer float32"),
    ("floor32", "hand-tuned NumPy float32"),
    ("naive", "the homework's code (no biases)"),
    ("torch64", "PyTorch eager float64"),
    ("torch32", "PyTorch eager float32"),
    ("sklearn", "MLPClassifier float64 (log-loss)"),
]


LEFT_OUT: set[str] = set()  # peers left out with --without


def pick_floor(times: dict[str, list[float]], suffix: str) -> tuple[str, list[float]]:
    """The faster of the two floor forms (by median) and its samples."""
    forms = {
        form: times[f"floor{suffix}[{form}]"]
        for form in Floor.FORMS
        if f"floor{suffix}[{form}]" in times
    }
    form = min(forms, key=lambda f: statistics.median(forms[f]))
    return form, forms[form]


def report(workload, times, torch, MLPClassifier, quick: bool) -> list[tuple]:
    name, _, n, _ = workload
    med = {key: statistics.median(v) for key, v in times.items()}
    rows: dict[str, tuple[str, float, float] | None] = {}
    for suffix in ("64", "32"):
        form, samples = pick_floor(times, suffix)
        other = [f for f in Floor.FORMS if f != form][0]
        slower = med[f"floor{suffix}[{other}]"] / statistics.median(samples)
        med["floor" + suffix] = statistics.median(samples)
        note = f"[{form}; {other} x{slower:.2f}]"
        rows["floor" + suffix] = (note, med["floor" + suffix], spread(samples))
    for key in ("trainer64", "trainer32", "naive", "torch64", "torch32", "sklearn"):
        if key in times:
            rows[key] = ("", med[key], spread(times[key]))
        else:
            rows[key] = None
    print(f"\n{name}")
    print(f"  {'variant':<12}{'us/epoch':>10}{'spread':>8}{'/trainer':>10}  what")
    base = med["trainer64"]
    for key, what in ROWS:
        row = rows.get(key)
        if row is None:
            absent = "left out" if key.rstrip("0123456789") in LEFT_OUT else "not installed"
            print(f"  {key:<12}{absent:>18}{'':>10}  {what}")
            continue
        note, m, sp = row
        print(f"  {key:<12}{fmt_us(m)}{sp:>7.0%} {fmt_ratio(m / base, 9)}  {what} {note}".rstrip())

    def ratio(a: str, b: str) -> float | None:
        return med[a] / med[b] if a in med and b in med else None

    r = {
        "trainer/floor": ratio("trainer64", "floor64"),
        "trainer32/floor32": ratio("trainer32", "floor32"),
        "torch32/trainer": ratio("torch32", "trainer64"),
        "torch64/trainer": ratio("torch64", "trainer64"),
        "trainer32/torch32": ratio("trainer32", "torch32"),
        "naive/trainer": ratio("naive", "trainer64"),
    }
    print("  " + "  ".join(f"{k} {fmt_ratio(v, 0)}" for k, v in r.items()))
    if getattr(times, "others", None):
        print("  " + times.quiet_note())
    letter = name[1]
    targets = []
    if letter in "abc":
        targets.append((f"{name[:3]} trainer/floor", r["trainer/floor"], "<=", 1.2))
        targets.append((f"{name[:3]} torch32/trainer", r["torch32/trainer"], ">=", 5.0))
        targets.append((f"{name[:3]} torch64/trainer", r["torch64/trainer"], ">=", 5.0))
    if letter == "d":
        targets.append((f"{name[:3]} trainer32/torch32", r["trainer32/torch32"], "<=", 1.3))
    if letter == "e":
        targets.append((f"{name[:3]} trainer32/torch32", r["trainer32/torch32"], "<=", 1.1))
    return targets


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick", action="store_true", help="shorter blocks, fewer repeats; skip (e)"
    )
    parser.add_argument(
        "--only", default="", help="workload letters to run, e.g. 'ad' (default: all)"
    )
    parser.add_argument(
        "--without", default="", help="peers to leave out, e.g. 'torch,sklearn' (default: none)"
    )
    args = parser.parse_args()
    t_start = time.perf_counter()
    without = {s.strip() for s in args.without.split(",")}
    LEFT_OUT.update(without)
    torch = None if "torch" in without else load_torch()
    MLPClassifier = None if "sklearn" in without else load_sklearn()
    extra = []
    if torch is not None:
        extra.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    else:
        extra.append("torch " + ("left out" if "torch" in without else "not installed"))
    if MLPClassifier is not None:
        import sklearn

        extra.append(f"scikit-learn {sklearn.__version__}")
    else:
        extra.append("scikit-learn " + ("left out" if "sklearn" in without else "not installed"))
    print_header(["  ".join(extra)])
    print(
        "median microseconds per epoch (lower is better); spread = (max - min) / median "
        "of the repeats;\n/trainer = this variant's median / trainer64's"
    )
    targets = []
    for workload in WORKLOADS:
        letter = workload[0][1]
        if args.only and letter not in args.only:
            continue
        if args.quick and letter == "e":
            continue
        if workload[2] <= 10_000:
            print("\n" + same_math(workload[1], workload[2], workload[3], torch), end="")
        times = bench(workload, args.quick, torch, MLPClassifier)
        targets += report(workload, times, torch, MLPClassifier, args.quick)
    print("\n" + "\n".join(targets_block(targets)))
    print(f"\n({time.perf_counter() - t_start:.0f} s)")


if __name__ == "__main__":
    main()
