"""What several commands print alike: the numbers' formats and JSON lines.

JSON mode prints one object per line on stdout and nothing else there; NaN and
infinities become null. Standard library only.
"""

from __future__ import annotations

import json
import math
from typing import Any


# --- numbers -----------------------------------------------------------------------
def fmt_loss(x: float) -> str:
    """Ten decimals as the course prints them; scientific once that stops being readable."""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.10f}" if abs(x) < 1e6 else f"{x:.6e}"


def fmt_percent(x: float | None) -> str:
    return f"{100 * x:6.2f}%" if x is not None and math.isfinite(x) else "   nan%"


def fmt_seconds(s: float) -> str:
    return f"{s:.2f} s" if s < 10 else f"{s:.1f} s"


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
