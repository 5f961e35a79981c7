"""Toy 2-D datasets (classification and regression), a CSV loader and a seeded split.

Every generator returns ``X`` float64 of shape (n, 2) and ``y`` float64 of shape (n, 1):
class labels 0.0, 1.0, ... for the classification sets, real targets for the regression
sets. Randomness comes only from ``np.random.default_rng(seed)``.

* ``linear``: n points uniform in [0, 1)^2, label 0 if x1 > x2 else 1 (the course's set).
* ``xor``: the course's fixed 21 points on the two diagonals of [0, 1]^2 (n is ignored).
* ``circle``: an inner disc (radius < 0.5, label 0) inside a ring (0.7..1.0, label 1).
* ``spiral``: two interleaved spiral arms of radius 0.1..1.0, one per class.
* ``gaussian``: two round blobs (std 0.2) centred at (-0.5, -0.5) -> 0 and (0.5, 0.5) -> 1.
* ``moons``: two interleaving half circles, as scikit-learn's ``make_moons``.
* ``checkerboard``: points in [0, 1)^2, label = colour of its square on a 4x4 board.
* ``pie``: points in the unit disc, label = which of K equal sectors holds it.

``spiral``, ``gaussian`` and ``pie`` take ``classes`` K (2..8): K arms, K blobs on a
circle, K sectors. With K = 2, spiral and gaussian are the two-class sets above, point for
point.

Regression (``REGRESSION_SETS``), points uniform in [-1, 1]^2 and a real target:

* ``plane``: y = (x1 + 2 x2) / 3, a tilted plane (TensorFlow Playground's "plane").
* ``bumps``: y = a sum of four gaussian bumps, two up and two down (Playground's
  "multi gaussian").

``noise`` is a label-flip probability for ``linear`` (its geometry is the definition of
the task, so we corrupt the answers instead), a Gaussian noise std on the target for the
regression sets, and a Gaussian coordinate jitter std for every other set. ``noise == 0``
always reproduces the noiseless set exactly, and for a given seed a noisy set is the
noiseless one plus noise (same points, same order).
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable

import numpy as np

from engine.data.files import FileTooLargeError, read_regular_file

Arrays = tuple[np.ndarray, np.ndarray]
DatasetFn = Callable[[int, float, np.random.Generator], Arrays]  # (n, noise, rng) -> X, y

# A guard against a typo such as n=10**9 freezing the app while it allocates.
MAX_POINTS = 1_000_000
# A CSV is read whole: 64 MiB holds a million rows of full-precision numbers, and a bigger
# file (or an endless one such as /dev/zero) is refused instead of filling the memory.
MAX_CSV_BYTES = 64 * 2**20
COLUMNS = ("x1", "x2", "label")
MAX_CLASSES = 8


class DataError(ValueError):
    """Bad data or a bad dataset request; the message says what is wrong and how to fix it."""


# --- generators -------------------------------------------------------------------------


def _linear(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    X = rng.uniform(0, 1, (n, 2))
    y = (X[:, 0] <= X[:, 1]).astype(np.float64)  # 0 if x1 > x2 else 1, as the course
    if noise > 0:
        flip = rng.random(n) < noise
        y[flip] = 1.0 - y[flip]
    return X, y.reshape(-1, 1)


def _xor(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    # Same arithmetic as the course (0.1 * i, 1 - 0.1 * i) so the points match bit for bit.
    points, labels = [], []
    for i in range(11):
        points.append((0.1 * i, 0.1 * i))
        labels.append(0.0)
        if 0.1 * i == 0.5:
            continue  # the two diagonals cross here; one point cannot carry both labels
        points.append((0.1 * i, 1 - 0.1 * i))
        labels.append(1.0)
    X = np.array(points, dtype=np.float64)
    if noise > 0:
        X += rng.normal(0.0, noise, X.shape)
    return X, np.array(labels, dtype=np.float64).reshape(-1, 1)


def _class_sizes(n: int) -> tuple[int, int]:
    """Split n into two class sizes differing by at most one (class 0 takes the extra)."""
    return n - n // 2, n // 2


def _finish(X0: np.ndarray, X1: np.ndarray, noise: float, rng: np.random.Generator) -> Arrays:
    """Stack two classes, shuffle them together, then jitter.

    Shuffling keeps mini-batches mixed. Jitter is drawn last so that, for one seed,
    changing the noise moves the points but never changes which points or their order.
    """
    X = np.concatenate([X0, X1])
    y = np.concatenate([np.zeros(len(X0)), np.ones(len(X1))])
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    if noise > 0:
        X += rng.normal(0.0, noise, X.shape)
    return X, y.reshape(-1, 1)


def _polar(r: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return np.column_stack([r * np.cos(theta), r * np.sin(theta)])


def _circle(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    n0, n1 = _class_sizes(n)
    # sqrt of a uniform radius^2 spreads points evenly over the area, not bunched at the centre
    r0 = 0.5 * np.sqrt(rng.uniform(0, 1, n0))
    r1 = np.sqrt(rng.uniform(0.7**2, 1.0, n1))
    X0 = _polar(r0, rng.uniform(0, 2 * np.pi, n0))
    X1 = _polar(r1, rng.uniform(0, 2 * np.pi, n1))
    return _finish(X0, X1, noise, rng)


def _spiral_arm(m: int, phase: float) -> np.ndarray:
    t = np.linspace(0, 1, m)
    # 1.75 turns, as TensorFlow Playground; starting at r=0.1 keeps the arms apart at the centre
    return _polar(0.1 + 0.9 * t, 1.75 * 2 * np.pi * t + phase)


def _spiral(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    n0, n1 = _class_sizes(n)
    return _finish(_spiral_arm(n0, 0.0), _spiral_arm(n1, np.pi), noise, rng)


def _gaussian(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    n0, n1 = _class_sizes(n)
    X0 = rng.normal(-0.5, 0.2, (n0, 2))
    X1 = rng.normal(0.5, 0.2, (n1, 2))
    return _finish(X0, X1, noise, rng)


def _moons(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    n0, n1 = _class_sizes(n)
    outer, inner = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n1)
    X0 = np.column_stack([np.cos(outer), np.sin(outer)])
    X1 = np.column_stack([1 - np.cos(inner), 0.5 - np.sin(inner)])
    return _finish(X0, X1, noise, rng)


_BOARD = 4  # squares per side


def _checker_class(m: int, colour: int, rng: np.random.Generator) -> np.ndarray:
    # Pick a square of the wanted colour, then a point inside it: classes stay exactly balanced.
    cells = np.array(
        [(i, j) for i in range(_BOARD) for j in range(_BOARD) if (i + j) % 2 == colour]
    )
    chosen = cells[rng.integers(0, len(cells), m)]
    return (chosen + rng.uniform(0, 1, (m, 2))) / _BOARD


def _checkerboard(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    n0, n1 = _class_sizes(n)
    return _finish(_checker_class(n0, 0, rng), _checker_class(n1, 1, rng), noise, rng)


# --- K classes ----------------------------------------------------------------------------


def _sizes(n: int, k: int) -> list[int]:
    """Split n into k class sizes differing by at most one (the first classes take extras)."""
    return [n // k + (c < n % k) for c in range(k)]


def _finish_k(parts: list[np.ndarray], noise: float, rng: np.random.Generator) -> Arrays:
    """``_finish`` for K classes: part c holds class c's points."""
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), float(c)) for c, p in enumerate(parts)])
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    if noise > 0:
        X += rng.normal(0.0, noise, X.shape)
    return X, y.reshape(-1, 1)


