"""The course's figures as PNG files: the loss curve, the result pair, the decision boundary.

``write_figures(trainer, folder)`` writes ``loss.png`` (the loss per epoch, the test loss
when there is a split, every learning-rate change a labelled dotted line) and
``result.png`` ("Ground truth" beside "Predict result", as the course's ``show_result``
draws them); with ``boundary=True`` also ``boundary.png`` (the output shaded over the
plane, the points on top). ``nn-tui train --figures DIR`` calls it; so can the app.

What each figure shows is computed apart from the drawing (``loss_figure``,
``result_figure``, ``boundary_figure``), so tests check the figures without pixels.
matplotlib is an optional extra (``nn-tui[figures]``), imported only when a figure is
drawn, with the Agg backend: no display is needed, and start-up stays light. Every file
is written atomically (a temporary file in the same folder, then renamed): a failure
leaves the files already there as they were.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.io.runfile import atomic_write_bytes
from engine.nn.losses import THRESHOLD, predicted_class

if TYPE_CHECKING:
    from engine.train.trainer import Trainer

INSTALL_HINT = 'pip install "nn-tui[figures]"'
FILES = {"loss": "loss.png", "result": "result.png", "boundary": "boundary.png"}

# Okabe-Ito's eight colours, blue and orange first: told apart by colour-blind readers
# (and the first two, being dark and light, in greyscale); each class has its own marker
# too, so eight classes stay apart in print.
CLASS_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
                "#000000")
CLASS_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*")
VALUE_MAP = "RdBu_r"  # a regression's values: blue low, red high, white between
NO_CLASS_COLOR = "#777777"  # an output that is not finite predicts no class
LOSS_COLOR, TEST_COLOR, CHANGE_COLOR = "#0072B2", "#D55E00", "#555555"
STYLE = {
    "figure.facecolor": "white", "axes.facecolor": "white", "savefig.facecolor": "white",
    "font.size": 12, "axes.titlesize": 15, "axes.labelsize": 12, "legend.fontsize": 10,
    "xtick.labelsize": 10, "ytick.labelsize": 10, "axes.grid": True, "grid.alpha": 0.3,
    "axes.spines.top": False, "axes.spines.right": False,
}
DPI = 150
MAX_LABELLED_CHANGES = 12  # more rate changes than this: lines only, no labels
BOUNDARY_STEPS = 200  # the boundary's grid, per side


class FiguresError(ValueError):
    """A figure that cannot be written; the message is one line."""


class MatplotlibMissing(FiguresError):
    """matplotlib is not installed (the ``figures`` extra)."""


# --- what is drawn -------------------------------------------------------------------
@dataclass(frozen=True)
class RateMark:
    """A learning-rate change: a dotted vertical line at ``epoch``, labelled."""

    epoch: int
    label: str


@dataclass(frozen=True)
class LossFigure:
    epochs: np.ndarray
    loss: np.ndarray
    test_epochs: np.ndarray  # empty without a test split
    test_loss: np.ndarray
    marks: tuple[RateMark, ...]
    log_scale: bool
    title: str
    ylabel: str


@dataclass(frozen=True)
class Points:
    """Points in the dataset's own coordinates and a class for each (-1: none); a
    regression's carry their value instead (``values``, the classes then 0)."""

    xy: np.ndarray
    classes: np.ndarray
    values: np.ndarray | None = None


@dataclass(frozen=True)
class ResultFigure:
    truth: list[tuple[str, Points]]  # (split, points): "train", then "test" if any
    predicted: list[tuple[str, Points]]
    accuracy: str  # e.g. "100% of 21" (and the test's); a regression's R² and MAE
    title: str
    classes: int = 2  # K; 0 for a regression
    value_range: tuple[float, float] = (0.0, 1.0)  # a regression's: the targets'


@dataclass(frozen=True)
class BoundaryFigure:
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray  # (len(ys), len(xs)) outputs over the plane; (.., .., K) for K classes
    truth: list[tuple[str, Points]]
    output_name: str
    title: str
    classes: int = 2  # K; 0 for a regression
    value_range: tuple[float, float] = (0.0, 1.0)


