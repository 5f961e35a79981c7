"""TOML values written by hand, for the flat files nn-tui writes: experiment configs
(``ExperimentConfig.to_toml``) and the app's settings (``tui.core.settings``).

The standard library reads TOML (``tomllib``) but does not write it; both files are
flat ``key = value`` lines, so these few lines do, once for both, and ``tomllib`` reads
every value back as it was. Here, in the config layer, rather than in ``engine.io``:
the config imports nothing from the layers above it (tests/test_contracts.py).
Standard library only.
"""

from __future__ import annotations

import math

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_value(value: object) -> str:
    """A TOML value: booleans, integers, floats (exact, ``repr``; nan and ±inf as TOML
    spells them), strings, and lists or tuples of these. Anything else is refused
    (TypeError) rather than written as something ``tomllib`` would read back otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped; any
    other character (accents, emoji) as itself, since TOML files are UTF-8."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


__all__ = ["toml_string", "toml_value"]