def _spiral_k(n: int, noise: float, rng: np.random.Generator, k: int) -> Arrays:
    if k == 2:
        return _spiral(n, noise, rng)
    return _finish_k([_spiral_arm(m, 2 * np.pi * c / k) for c, m in enumerate(_sizes(n, k))],
                     noise, rng)


def _gaussian_k(n: int, noise: float, rng: np.random.Generator, k: int) -> Arrays:
    if k == 2:
        return _gaussian(n, noise, rng)
    # blobs on a circle of radius 0.6, spaced so that neighbours stay about 2 stds apart
    centres = _polar(np.full(k, 0.6), 2 * np.pi * np.arange(k) / k + np.pi / 4)
    std = min(0.2, 0.6 * np.sin(np.pi / k) / 2)
    return _finish_k([rng.normal(c, std, (m, 2)) for c, m in zip(centres, _sizes(n, k),
                                                                 strict=True)], noise, rng)


def _pie(n: int, noise: float, rng: np.random.Generator, k: int) -> Arrays:
    # sector c spans angles [c, c + 1) * 2 pi / k; radius^2 uniform fills the disc evenly
    parts = []
    for c, m in enumerate(_sizes(n, k)):
        theta = 2 * np.pi * (c + rng.uniform(0.05, 0.95, m)) / k  # a margin between sectors
        parts.append(_polar(np.sqrt(rng.uniform(0.01, 1.0, m)), theta))
    return _finish_k(parts, noise, rng)


