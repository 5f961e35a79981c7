"""Files that are not what they seem (issue #16, "Files and terminals"): a named pipe or a
device where a file is expected, a size bound counted in bytes, TOML nested deeper than
the reader can follow. Each is refused with the reader's own one-line error, at once.

A pipe would block a reader that opens it until someone writes: each read runs in a
thread that must finish within seconds (``promptly``), so the old behaviour fails the test
instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.data.datasets as datasets
from engine import ExperimentConfig, RunFileError, Trainer, load_run, save_run
from engine.config.experiment import ConfigError, load_config
from engine.data.datasets import DataError, load_csv
from engine.data.files import FileTooLargeError, NotRegularFileError, read_regular_file

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
DEEP = "x = " + "[" * 600 + "]" * 600 + "\n"  # about 1 KB


def promptly(call: Callable[[], object], seconds: float = 10.0) -> BaseException | object:
    """What ``call`` returned or raised, failing the test when it does not end in time."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as exc:  # noqa: BLE001 (handed to the test to check)
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"still reading after {seconds} s (blocked on a pipe?)"
    return outcome[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs named pipes")
    path = tmp_path / "pipe"
    os.mkfifo(path)
    yield path
    # unblock a reader the old code left waiting on it (opening for writing fails at once
    # when there is none), so that its thread can end
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


# --- the helper --------------------------------------------------------------------------
def test_read_regular_file_reads_a_file_within_its_bound(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 100)
    assert read_regular_file(path, 100) == b"x" * 100
    with pytest.raises(FileTooLargeError):
        read_regular_file(path, 99)


def test_read_regular_file_refuses_a_pipe_a_device_and_a_folder(fifo: Path, tmp_path) -> None:
    assert isinstance(promptly(lambda: read_regular_file(fifo, 10)), NotRegularFileError)
    if os.path.exists("/dev/zero"):
        with pytest.raises(NotRegularFileError, match="character device"):
            read_regular_file("/dev/zero", 10)
    with pytest.raises(IsADirectoryError):
        read_regular_file(tmp_path, 10)
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "nope", 10)


def test_a_symlink_to_a_device_is_refused(tmp_path: Path) -> None:
    if not os.path.exists("/dev/zero"):
        pytest.skip("needs /dev/zero")
    link = tmp_path / "settings.toml"
    link.symlink_to("/dev/zero")
    with pytest.raises(NotRegularFileError):
        read_regular_file(link, 2**20)


# --- its readers ------------------------------------------------------------------------
@needs_fifo
def test_a_pipe_as_config_data_or_run_file_is_refused_at_once(fifo: Path) -> None:
    for read, error in ((load_config, ConfigError), (load_csv, DataError),
                        (load_run, RunFileError)):
        outcome = promptly(lambda read=read: read(fifo))
        assert isinstance(outcome, error), outcome
        assert str(fifo) in str(outcome) and "named pipe" in str(outcome)


@needs_fifo
def test_a_run_whose_data_path_is_a_pipe_is_refused(fifo: Path) -> None:
    outcome = promptly(lambda: Trainer(ExperimentConfig(data_path=str(fifo))))
    assert isinstance(outcome, DataError) and "named pipe" in str(outcome)


def test_the_csv_bound_counts_bytes_not_characters(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 100)
    path = tmp_path / "emoji.csv"
    path.write_text("\U0001f600" * 40, encoding="utf-8")  # 40 characters, 160 bytes
    with pytest.raises(DataError, match="larger than"):
        load_csv(path)


def test_a_run_file_larger_than_its_bound_is_refused_unread(tmp_path, monkeypatch) -> None:
    import engine.io.runfile as runfile

    trainer = Trainer(ExperimentConfig(epochs=3))
    path = save_run(tmp_path / "run.npz", trainer)
    monkeypatch.setattr(runfile, "MAX_RUN_FILE_BYTES", 100)
    with pytest.raises(RunFileError, match="larger than"):
        load_run(path)


def test_a_config_nested_too_deep_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(DEEP, encoding="utf-8")
    with pytest.raises(ConfigError, match="nested too deep") as info:
        load_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