def run_title(trainer: Trainer) -> str:
    """The run in one line: dataset, architecture, epochs reached."""
    c = trainer.config
    arch = "-".join(str(s) for s in c.sizes)
    task = "regression" if c.regression else f"{c.classes} classes" if c.classes > 2 else ""
    parts = (c.dataset_label, task, arch, "/".join(c.activation), c.loss,
             f"epoch {trainer.epoch:,}")
    return " · ".join(p for p in parts if p)


def rate_marks(trainer: Trainer) -> tuple[RateMark, ...]:
    """One mark per rate change, labelled with the new rate (``lr → 0.25``), at the epoch
    after which it took effect."""
    return tuple(
        RateMark(int(ch.epoch), f"lr → {ch.new_lr:.3g}")
        for ch in trainer.rate_changes
    )


def loss_figure(trainer: Trainer, *, log_scale: bool = False) -> LossFigure:
    """The loss curve as recorded (``trainer.history``), the test loss, the rate changes."""
    cols = trainer.history.arrays()
    finite = np.isfinite(cols["loss"])
    if log_scale:
        finite &= cols["loss"] > 0
    has_test = np.isfinite(cols["test_loss"])
    if log_scale:
        has_test &= cols["test_loss"] > 0
    name = trainer.config.loss
    return LossFigure(
        epochs=cols["epoch"][finite], loss=cols["loss"][finite],
        test_epochs=cols["epoch"][has_test], test_loss=cols["test_loss"][has_test],
        marks=rate_marks(trainer), log_scale=log_scale,
        title=f"Learning curve\n{run_title(trainer)}",
        ylabel=f"loss ({name}, log scale)" if log_scale else f"loss ({name})",
    )


