"""bench/report.py: reading the scripts' target blocks and writing the README's section."""

from __future__ import annotations

import pytest

from bench.report import BEGIN, END, Run, parse_targets, readme_section, replace_section

PEERS_TAIL = """\
(e) linear n=100,000 h=256,256
  trainer/floor 1.13  trainer32/floor32 0.99

targets (ratios of medians from this run)
  (a) trainer/floor       2.09  target <= 1.2  MISSED by 74%
  (a) torch32/trainer    11.05  target >= 5    ok
  (e) trainer32/torch32   0.47  target <= 1.1  ok

(150 s)
"""


def test_reads_every_target_line_of_the_last_block() -> None:
    targets = parse_targets("peers.py", PEERS_TAIL)
    assert [(t.label, t.value, t.op, t.bound, t.verdict) for t in targets] == [
        ("(a) trainer/floor", "2.09", "<=", "1.2", "MISSED by 74%"),
        ("(a) torch32/trainer", "11.05", ">=", "5", "ok"),
        ("(e) trainer32/torch32", "0.47", "<=", "1.1", "ok"),
    ]
    assert [t.met for t in targets] == [False, True, True]


def test_output_without_a_targets_block_has_no_targets() -> None:
    assert parse_targets("scaling.py", "table 1: microseconds per epoch\n  100  37.8\n") == []


def test_section_lists_targets_and_marks_misses() -> None:
    run = Run("peers.py", "peers", PEERS_TAIL, 150.0, 1)
    section = readme_section(["python 3.11.7  numpy 2.4.6"], [run],
                             parse_targets("peers.py", PEERS_TAIL), "2026-11-27 10:00 UTC", False)
    assert section.startswith(BEGIN) and section.endswith(END)
    assert "2 of 3 targets met" in section
    assert "| `peers.py` | (a) trainer/floor | 2.09 | <= 1.2 | **MISSED by 74%** |" in section
    assert "python 3.11.7  numpy 2.4.6" in section


def test_replace_section_keeps_the_rest_of_the_readme() -> None:
    readme = f"# title\n\n## Speed\n\n{BEGIN}\nold figures\n{END}\n\n## Files\n"
    new = replace_section(readme, f"{BEGIN}\nnew figures\n{END}")
    assert new == f"# title\n\n## Speed\n\n{BEGIN}\nnew figures\n{END}\n\n## Files\n"


def test_readme_without_markers_is_refused_with_a_message() -> None:
    with pytest.raises(SystemExit, match="markers"):
        replace_section("# title\n", "x")
