"""No lost work: the run archive (tui/core/archive.py), the app's autosave, and ``nn-tui runs``.

Every test gets its own XDG data home (tests/conftest.py), so nothing here touches
the real ``~/.local/share/nn-tui``.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DataTable

from engine import Trainer, load_run, preset, save_run, trainer_from_saved
from tests.tui.pilot import tap, wait_for
from tui.app import NNApp
from tui.cli import main
from tui.core.archive import (
    ARCHIVE_NAME,
    MAX_BYTES,
    MAX_RUNS,
    Autosaver,
    archive_name,
    archived_files,
    list_runs,
    prune,
    read_summary,
    resolve,
    runs_dir,
    write_run,
)
from tui.core.runs import RunRecord
from tui.core.settings import Settings, load_settings, save_settings
from tui.screens.inspect_runs import RunsScreen
from tui.widgets.panels import EpochLog

SMALL = (80, 24)
PROBE = np.random.default_rng(0).uniform(-0.5, 1.5, (100, 2))


def small_config(**values):
    return preset("dlp-xor").replace(**{"epochs": 1000, "log_every": 500, **values})


def trained(epochs: int = 300, total: int | None = None, **values) -> Trainer:
    """A trainer after ``epochs`` epochs of a run of ``total`` (default: finished)."""
    trainer = Trainer(small_config(epochs=total or epochs, **values))
    trainer.run(epochs)
    return trainer


def summary_of(trainer: Trainer) -> dict:
    return RunRecord.from_trainer(trainer).to_summary()


def archive(trainer: Trainer, when: datetime) -> Path:
    return write_run(trainer, summary_of(trainer), runs_dir(), now=when)


def log_text(app: NNApp) -> str:
    return "\n".join(app.query_one(EpochLog).plain_lines)


def same_predictions(path: Path, trainer: Trainer) -> None:
    from tui.core.training import trainer_from_saved

    opened = trainer_from_saved(load_run(path))
    assert opened.epoch == trainer.epoch
    np.testing.assert_array_equal(opened.predict_raw(PROBE), trainer.predict_raw(PROBE))


# ------------------------------------------------------------------ the app keeps runs


async def test_a_finished_run_is_written_to_the_archive():
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.state == "finished")
        await pilot.pause()
        files = [path for path, _ in archived_files(runs_dir())]
        assert len(files) == 1 and ARCHIVE_NAME.match(files[0].name)
        assert files[0].name.endswith("_xor_2-4-4-1.npz")
        assert app.runs.records[0].path == str(files[0])
        assert f"saved as {files[0].name}" in log_text(app)
        same_predictions(files[0], app.session.trainer)
        await pilot.press("r", "q")  # kept already at this epoch: not written again
    assert len(archived_files(runs_dir())) == 1 and app.exit_notes == []


async def test_quitting_mid_training_keeps_the_run_without_a_question():
    app = NNApp(small_config(epochs=10_000_000))
    async with app.run_test(size=SMALL) as pilot:
        await tap(app, "space")
        await wait_for(pilot, lambda: app.session.trainer.epoch > 200)
        await tap(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    trainer = app.session.trainer
    [(path, _)] = archived_files(runs_dir())
    same_predictions(path, trainer)
    assert load_run(path).history.arrays()["epoch"][-1] == trainer.epoch
    assert len(app.exit_notes) == 1 and str(path) in app.exit_notes[0]
    assert read_summary(path)["status"] == "stopped"


async def test_a_run_stopped_by_a_reset_is_kept_and_a_paused_one_at_quit():
    app = NNApp(small_config(epochs=5000))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n", "r")  # 500 epochs, stopped by the reset
        await pilot.press("s")  # one epoch of the next run, paused at quit
        assert len(archived_files(runs_dir())) == 1
        await pilot.press("q")
    files = [path for path, _ in archived_files(runs_dir())]
    assert [load_run(p).epoch for p in files] == [1, 500], "newest first"


async def test_autosave_off_by_setting_or_flag_writes_nothing():
    save_settings(Settings(autosave=False))
    assert load_settings()[0].autosave is False
    for app in (NNApp(small_config()), NNApp(small_config(), autosave=False)):
        async with app.run_test(size=SMALL) as pilot:
            await pilot.press("n", "r", "n", "q")
        assert not app.autosaver.enabled and not runs_dir().exists()
    save_settings(Settings(autosave=True))
    assert NNApp(small_config()).autosaver.enabled


async def test_an_unwritable_data_dir_gives_one_line_and_quit_still_works(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the data folder should be")  # even root cannot mkdir
    monkeypatch.setenv("XDG_DATA_HOME", str(blocked))
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n", "r")
        await pilot.pause()
        assert "could not keep the run on disk" in log_text(app)
        assert app.runs.records[0].path == "" and len(app.runs) == 1
        messages = [n.message for n in app._notifications]
        assert sum("could not keep the run" in m for m in messages) == 1
        await pilot.press("n")
        await tap(app, "q")
        await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code in (None, 0)
    assert len(app.exit_notes) == 1 and "could not keep the run" in app.exit_notes[0]
    assert "\n" not in app.exit_notes[0]


# ------------------------------------------------------------------ reopening


async def test_archived_runs_are_listed_at_start_up_and_reopened_with_l():
    older, newer = trained(300), trained(700, lr=1.0)
    start = datetime(2026, 1, 2, 3, 4, 5)
    archive(older, start)
    newest = archive(newer, start + timedelta(minutes=1))
    (runs_dir() / "2026-01-02T03-06-00_xor_2-1.npz").write_bytes(b"PK\x03\x04 damaged")
    (runs_dir() / "notes.txt").write_text("not ours")
    app = NNApp(small_config())
    async with app.run_test(size=SMALL) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [(r.label, r.epochs_run, r.source) for r in app.runs] == [
            ("#1", 300, "archive"), ("#2", 700, "archive")]
        assert app.runs.records[1].path == str(newest)
        text = log_text(app)
        assert "2 earlier runs listed" in text and "1 archived runs skipped" in text
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert screen.query_one(DataTable).row_count == 2
        await pilot.press("down")  # run #2, the newer one
        assert screen.selected_number() == 2
        await pilot.press("l")
        await wait_for(pilot, lambda: app.session.trainer.epoch == 700)
        assert not isinstance(app.screen, RunsScreen), "back on the main screen"
        np.testing.assert_array_equal(app.session.trainer.predict_raw(PROBE),
                                      newer.predict_raw(PROBE))
        assert app.session.config == newer.config and app.last_run_path == str(newest)
        await pilot.press("q")  # opened, not trained: not copied into the archive again
    assert len(archived_files(runs_dir())) == 3


async def test_a_reopened_run_trained_further_becomes_a_new_file():
    path = archive(trained(300, total=400), datetime(2026, 1, 1))
    app = NNApp(run_path=path)
    async with app.run_test(size=SMALL) as pilot:
        assert app.session.trainer.epoch == 300 and "opened" in log_text(app)
        await pilot.press("s", "q")
    files = [p for p, _ in archived_files(runs_dir())]
    assert len(files) == 2 and files[1] == path and load_run(files[0]).epoch == 301


async def test_l_on_a_run_without_a_file_says_why():
    app = NNApp(small_config(), autosave=False)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("n", "r", "R")
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert any("has no file to reopen" in n.message for n in app._notifications)
        assert isinstance(app.screen, RunsScreen)


# ------------------------------------------------------------------ storage


def test_names_sort_and_never_collide(tmp_path):
    trainer = trained(50)
    when = datetime(2026, 11, 27, 10, 31, 5)
    first = write_run(trainer, summary_of(trainer), tmp_path, now=when)
    second = write_run(trainer, summary_of(trainer), tmp_path, now=when)
    assert first.name == "000001_2026-11-27T10-31-05_xor_2-4-4-1.npz"
    assert second.name == "000002_2026-11-27T10-31-05_xor_2-4-4-1.npz"
    assert [p for p, _ in archived_files(tmp_path)] == [second, first], "newest first"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    csv = small_config(data_path="/data/My Points (v2).csv", hidden=(10, 5)).to_dict()
    assert archive_name(csv, when) == "2026-11-27T10-31-05_csv-My-Points-v2_2-10-5-1.npz"


def test_an_archived_file_is_a_run_file_that_train_from_reproduces(tmp_path, capsys):
    trainer = trained(400, halve_every=100)
    path = write_run(trainer, summary_of(trainer), tmp_path, now=datetime(2026, 1, 1))
    plain = save_run(tmp_path / "plain.npz", trainer)
    for name, column in load_run(plain).history.arrays().items():
        np.testing.assert_array_equal(load_run(path).history.arrays()[name], column)
    assert main(["train", "--from", str(path), "--quiet"]) == 0
    assert "history reproduced exactly (400 rows)" in capsys.readouterr().out


def test_pruning_keeps_the_newest_within_both_bounds_and_ignores_foreign_files(tmp_path):
    sizes = {"2026-01-01T00-00-01_xor_2-1.npz": 100, "2026-01-01T00-00-02_xor_2-1.npz": 100,
             "2026-01-01T00-00-03_xor_2-1.npz": 300, "2026-01-01T00-00-03.2_xor_2-1.npz": 100,
             "2026-01-01T00-00-04_xor_2-1.npz": 100}
    foreign = ["notes.txt", "my-run.npz", ".run-abc.tmp", "2026-01-01T00-00-00_xor_2-1.npz.bak"]
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(b"x" * size)
    for name in foreign:
        (tmp_path / name).write_bytes(b"y" * 10_000)
    assert prune(tmp_path, max_runs=10, max_bytes=10_000) == []
    deleted = prune(tmp_path, max_runs=4, max_bytes=10_000)
    assert [p.name for p in deleted] == ["2026-01-01T00-00-01_xor_2-1.npz"]
    # 100 + 100 (.2 is newer than the plain name of the same second) fit 250; 300 does not,
    # and everything older than the first misfit goes with it
    deleted = prune(tmp_path, max_runs=4, max_bytes=250)
    assert sorted(p.name for p in deleted) == ["2026-01-01T00-00-02_xor_2-1.npz",
                                               "2026-01-01T00-00-03_xor_2-1.npz"]
    assert [p.name for p, _ in archived_files(tmp_path)] == [
        "2026-01-01T00-00-04_xor_2-1.npz", "2026-01-01T00-00-03.2_xor_2-1.npz"]
    prune(tmp_path, max_runs=4, max_bytes=1)  # the newest stays, however large
    assert [p.name for p, _ in archived_files(tmp_path)] == ["2026-01-01T00-00-04_xor_2-1.npz"]
    assert all((tmp_path / name).exists() for name in foreign)
    assert MAX_RUNS == 200 and MAX_BYTES == 256 * 2**20


def test_the_autosaver_prunes_after_each_write_and_rewrites_its_own_file(tmp_path):
    saver = Autosaver(tmp_path, max_runs=3)
    for i in range(5):
        trainer = Trainer(small_config(seed=i))
        saver.adopt(trainer)
        assert saver.save(trainer, lambda: pytest.fail("nothing trained")) is None
        trainer.step(10)
        path = saver.save(trainer, lambda t=trainer: summary_of(t))
        assert path is not None
        assert saver.save(trainer, lambda: pytest.fail("written at this epoch")) == path
    trainer.step(5)
    assert saver.save(trainer, lambda: summary_of(trainer)) == path, "the same run: same file"
    files = [p for p, _ in archived_files(tmp_path)]
    assert len(files) == 3 and path in files and load_run(path).epoch == 15
    assert not Autosaver(None).pending(trainer)


def test_a_weight_edited_after_the_run_was_kept_is_kept_too(tmp_path):
    """An edit changes the run without a new epoch: the autosaver writes it again (a run
    opened from a file and only edited is written too), once."""
    saver = Autosaver(tmp_path)
    trainer = Trainer(small_config())
    saver.adopt(trainer)
    trainer.step(10)
    path = saver.save(trainer, lambda: summary_of(trainer))
    trainer.edit_weight(1, "weight", 1, 1, 2.0)
    assert saver.pending(trainer)
    assert saver.save(trainer, lambda: summary_of(trainer)) == path
    assert not saver.pending(trainer)
    assert load_run(path).weight_edits == trainer.weight_edits
    opened = trainer_from_saved(load_run(path))
    saver.adopt(opened, origin=path)
    assert not saver.pending(opened), "opened and only looked at: not copied again"
    opened.edit_weight(1, "weight", 1, 2, -1.0)
    assert saver.pending(opened)


def test_listing_reads_the_newest_summaries_and_falls_back_without_one(tmp_path):
    trainer = trained(200)
    start = datetime(2026, 1, 1)
    for i in range(60):
        write_run(trainer, summary_of(trainer), tmp_path, now=start + timedelta(seconds=i))
    copied = tmp_path / "000061_2026-02-01T00-00-00_xor_2-4-4-1.npz"  # saved with w, copied in
    save_run(copied, trainer)
    runs, problems = list_runs(tmp_path, limit=50)
    assert len(runs) == 50 and problems == [] and runs[0].path == copied
    fallback = runs[0].summary
    assert fallback["epochs_run"] == 200 and fallback["epochs"] == []
    assert fallback["final_loss"] == pytest.approx(trainer.history.arrays()["loss"][-1])
    record = RunRecord.from_summary(runs[1].summary, str(runs[1].path))
    assert record.epochs_run == 200 and record.source == "archive"
    assert record.accuracy == RunRecord.from_trainer(trainer).accuracy
    assert 0 < record.epochs.size <= 512
    assert len(list_runs(tmp_path, limit=0)[0]) == 61


def test_resolve_latest_a_name_or_a_path(tmp_path):
    with pytest.raises(ValueError, match="no runs kept yet"):
        resolve("latest")
    trainer = trained(50)
    old = archive(trainer, datetime(2026, 1, 1))
    new = archive(trainer, datetime(2026, 1, 2))
    assert resolve("latest") == new
    assert resolve(old.name) == old
    assert resolve(str(tmp_path / "x.npz")) == tmp_path / "x.npz"


# ------------------------------------------------------------------ the command line


def test_nn_tui_runs_lists_the_archive(capsys):
    assert main(["runs"]) == 0
    assert capsys.readouterr().out.startswith("no runs kept yet in ")
    trainer = trained(300)
    for day in (1, 2, 3):
        archive(trainer, datetime(2026, 1, day, 9, 30))
    assert main(["runs", "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"2 of 3 kept runs in {runs_dir()}, newest first")
    assert "200 runs and 256 MiB" in out[0]
    assert out[1].split() == ["saved", "data", "layers", "act", "opt", "lr", "epochs", "status",
                              "loss", "acc", "file"]  # no "other": the runs differ in nothing
    assert out[2].split()[:9] == ["2026-01-03", "09:30:00", "xor", "2-4-4-1", "sigmoid", "sgd",
                                  "0.5", "300", "finished"]
    assert out[2].endswith("2026-01-03T09-30-00_xor_2-4-4-1.npz") and len(out) == 4
    assert main(["runs", "--json", "--limit", "0"]) == 0
    items = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [item["saved"] for item in items] == [f"2026-01-0{d}T09:30:00" for d in (3, 2, 1)]
    assert items[0]["architecture"] == "2-4-4-1" and items[0]["epochs"] == 300
    assert Path(items[0]["path"]).is_file() and items[0]["final_loss"] > 0
    assert main(["runs", "--limit", "many"]) == 2
    assert "--limit" in capsys.readouterr().err


@pytest.fixture
def fake_app(monkeypatch):
    calls = []
    module = types.ModuleType("tui.app")
    module.run_app = lambda config, **options: calls.append((config, options)) or 0
    monkeypatch.setitem(sys.modules, "tui.app", module)
    return calls


def test_open_latest_and_no_autosave_reach_the_app(capsys, fake_app):
    assert main(["--open", "latest"]) == 2
    assert "no runs kept yet" in capsys.readouterr().err and fake_app == []
    trainer = trained(300)
    archive(trainer, datetime(2026, 1, 1))
    newest = archive(trainer, datetime(2026, 1, 2))
    assert main(["--open", "latest"]) == 0
    assert fake_app[-1] == (None, {"run_path": newest})
    assert main(["tui", "--open", newest.name, "--no-autosave"]) == 0
    assert fake_app[-1] == (None, {"run_path": newest, "autosave": False})
    assert main(["--no-autosave"]) == 0 and fake_app[-1] == (None, {"autosave": False})
    assert main([]) == 0 and fake_app[-1] == (None, {})
    assert main(["--open", "latest", "--preset", "dlp-xor"]) == 2
    assert "--open cannot be combined" in capsys.readouterr().err
    newest.write_bytes(b"not a run")
    assert main(["--open", "latest"]) == 2
    assert "not an nn-tui run file" in capsys.readouterr().err


def test_train_from_latest(capsys):
    archive(trained(300), datetime(2026, 1, 1))
    assert main(["train", "--from", "latest", "--quiet"]) == 0
    assert "history reproduced exactly (300 rows)" in capsys.readouterr().out


def test_run_app_prints_what_the_quit_kept(monkeypatch, capsys):
    import tui.app

    class Quitting:
        return_code = 0
        exit_notes = ["kept the run (epoch 5) in /x.npz; nn-tui --open latest reopens it"]

        def __init__(self, *args, **options):
            self.options = options

        def run(self):
            return 0

    monkeypatch.setattr(tui.app, "NNApp", Quitting)
    assert tui.app.run_app(None, autosave=False) == 0
    assert capsys.readouterr().err == f"nn-tui: {Quitting.exit_notes[0]}\n"


def test_the_test_suite_never_writes_into_the_real_home():
    home = Path(os.path.expanduser("~"))
    assert not runs_dir().is_relative_to(home / ".local" / "share")


def test_a_new_file_sorts_newest_even_when_names_of_its_second_were_pruned(tmp_path):
    trainer = trained(50)
    when = datetime(2026, 3, 1, 12, 0, 0)
    paths = [write_run(trainer, summary_of(trainer), tmp_path, now=when) for _ in range(3)]
    paths[0].unlink()  # the first name is free again
    newest = write_run(trainer, summary_of(trainer), tmp_path, now=when)
    assert newest.name.startswith("000004_2026-03-01T12-00-00_")
    assert archived_files(tmp_path)[0][0] == newest
    back = write_run(trainer, summary_of(trainer), tmp_path, now=when - timedelta(hours=1))
    assert prune(tmp_path, max_runs=1, keep=back) != [] and back.exists(), "clock went back"


def test_with_the_clock_set_back_the_newest_run_is_still_the_newest(tmp_path):
    """Ordered by the sequence in the name, not the time: pruning deletes the oldest run
    written and ``latest`` is the run written last, wherever the clock stood."""
    trainer = trained(50)
    future = write_run(trainer, summary_of(trainer), tmp_path, now=datetime(2030, 1, 1))
    back = write_run(trainer, summary_of(trainer), tmp_path, now=datetime(2026, 1, 1))
    assert archived_files(tmp_path)[0][0] == back
    assert resolve("latest", tmp_path) == back
    assert prune(tmp_path, max_runs=1) == [future] and back.exists()


def test_names_without_a_sequence_stay_readable_and_sort_oldest(tmp_path):
    """An archive an older nn-tui wrote: its names are listed, by time, before new ones."""
    trainer = trained(50)
    older = [tmp_path / "2026-05-01T09-00-00_xor_2-4-4-1.npz",
             tmp_path / "2026-05-01T09-00-00.2_xor_2-4-4-1.npz"]
    for path in older:
        path.write_bytes(write_run(trainer, summary_of(trainer), tmp_path / "w",
                                   now=datetime(2026, 1, 1)).read_bytes())
    new = write_run(trainer, summary_of(trainer), tmp_path, now=datetime(2026, 1, 1))
    assert new.name.startswith("000001_")
    assert [p for p, _ in archived_files(tmp_path)] == [new, older[1], older[0]]
    runs, problems = list_runs(tmp_path)
    assert not problems and [r.path for r in runs] == [new, older[1], older[0]]
    assert load_run(older[0]).epoch == 50


def test_a_read_only_archive_gives_one_notice_naming_the_folder(tmp_path, monkeypatch):
    """Every failed write fails on a new random temporary name: the notice names the
    folder instead, so it is the same line each time and shown once."""
    import errno
    import secrets
    import tempfile

    def refused(*_args, dir=None, **_kwargs):
        raise PermissionError(errno.EACCES, "Permission denied",
                              os.path.join(dir, f".run-{secrets.token_hex(4)}.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    from tui.core.keeper import RunKeeper
    from tui.core.runs import RunStore

    keeper = RunKeeper(RunStore(), Autosaver(tmp_path))
    warnings = [keeper.keep(trained(20 + i)).warning for i in range(3)]
    assert warnings[0] == f"could not keep the run on disk in {tmp_path}: Permission denied"
    assert warnings[1:] == [None, None]


def test_pruning_removes_temporary_files_a_crash_left_behind(tmp_path):
    stale, fresh = tmp_path / ".run-old.tmp", tmp_path / ".run-new.tmp"
    foreign = tmp_path / "notes.tmp"
    for path in (stale, fresh, foreign):
        path.write_bytes(b"half a run")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    os.utime(foreign, (hours_ago, hours_ago))
    prune(tmp_path)
    assert not stale.exists(), "a crash's leftover goes"
    assert fresh.exists(), "a write in progress (another nn-tui's) stays"
    assert foreign.exists(), "files that are not ours stay"