def _splits(trainer: Trainer) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(split, raw points, labels: class numbers or a regression's targets (n,))."""
    data = trainer.data
    splits = [("train", data.X_train_raw, data.labels("train"))]
    if len(data.X_test_raw):
        splits.append(("test", data.X_test_raw, data.labels("test")))
    return splits


def _value_range(trainer: Trainer) -> tuple[float, float]:
    """A regression's colour range: its training targets' (both ends equal: widened)."""
    y = trainer.data.labels("train")
    y = y[np.isfinite(y)]
    low, high = (float(y.min()), float(y.max())) if y.size else (0.0, 1.0)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _outputs(trainer: Trainer, X: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return trainer.predict_raw(X)


def _accuracy_text(right: int, total: int, split: str) -> str:
    return f"{split} {100 * right / total:.1f}% of {total}" if total else ""


def result_figure(trainer: Trainer) -> ResultFigure:
    """The labels and the predicted classes (output > 0.5, or the most probable of K: the
    rule every accuracy uses); a regression's targets and predictions, by value."""
    if trainer.config.regression:
        return _regression_result(trainer)
    truth, predicted, accuracies = [], [], []
    for split, X, y in _splits(trainer):
        labels = y.astype(np.int64)
        classes = predicted_class(_outputs(trainer, X))
        truth.append((split, Points(X, labels)))
        predicted.append((split, Points(X, classes)))
        accuracies.append(_accuracy_text(int((classes == labels).sum()), len(labels), split))
    return ResultFigure(truth, predicted, " · ".join(accuracies), run_title(trainer),
                        trainer.data.classes)


def _regression_result(trainer: Trainer) -> ResultFigure:
    from engine.train.trainer import regression_scores

    truth, predicted, scores = [], [], []
    for split, X, y in _splits(trainer):
        out = _outputs(trainer, X)
        zeros = np.zeros(len(X), dtype=np.int64)
        truth.append((split, Points(X, zeros, y)))
        predicted.append((split, Points(X, zeros, out)))
        if len(X):
            r2, mae = regression_scores(out, y)
            scores.append(f"{split} R² {r2:.4f}  MAE {mae:.4g}")
    return ResultFigure(truth, predicted, " · ".join(scores), run_title(trainer), 0,
                        _value_range(trainer))


def boundary_figure(trainer: Trainer, steps: int = BOUNDARY_STEPS) -> BoundaryFigure:
    """The network's output over a grid that covers every point, with a margin."""
    X = np.concatenate([X for _, X, _ in _splits(trainer)])
    finite = X[np.isfinite(X).all(axis=1)]
    lo, hi = (finite.min(axis=0), finite.max(axis=0)) if len(finite) else (np.zeros(2), np.ones(2))
    pad = np.where(hi > lo, 0.08 * (hi - lo), 0.5)
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
    gx, gy = np.meshgrid(xs, ys)
    values = _outputs(trainer, np.column_stack([gx.ravel(), gy.ravel()]))
    classes = trainer.data.classes
    if classes == 0:
        truth = [(s, Points(X, np.zeros(len(X), dtype=np.int64), y))
                 for s, X, y in _splits(trainer)]
    else:
        truth = [(s, Points(X, y.astype(np.int64))) for s, X, y in _splits(trainer)]
    name = trainer.config.output_name
    shape = (*gx.shape, values.shape[1]) if values.ndim == 2 else gx.shape
    return BoundaryFigure(xs, ys, values.reshape(shape), truth, name, run_title(trainer),
                          classes, _value_range(trainer) if classes == 0 else (0.0, 1.0))


# --- drawing -------------------------------------------------------------------------
def load_matplotlib() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or MatplotlibMissing with the hint."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise MatplotlibMissing(f"figures need matplotlib: {INSTALL_HINT}") from None
    return plt


def draw_loss(plt: Any, fig_data: LossFigure) -> bytes:
    fig, ax = plt.subplots(figsize=(8, 5))
    ax.plot(fig_data.epochs, fig_data.loss, color=LOSS_COLOR, lw=1.8, label="training loss")
    if len(fig_data.test_epochs):
        ax.plot(fig_data.test_epochs, fig_data.test_loss, color=TEST_COLOR, lw=1.2,
                label="test loss")
    if fig_data.log_scale:
        ax.set_yscale("log")
    _draw_marks(ax, fig_data.marks)
    ax.set(xlabel="epoch", ylabel=fig_data.ylabel)
    ax.set_title(fig_data.title, fontsize=13)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=3, frameon=False)
    return _png(fig)


def _draw_marks(ax: Any, marks: tuple[RateMark, ...]) -> None:
    """Dotted lines at the rate changes, each labelled along its line (a few: all)."""
    labelled = len(marks) <= MAX_LABELLED_CHANGES
    for i, mark in enumerate(marks):
        ax.axvline(mark.epoch, color=CHANGE_COLOR, ls=":", lw=1.2,
                   label="learning-rate change" if i == 0 else None)
        if labelled:
            ax.text(mark.epoch, 0.98, mark.label, transform=ax.get_xaxis_transform(),
                    rotation=90, va="top", ha="right", fontsize=9, color=CHANGE_COLOR,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.8})


def _scatter(ax: Any, sets: list[tuple[str, Points]], classes: int = 2,
             value_range: tuple[float, float] = (0.0, 1.0)) -> Any:
    """Each class its colour and marker; test points hollow. A regression's points
    (``classes`` 0) are coloured by value on VALUE_MAP over ``value_range``, test points
    as squares; returns their scatter (for a colour bar)."""
    if classes == 0:
        return _scatter_values(ax, sets, value_range)
    for split, pts in sets:
        for cls in (*range(max(classes, 2)), -1):
            chosen = pts.classes == cls
            if not chosen.any():
                continue
            color = NO_CLASS_COLOR if cls < 0 else CLASS_COLORS[cls]
            marker = "x" if cls < 0 else CLASS_MARKERS[cls]
            name = "no class" if cls < 0 else f"class {cls}"
            hollow = split == "test" and cls >= 0
            ax.scatter(pts.xy[chosen, 0], pts.xy[chosen, 1], s=46, marker=marker,
                       c="white" if hollow else color, edgecolors=color if hollow else "black",
                       linewidths=1.2 if hollow else 0.5, zorder=3,
                       label=f"{name} ({split})" if len(sets) > 1 else name)
    return None


