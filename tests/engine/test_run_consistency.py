"""Run files whose arrays disagree with each other (issue #16): each is refused by
``load_run`` with one RunFileError line, never accepted to crash the app later (an
IndexError when a history of uneven columns is drawn) or ``--from`` with a traceback.

Crafted from a real run with ``np.savez`` and one array tampered: properties over which
history column is cut and by how much, over shapes and types of each array.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import ExperimentConfig, RunFileError, Trainer, load_run
from engine.io.runfile import run_arrays
from engine.train.history import COLUMNS
from tui.cli import main

PROPERTY = settings(derandomize=True, database=None, deadline=None, max_examples=60,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    trainer = Trainer(ExperimentConfig(epochs=40, log_every=10, halve_every=10))
    trainer.run()
    trainer.set_lr(0.3)
    assert trainer.rate_changes and len(trainer.history) > 5
    return run_arrays(trainer)


def _write(tmp_path: Path, arrays: dict[str, np.ndarray], **changes: np.ndarray) -> Path:
    buffer = io.BytesIO()
    np.savez(buffer, **{**arrays, **changes})
    path = tmp_path / "tampered.npz"
    path.write_bytes(buffer.getvalue())
    return path


def _refused(path: Path, fragment: str = "") -> str:
    with pytest.raises(RunFileError) as info:
        load_run(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and fragment in message
    return message


def _meta(arrays: dict[str, np.ndarray], **changes: object) -> np.ndarray:
    return np.array(json.dumps({**json.loads(str(arrays["meta"])), **changes}))


def test_the_untampered_run_loads(tmp_path: Path, arrays) -> None:
    assert load_run(_write(tmp_path, arrays)).epoch == 40


@PROPERTY
@given(column=st.sampled_from(COLUMNS), cut=st.integers(1, 5), longer=st.booleans())
def test_a_history_column_of_another_length_is_refused(tmp_path, arrays, column, cut, longer):
    col = arrays[f"history_{column}"]
    changed = np.concatenate([col, col[:cut]]) if longer else col[:-cut]
    _refused(_write(tmp_path, arrays, **{f"history_{column}": changed}), "history")


@PROPERTY
@given(column=st.sampled_from(COLUMNS), shape=st.sampled_from(["2d", "scalar", "text"]))
def test_a_history_column_of_another_shape_or_type_is_refused(
    tmp_path, arrays, column, shape
) -> None:
    col = arrays[f"history_{column}"]
    changed = {"2d": col.reshape(-1, 1), "scalar": np.float64(1.0),
               "text": col.astype(str)}[shape]
    _refused(_write(tmp_path, arrays, **{f"history_{column}": changed}), "history")


@pytest.mark.parametrize(
    "epochs",
    [lambda e: e[::-1], lambda e: e + 0.5, lambda e: e * 0, lambda e: e + 10_000,
     lambda e: np.where(e == e[-1], np.nan, e)],
    ids=["falling", "fractional", "zero", "beyond the run", "not finite"],
)
def test_history_epochs_must_be_whole_rising_and_within_the_run(tmp_path, arrays, epochs):
    changed = epochs(arrays["history_epoch"].copy())
    _refused(_write(tmp_path, arrays, history_epoch=changed), "epochs")


def test_more_history_rows_than_the_capacity_or_a_negative_epoch(tmp_path, arrays) -> None:
    _refused(_write(tmp_path, arrays, meta=_meta(arrays, capacity=4)), "capacity")
    _refused(_write(tmp_path, arrays, meta=_meta(arrays, epoch=-1)), "epoch")


@pytest.mark.parametrize(
    "changes",
    [
        lambda a: {"rate_changes": a["rate_changes"][:, :3]},
        lambda a: {"rate_changes": a["rate_changes"].ravel()},
        lambda a: {"rate_changes": a["rate_changes"].astype(str)},
        lambda a: {"rate_reasons": np.concatenate([a["rate_reasons"], ["extra"]])},
        lambda a: {"rate_reasons": np.arange(len(a["rate_changes"]))},
        lambda a: {"rate_reasons": a["rate_reasons"].reshape(-1, 1)},
    ],
    ids=["three columns", "flat", "text", "a reason too many", "numbers", "2d reasons"],
)
def test_rate_changes_must_match_their_reasons(tmp_path, arrays, changes) -> None:
    _refused(_write(tmp_path, arrays, **changes(arrays)), "rate")


@pytest.mark.parametrize(
    "param", [lambda p: p.astype(str), lambda p: p.T, lambda p: p[:-1], lambda p: p.ravel()],
    ids=["text", "transposed", "a row short", "flat"],
)
def test_parameters_must_match_the_configs_architecture(tmp_path, arrays, param) -> None:
    changed = param(arrays["param_0"])
    if changed.shape == arrays["param_0"].shape and changed.dtype == np.float64:
        pytest.skip("a square layer transposes to its own shape")
    _refused(_write(tmp_path, arrays, param_0=changed), "layer 1")


def test_train_from_a_run_of_uneven_columns_is_one_line(tmp_path, arrays, capsys) -> None:
    path = _write(tmp_path, arrays, history_loss=arrays["history_loss"][:-2])
    for argv in (["train", "--quiet", "--from", str(path)], ["--open", str(path)]):
        code = main(argv)
        captured = capsys.readouterr()
        assert code == 2 and captured.out == "", captured
        assert len(captured.err.splitlines()) == 1 and "Traceback" not in captured.err
        assert str(path) in captured.err and "history" in captured.err
