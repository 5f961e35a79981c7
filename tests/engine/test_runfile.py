"""Run files: exact round trips, atomic writes, and foreign files refused without unpickling."""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import ExperimentConfig, RunFileError, Trainer, load_run, preset, save_run
from engine.io.runfile import run_arrays

pytestmark = pytest.mark.filterwarnings("error")

CONFIG = preset("dlp-xor").replace(epochs=1500, log_every=250, halve_every=250, bias=True,
                                   test_split=0.2)


class Bomb:
    """Unpickling this creates ``path``: the marker proves a pickle was executed."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture(scope="module")
def trained() -> Trainer:
    t = Trainer(CONFIG)
    t.run(epochs=1000)
    t.set_lr(0.3)  # a manual change: its ratio is NaN
    t.run()
    assert t.rate_changes and t.status == "finished"
    return t


@pytest.fixture
def saved(trained: Trainer, tmp_path: Path) -> Path:
    return save_run(tmp_path / "run.npz", trained)


def _npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _refused(path: Path, *fragments: str) -> str:
    with pytest.raises(RunFileError) as info:
        load_run(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    return message


# --- round trip --------------------------------------------------------------------------
def test_round_trip_gives_identical_predictions_and_history(trained: Trainer, saved: Path) -> None:
    run = load_run(saved)
    assert run.config == trained.config
    assert (run.epoch, run.lr, run.status, run.seconds) == (
        trained.epoch, trained.lr, trained.status, trained.seconds)
    grid = np.stack(np.meshgrid(np.linspace(-1, 2, 25), np.linspace(-1, 2, 25)), -1).reshape(-1, 2)
    np.testing.assert_array_equal(run.network.predict(grid), trained.network.predict(grid))
    for p, q in zip(run.network.params, trained.network.params, strict=True):
        np.testing.assert_array_equal(p, q)
        assert p.dtype == q.dtype
    assert run.network.activation_names == trained.network.activation_names
    ours, theirs = run.history.arrays(), trained.history.arrays()
    for name in ours:
        np.testing.assert_array_equal(ours[name], theirs[name])
    assert (run.history.stride, run.history.capacity, run.history.next_epoch) == (
        trained.history.stride, trained.history.capacity, trained.history.next_epoch)
    assert len(run.rate_changes) == len(trained.rate_changes)
    for a, b in zip(run.rate_changes, trained.rate_changes, strict=True):
        assert (a.epoch, a.old_lr, a.new_lr, a.reason) == (b.epoch, b.old_lr, b.new_lr, b.reason)
        assert a.ratio == b.ratio or (np.isnan(a.ratio) and np.isnan(b.ratio))
    assert any(c.reason == "manual" for c in run.rate_changes)


def test_round_trip_of_a_float32_run_without_changes(tmp_path: Path) -> None:
    t = Trainer(ExperimentConfig(epochs=30, dtype="float32", schedule="none", log_every=10))
    t.run()
    run = load_run(save_run(tmp_path / "f32.npz", t))
    assert run.rate_changes == [] and run.config.dtype == "float32"
    X = t.data.X_train
    np.testing.assert_array_equal(run.network.predict(X), t.network.predict(X))


def test_the_suffix_is_added_when_missing(trained: Trainer, tmp_path: Path) -> None:
    assert save_run(tmp_path / "a", trained) == tmp_path / "a.npz"
    assert save_run(tmp_path / "b.run", trained) == tmp_path / "b.run.npz"
    assert load_run(tmp_path / "a.npz").epoch == trained.epoch


def test_the_file_holds_no_object_arrays(trained: Trainer, saved: Path) -> None:
    assert all(a.dtype != object for a in run_arrays(trained).values())
    with np.load(saved, allow_pickle=False) as npz:
        assert {k: npz[k].dtype.kind for k in npz.files}["meta"] == "U"
        meta = json.loads(str(npz["meta"]))
    assert meta["format"] == "nn-tui-run" and meta["version"] == 1


# --- atomic writes -------------------------------------------------------------------------
def _fail(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_a_failed_save_leaves_the_old_file_and_no_temporary(
    trained: Trainer, saved: Path, monkeypatch, target: str
) -> None:
    before = saved.read_bytes()
    monkeypatch.setattr(os, target, _fail)
    with pytest.raises(RunFileError, match="cannot save run .*No space left on device"):
        save_run(saved, trained)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]
    assert load_run(saved).epoch == trained.epoch


def test_an_interrupted_save_also_cleans_up(trained: Trainer, saved: Path, monkeypatch) -> None:
    before = saved.read_bytes()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_run(saved, trained)
    monkeypatch.undo()
    assert saved.read_bytes() == before
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


def test_saving_into_a_missing_folder_is_a_run_file_error(trained: Trainer, tmp_path) -> None:
    with pytest.raises(RunFileError, match="cannot save run"):
        save_run(tmp_path / "no" / "such" / "run.npz", trained)


# --- foreign and damaged files ---------------------------------------------------------------
def test_missing_file_and_folder(tmp_path: Path) -> None:
    _refused(tmp_path / "nope.npz", "does not exist")
    _refused(tmp_path, "folder")


def test_truncated_file(saved: Path) -> None:
    data = saved.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        saved.write_bytes(data[:cut])
        _refused(saved)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "random.npz"
    for seed in range(5):
        path.write_bytes(np.random.default_rng(seed).bytes(2000))
        _refused(path, "not an nn-tui run file")
    path.write_bytes(b"PK\x03\x04" + np.random.default_rng(9).bytes(500))  # a zip's magic
    _refused(path, "damaged or not an nn-tui run file")


def test_another_programs_npz(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    path.write_bytes(_npz_bytes(weights=np.ones((3, 3)), labels=np.arange(3)))
    _refused(path, "not a complete nn-tui run file", "meta")


def test_a_bare_npy_array(tmp_path: Path) -> None:
    path = tmp_path / "array.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.arange(5.0))
    path.write_bytes(buffer.getvalue())
    _refused(path, "not an nn-tui run file")


@pytest.mark.parametrize(
    ("meta", "fragment"),
    [
        (np.array(3), "not an nn-tui run file"),
        (np.array("[1, 2]"), "not an nn-tui run file"),
        (np.array("{not json"), "not a complete nn-tui run file"),
        (np.array(json.dumps({"format": "other", "version": 1})), "not an nn-tui run file"),
        (np.array(json.dumps({"format": "nn-tui-run", "version": 99})), "version 99"),
        (np.array(json.dumps({"format": "nn-tui-run", "version": 1, "config": {"lr": 0}})),
         "its config is invalid: learning rate"),
        (np.array(json.dumps({"format": "nn-tui-run", "version": 1, "config": [1]})),
         "not a complete nn-tui run file"),
    ],
)
def test_bad_metadata(tmp_path: Path, meta: np.ndarray, fragment: str) -> None:
    path = tmp_path / "meta.npz"
    path.write_bytes(_npz_bytes(meta=meta))
    _refused(path, fragment)


def test_missing_or_misshapen_parts(trained: Trainer, tmp_path: Path) -> None:
    arrays = run_arrays(trained)
    path = tmp_path / "parts.npz"
    for key in ("param_1", "history_loss", "rate_changes", "rate_reasons"):
        path.write_bytes(_npz_bytes(**{k: v for k, v in arrays.items() if k != key}))
        _refused(path, "not a complete nn-tui run file")
    path.write_bytes(_npz_bytes(**{**arrays, "param_0": np.ones((5, 5))}))
    _refused(path, "layer 1 has shape (5, 5)")
    meta = json.loads(str(arrays["meta"]))
    for key, value in (("stride", 0), ("capacity", 2), ("epoch", None), ("seconds", "x")):
        bad = {**arrays, "meta": np.array(json.dumps({**meta, key: value}))}
        path.write_bytes(_npz_bytes(**bad))
        _refused(path, "not a complete nn-tui run file")
    fewer_reasons = {**arrays, "rate_reasons": np.array([], dtype="<U1")}
    path.write_bytes(_npz_bytes(**fewer_reasons))
    _refused(path, "not a complete nn-tui run file")


def test_flipped_bytes_never_escape_as_another_error(saved: Path) -> None:
    data = saved.read_bytes()
    # densely over the headers at both ends (local headers, .npy headers, the zip's
    # directory), sparsely through the compressed middle
    edges = [*range(0, 600, 5), *range(len(data) - 900, len(data), 5)]
    for offset in sorted({*edges, *range(0, len(data), 257)}):
        damaged = bytearray(data)
        damaged[offset] ^= 0xFF
        saved.write_bytes(bytes(damaged))
        with contextlib.suppress(RunFileError):  # loading fine is all right too
            load_run(saved)


# --- pickles are never executed ----------------------------------------------------------------
def test_the_bomb_really_goes_off_when_unpickled(tmp_path: Path) -> None:
    """Guard for the tests below: allow_pickle=True would create the marker."""
    marker = tmp_path / "marker"
    path = tmp_path / "bomb.npz"
    path.write_bytes(_npz_bytes(bomb=np.array([Bomb(marker)], dtype=object)))
    with np.load(path, allow_pickle=True) as npz:
        npz["bomb"]
    assert marker.exists()


def test_an_npz_with_a_pickled_object_array_is_refused(trained: Trainer, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    for key in ("param_0", "meta", "extra"):
        arrays = {**run_arrays(trained), key: np.array([Bomb(marker)], dtype=object)}
        path.write_bytes(_npz_bytes(**arrays))
        _refused(path, "not an nn-tui run file", "refused")
        assert not marker.exists()


def test_a_plain_pickle_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    path = tmp_path / "evil.npz"
    path.write_bytes(pickle.dumps(Bomb(marker)))
    _refused(path, "not an nn-tui run file")
    assert not marker.exists()
    with zipfile.ZipFile(path := tmp_path / "zipped.npz", "w") as zf:
        zf.writestr("meta.pkl", pickle.dumps(Bomb(marker)))
    _refused(path)
    assert not marker.exists()
