"""The served app's folder: when ``nn-tui serve`` runs the app for a browser, every path a
prompt lists, reads or writes must lie inside one folder (``--root``).

The server tells the app with the environment variable ``NN_TUI_ROOT`` (an absolute
folder). The rule is written once, here, and used by the path prompt (its listing,
completion and submitted path: ``tui.screens.prompts``) and again by the file actions
(``tui.file_actions``) just before a file is touched, so that neither a typed ``../``,
an absolute path, ``~`` nor a symlink that points out of the folder reaches a file
outside it. Paths are compared after ``os.path.realpath``, which follows symlinks (and
a symlink that does not exist yet resolves to where a write would land).

Without ``NN_TUI_ROOT`` (the app in a terminal) nothing is confined: the user owns the
machine. No Textual here: the rule is plain paths, tested without an app.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "NN_TUI_ROOT"
"""Set by ``nn-tui serve`` for each app process it starts: the served folder."""


class OutsideRootError(ValueError):
    """A path outside the served folder; the message says which folder is allowed."""


def served_root() -> Path | None:
    """The folder a served app is confined to (resolved), or None when not served."""
    value = os.environ.get(ROOT_ENV, "")
    return Path(os.path.realpath(value)) if value and os.path.isabs(value) else None


def inside(path: Path, root: Path) -> bool:
    """True when ``path``, every symlink followed, is ``root`` or lies below it."""
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def confine(path: Path, root: Path | None = None) -> Path:
    """``path`` (relative: to the served folder), if it lies inside the served folder.

    Returns ``path`` unchanged when the app is not served. Raises OutsideRootError for a
    path outside it, without saying whether that path exists.
    """
    root = served_root() if root is None else root
    if root is None:
        return path
    full = path if path.is_absolute() else root / path
    if not inside(full, root):
        raise OutsideRootError(f"only files in the served folder {root} can be used "
                               "(this app is served to a browser)")
    return full


def confine_data_path(data_path: str) -> None:
    """Refuse a config's CSV data path outside the served folder (the editor's csv
    field and a config file reach the data without a prompt); nothing when not served."""
    if data_path:
        confine(Path(data_path))