def _scatter_values(ax: Any, sets: list[tuple[str, Points]],
                    value_range: tuple[float, float]) -> Any:
    shown = None
    for split, pts in sets:
        values = pts.values if pts.values is not None else np.zeros(len(pts.xy))
        shown = ax.scatter(pts.xy[:, 0], pts.xy[:, 1], s=46, c=values, cmap=VALUE_MAP,
                           vmin=value_range[0], vmax=value_range[1],
                           marker="s" if split == "test" else "o", edgecolors="#333333",
                           linewidths=0.5, zorder=3,
                           label=f"{split} points" if len(sets) > 1 else None)
    return shown


def draw_result(plt: Any, fig_data: ResultFigure) -> bytes:
    regression = fig_data.classes == 0
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.6), sharex=True, sharey=True)
    shown = None
    for ax, title, sets in ((axes[0], "Ground truth", fig_data.truth),
                            (axes[1], "Prediction" if regression else "Predict result",
                             fig_data.predicted)):
        shown = _scatter(ax, sets, fig_data.classes, fig_data.value_range)
        ax.set_title(title, fontsize=18)
        ax.set_xlabel("x1")
        ax.set_aspect("equal", adjustable="box")
    axes[0].set_ylabel("x2")
    fig.suptitle(fig_data.title, fontsize=11, color="#333333")
    if regression:
        rule = "colour: the target (left) and the prediction (right), one scale"
    elif fig_data.classes > 2:
        rule = "predicted class: the most probable"
    else:
        rule = f"predicted class: output > {THRESHOLD:g}"
    fig.text(0.5, 0.01, f"{rule} · {fig_data.accuracy}",
             ha="center", va="bottom", fontsize=10, color="#333333")
    if regression and shown is not None:
        fig.colorbar(shown, ax=axes, fraction=0.03, pad=0.02, label="value")
    _legend_below(fig, axes, bottom=0.05)
    if not regression:  # tight_layout does not place a colour bar shared by two axes
        fig.tight_layout(rect=(0, 0.1, 1, 0.97))
    return _png(fig)


def _legend_below(fig: Any, axes: Any, bottom: float) -> None:
    """One legend for the pair, under it (the labels of both panels, once each)."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    fig.legend(seen.values(), seen.keys(), loc="lower center", ncol=min(len(seen), 5),
               frameon=False, bbox_to_anchor=(0.5, bottom))


def draw_boundary(plt: Any, fig_data: BoundaryFigure) -> bytes:
    from matplotlib.colors import LinearSegmentedColormap

    fig, ax = plt.subplots(figsize=(6.8, 5.6))
    if fig_data.classes > 2:
        _shade_classes(ax, fig_data)
    elif fig_data.classes == 0:
        _shade_values(fig, ax, fig_data)
    else:
        _shade_probability(fig, ax, fig_data, LinearSegmentedColormap)
    ax.set(xlabel="x1", ylabel="x2", xlim=(fig_data.xs[0], fig_data.xs[-1]),
           ylim=(fig_data.ys[0], fig_data.ys[-1]))
    ax.grid(False)
    what = "Prediction" if fig_data.classes == 0 else "Decision boundary"
    ax.set_title(f"{what}\n{fig_data.title}", fontsize=11)
    if ax.get_legend_handles_labels()[0]:  # a regression's one set of points has none
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4, frameon=False)
    fig.tight_layout()
    return _png(fig)


def _shade_classes(ax: Any, fig_data: BoundaryFigure) -> None:
    """K classes: each pixel the winning class's colour, paler the less sure it is (white
    at 1/K), with a line where the winner changes."""
    from matplotlib.colors import to_rgb

    probs = np.nan_to_num(fig_data.values, nan=0.0)
    k = probs.shape[-1]
    winner, p = probs.argmax(axis=-1), probs.max(axis=-1)
    sure = np.clip((p - 1 / k) / (1 - 1 / k), 0.0, 1.0)[..., None]
    colors = np.array([to_rgb(CLASS_COLORS[c % len(CLASS_COLORS)]) for c in range(k)])
    rgb = 1.0 - 0.45 * sure * (1.0 - colors[winner])  # white blended towards the class
    ax.imshow(rgb, origin="lower", aspect="auto", interpolation="nearest",
              extent=(fig_data.xs[0], fig_data.xs[-1], fig_data.ys[0], fig_data.ys[-1]))
    ax.contour(fig_data.xs, fig_data.ys, winner, levels=np.arange(k - 1) + 0.5,
               colors="#333333", linewidths=0.8)
    _scatter(ax, fig_data.truth, k)


def _shade_values(fig: Any, ax: Any, fig_data: BoundaryFigure) -> None:
    """A regression: the prediction on the targets' colour scale, the points on it too."""
    low, high = fig_data.value_range
    shade = ax.pcolormesh(fig_data.xs, fig_data.ys, fig_data.values, cmap=VALUE_MAP,
                          vmin=low, vmax=high, shading="auto", rasterized=True, alpha=0.6)
    _scatter(ax, fig_data.truth, 0, fig_data.value_range)
    bar = fig.colorbar(shade, ax=ax, fraction=0.05, pad=0.03)
    bar.set_label("prediction (points: the target)")


