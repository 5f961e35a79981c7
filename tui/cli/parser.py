"""The ``nn-tui`` parser: argparse with one-line usage errors, help wrapped at spaces, a
lazy --version, and every subcommand's flags. Standard library only, so that --help
and --version stay light."""

from __future__ import annotations

import argparse
import difflib
import re
import textwrap
from collections.abc import Sequence
from typing import Any

from tui.cli.errors import PROG, UsageError
from tui.cli.fields import GRADCHECK_FIELDS, NBSP
from tui.cli.flags import add_app_flags, add_config_flags, add_source_flags, add_sweep_flags
from tui.cli.help_texts import (
    EXPLAIN_DESCRIPTION,
    EXPLAIN_EPILOG,
    GRADCHECK_DESCRIPTION,
    GRADCHECK_EPILOG,
    RUNS_DESCRIPTION,
    RUNS_EPILOG,
    SERVE_DESCRIPTION,
    SERVE_EPILOG,
    SWEEP_DESCRIPTION,
    SWEEP_EPILOG,
    TOP_DESCRIPTION,
    TOP_EPILOG,
    TRAIN_DESCRIPTION,
    TRAIN_EPILOG,
    TRAIN_FROM_HELP,
)

FALLBACK_VERSION = "0.1.0"

# A value that starts with "-" but is a number: argparse knows only -3 and -0.5, and would
# take --lr -inf or --lr -1e-3 for a flag named -inf and say --lr has no value.
NEGATIVE_NUMBER = re.compile(
    r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
)


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the help to read, not a usage dump,
    and a negative value such as -inf or -1e-3 is a value, not an unknown flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str):  # type: ignore[override]
        # "argument --lr: expected one argument" -> "--lr: expected one argument"
        message = re.sub(r"^argument (\S+): ", r"\1: ", message)
        raise UsageError(f"{message}; see {self.prog} --help")


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Help wrapped at spaces only: never inside a name such as moons-adam. A no-break
    space (NBSP in the source) keeps a phrase such as ``lr = 0.5`` on one line."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=26)

    def _split_lines(self, text: str, width: int) -> list[str]:
        lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
        return [line.replace(NBSP, " ") for line in lines]

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if action.nargs == argparse.ONE_OR_MORE:  # "--lr RATE ..." for "RATE [RATE ...]"
            return f"{self._metavar_formatter(action, default_metavar)(1)[0]} ..."
        return super()._format_args(action, default_metavar)

    def _format_action(self, action: argparse.Action) -> str:
        # Drop the "{train,gradcheck,tui}" header line argparse puts above the command list.
        if isinstance(action, argparse._SubParsersAction):
            return "".join(self._format_action(a) for a in action._get_subactions())
        return super()._format_action(action)