MultiClassFn = Callable[[int, float, np.random.Generator, int], Arrays]
MULTICLASS: dict[str, MultiClassFn] = {"spiral": _spiral_k, "gaussian": _gaussian_k, "pie": _pie}
"""The sets that take a number of classes K (2..MAX_CLASSES)."""


# --- regression ---------------------------------------------------------------------------


def _targets(X: np.ndarray, t: np.ndarray, noise: float, rng: np.random.Generator) -> Arrays:
    if noise > 0:
        t = t + rng.normal(0.0, noise, t.shape)
    return X, t.reshape(-1, 1)


def _plane(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    X = rng.uniform(-1, 1, (n, 2))
    return _targets(X, (X[:, 0] + 2 * X[:, 1]) / 3, noise, rng)


_BUMPS = ((-0.5, -0.5, 1.0), (0.5, 0.5, 1.0), (-0.5, 0.5, -1.0), (0.5, -0.5, -1.0))


def _bumps(n: int, noise: float, rng: np.random.Generator) -> Arrays:
    X = rng.uniform(-1, 1, (n, 2))
    t = np.zeros(n)
    for cx, cy, height in _BUMPS:  # exp(-r^2 / (2 * 0.3^2)) around each centre
        t += height * np.exp(-((X[:, 0] - cx) ** 2 + (X[:, 1] - cy) ** 2) / 0.18)
    return _targets(X, t, noise, rng)


REGRESSION: dict[str, DatasetFn] = {"plane": _plane, "bumps": _bumps}
REGRESSION_SETS = tuple(REGRESSION)


DATASETS: dict[str, DatasetFn] = {
    "linear": _linear,
    "xor": _xor,
    "circle": _circle,
    "spiral": _spiral,
    "gaussian": _gaussian,
    "moons": _moons,
    "checkerboard": _checkerboard,
    "pie": lambda n, noise, rng: _pie(n, noise, rng, 2),
    **REGRESSION,
}
DATASET_NAMES = tuple(DATASETS)


def classes_error(name: str, classes: int) -> str | None:
    """Why dataset ``name`` cannot have ``classes`` classes (None: it can)."""
    if classes == 2 or name in MULTICLASS and 2 <= classes <= MAX_CLASSES:
        return None
    if name in REGRESSION:
        return f"{name} is a regression set (real targets); it has no classes"
    if name in MULTICLASS:
        return f"classes must be between 2 and {MAX_CLASSES}, got {classes}"
    return (f"{name} has 2 classes; {classes} classes work with "
            f"{', '.join(MULTICLASS)} or a CSV with labels 0..{classes - 1}")


def _check_request(name: str, n: int, noise: float, classes: int = 2) -> None:
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASET_NAMES)}")
    if name != "xor" and (isinstance(n, bool) or not isinstance(n, int | np.integer)):
        raise DataError(f"number of points must be a whole number, got {n!r}")
    if name != "xor" and not 2 <= n <= MAX_POINTS:
        raise DataError(f"number of points must be between 2 and {MAX_POINTS:,}, got {n}")
    if isinstance(noise, bool) or not isinstance(noise, int | float | np.number):
        raise DataError(f"noise must be a number, got {noise!r}")
    if not (math.isfinite(noise) and noise >= 0):
        raise DataError(f"noise must be a finite number >= 0, got {noise}")
    if name == "linear" and noise > 1:
        raise DataError(f"linear noise is a label-flip probability in [0, 1], got {noise}")
    problem = classes_error(name, classes)
    if problem:
        raise DataError(problem)
    if name != "xor" and classes > n:
        raise DataError(f"{classes} classes need at least {classes} points, got {n}")


def make_dataset(
    name: str, n: int = 100, noise: float = 0.0, seed: int | None = 0, classes: int = 2
) -> Arrays:
    """Generate dataset ``name``: X float64 (n, 2), y float64 (n, 1) of labels 0.0, 1.0,
    ... ``classes - 1`` (or real targets for a regression set).

    ``noise`` flips labels with that probability for ``linear``, adds target noise for
    the regression sets and jitters coordinates with that std for the others; ``xor``
    always has its 21 points whatever ``n`` is.
    """
    _check_request(name, n, noise, classes)
    rng = np.random.default_rng(seed)
    if name in MULTICLASS:
        return MULTICLASS[name](int(n), float(noise), rng, int(classes))
    return DATASETS[name](int(n), float(noise), rng)


