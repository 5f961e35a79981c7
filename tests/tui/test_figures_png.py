"""The course's figures as PNG files: what each shows, the files, the flags and the errors."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from engine import Trainer, preset
from engine.nn.losses import predicted_class
from tui.cli import main
from tui.core import figures_png
from tui.core.figures_png import (
    FiguresError,
    MatplotlibMissing,
    boundary_figure,
    loss_figure,
    rate_marks,
    result_figure,
    write_figures,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# the course's XOR network, short: two halvings inside 3,000 epochs
XOR = preset("dlp-xor").replace(epochs=3000, log_every=500, halve_every=500,
                                halve_band=(0.001, 1000))
SPLIT = preset("dlp-xor").replace(dataset="moons", n=80, test_split=0.25, epochs=400,
                                  log_every=100)


def trained(config) -> Trainer:
    trainer = Trainer(config)
    trainer.run()
    return trainer


@pytest.fixture(scope="module")
def xor() -> Trainer:
    return trained(XOR)


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) read from the PNG's header; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_loss_figure_marks_every_rate_change(xor):
    assert len(xor.rate_changes) >= 2  # the halving band (0.001, 1000) halves at every check
    fig = loss_figure(xor)
    assert [m.epoch for m in fig.marks] == [c.epoch for c in xor.rate_changes]
    first = xor.rate_changes[0]
    assert fig.marks[0].label == f"lr → {first.new_lr:.3g}"
    assert rate_marks(xor) == fig.marks
    cols = xor.history.arrays()
    assert np.array_equal(fig.epochs, cols["epoch"]) and np.array_equal(fig.loss, cols["loss"])
    assert len(fig.test_epochs) == 0  # no split, no test curve
    assert not fig.log_scale and "Learning curve" in fig.title
    assert loss_figure(xor, log_scale=True).log_scale


def test_the_loss_figure_has_the_test_loss_with_a_split():
    fig = loss_figure(trained(SPLIT))
    assert len(fig.test_epochs) == len(fig.epochs) > 0
    assert np.isfinite(fig.test_loss).all()


def test_the_result_pair_colours_by_the_apps_rule(xor):
    fig = result_figure(xor)
    [(split, truth)], [(_, predicted)] = fig.truth, fig.predicted
    assert split == "train"
    assert truth.classes.tolist() == xor.data.y_train[:, 0].astype(int).tolist()
    expected = predicted_class(xor.predict_raw(xor.data.X_train_raw))
    assert predicted.classes.tolist() == expected.tolist()
    assert "train" in fig.accuracy and "of 21" in fig.accuracy


def test_the_result_pair_shows_the_test_points_apart():
    fig = result_figure(trained(SPLIT))
    assert [s for s, _ in fig.truth] == ["train", "test"]
    assert "test" in fig.accuracy


def test_the_boundary_covers_every_point(xor):
    fig = boundary_figure(xor, steps=30)
    assert fig.values.shape == (30, 30)
    X = xor.data.X_train_raw
    assert fig.xs[0] < X[:, 0].min() and fig.xs[-1] > X[:, 0].max()
    assert fig.ys[0] < X[:, 1].min() and fig.ys[-1] > X[:, 1].max()
    assert fig.output_name == "probability"


def test_write_figures_writes_pngs(xor, tmp_path):
    folder = tmp_path / "new" / "figs"  # created, parents too
    paths = write_figures(xor, folder, log_scale=True, boundary=True)
    assert [p.name for p in paths] == ["loss.png", "result.png", "boundary.png"]
    for path in paths:
        width, height = png_size(path)
        assert 600 <= width <= 2400 and 400 <= height <= 1600, (path.name, width, height)
    assert not [p for p in folder.iterdir() if p.suffix == ".tmp"]  # no temporary left
    assert [p.name for p in write_figures(xor, folder)] == ["loss.png", "result.png"]


def test_a_missing_matplotlib_is_a_hint(xor, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(MatplotlibMissing, match=r'pip install "nn-tui\[figures\]"'):
        write_figures(xor, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_bad_folder_is_one_line(xor, tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    with pytest.raises(FiguresError, match="is a file, not a folder"):
        write_figures(xor, a_file)
    assert a_file.read_text() == "keep me"


def test_a_failed_write_keeps_what_was_there(xor, tmp_path, monkeypatch):
    (tmp_path / "loss.png").write_bytes(b"old loss")
    (tmp_path / "result.png").write_bytes(b"old result")
    calls = []

    def failing(path, data):
        calls.append(path.name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figures_png, "atomic_write_bytes", failing)
    with pytest.raises(FiguresError, match="cannot write .*loss.png: No space left"):
        write_figures(xor, tmp_path)
    assert calls == ["loss.png"]
    assert (tmp_path / "loss.png").read_bytes() == b"old loss"
    assert (tmp_path / "result.png").read_bytes() == b"old result"


def test_drawing_imports_matplotlib_only_when_asked():
    import subprocess

    code = ("import sys, tui.core.figures_png, tui.cli.parser; "
            "tui.cli.parser.build_parser(); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# --- the command line ----------------------------------------------------------------
def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_figures_flag(tmp_path, capsys):
    folder = tmp_path / "figs"
    code, out, err = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "600",
                         "--quiet", "--figures", str(folder), "--figures-boundary")
    assert code == 0, err
    assert f"wrote the figures loss.png, result.png, boundary.png to {folder}" in out
    assert sorted(p.name for p in folder.iterdir()) == ["boundary.png", "loss.png",
                                                         "result.png"]


def test_train_figures_log_goes_to_stderr_with_json(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "200", "--json",
                         "--figures", str(tmp_path), "--figures-log")
    assert code == 0 and "wrote the figures" in err and "wrote the figures" not in out


def test_train_figures_without_matplotlib(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "10",
                         "--figures", str(tmp_path / "f"))
    assert code == 2 and out == ""  # refused before training
    assert err == 'nn-tui: error: --figures needs matplotlib: pip install "nn-tui[figures]"\n'
    assert not (tmp_path / "f").exists()


@pytest.mark.parametrize("args, message", [
    (["--figures-log"], "--figures-log needs --figures DIR"),
    (["--figures-boundary"], "--figures-boundary needs --figures DIR"),
])
def test_train_figure_options_need_the_folder(capsys, args, message):
    code, out, err = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "10", *args)
    assert code == 2 and err == f"nn-tui: error: {message}\n"


def test_train_figures_bad_folder(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("x")
    code, out, err = run(capsys, "train", "--preset", "dlp-xor", "--epochs", "10",
                         "--figures", str(taken))
    assert code == 2 and out == ""
    assert err == f"nn-tui: error: --figures: {taken} is a file, not a folder\n"
    assert len(err.splitlines()) == 1
