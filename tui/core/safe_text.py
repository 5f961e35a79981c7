"""Text from a file or a name, made safe to show on a terminal.

A run file's status, a sweep CSV's cells, a file name or a path inside an error message
come from whoever wrote the file or chose the name. Written to a terminal as they are,
``"\\x1b]0;pwned\\x07"`` retitles the window, ``"\\x1b[2J"`` clears the screen, ``"\\r"``
overwrites what came before on the line, and ``"\\u202e"`` (right-to-left override)
shows ``evil\\u202etxt.npz`` as ``evilzpn.txt``. ``printable`` replaces each such
character with its visible escape, so the text still says what the file holds:

    >>> printable("run\\x1b[2J.npz")
    'run\\\\x1b[2J.npz'

Every place that shows such text calls it: the CLI's lines (tui/cli), the run records
(tui/core/runs.py), the app's screens and prompts. Rich/Textual markup (``[bold]`` in a
file name) is another matter: widgets show such text as ``rich.text.Text`` or escaped,
never as markup. No UI library here: this is the shared core.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # marks, embeddings, overrides, isolates
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (any object, as ``str``) with every control character (C0, DEL, C1, ESC
    among them), bidirectional override and line separator replaced by its visible escape
    (``\\x1b``, ``\\u202e``): one line, shown as written, that cannot drive the terminal."""
    return _UNSAFE.sub(_escape, str(text))


__all__ = ["printable"]
