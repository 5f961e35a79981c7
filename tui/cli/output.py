"""What several commands print alike: the numbers' formats and JSON lines; and the
check of a file flag's target before any work is done.

JSON mode prints one object per line on stdout and nothing else there; NaN and
infinities become null. The numbers' formats are the shared core's
(``tui.core.event_text``, which the app's log uses too), passed on here under the
names the commands know; that module imports nothing heavy, so neither does this one.
"""

from __future__ import annotations

import json
import math
from typing import Any

from tui.core.event_text import loss_text as fmt_loss
from tui.core.event_text import percent_text as fmt_percent
from tui.core.event_text import seconds_text as fmt_seconds


# --- files -------------------------------------------------------------------------
def checked_target(flag: str, path: str, example: str = "") -> str:
    """``path`` if a file can be written there, else one error line naming ``flag``: the
    engine's ``check_target`` decides (one set of checks for the CLI and the app), so
    ``--save``, ``--csv`` and the exports refuse alike, before training, not after."""
    from engine.io.export import ExportError, check_target
    from tui.cli.errors import CliError

    try:
        check_target(path, example)
    except ExportError as exc:
        raise CliError(f"{flag}: {exc}") from None
    return path


# --- JSON --------------------------------------------------------------------------
def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN and infinities become null, NumPy numbers become Python's."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if hasattr(value, "tolist"):  # a NumPy scalar or array
        return json_safe(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def json_line(value: Any) -> str:
    return json.dumps(json_safe(value), allow_nan=False)


__all__ = ["checked_target", "fmt_loss", "fmt_percent", "fmt_seconds", "json_line", "json_safe"]
