"""One home for the keys: the bindings carry their help; the help screen, the command
palette and the README's key table are built from them.

The README's table is generated (``python -m tui.screens.help README.md``) from the help
screen's rows; these tests fail while it differs from what the bindings say, so a key
added, removed or re-explained in the code alone (or in the README alone) is caught.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.binding import Binding

from tui.app import HelpBinding, NNApp
from tui.screens.help import HELP_ORDER, README_END, README_START, readme_keys

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_block() -> str:
    text = README.read_text(encoding="utf-8")
    start, end = text.index(README_START), text.index(README_END) + len(README_END)
    return text[start:end]


def test_every_binding_carries_its_help():
    for binding in NNApp.BINDINGS:
        assert isinstance(binding, HelpBinding), binding
        assert binding.id and binding.description and binding.tooltip and binding.detail, \
            binding.id


def test_the_help_order_names_every_binding_once():
    ids = [b.id for b in NNApp.BINDINGS if isinstance(b, Binding)]
    assert sorted(HELP_ORDER) == sorted(ids)


def test_the_readme_key_table_is_up_to_date():
    assert readme_block() == readme_keys(), (
        "README.md's key table differs from the bindings' help: "
        "run  python -m tui.screens.help README.md")


def test_the_readme_lists_every_key_with_its_help():
    """The same, row by row, for a readable failure: each binding's keys, title and detail."""
    rows = {}
    for line in readme_block().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 3 and "<kbd>" in cells[0]:
            rows.setdefault(cells[1], []).append((cells[0], cells[2]))
    for binding in NNApp.BINDINGS:
        title = binding.tooltip.replace("<", "&lt;").replace(">", "&gt;")
        assert title in rows, f"{binding.id}: {binding.tooltip!r} is not in the README"
        (keys, detail), *_ = rows[title]
        assert detail == binding.detail.replace("<", "&lt;").replace(">", "&gt;"), binding.id
        shown = re.findall(r"<kbd>(.*?)</kbd>", keys)
        assert len(shown) == len(binding.key.split(",")), binding.id