# --- CSV --------------------------------------------------------------------------------


def _strict_float(text: str) -> float:
    """float(), without what it accepts but a CSV should not: "1_000" and non-ASCII digits."""
    if not text.isascii() or "_" in text:
        raise ValueError(f"not a number: {text!r}")
    return float(text)


def _is_number(text: str) -> bool:
    try:
        _strict_float(text)
    except ValueError:
        return False
    return True


def _is_blank(row: list[str]) -> bool:
    return not any(field.strip() for field in row)


def _is_header(row: list[str]) -> bool:
    # A header is a first row of three fields with no number at all. A row mixing numbers and
    # text is far more likely a typo in the data, and a row of another width more likely a
    # file with other separators, so both are reported rather than silently skipped.
    return len(row) == 3 and not any(_is_number(field) for field in row)


def _row_error(path: str, line: int, row: list[str]) -> DataError:
    where = f"{path} line {line}"
    if len(row) != 3:
        # one column usually means another separator, e.g. a ';' from a European spreadsheet,
        # unless it holds commas: then they were inside a double quote that never closed
        hint = "; separate the values with commas" if len(row) == 1 else ""
        if len(row) == 1 and ("," in row[0] or "\n" in row[0]):
            hint = '; a double quote (") is opened and never closed'
        return DataError(f"{where}: expected 3 columns (x1,x2,label), got {len(row)}{hint}")
    for col, field in enumerate(row):
        if not _is_number(field):
            hint = "; labels must be 0 or 1 (0..K-1 with --classes K)" if col == 2 else ""
            text = field.strip()
            return DataError(
                f"{where}, column {col + 1} ({COLUMNS[col]}): {text!r} is not a number{hint}"
            )
    return DataError(f"{where}: could not read the row")  # unreachable: float() failed


def _read_rows(path: str) -> tuple[list[float], list[int]]:
    """Parse the file into a flat list of floats (three per row) and each row's line number.

    This loop is the hot path for multi-MB files, so a good row costs one length check and
    three float() calls; everything else (blank lines, the header, messages) is worked out
    only for rows that fail. Such rows never leave values behind: blanks and headers fail
    on their first field, and any other failing row raises.
    """
    try:  # the bound counts bytes, before decoding: a file of emoji is refused unread
        data = read_regular_file(path, MAX_CSV_BYTES)  # a pipe or a device: refused
    except FileTooLargeError:
        raise DataError(
            f"{path} is larger than {MAX_CSV_BYTES // 2**20} MiB; "
            f"at most {MAX_POINTS:,} rows of x1,x2,label can be trained on"
        ) from None
    text = data.decode("utf-8-sig")  # -sig: Excel writes a BOM
    # plain float() on the usual all-ASCII file without "_"; the strict check otherwise
    number = float if text.isascii() and "_" not in text else _strict_float
    values: list[float] = []
    lines: list[int] = []
    header_allowed = True
    reader = csv.reader(io.StringIO(text, newline=""))
    for row in reader:
        if len(row) == 3:
            try:
                values.extend(map(number, row))
            except ValueError:
                pass  # a blank row, the header or an error: sorted out below
            else:
                lines.append(reader.line_num)
                header_allowed = False
                continue
        if _is_blank(row):
            continue  # blank lines, the usual trailing one, Excel's ",," rows
        if header_allowed and _is_header(row):
            header_allowed = False
            continue
        raise _row_error(path, reader.line_num, row)
    return values, lines


def _open_error(path: str, err: OSError | UnicodeDecodeError | csv.Error) -> DataError:
    if isinstance(err, FileNotFoundError):
        return DataError(f"{path}: file not found; check the path")
    if isinstance(err, IsADirectoryError):
        return DataError(f"{path} is a directory; choose a .csv file")
    if isinstance(err, PermissionError):
        return DataError(f"{path}: permission denied; check the file's permissions")
    if isinstance(err, UnicodeDecodeError):
        return DataError(f"{path} is not UTF-8 text; save it as a plain CSV file")
    if isinstance(err, csv.Error):
        return DataError(f"{path} is not a readable CSV file ({err}); save it as plain CSV")
    return DataError(f"{path}: cannot read the file ({err.strerror or err})")


