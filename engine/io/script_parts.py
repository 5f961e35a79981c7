"""The pieces of a training script (``engine.io.script``), one per setting's value.

Each piece is Python source, written as a student would write it: the activations as
``engine/nn/reference.py`` has them, the losses (the output layer and its loss, one
piece, so that a new kind of output is one more entry), the optimizers and the
learning-rate schedules as ``engine/optim`` computes them, operation for operation
where that costs no clarity (so that the script's floats follow nn-tui's closely).

A piece never depends on another piece's internals: the training loop calls only
``F[l]``, ``F_PRIME[l]``, ``loss``, ``output_delta``, the task's ``correct`` and
``predicted`` (or a regression's ``scores``), the optimizer's ``step`` and the schedule's
``new_rate``. Standard library only.
"""

from __future__ import annotations

# --- activations: name -> source of f(z) and f_prime(a, z) ---------------------------
# f_prime takes the layer's output a = f(z) and its input z: the course writes the
# sigmoid's as a (1 - a); swish and gelu are not monotonic and need z.
ACTIVATION_CODE: dict[str, str] = {
    "sigmoid": '''
def sigmoid(z):
    """1 / (1 + e^-z), computed as 0.5 tanh(z / 2) + 0.5 so that e^-z never overflows."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


def sigmoid_prime(a, z):
    """The course's a (1 - a), written a (1 - t) / 2 with t = tanh(z / 2): the same number
    (1 - a = (1 - t) / 2), rounded as nn-tui's trainer rounds it."""
    return a * (1 - np.tanh(0.5 * z)) / 2
''',
    "tanh": '''
def tanh(z):
    return np.tanh(z)


def tanh_prime(a, z):
    """1 - a^2, from the output a = tanh(z)."""
    return 1 - a * a
''',
    "relu": '''
def relu(z):
    return np.maximum(z, 0)


def relu_prime(a, z):
    """1 where the unit is on (a > 0), else 0."""
    return (a > 0).astype(a.dtype)
''',
    "leaky_relu": '''
LEAKY_SLOPE = 0.01


def leaky_relu(z):
    return np.maximum(z, LEAKY_SLOPE * z)


def leaky_relu_prime(a, z):
    """1 where a > 0, else the slope (a has the sign of z)."""
    return np.where(a > 0, 1, LEAKY_SLOPE).astype(a.dtype)
''',
    "linear": '''
def linear(z):
    return z


def linear_prime(a, z):
    return np.ones_like(a)
''',
    "elu": '''
def elu(z):
    """z where z > 0, else e^z - 1 (expm1 of min(z, 0): it never overflows)."""
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0)))


def elu_prime(a, z):
    """1 where z > 0, else e^z = a + 1."""
    return np.minimum(a, 0) + 1
''',
    "softplus": '''
def softplus(z):
    """log(1 + e^z) = max(z, 0) + log1p(e^-|z|); -|z| is kept above SOFTPLUS_FLOOR, where
    e^-|z| would underflow (the term is then negligible beside max(z, 0))."""
    return np.maximum(z, 0) + np.log1p(np.exp(np.maximum(-np.abs(z), SOFTPLUS_FLOOR)))


def softplus_prime(a, z):
    """sigmoid(z) = 1 - e^-a, as -expm1(-a) (exact for the tiny slopes of very negative z)."""
    return -np.expm1(-a)
''',
    "swish": '''
def swish(z):
    """z sigmoid(z) (SiLU)."""
    return z * sigmoid(z)


def swish_prime(a, z):
    """s + z s (1 - s) = s + a (1 - s), s = sigmoid(z)."""
    s = sigmoid(z)
    return s + a * (1 - s)
''',
    "gelu": '''
GELU_C = {gelu_c}  # sqrt(2 / pi)
GELU_K = {gelu_k}
GELU_CLIP = {gelu_clip}  # beyond it s is within 1e-28 of 0 or 1, and e^-2u cannot overflow


def gelu_s(z):
    """0.5 (1 + tanh(u)) = 1 / (1 + e^-2u), u = c (z + k z^3), for z clipped to +-9."""
    w = np.clip(z, -GELU_CLIP, GELU_CLIP)
    return 1 / (1 + np.exp(w * (1 + GELU_K * w**2) * (-2 * GELU_C)))


def gelu(z):
    """0.5 z (1 + tanh(sqrt(2 / pi) (z + 0.044715 z^3))), the tanh form (NumPy has no erf)."""
    return z * gelu_s(z)


def gelu_prime(a, z):
    """s + 2 c w (1 + 3 k w^2) s (1 - s), w the clipped z."""
    w, s = np.clip(z, -GELU_CLIP, GELU_CLIP), gelu_s(z)
    return s + w * (1 + 3 * GELU_K * w**2) * (2 * GELU_C) * ((1 - s) * s)
''',
}
ACTIVATION_CODE["softmax"] = '''
def softmax(z):
    """e^(z_k - m) / sum_j e^(z_j - m) over the classes (each column's rows), m the
    column's max: no exp overflows. Only ever ce's output layer."""
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
'''
# A sigmoid layer nn-tui computes plainly (one after a layer of another kind, or a bce
# output) rounds its f' as a - a^2; the run of sigmoid layers from the input up takes
# halved inputs there (engine/fast/workspace.py) and rounds it as the form above.
SIGMOID_PRIME_PLAIN = '''
def sigmoid_prime(a, z):
    """The course's a (1 - a), from the output a = sigmoid(z), as a - a^2 (nn-tui's order)."""
    return a - a * a
'''
ACTIVATION_NEEDS = {"swish": ("sigmoid",)}  # swish calls sigmoid


