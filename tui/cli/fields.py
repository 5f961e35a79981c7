"""The config fields' flags: their names, their --help, and the flag table.

What each setting is (help, choices, default, section, metavar) comes from
``engine.config.fields``, which imports only the standard library, so ``--help`` never
imports NumPy. What is the command line's own is here: the flag names, the notes the
flag help adds, and which fields a sweep or a gradient check treats apart.
"""

from __future__ import annotations

from engine.config.fields import SECTIONS, SETTINGS, value_text

NBSP = "\u00a0"  # a no-break space: keeps a phrase on one line of --help

FLAG_NAMES = {"data_path": "--data"}  # fields whose flag is not --field-name


def flag_for(field: str | None) -> str | None:
    """The command-line flag that sets a config field (``batch_size`` -> ``--batch-size``)."""
    if not field:
        return None
    return FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


def when_note(field: str) -> str:
    """`` for --optimizer momentum``: when a field matters, in flags."""
    when = SETTINGS[field].shown_when
    if when is None:
        return ""
    return f" for {flag_for(when.field)} {' or '.join(when.values)}"


# What a flag's help adds after the setting's help (the other fields' need no note).
HELP_NOTES = {"test_split": ", at most 0.9", "momentum": when_note("momentum")}

# The flags of the config fields, in help order: (--help group, field, metavar, note).
FLAG_TABLE: tuple[tuple[str, str, str, str], ...] = tuple(
    (section.group, s.name, s.metavar, HELP_NOTES.get(s.name, ""))
    for section in SECTIONS for s in section.settings
)


def field_help(field: str, note: str = "") -> str:
    """A flag's help: the setting's help, the accepted values and the default."""
    setting = SETTINGS[field]
    text = setting.help + note
    if setting.choices and not all(c in text for c in setting.choices):
        text += ": " + ", ".join(setting.choices)
    default = value_text(setting.default)
    return f"{text} [default:{NBSP}{default}]" if default else text


# Fields whose one value may itself hold commas: in a sweep their alternatives are
# separated by spaces only (--hidden 4,4 8,8). The others also take one comma list.
WHOLE_VALUE_FIELDS = frozenset({"hidden", "activation", "halve_band", "data_path", "features"})


# The fields that change a gradient check; the others are accepted and ignored.
GRADCHECK_FIELDS = frozenset({
    "dataset", "n", "noise", "test_split", "data_path", "data_seed", "hidden", "activation",
    "bias", "init", "scale", "loss", "seed", "features", "l2", "l1",
})