def _plain(value: float) -> str:
    """Shortest exact spelling: 2.0 -> '2', 1.0000001 -> '1.0000001' (':g' would say '1')."""
    return np.format_float_positional(value, trim="-")


def _check_values(path: str, data: np.ndarray, lines: np.ndarray, classes: int | None) -> None:
    bad = ~np.isfinite(data)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"{path} line {lines[row]}, column {col + 1} ({COLUMNS[col]}): "
            f"{data[row, col]} is not a finite number; fix or delete the row"
        )
    if classes is None:  # real-valued targets: any finite number
        return
    labels = data[:, 2]
    bad_label = (labels != np.round(labels)) | (labels < 0) | (labels >= classes)
    if bad_label.any():
        row = np.flatnonzero(bad_label)[0]
        label = labels[row]
        if classes == 2:
            wanted = "labels must be 0 or 1"
        else:
            wanted = f"labels must be whole numbers 0..{classes - 1}"
        hint = ""
        if label == np.round(label) and MAX_CLASSES > label >= classes:
            hint = f" (for {int(label) + 1} or more classes use --classes {int(label) + 1} " \
                   "--loss ce)"
        elif label != np.round(label):
            hint = " (for real-valued targets use --task regress)"
        raise DataError(
            f"{path} line {lines[row]}, column 3 (label): "
            f"{wanted}, got {_plain(label)}{hint}"
        )


def _check_count(path: str, data: np.ndarray) -> None:
    if len(data) == 0:
        raise DataError(f"{path} has no data rows; expected rows of x1,x2,label")
    if len(data) < 2:
        raise DataError(f"{path} has only 1 data row; add at least one more")
    if len(data) > MAX_POINTS:
        raise DataError(f"{path} has {len(data):,} data rows; at most {MAX_POINTS:,} are allowed")


def _check_classes(path: str, labels: np.ndarray, classes: int | None) -> None:
    if (labels == labels[0]).all():
        if classes is None:
            raise DataError(f"{path}: every target is {_plain(labels[0])}; a regression needs "
                            "targets that vary")
        wanted = "both classes 0 and 1" if classes == 2 else "at least two classes"
        raise DataError(f"{path}: every label is {_plain(labels[0])}; add rows of {wanted}")


def load_csv(path: str | os.PathLike[str], classes: int | None = 2) -> Arrays:
    """Load rows of ``x1,x2,label`` (optional header) into X (n, 2) and y (n, 1), float64.

    ``classes`` K: the labels must be whole numbers 0..K-1; None: the label column is a
    real-valued target (regression). Raises DataError, naming the line and column where
    possible, for any problem.
    """
    name = os.fspath(path)
    try:
        values, lines = _read_rows(name)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise _open_error(name, err) from None
    data = np.array(values, dtype=np.float64).reshape(-1, 3)
    _check_count(name, data)
    _check_values(name, data, np.array(lines), classes)
    _check_classes(name, data[:, 2], classes)
    return np.ascontiguousarray(data[:, :2]), np.ascontiguousarray(data[:, 2:])


# --- split ------------------------------------------------------------------------------


def _check_split(X: np.ndarray, y: np.ndarray, ratio: float) -> None:
    if X.ndim != 2 or len(X) != len(y):
        raise DataError(f"X must be 2-D with one row per label; got X {X.shape} and y {y.shape}")
    if not (isinstance(ratio, int | float | np.number) and 0 <= ratio < 1):
        raise DataError(f"test ratio must be a number in [0, 1), got {ratio!r}")
    if len(X) < (2 if ratio > 0 else 1):
        need = "2 points to hold one out" if ratio > 0 else "1 point to train on"
        raise DataError(f"cannot split {len(X)} point(s): need at least {need}")


def train_test_split(
    X: np.ndarray, y: np.ndarray, ratio: float, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (X_train, y_train, X_test, y_test) with a fraction ``ratio`` held out for testing.

    The test size is ratio * n rounded half up, then clamped so each side keeps a point.
    ratio 0 keeps every point for training in its original order (so a per-point test log
    reads like the course's), with empty test arrays of shape (0, d) and (0, ...).
    """
    X, y = np.asarray(X), np.asarray(y)
    _check_split(X, y, ratio)
    n = len(X)
    if ratio == 0:
        return X.copy(), y.copy(), X[:0].copy(), y[:0].copy()
    n_test = min(max(math.floor(ratio * n + 0.5), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]
