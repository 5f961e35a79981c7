"""Text from files and names never drives the terminal (issue #16, "Files and terminals").

A run file's status, a sweep's cells and file names reach the runs screen, the path
prompt's list, ``nn-tui runs``, the CLI's errors and the ``train --data`` header: each
shows the escape sequence as visible text (``\\x1b``), and markup in a name (``[bold]``)
as itself.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from rich.text import Text

from engine import ExperimentConfig, Trainer
from tui.app import NNApp
from tui.cli import main
from tui.cli.sweep_table import SweepTable
from tui.core.archive import runs_dir, write_run
from tui.core.runs import RunRecord
from tui.core.safe_text import printable
from tui.screens.prompts import complete_path, matching_entries
from tui.widgets.panels import EpochLog

HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J", "\r", "\u202e", "\x9b2J", "\x7f", "\u2066"]
RAW = ("\x1b", "\x07", "\r", "\u202e", "\x9b", "\x7f", "\u2066")


def clean(text: str) -> bool:
    return not any(c in text for c in RAW)


@pytest.mark.parametrize("text", HOSTILE)
def test_printable_escapes_controls_and_bidi_overrides_visibly(text: str) -> None:
    shown = printable(f"run{text}.npz")
    assert clean(shown) and shown.startswith("run") and shown.endswith(".npz")
    assert "\\x" in shown or "\\u" in shown


def test_printable_keeps_ordinary_text() -> None:
    assert printable("café 😀 [bold] a,b") == "café 😀 [bold] a,b"
    assert printable("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert printable("a\u202eb") == "a\\u202eb"


def _hostile_csv(folder: Path) -> Path:
    path = folder / "data\x1b]0;pwned\x07[bold].csv"
    path.write_text("x1,x2,label\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n", encoding="utf-8")
    return path


def test_the_train_data_header_and_cli_errors_are_escaped(tmp_path, capsys) -> None:
    path = _hostile_csv(tmp_path)
    assert main(["train", "--data", str(path), "--epochs", "5", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "data\\x1b]0;pwned\\x07[bold].csv" in out and clean(out)
    missing = tmp_path / "gone\x1b[2J.npz"
    assert main(["train", "--from", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "gone\\x1b[2J.npz" in err and clean(err)


@pytest.mark.parametrize("command", ["gradcheck", "explain"])
def test_gradcheck_and_explain_headers_escape_the_data_name(tmp_path, capsys, command) -> None:
    path = _hostile_csv(tmp_path)
    main([command, "--data", str(path)])
    out = capsys.readouterr().out
    assert "data\\x1b]0;pwned\\x07[bold].csv" in out and clean(out)


def _archived(status: str, data_path: str = "") -> Path:
    trainer = Trainer(ExperimentConfig(epochs=20, data_path=data_path or None))
    trainer.run()
    summary = RunRecord.from_trainer(trainer).to_summary()
    summary["status"] = status
    return write_run(trainer, summary, runs_dir(), now=datetime(2026, 1, 1))


def test_nn_tui_runs_escapes_a_status_and_a_file_name(tmp_path, capsys) -> None:
    _archived("\x1b]0;pwned\x07\x1b[2J\r\u202e", str(_hostile_csv(tmp_path)))
    assert main(["runs"]) == 0
    out = capsys.readouterr().out
    assert "\\x1b]0;pwned\\x07" in out and "\\u202e" in out and clean(out)


def test_run_records_escape_their_status_and_data_name(tmp_path) -> None:
    path = _archived("\x1b[2J", str(_hostile_csv(tmp_path)))
    from tui.core.archive import read_summary

    record = RunRecord.from_summary(read_summary(path), str(path))
    assert record.status == "\\x1b[2J"
    assert clean(record.dataset) and clean(record.summary) and "[bold]" in record.dataset
    assert record.path == str(path)  # the path itself is kept as it is, to reopen the file
    sweep = RunRecord.from_sweep({"config": ExperimentConfig().to_dict(),
                                  "status": "\x1b]0;pwned\x07"})
    assert sweep.status == "\\x1b]0;pwned\\x07"


def test_path_completion_lists_names_escaped_and_never_types_them_in(tmp_path) -> None:
    (tmp_path / "run\x1b[2J.npz").write_bytes(b"")
    listed = matching_entries(str(tmp_path) + "/r")
    assert listed == "run\\x1b[2J.npz"
    assert complete_path(str(tmp_path) + "/r") is None


def test_the_sweep_table_escapes_cells_and_shows_markup_as_text() -> None:
    table = SweepTable.__new__(SweepTable)
    table.results = [{"status": "\x1b[2J", "epochs_run": 1, "final_loss": 0.5,
                      "final_accuracy": 1.0, "perfect_epoch": None, "seconds": 0.1,
                      "message": ""}]
    table.settings, table.varied, table.has_test, table.progress_of = [["[bold]x"]], ["d"], \
        False, {}
    cells, _ = table.cells(0)
    assert cells[2] == "\\x1b[2J" and all(clean(c) for c in cells)
    rendered = table.rich_table()
    assert isinstance(rendered.columns[1]._cells[0], Text)
    assert rendered.columns[1]._cells[0].plain == "[bold]x"


async def test_the_app_escapes_its_log_pop_ups_and_runs_table(tmp_path) -> None:
    _archived("\x1b]0;pwned\x07", str(_hostile_csv(tmp_path)))
    app = NNApp(ExperimentConfig(epochs=50), deterministic=True)
    async with app.run_test(size=(120, 36)) as pilot:
        app.error(f"cannot open {tmp_path}/x\x1b[2J[bold]y.npz")
        app.notify("[/oops] \x1b[2J")  # malformed markup would raise if read as markup
        await pilot.pause()
        log = app.query_one(EpochLog)
        assert clean("\n".join(log.plain_lines))
        assert any("x\\x1b[2J[bold]y.npz" in line for line in log.plain_lines)
        assert all(clean(str(n.message)) for n in app._notifications)
        assert any("[/oops]" in str(n.message) for n in app._notifications)
        await pilot.press("R")
        await pilot.pause()
        for record in app.runs:
            assert clean(record.status) and clean(record.dataset)