# --- the output layer's loss: name -> source --------------------------------------
# Each defines loss(a, z, y), the data loss E of outputs a, pre-activations z and targets
# y (one column per point), and output_delta(a, z, y) = delta_L = dE/dz_L. ``summed``
# losses add up over the points; the others are means.
LOSS_CODE: dict[str, str] = {
    "sse": '''
def loss(a, z, y):
    """The course's E = 1/2 sum (a - y)^2 over the points."""
    e = (a - y).ravel()
    return 0.5 * float(e @ e)


def output_delta(a, z, y):
    """delta_L = dE/da * f_L' = (a - y) f_L'."""
    return (a - y) * F_PRIME[-1](a, z)
''',
    "mse": '''
def loss(a, z, y):
    """E = mean (a - y)^2 over the N = y.size targets."""
    e = (a - y).ravel()
    return float(e @ e) / y.size


def output_delta(a, z, y):
    """delta_L = dE/da * f_L' = (a - y) (2 / N) f_L'."""
    return (a - y) * (2 / y.size) * F_PRIME[-1](a, z)
''',
    "bce": '''
def loss(a, z, y):
    """Binary cross-entropy, mean -[y log a + (1 - y) log(1 - a)] for a = sigmoid(z),
    computed from z as mean softplus(z) - y z: it never takes log(0)."""
    return float(np.mean(np.logaddexp(0, z) - y * z))


def output_delta(a, z, y):
    """delta_L = dE/dz = (a - y) / N: the sigmoid's a (1 - a) cancels against dE/da."""
    return (a - y) * (1 / y.size)
''',
}
LOSS_CODE["ce"] = '''
def loss(a, z, y):
    """Cross-entropy, mean over the points of -sum_k y_k log a_k for a = softmax(z),
    computed from z as logsumexp(z) - sum_k y_k z_k (y is one-hot): never log(0), and
    logsumexp(z) = m + log sum_k e^(z_k - m) with m = max_k z_k never overflows."""
    m = z.max(axis=0, keepdims=True)
    logsumexp = m[0] + np.log(np.exp(z - m).sum(axis=0))
    return float(np.mean(logsumexp - (y * z).sum(axis=0)))


def output_delta(a, z, y):
    """delta_L = dE/dz = (a - y) / N over the N points: the softmax's Jacobian cancels."""
    return (a - y) * (1 / y.shape[1])
'''
SUMMED_LOSSES = frozenset({"sse"})

# --- what the outputs mean: task -> source ---------------------------------------------
# "binary" and "classes" define correct(a, y) (how many points are classified right) and
# predicted(a) (each point's class, -1 for an output that is not a number); "regress"
# defines scores(a, y) (R^2 and the mean absolute error).
TASK_CODE: dict[str, str] = {
    "binary": '''
def correct(a, y):
    """How many points are on the right side of 0.5 (an output that is not a number
    predicts class 0 here, as nn-tui's training counts)."""
    return int(np.count_nonzero((a > 0.5) == (y > 0.5)))


def predicted(a):
    """Each point's class (a row): 1 above 0.5, 0 at or below it, -1 for an output that is
    not a number (it predicts nothing, and counts as wrong)."""
    return np.where(np.isfinite(a), a > 0.5, -1)[0]
''',
    "classes": '''
def correct(a, y):
    """How many points' most probable class is their own."""
    return int(np.count_nonzero(a.argmax(axis=0) == y.argmax(axis=0)))


def predicted(a):
    """Each point's most probable class, -1 where an output is not a number."""
    return np.where(np.isfinite(a).all(axis=0), a.argmax(axis=0), -1)


def one_hot(labels):
    """One column per point: 1 in its class's row, 0 elsewhere (the softmax's targets)."""
    return np.eye(CLASSES)[labels.astype(np.int64)].T
''',
    "regress": '''
def scores(a, y):
    """R^2 = 1 - sum (a - y)^2 / sum (y - mean y)^2 (1 is a perfect fit; NaN for targets
    that do not vary) and the mean absolute error, of outputs a against targets y."""
    e = (a - y).ravel()
    centred = y - y.mean()
    spread = float(np.vdot(centred, centred))
    r2 = 1.0 - float(e @ e) / spread if spread > 0 else math.nan
    return r2, float(np.abs(e).sum()) / e.size
''',
}  # a mini-batch epoch adds these up, averages the others


