"""Interrupted work and what writes leave behind (issue #16, "Files and terminals"):
ctrl-c during ``nn-tui train --save`` keeps the run so far (marked interrupted) and
``--json`` ends with an ``interrupted`` event; atomic writes keep the replaced file's
mode and clean the temporary files a ``kill -9`` left; exported configs read back from
another folder, non-ASCII data paths included.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

import tui.cli.train as cli_train
from engine import ExperimentConfig, Trainer, load_run
from engine.config.experiment import load_config
from engine.io.export import ExportError, config_toml, write_text_atomic
from engine.io.runfile import atomic_write_bytes, save_run
from tui.cli import main
from tui.core.settings import Settings, save_settings

LONG = ["--epochs", "100000000", "--log-every", "1000000"]


def interrupt_after_chunks(monkeypatch, times: int = 1) -> None:
    """ctrl-c ``times`` times, as training's first chunk ends (a real SIGINT to us)."""
    update = cli_train.Screen.update
    sent = []

    def update_then_interrupt(self) -> None:
        if not sent:
            sent.append(True)
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)
        update(self)

    monkeypatch.setattr(cli_train.Screen, "update", update_then_interrupt)


def test_ctrl_c_keeps_the_run_so_far_marked_interrupted(tmp_path, monkeypatch, capsys) -> None:
    interrupt_after_chunks(monkeypatch)
    path = tmp_path / "run.npz"
    assert main(["train", *LONG, "--quiet", "--save", str(path)]) == 130
    captured = capsys.readouterr()
    assert "interrupted at epoch" in captured.err
    assert f"saved the run so far (interrupted) to {path}" in captured.out
    run = load_run(path)
    assert run.status == "interrupted" and 0 < run.epoch < 100_000_000
    assert len(run.history) and run.history.columns["epoch"][-1] <= run.epoch


def test_json_ends_with_an_interrupted_event(tmp_path, monkeypatch, capsys) -> None:
    interrupt_after_chunks(monkeypatch)
    path = tmp_path / "run.npz"
    assert main(["train", *LONG, "--json", "--save", str(path)]) == 130
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "interrupted" and last["saved"] == str(path)
    assert last["epoch"] == load_run(path).epoch


def test_a_second_ctrl_c_stops_at_once_and_still_ends_the_json(tmp_path, monkeypatch,
                                                               capsys) -> None:
    interrupt_after_chunks(monkeypatch, times=2)
    path = tmp_path / "run.npz"
    assert main(["train", *LONG, "--json", "--save", str(path)]) == 130
    last = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert last["event"] == "interrupted" and last["saved"] is None
    assert not path.exists()


def test_the_help_says_what_ctrl_c_keeps(capsys) -> None:
    assert main(["train", "--help"]) == 0
    assert "ctrl-c saves the run so far" in " ".join(capsys.readouterr().out.split())


# --- atomic writes --------------------------------------------------------------------
def _old(path: Path, hours: float = 2) -> Path:
    path.write_bytes(b"half a run")
    then = time.time() - hours * 3600
    os.utime(path, (then, then))
    return path


def test_saving_removes_stale_temporary_files_of_that_name_only(tmp_path) -> None:
    stale = _old(tmp_path / ".run.npz.ab_c12x9.tmp")
    fresh = _old(tmp_path / ".run.npz.zzzzzzzz.tmp", hours=0.1)  # a write in progress?
    other = _old(tmp_path / ".other.npz.ab_c12x9.tmp")  # another file's
    foreign = _old(tmp_path / ".run.npz.not-ours-at-all.tmp")  # not mkstemp's pattern
    save_run(tmp_path / "run.npz", Trainer(ExperimentConfig(epochs=2)))
    assert not stale.exists()
    assert fresh.exists() and other.exists() and foreign.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_writes_keep_the_mode_of_the_file_they_replace(tmp_path) -> None:
    for write, name in ((lambda p: atomic_write_bytes(p, b"x"), "a.bin"),
                        (lambda p: write_text_atomic(p, "x"), "b.csv"),
                        (lambda p: save_run(p, Trainer(ExperimentConfig(epochs=2))), "c.npz"),
                        (lambda p: save_settings(Settings(), p), "settings.toml")):
        path = tmp_path / name
        path.write_bytes(b"old")
        path.chmod(0o600)
        write(path)
        assert path.stat().st_mode & 0o777 == 0o600, name
        path.chmod(0o640)
        write(path)
        assert path.stat().st_mode & 0o777 == 0o640, name


# --- exported configs ---------------------------------------------------------------
def _csv(path: Path) -> Path:
    path.write_text("0,0,0\n1,1,1\n0,1,1\n1,0,0\n", encoding="utf-8")
    return path


def test_a_non_ascii_data_path_reads_back(tmp_path) -> None:
    data = _csv(tmp_path / "pünkte 😀.csv")
    target = write_text_atomic(tmp_path / "c.toml", config_toml(ExperimentConfig(
        data_path=str(data))))
    assert "😀" in target.read_text(encoding="utf-8")
    assert load_config(target).data_path == str(data)


def test_a_relative_data_path_is_exported_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _csv(tmp_path / "points.csv")
    elsewhere = tmp_path / "configs"
    elsewhere.mkdir()
    target = write_text_atomic(elsewhere / "c.toml", config_toml(ExperimentConfig(
        data_path="points.csv")))
    monkeypatch.chdir(elsewhere)
    loaded = load_config(target)
    assert loaded.data_path == str(tmp_path / "points.csv")
    Trainer(loaded)  # the data is found from the other folder


def test_a_data_path_that_is_not_utf8_is_refused_in_one_line(tmp_path) -> None:
    name = os.fsdecode(b"caf\xe9.csv")  # a Latin-1 name on a UTF-8 system: a lone surrogate
    config = ExperimentConfig(data_path=str(tmp_path / name))
    with pytest.raises(ExportError, match="not UTF-8"):
        write_text_atomic(tmp_path / "c.toml", config_toml(config))
    assert not (tmp_path / "c.toml").exists()