def _shade_probability(fig: Any, ax: Any, fig_data: BoundaryFigure, colormap: Any) -> None:
    cmap = colormap.from_list("classes", ["#cfe3f2", "white", "#f8dfa8"])
    values = np.clip(np.nan_to_num(fig_data.values, nan=THRESHOLD), 0.0, 1.0)
    shade = ax.pcolormesh(fig_data.xs, fig_data.ys, values, cmap=cmap, vmin=0, vmax=1,
                          shading="auto", rasterized=True)
    ax.contour(fig_data.xs, fig_data.ys, values, levels=[THRESHOLD], colors="#333333",
               linewidths=1.2, linestyles="--")
    _scatter(ax, fig_data.truth)
    bar = fig.colorbar(shade, ax=ax, fraction=0.05, pad=0.03)
    what = "p(class 1)" if fig_data.output_name == "probability" else "output (clipped to 0..1)"
    bar.set_label(f"{what}; dashed: {THRESHOLD:g}")


def _png(fig: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buffer.getvalue()


# --- writing -------------------------------------------------------------------------
def prepare_folder(folder: str | Path) -> Path:
    """The folder, created if missing; FiguresError (one line) if it cannot hold files."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise FiguresError(f"{path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FiguresError(f"cannot create folder {path}: {exc.strerror or exc}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise FiguresError(f"folder {path} is not writable")
    return path


def write_figures(
    trainer: Trainer, folder: str | Path, *, log_scale: bool = False, boundary: bool = False
) -> list[Path]:
    """Draw and write loss.png and result.png (and boundary.png) into ``folder``.

    Returns the paths written. Raises MatplotlibMissing without matplotlib and
    FiguresError when the folder or a file cannot be written; the files written before
    a failure stay, and a file is never left half-written.
    """
    plt = load_matplotlib()
    path = prepare_folder(folder)
    jobs = [("loss", lambda: draw_loss(plt, loss_figure(trainer, log_scale=log_scale))),
            ("result", lambda: draw_result(plt, result_figure(trainer)))]
    if boundary:
        jobs.append(("boundary", lambda: draw_boundary(plt, boundary_figure(trainer))))
    written = []
    with plt.rc_context(STYLE):
        for kind, draw in jobs:
            written.append(_write(path / FILES[kind], draw()))
    return written


def _write(target: Path, data: bytes) -> Path:
    try:
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise FiguresError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target


def describe(paths: list[Path]) -> str:
    """``wrote loss.png, result.png to DIR`` for a front end's message."""
    if not paths:
        return "wrote no figures"
    names = ", ".join(p.name for p in paths)
    return f"wrote the figures {names} to {paths[0].parent}"


__all__ = [
    "FILES", "INSTALL_HINT", "BoundaryFigure", "FiguresError", "LossFigure", "MatplotlibMissing",
    "RateMark", "ResultFigure", "boundary_figure", "describe", "loss_figure",
    "prepare_folder", "rate_marks", "result_figure", "write_figures",
]