class Version(argparse.Action):
    """--version, reading the version only when asked (importlib.metadata costs ~20 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{PROG} {version()}")
        parser.exit()


def version() -> str:
    from importlib import metadata

    try:
        return metadata.version("nn-tui")
    except metadata.PackageNotFoundError:  # running from a source tree
        return FALLBACK_VERSION


def add_figure_flags(output: argparse._ArgumentGroup) -> None:
    """--figures DIR and its options (tui/core/figures_png.py draws the files)."""
    output.add_argument(
        "--figures", metavar="DIR",
        help="write the course's figures as PNG files into DIR (created if missing): "
             "loss.png (the loss per epoch, rate changes dotted) and result.png (Ground "
             "truth beside Predict result); needs matplotlib: "
             'pip install' + NBSP + '"nn-tui[figures]"',
    )
    output.add_argument(
        "--figures-log", action="store_true",
        help="with --figures: draw the loss on a log scale",
    )
    output.add_argument(
        "--figures-boundary", action="store_true",
        help="with --figures: also boundary.png, p(class" + NBSP + "1) shaded over the "
             "plane with the points",
    )


def build_parser() -> tuple[Parser, dict[str, Parser]]:
    """The top-level parser and its subcommand parsers by name."""
    top = Parser(
        prog=PROG, description=TOP_DESCRIPTION, epilog=TOP_EPILOG,
        formatter_class=Formatter, allow_abbrev=False,
    )
    commands = top.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    top.add_argument("--version", action=Version, help="print the version and exit")
    add_source_flags(top, top=True)
    add_app_flags(top, top=True)
    top._action_groups.sort(key=lambda g: g.title != "commands")  # commands first in --help

    def command(name: str, summary: str, description: str, epilog: str, usage: str) -> Parser:
        return commands.add_parser(
            name, help=summary, description=description, epilog=epilog, usage=usage,
            formatter_class=Formatter, allow_abbrev=False,
        )

    train = command(
        "train", "train headless; print the course's log or JSON lines",
        TRAIN_DESCRIPTION, TRAIN_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE ...]",
    )
    add_source_flags(train, top=False).add_argument(
        "--from", dest="from_run", metavar="RUN.npz", default=None, help=TRAIN_FROM_HELP,
    )
    output = add_config_flags(train)["output"]
    output.add_argument("--save", metavar="PATH",
                        help="save the trained run (.npz) to PATH; ctrl-c saves the run so "
                             "far there, marked interrupted")
    output.add_argument(
        "--export-history", metavar="FILE.csv",
        help="write the loss history as CSV: epoch,loss,accuracy,lr,test_loss,test_accuracy",
    )
    output.add_argument(
        "--export-predictions", metavar="FILE.csv",
        help="write every point as CSV: split,x1,x2,label,probability (output when the "
             "output layer is not a sigmoid),predicted",
    )
    output.add_argument(
        "--export-config", metavar="FILE.toml",
        help="write the config as TOML; nn-tui train --config FILE.toml trains it again",
    )
    output.add_argument(
        "--export-script", metavar="FILE.py",
        help="write the run as one plain NumPy script (the points, the initial weights, "
             "the forward and backward passes in the course's notation); python FILE.py "
             "trains it again and prints the same log",
    )
    add_figure_flags(output)
    output.add_argument(
        "--json", action="store_true",
        help='print JSON lines instead of text: "start" with the config, one object '
        'per event, then "done" with the final weights\' loss, accuracy and predictions '
        '(and "last_epoch": the last epoch\'s own figures, measured before its update '
        'as every "epoch" event is)',
    )
    output.add_argument(
        "--quiet", action="store_true",
        help="leave out the per-point prediction listing at the end",
    )

    gradcheck = command(
        "gradcheck", "check backprop against finite differences (exit 1 on failure)",
        GRADCHECK_DESCRIPTION, GRADCHECK_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE ...]",
    )
    add_source_flags(gradcheck, top=False)
    gradcheck_groups = add_config_flags(gradcheck, GRADCHECK_FIELDS)
    gradcheck_groups["training"].add_argument(
        "--at-epoch", metavar="N", default="0",
        help="train N epochs first (with train's flags: --optimizer, --lr, ...) and check "
             "those weights, as g does in the app at epoch N [default:" + NBSP + "0]",
    )
    gradcheck_groups["output"].add_argument(
        "--json", action="store_true", help="print JSON lines instead of text",
    )

    explain = command(
        "explain", "walk through one training step, matrix by matrix",
        EXPLAIN_DESCRIPTION, EXPLAIN_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE ...] [--epoch N] [--json]",
    )
    add_explain_flags(explain)

    sweep = command(
        "sweep", "train a grid of settings in parallel; a table, optionally CSV",
        SWEEP_DESCRIPTION, SWEEP_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE [VALUE ...] ...]",
    )
    add_source_flags(sweep, top=False)
    sweep_output = add_sweep_flags(sweep)["output"]
    sweep_output.add_argument(
        "--workers", metavar="N", default=None,
        help="worker processes [default:" + NBSP + "one per CPU]",
    )
    sweep_output.add_argument(
        "--no-stack", dest="stack", action="store_false",
        help="train every run alone, one process each (by default runs that differ only "
             "in rate, seed, schedule or momentum train together as one stack)",
    )
    sweep_output.add_argument(
        "--csv", metavar="PATH",
        help="write one row per run: the varied settings, every setting, the results",
    )
    cluster = sweep.add_argument_group("cluster (pip install \"nn-tui[cluster]\")")
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS",
        help="run the stacks as tasks of the Dask cluster at ADDRESS (tcp://HOST:8786, "
             "tls://...), or of a local one: local (--workers processes)",
    )
    cluster.add_argument(
        "--scheduler-timeout", metavar="SECONDS", default=None,
        help="give up on a scheduler (and its first worker) after this long "
             "[default:" + NBSP + "10]",
    )

    serve = command(
        "serve", "serve the app to a web browser (loopback only by default)",
        SERVE_DESCRIPTION, SERVE_EPILOG,
        "%(prog)s [--host ADDRESS] [--port N] [--root DIR] [--max-sessions N] "
        "[--preset NAME] [--config FILE] [--open RUN] [--no-autosave]",
    )
    add_source_flags(serve, top=False)
    add_app_flags(serve.add_argument_group("run"), top=False)
    where = serve.add_argument_group("server")
    where.add_argument(
        "--host", metavar="ADDRESS", default="127.0.0.1",
        help="address to listen on [default:" + NBSP + "127.0.0.1, this machine only]",
    )
    where.add_argument(
        "--port", metavar="N", default="8000", help="port to listen on [default:" + NBSP + "8000]",
    )
    where.add_argument(
        "--public-url", metavar="URL", default=None,
        help="the address browsers use, if not http://HOST:PORT (behind a proxy, say); "
             "a browser that uses another address is refused",
    )
    where.add_argument(
        "--root", metavar="DIR", default=None,
        help="the only folder the served apps' file prompts may list, read or write "
             "[default:" + NBSP + "a new folder in the temp dir, kept when the server stops]",
    )
    where.add_argument(
        "--max-sessions", metavar="N", default="8",
        help="browser tabs served at once; one more is refused [default:" + NBSP + "8]",
    )

    app = command(
        "tui", "open the interactive app (the same as no command)",
        "Open the interactive app, optionally on a preset, a config file or a run file.", "",
        "%(prog)s [--preset NAME] [--config FILE] [--open RUN] [--no-autosave]",
    )
    add_source_flags(app, top=False)
    add_app_flags(app.add_argument_group("run"), top=False)

    runs = command(
        "runs", "list the runs the app kept (the run archive), newest first",
        RUNS_DESCRIPTION, RUNS_EPILOG, "%(prog)s [--limit N] [--json]",
    )
    runs.add_argument(
        "--limit", metavar="N", default="20",
        help="list at most N runs, 0 for all [default:" + NBSP + "20]",
    )
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    return top, {"train": train, "gradcheck": gradcheck, "explain": explain, "sweep": sweep,
                 "serve": serve, "tui": app, "runs": runs}


def add_explain_flags(explain: Parser) -> None:
    """explain: every train flag (as train adds them), then its own."""
    add_source_flags(explain, top=False)
    groups = add_config_flags(explain)
    groups["training"].add_argument(
        "--epoch", metavar="N", default="0",
        help="train N epochs first and explain the next step [default:" + NBSP + "0]",
    )
    groups["training"].add_argument(
        "--batch", metavar="K", default="0",
        help="with mini-batches, explain batch K of the epoch, from 0 [default:" + NBSP
             + "0, the first]",
    )
    groups["output"].add_argument(
        "--json", action="store_true",
        help='print JSON lines: "explain" with the weights, biases, X (scaled) and y in '
             'use, then one "stage" object per stage with its full values',
    )
    groups["output"].add_argument(
        "--full", action="store_true", help="print every row and column of every matrix",
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser, commands = build_parser()
    check_top_flags(argv, parser, commands)
    namespace, extras = parser.parse_known_args(argv)
    if extras:
        chosen = commands.get(namespace.command, parser)
        raise UsageError(unknown_message(extras, chosen, commands))
    return namespace


def check_top_flags(argv: list[str], top: Parser, commands: dict[str, Parser]) -> None:
    """Catch a command's flag given before any command (``nn-tui --lr 1``), which argparse
    would report as the confusing ``invalid choice: '1'``."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--" or not token.startswith("-"):
            return  # the command (or a positional) starts here
        name = token.split("=", 1)[0]
        action = top._option_string_actions.get(name)
        if action is None:
            raise UsageError(unknown_message([token], top, commands))
        if action.nargs is None and "=" not in token:
            next(tokens, None)  # skip the flag's value


def unknown_message(extras: list[str], chosen: Parser, commands: dict[str, Parser]) -> str:
    """``unknown flag --lrr (did you mean --lr?)``, or where the flag belongs."""
    flag = next((a.split("=", 1)[0] for a in extras if a.startswith("-")), None)
    if flag is None:
        return f"unexpected argument {extras[0]!r}; see {chosen.prog} --help"
    owners = [sub.prog for sub in commands.values() if flag in sub._option_string_actions]
    if owners:
        if chosen.prog == PROG:
            return f"{flag} goes after a command, e.g. {owners[0]} {flag}"
        return f"{chosen.prog} has no {flag} flag ({owners[0]} has); see {chosen.prog} --help"
    known = list(chosen._option_string_actions)
    hint = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
    extra = f" (did you mean {hint[0]}?)" if hint else ""
    return f"unknown flag {flag}{extra}; see {chosen.prog} --help"