# --- optimizers: name -> source of a class with step(params, grads, lr) ---------------
OPTIMIZER_CODE: dict[str, str] = {
    "sgd": '''
class SGD:
    """Gradient descent: w <- w - lr dE/dw."""

    def step(self, params, grads, lr):
        return [p - lr * g for p, g in zip(params, grads, strict=True)]
''',
    "momentum": '''
class Momentum:
    """Heavy-ball momentum: v <- mu v - lr dE/dw;  w <- w + v."""

    def __init__(self, params):
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads, lr):
        self.v = [MOMENTUM * v - lr * g for v, g in zip(self.v, grads, strict=True)]
        return [p + v for p, v in zip(params, self.v, strict=True)]
''',
    "adam": '''
class Adam:
    """Adam (Kingma & Ba 2015): m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    w <- w - lr m_hat / (sqrt(v_hat) + eps), with the bias corrections m_hat = m / (1 - b1^t)
    and v_hat = v / (1 - b2^t) folded into one step size (the paper's section 2 form)."""

    B1, B2, EPS = 0.9, 0.999, 1e-8

    def __init__(self, params):
        self.t = 0
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]

    def step(self, params, grads, lr):
        self.t += 1
        b1, b2, t = self.B1, self.B2, self.t
        alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        eps = self.EPS * math.sqrt(1 - b2**t)
        self.m = [b1 * m + (1 - b1) * g for m, g in zip(self.m, grads, strict=True)]
        self.v = [b2 * v + g * g * (1 - b2) for v, g in zip(self.v, grads, strict=True)]
        return [p + m / (np.sqrt(v) + eps) * -alpha
                for p, m, v in zip(params, self.m, self.v, strict=True)]
''',
}
OPTIMIZER_CLASSES = {"sgd": "SGD()", "momentum": "Momentum(params)", "adam": "Adam(params)"}


# --- learning-rate schedules: name -> source of a class with new_rate(epoch, loss, lr) --
# new_rate returns (the rate from the next step on, why it changed or None).
SCHEDULE_CODE: dict[str, str] = {
    "halving": '''
class Halving:
    """The course's rule: every HALVE_EVERY epochs compare the loss with the loss
    HALVE_EVERY epochs before (the first time, with the first epoch's). A ratio strictly
    inside HALVE_BAND means the loss has stalled: the rate is multiplied by HALVE_FACTOR,
    never below MIN_LR."""

    def __init__(self):
        self.reference = None  # the loss one period ago
        self.next_check = 1

    def new_rate(self, epoch, loss, lr):
        if epoch < self.next_check:
            return lr, None
        if self.reference is None:  # the first epoch: only remember its loss
            self.reference = loss
            self.next_check = (epoch // HALVE_EVERY + 1) * HALVE_EVERY
            return lr, None
        self.next_check = epoch + HALVE_EVERY
        r = ratio(loss, self.reference)
        self.reference = loss
        low, high = HALVE_BAND
        if low < r < high and lr > MIN_LR:
            return max(lr * HALVE_FACTOR, MIN_LR), "loss ratio" + figure(r)
        return lr, None
''',
    "plateau": '''
class Plateau:
    """Reduce on plateau (as torch's ReduceLROnPlateau, mode min, relative threshold):
    a loss below best (1 - THRESHOLD) is an improvement; after more than PATIENCE epochs
    without one the rate is multiplied by PLATEAU_FACTOR (never below MIN_LR), and
    COOLDOWN epochs pass before counting again."""

    def __init__(self):
        self.best = math.inf
        self.bad_epochs = 0
        self.cooldown_left = 0

    def new_rate(self, epoch, loss, lr):
        if loss < self.best * (1 - THRESHOLD):
            self.best, self.bad_epochs = loss, 0
        else:
            self.bad_epochs += 1
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self.bad_epochs = 0
        if self.bad_epochs > PATIENCE and lr > MIN_LR:
            self.bad_epochs, self.cooldown_left = 0, COOLDOWN
            why = "plateau: loss / best" + figure(ratio(loss, self.best))
            return max(lr * PLATEAU_FACTOR, MIN_LR), why
        return lr, None
''',
}
SCHEDULE_CLASSES = {"halving": "Halving()", "plateau": "Plateau()"}

RATIO_CODE = '''

def ratio(new, old):
    """new / old, or NaN where it means nothing (0 / 0, NaN): such a ratio keeps the rate."""
    if old == 0 or math.isnan(old) or math.isnan(new):
        return math.nan if new == 0 or math.isnan(new) or math.isnan(old) else math.inf
    return new / old


def figure(r):
    """' 0.9733': the figure that made the schedule act, when it is a number."""
    return f" {r:.4f}" if math.isfinite(r) else ""
'''
