"""The flags several commands share: --preset and --config, the app's, and one per
config field (train and gradcheck: one value each; sweep: one or more)."""

from __future__ import annotations

import argparse

from engine.config.fields import PRESET_NAMES
from tui.cli.fields import FLAG_TABLE, NBSP, field_help, flag_for


def add_source_flags(
    parser: argparse.ArgumentParser, *, top: bool
) -> argparse.ArgumentParser | argparse._ArgumentGroup:
    """--preset and --config. Below the top level their default is SUPPRESS, so that
    ``nn-tui --preset X train`` keeps X instead of the subcommand's empty default."""
    if top:
        group, default, what = parser, None, "open the app on"
    else:
        group = parser.add_argument_group("starting point")
        default, what = argparse.SUPPRESS, "start from"
    group.add_argument(
        "--preset", metavar="NAME", default=default,
        help=f"{what} a preset: {', '.join(PRESET_NAMES)}",
    )
    group.add_argument(
        "--config", metavar="FILE", default=default,
        help=f"{what} a TOML config file: keys as the flags, e.g. "
        + 'lr = 0.5, hidden = [4, 4], preset = "dlp-xor"'.replace(" ", NBSP)
    )
    return group


def add_app_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """--open and --no-autosave (SUPPRESS below the top level, as for --preset)."""
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--open", dest="open_run", metavar="RUN", default=default,
        help="open the app on a run file: a path, a name from nn-tui runs, or latest "
             "(the newest kept run)",
    )
    parser.add_argument(
        "--no-autosave", dest="autosave", action="store_const", const=False,
        default=default, help="do not keep runs in the run archive this time (nn-tui runs)",
    )


def add_config_flags(
    parser: argparse.ArgumentParser, shown: frozenset[str] | None = None
) -> dict[str, argparse._ArgumentGroup]:
    """A flag for every config field, in sections; fields not in ``shown`` are accepted
    but left out of the help (gradcheck takes train's command line unchanged)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for section, field, metavar, note in FLAG_TABLE:
        visible = shown is None or field in shown
        if section not in groups:
            groups[section] = parser.add_argument_group(section)
        group = groups[section]
        if field == "bias":
            group.add_argument(
                "--bias", dest="bias", action="store_const", const="true", default=None,
                help=field_help("bias") if visible else argparse.SUPPRESS,
            )
            group.add_argument(
                "--no-bias", dest="bias", action="store_const", const="false",
                help=("no biases: weight matrices only, as the course" if visible
                      else argparse.SUPPRESS),
            )
            continue
        group.add_argument(
            flag_for(field), dest=field, metavar=metavar, default=None,
            help=field_help(field, note) if visible else argparse.SUPPRESS,
        )
    if "output" not in groups:
        groups["output"] = parser.add_argument_group("output")
    return groups


def add_sweep_flags(parser: argparse.ArgumentParser) -> dict[str, argparse._ArgumentGroup]:
    """train's config flags, each taking one or more values (the grid's axes)."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for section, field, metavar, note in FLAG_TABLE:
        if section not in groups:
            groups[section] = parser.add_argument_group(section)
        group = groups[section]
        if field == "bias":
            group.add_argument(
                "--bias", dest="bias", nargs="*", metavar="on|off", default=None,
                help="give every layer a bias; --bias on off tries both [default:"
                + NBSP + "off]",
            )
            group.add_argument(
                "--no-bias", dest="bias", action="store_const", const=["false"],
                help="no biases: weight matrices only, as the course",
            )
            continue
        group.add_argument(
            flag_for(field), dest=field, metavar=metavar, nargs="+", default=None,
            # a sweep prints no epoch log: --log-every is accepted (train's command line
            # works unchanged) but not offered
            help=argparse.SUPPRESS if field == "log_every" else field_help(field, note),
        )
    if "output" not in groups:
        groups["output"] = parser.add_argument_group("output")
    return groups
