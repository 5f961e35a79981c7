"""The ``nn-tui`` command: the app, and its headless twin for scripts.

    nn-tui                              open the app
    nn-tui train --preset dlp-xor       train headless and print the course's log
    nn-tui train --hidden 8,8 --json    the same as JSON lines, for scripts
    nn-tui train --from run.npz         re-run a saved run and check it reproduces
    nn-tui gradcheck --activation tanh  backpropagation against finite differences
    nn-tui sweep --lr 0.1 0.5 --seed 0,1   a grid of runs in parallel worker processes
    nn-tui serve                        the app in a web browser (tui/cli/serve.py)
    nn-tui runs                         the runs the app kept (tui/core/archive.py)
    nn-tui --open latest                open the app on the newest kept run

Start-up stays light: building the parser needs only the standard library, so
``--help`` and ``--version`` never import NumPy, Rich or Textual; each command
imports what it needs when it runs. That is why the flag help keeps its own copy
of the engine's field help, choices and defaults (``FIELD_HELP``, ``DEFAULTS``,
``PRESETS``); a test checks the copy against ``engine.config.experiment``.

Every flag value is passed to the engine as the raw text typed, so a bad value
gets the engine's own message, prefixed with the flag: ``nn-tui: error: --hidden:
hidden sizes must be positive integers separated by commas, got "4,x"``.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

PROG = "nn-tui"
NBSP = "\u00a0"
FALLBACK_VERSION = "0.1.0"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

# --- a copy of engine.config.experiment's field help (tests/tui/test_cli.py keeps it in step) ---
PRESETS = ("dlp-xor", "dlp-linear", "spiral-tanh", "circle-relu", "moons-adam")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "linear")
FIELD_HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "dataset": (
        "generated dataset",
        ("linear", "xor", "circle", "spiral", "gaussian", "moons", "checkerboard"),
    ),
    "n": ("points to generate (xor: always 21)", ()),
    "noise": ("label flips (linear) or coordinate jitter", ()),
    "data_seed": ("seed of the dataset and split", ()),
    "test_split": ("fraction held out for testing (0 = none)", ()),
    "data_path": ("CSV file x1,x2,label instead of a generated dataset", ()),
    "hidden": ("hidden layer sizes, e.g. 10,5,3,5 (empty: no hidden layer)", ()),
    "activation": (
        "one activation for every layer, or one per layer incl. the output", ACTIVATIONS
    ),
    "loss": ("mse, sse (the course's) or bce", ("mse", "sse", "bce")),
    "optimizer": ("update rule", ("sgd", "momentum", "adam")),
    "momentum": ("momentum coefficient", ()),
    "lr": ("learning rate", ()),
    "epochs": ("epochs to train", ()),
    "batch_size": ("mini-batch size (0 = full batch)", ()),
    "seed": ("seed of the initial weights and the shuffling", ()),
    "bias": ("give every layer a bias", ()),
    "init": ("initial weights", ("xavier", "he", "normal", "uniform")),
    "scale": ("input scaling (max = the seed's X/max)", ("max", "minmax", "standard", "none")),
    "schedule": ("learning-rate schedule", ("halving", "plateau", "none")),
    "halve_every": ("halving period in epochs", ()),
    "halve_band": ("halve when low < loss/loss_before < high", ()),
    "halve_factor": ("multiply the rate by this when the rule fires", ()),
    "min_lr": ("rate floor", ()),
    "patience": ("plateau: epochs without improvement", ()),
    "plateau_factor": ("plateau: multiply the rate by this", ()),
    "threshold": ("plateau: relative improvement that counts", ()),
    "cooldown": ("plateau: epochs to wait after a reduction", ()),
    "log_every": ("report every this many epochs", ()),
    "dtype": ("float64 or float32", ("float64", "float32")),
}
# ExperimentConfig().field_text(name): the course's XOR homework
DEFAULTS: dict[str, str] = {
    "dataset": "xor", "n": "100", "noise": "0", "data_seed": "0", "test_split": "0",
    "data_path": "", "hidden": "4,4", "activation": "sigmoid", "loss": "sse",
    "optimizer": "sgd", "momentum": "0.9", "lr": "0.5", "epochs": "100000", "batch_size": "0",
    "seed": "0", "bias": "off", "init": "normal", "scale": "max", "schedule": "halving",
    "halve_every": "5000", "halve_band": "0.9,1.1", "halve_factor": "0.5", "min_lr": "1e-08",
    "patience": "1000", "plateau_factor": "0.5", "threshold": "0.001", "cooldown": "0",
    "log_every": "5000", "dtype": "float64",
}

# The flags of the config fields, in help order: (section, field, metavar, note).
SECTIONS = ("data", "network", "training", "learning-rate schedule", "output")
FLAG_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("data", "dataset", "NAME", ""),
    ("data", "n", "N", ""),
    ("data", "noise", "X", ""),
    ("data", "test_split", "FRACTION", ", at most 0.9"),
    ("data", "data_path", "FILE.csv", ""),
    ("data", "data_seed", "SEED", ""),
    ("network", "hidden", "SIZES", ""),
    ("network", "activation", "NAMES", ""),
    ("network", "bias", "", ""),
    ("network", "init", "NAME", ""),
    ("network", "scale", "NAME", ""),
    ("network", "dtype", "NAME", ""),
    ("training", "loss", "NAME", ""),
    ("training", "optimizer", "NAME", ""),
    ("training", "momentum", "BETA", " for --optimizer momentum"),
    ("training", "lr", "RATE", ""),
    ("training", "epochs", "N", ""),
    ("training", "batch_size", "N", ""),
    ("training", "seed", "SEED", ""),
    ("learning-rate schedule", "schedule", "NAME", ""),
    ("learning-rate schedule", "halve_every", "N", ""),
    ("learning-rate schedule", "halve_band", "LOW,HIGH", ""),
    ("learning-rate schedule", "halve_factor", "F", ""),
    ("learning-rate schedule", "min_lr", "RATE", ""),
    ("learning-rate schedule", "patience", "N", ""),
    ("learning-rate schedule", "plateau_factor", "F", ""),
    ("learning-rate schedule", "threshold", "T", ""),
    ("learning-rate schedule", "cooldown", "N", ""),
    ("output", "log_every", "N", ""),
)
FLAG_NAMES = {"data_path": "--data"}  # fields whose flag is not --field-name


def flag_for(field: str | None) -> str | None:
    """The command-line flag that sets a config field (``batch_size`` -> ``--batch-size``)."""
    if not field:
        return None
    return FLAG_NAMES.get(field, "--" + field.replace("_", "-"))


def field_help(field: str, note: str = "") -> str:
    """A flag's help: the engine's text, the accepted values and the default."""
    text, choices = FIELD_HELP[field]
    text += note
    if choices and not all(c in text for c in choices):
        text += ": " + ", ".join(choices)
    default = DEFAULTS[field]
    return f"{text} [default:{NBSP}{default}]" if default else text


# --- errors ------------------------------------------------------------------------
class CliError(Exception):
    """Bad input, reported as one line ``nn-tui: error: MESSAGE`` and exit status 2."""


class UsageError(CliError):
    """A command line argparse could not read."""


def _bad_input_message(exc: BaseException) -> str | None:
    """The one-line message for a bad-input exception, or None for anything else (a bug).

    Engine exceptions are recognised through ``sys.modules``: if the engine was never
    imported, the exception cannot be one of its own, and the error path stays light.
    """
    if isinstance(exc, CliError):
        return str(exc)
    config = sys.modules.get("engine.config.experiment")
    if config is not None and isinstance(exc, config.ConfigError):
        flag = flag_for(exc.field)
        return f"{flag}: {exc.message}" if flag else exc.message
    datasets = sys.modules.get("engine.data.datasets")
    if datasets is not None and isinstance(exc, datasets.DataError):
        return str(exc)
    for module, name in (("engine.io.runfile", "RunFileError"), ("engine.io.export", "ExportError"),
                         ("engine.experiments.sweep", "SweepError")):
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(exc, getattr(loaded, name)):
            return str(exc)
    return None


def error_line(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


# --- the parser --------------------------------------------------------------------
# A value that starts with "-" but is a number: argparse knows only -3 and -0.5, and would
# take --lr -inf or --lr -1e-3 for a flag named -inf and say --lr has no value.
NEGATIVE_NUMBER = re.compile(
    r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the help to read, not a usage dump,
    and a negative value such as -inf or -1e-3 is a value, not an unknown flag."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message: str):  # type: ignore[override]
        # "argument --lr: expected one argument" -> "--lr: expected one argument"
        message = re.sub(r"^argument (\S+): ", r"\1: ", message)
        raise UsageError(f"{message}; see {self.prog} --help")


class _Formatter(argparse.RawDescriptionHelpFormatter):
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


class _Version(argparse.Action):
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


def _add_source_flags(parser: argparse.ArgumentParser, *, top: bool):
    """--preset and --config. Below the top level their default is SUPPRESS, so that
    ``nn-tui --preset X train`` keeps X instead of the subcommand's empty default."""
    if top:
        group, default, what = parser, None, "open the app on"
    else:
        group = parser.add_argument_group("starting point")
        default, what = argparse.SUPPRESS, "start from"
    group.add_argument(
        "--preset", metavar="NAME", default=default,
        help=f"{what} a preset: {', '.join(PRESETS)}",
    )
    group.add_argument(
        "--config", metavar="FILE", default=default,
        help=f"{what} a TOML config file: keys as the flags, e.g. "
        + 'lr = 0.5, hidden = [4, 4], preset = "dlp-xor"'.replace(" ", NBSP)
    )
    return group


def _add_app_flags(parser: argparse.ArgumentParser, *, top: bool) -> None:
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


def _add_config_flags(
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


# Fields whose one value may itself hold commas: in a sweep their alternatives are
# separated by spaces only (--hidden 4,4 8,8). The others also take one comma list.
WHOLE_VALUE_FIELDS = frozenset({"hidden", "activation", "halve_band", "data_path"})


def _add_sweep_flags(parser: argparse.ArgumentParser) -> dict[str, argparse._ArgumentGroup]:
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


# The fields that change a gradient check; the others are accepted and ignored.
GRADCHECK_FIELDS = frozenset({
    "dataset", "n", "noise", "test_split", "data_path", "data_seed", "hidden", "activation",
    "bias", "init", "scale", "loss", "seed",
})


TOP_DESCRIPTION = """\
A keyboard-driven terminal trainer for small neural networks, written from
scratch in NumPy. Without a command it opens the app."""

TOP_EPILOG = """\
examples:
  nn-tui                                 open the app
  nn-tui --preset dlp-linear             open the app on the course's linear set
  nn-tui train --preset dlp-xor          the course's XOR homework, headless
  nn-tui train --hidden 8,8 --lr 0.1     change any hyperparameter with a flag
  nn-tui train --json > run.jsonl        JSON lines for scripts
  nn-tui train --from run.npz            reproduce a saved run, bit for bit
  nn-tui sweep --lr 0.1 1 --hidden 4 8   a grid of runs, trained in parallel
  nn-tui serve                           the app in a web browser
  nn-tui runs                            the runs the app kept, newest first
  nn-tui --open latest                   reopen the newest kept run in the app
  nn-tui train --help                    every flag, with its default"""

TRAIN_DESCRIPTION = """\
Train one network without the app and print the course's log: the loss and
accuracy every --log-every epochs, each learning-rate change, then every
prediction beside its ground truth, and the final loss and accuracy.

Defaults are the course's XOR homework. Values are applied in this order, each
overriding the one before: defaults, --preset, --config, the other flags."""

TRAIN_EPILOG = """\
exit status: 0 when training ran (a run that diverges stops early and still
exits 0), 2 on a bad flag, file or config, 130 when interrupted.

examples:
  nn-tui train --preset dlp-linear
  nn-tui train --dataset moons --hidden 8,8 --activation tanh,tanh,sigmoid \\
               --bias --loss bce --optimizer adam --lr 0.02 --epochs 5000
  nn-tui train --data points.csv --test-split 0.2 --save run.npz
  nn-tui train --from run.npz --export-history history.csv
  nn-tui train --preset dlp-xor --export-config xor.toml && nn-tui train --config xor.toml
  nn-tui train --json | jq -c 'select(.event == "lr_halved")'"""

TRAIN_FROM_HELP = (
    "re-run a saved run from scratch: its config, for as many epochs as it had completed, "
    "replaying the learning-rate changes made by hand, and say whether the loss history "
    "comes out identical. Other flags change the config (then it is no longer a "
    "reproduction)"
)

SWEEP_DESCRIPTION = """\
Train every combination of some settings, several runs at once in worker
processes, and compare them in a table: the varied settings, status, epochs,
final loss and accuracy, the first epoch at 100% accuracy and each run's time.

Every setting flag takes one or more values separated by spaces, and the grid
is their product: --lr 0.1 0.5 1 --hidden 4,4 8,8 is 3 x 2 = 6 runs. A setting
whose one value is a single number or name also takes a comma list (--lr
0.1,0.5,1). --hidden, --activation, --halve-band and --data take commas inside one
value, so their alternatives are separated by spaces only: --activation sigmoid
linear is two runs, --activation tanh,tanh,sigmoid is one (a per-layer list).

The base config is built as for train: defaults, --preset, --config, then the
flags. While the sweep runs, a live table is shown on stderr when it is a
terminal; the final table goes to stdout, then the run with the lowest loss and
a line setting the wall time beside the processor time of all the runs: their
ratio is the speed-up over training them one after the other."""

SWEEP_EPILOG = """\
exit status: 0 when every run trained (diverging counts), 1 when a run failed
(its row says why), 2 on a bad flag, file or config, 130 when interrupted (the
runs finished so far are still written to --csv).

examples:
  nn-tui sweep --lr 0.1 0.5 1 --hidden 4,4 8,8 --epochs 20000
  nn-tui sweep --preset moons-adam --seed 0,1,2,3 --optimizer sgd adam --csv runs.csv
  nn-tui sweep --activation sigmoid linear --dataset xor linear --workers 2"""

SERVE_DESCRIPTION = """\
Serve the app to web browsers with textual-serve: each browser tab that opens
the address runs its own nn-tui on this machine (the command is this Python
running tui.cli, whatever the PATH says). It listens on the loopback address by
default, so only this machine can connect. To use it from another machine,
forward the port over SSH rather than listening on the network:
  ssh -L 8000:127.0.0.1:8000 THIS-MACHINE    then open http://127.0.0.1:8000"""

SERVE_EPILOG = """\
Listening on another address (--host 0.0.0.0) makes the app, which reads and
writes files as you, reachable by anyone who can reach the port: nn-tui prints a
warning. Stop the server with Ctrl+C.

examples:
  nn-tui serve                          http://127.0.0.1:8000
  nn-tui serve --port 8080 --preset dlp-linear"""

RUNS_DESCRIPTION = """\
List the runs the app kept: every run that finished, diverged, was stopped by
reset, apply or new data, or was still open when the app quit is written to the
run archive as a run file (the format w saves), newest first. The archive keeps
at most 200 runs and 256 MiB; the oldest are deleted first. Autosave is on unless
settings.toml says autosave = false or the app was started with --no-autosave."""

RUNS_EPILOG = """\
examples:
  nn-tui runs                           the newest 20 runs
  nn-tui runs --limit 0                 every kept run
  nn-tui --open latest                  reopen the newest in the app
  nn-tui --open 2026-11-27T10-31-05_xor_2-4-4-1.npz
  nn-tui train --from latest            reproduce the newest, headless"""

GRADCHECK_DESCRIPTION = """\
Compare backpropagation's gradients with finite differences, layer by layer, for
the network and loss the flags describe, on at most 20 points of its training
data, always in float64: the app's g, with its verdict and words. The weights are
the initial ones, or with --at-epoch those after training; biases that are all
zero are drawn small and random first, so that no relu unit sits exactly on its
kink (where the two methods rightly disagree). Each parameter costs four forward
passes, so networks of more than 20,000 parameters are refused.

A gradient entry passes when its relative error |bp - fd| / max(|bp|, |fd|, F) is
below 1e-06; F, the floor, is what finite differences resolve at this loss (their
rounding error divided by 1e-06). A layer whose gradients are all below F is
inconclusive (too small to compare) rather than failed, as on a network trained
to a tiny loss; it still fails if they disagree by more than that error."""

GRADCHECK_EPILOG = """\
Train's other flags (--lr, --epochs, the schedule, ...) are accepted, so the same
command line can be reused; they change the check only through --at-epoch.

exit status: 0 when the check passed; 1 when it FAILED (a relative error of
1e-06 or more); 2 on a bad flag, file or config; 3 when it was inconclusive
(no gradient big enough to compare: dead units, or a network trained to a tiny
loss), which says nothing against backprop.

examples:
  nn-tui gradcheck --hidden 8,8 --activation tanh,relu,sigmoid --bias --loss bce
  nn-tui gradcheck --activation relu,relu,sigmoid --bias --optimizer adam \
      --lr 0.01 --at-epoch 40000          (a network trained to a loss of 1e-11)"""


def build_parser() -> tuple[_Parser, dict[str, _Parser]]:
    """The top-level parser and its subcommand parsers by name."""
    top = _Parser(
        prog=PROG, description=TOP_DESCRIPTION, epilog=TOP_EPILOG,
        formatter_class=_Formatter, allow_abbrev=False,
    )
    commands = top.add_subparsers(dest="command", title="commands", metavar="COMMAND")
    top.add_argument("--version", action=_Version, help="print the version and exit")
    _add_source_flags(top, top=True)
    _add_app_flags(top, top=True)
    top._action_groups.sort(key=lambda g: g.title != "commands")  # commands first in --help

    def command(name: str, summary: str, description: str, epilog: str, usage: str) -> _Parser:
        return commands.add_parser(
            name, help=summary, description=description, epilog=epilog, usage=usage,
            formatter_class=_Formatter, allow_abbrev=False,
        )

    train = command(
        "train", "train headless; print the course's log or JSON lines",
        TRAIN_DESCRIPTION, TRAIN_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE ...]",
    )
    _add_source_flags(train, top=False).add_argument(
        "--from", dest="from_run", metavar="RUN.npz", default=None, help=TRAIN_FROM_HELP,
    )
    output = _add_config_flags(train)["output"]
    output.add_argument("--save", metavar="PATH", help="save the trained run (.npz) to PATH")
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
    _add_source_flags(gradcheck, top=False)
    gradcheck_groups = _add_config_flags(gradcheck, GRADCHECK_FIELDS)
    gradcheck_groups["training"].add_argument(
        "--at-epoch", metavar="N", default="0",
        help="train N epochs first (with train's flags: --optimizer, --lr, ...) and check "
             "those weights, as g does in the app at epoch N [default:" + NBSP + "0]",
    )
    gradcheck_groups["output"].add_argument(
        "--json", action="store_true", help="print JSON lines instead of text",
    )

    sweep = command(
        "sweep", "train a grid of settings in parallel; a table, optionally CSV",
        SWEEP_DESCRIPTION, SWEEP_EPILOG,
        "%(prog)s [--preset NAME] [--config FILE] [--FLAG VALUE [VALUE ...] ...]",
    )
    _add_source_flags(sweep, top=False)
    sweep_output = _add_sweep_flags(sweep)["output"]
    sweep_output.add_argument(
        "--workers", metavar="N", default=None,
        help="worker processes [default:" + NBSP + "one per CPU]",
    )
    sweep_output.add_argument(
        "--csv", metavar="PATH",
        help="write one row per run: the varied settings, every setting, the results",
    )

    serve = command(
        "serve", "serve the app to a web browser (loopback only by default)",
        SERVE_DESCRIPTION, SERVE_EPILOG,
        "%(prog)s [--host ADDRESS] [--port N] [--preset NAME] [--config FILE]",
    )
    _add_source_flags(serve, top=False)
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
        help="the address browsers use, if not http://HOST:PORT (behind a proxy, say)",
    )

    app = command(
        "tui", "open the interactive app (the same as no command)",
        "Open the interactive app, optionally on a preset, a config file or a run file.", "",
        "%(prog)s [--preset NAME] [--config FILE] [--open RUN] [--no-autosave]",
    )
    _add_source_flags(app, top=False)
    _add_app_flags(app.add_argument_group("run"), top=False)

    runs = command(
        "runs", "list the runs the app kept (the run archive), newest first",
        RUNS_DESCRIPTION, RUNS_EPILOG, "%(prog)s [--limit N] [--json]",
    )
    runs.add_argument(
        "--limit", metavar="N", default="20",
        help="list at most N runs, 0 for all [default:" + NBSP + "20]",
    )
    runs.add_argument("--json", action="store_true", help="one JSON object per run")
    return top, {"train": train, "gradcheck": gradcheck, "sweep": sweep, "serve": serve,
                 "tui": app, "runs": runs}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser, commands = build_parser()
    _check_top_flags(argv, parser, commands)
    namespace, extras = parser.parse_known_args(argv)
    if extras:
        chosen = commands.get(namespace.command, parser)
        raise UsageError(_unknown_message(extras, chosen, commands))
    return namespace


def _check_top_flags(argv: list[str], top: _Parser, commands: dict[str, _Parser]) -> None:
    """Catch a command's flag given before any command (``nn-tui --lr 1``), which argparse
    would report as the confusing ``invalid choice: '1'``."""
    tokens = iter(argv)
    for token in tokens:
        if token == "--" or not token.startswith("-"):
            return  # the command (or a positional) starts here
        name = token.split("=", 1)[0]
        action = top._option_string_actions.get(name)
        if action is None:
            raise UsageError(_unknown_message([token], top, commands))
        if action.nargs is None and "=" not in token:
            next(tokens, None)  # skip the flag's value


def _unknown_message(extras: list[str], chosen: _Parser, commands: dict[str, _Parser]) -> str:
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


# --- configs -----------------------------------------------------------------------
def build_config(ns: argparse.Namespace):
    """defaults < --preset < --config < the flags, each value parsed by the engine."""
    from engine.config.experiment import FIELDS, ExperimentConfig

    values = {f: v for f in FIELDS if (v := getattr(ns, f, None)) is not None}
    return ExperimentConfig.from_dict(values, base=base_config(ns))


def base_config(ns: argparse.Namespace):
    """defaults < --preset < --config: the config the other flags change."""
    from engine.config.experiment import ExperimentConfig, preset

    base = preset(ns.preset) if getattr(ns, "preset", None) else None
    if getattr(ns, "config", None):
        base = _load_config_file(ns.config, base)
    return base or ExperimentConfig()


def _load_config_file(path: str, base):
    """``engine.load_config``, but on top of ``base`` (the --preset) unless the file
    names its own preset. Its errors name the file, never a flag."""
    from engine.config.experiment import ConfigError, ExperimentConfig, load_config, read_config

    try:
        config = load_config(path)  # reads, checks and words every error the engine's way
        if base is None:
            return config
        values = read_config(path)  # the same file, read the same way (BOM, data_path)
        if "preset" in values:
            return config
        try:
            return ExperimentConfig.from_dict(values, base=base)
        except ConfigError as exc:
            raise ConfigError(exc.field, f"{path}: {exc.message}") from None
    except ConfigError as exc:
        raise CliError(exc.message) from None


# --- commands ----------------------------------------------------------------------
def run_train(ns: argparse.Namespace) -> int:
    replay = None
    if ns.from_run:
        config, replay = _replay_plan(ns)
    else:
        config = build_config(ns)
    save_path = _check_save_path(ns.save) if ns.save else None
    exports = _export_targets(ns)
    from tui.cli.output import train

    with _naming_data_flag(ns):
        return train(config, json_mode=ns.json, quiet=ns.quiet, save_path=save_path,
                     replay=replay, source=ns.from_run, exports=exports)


@contextlib.contextmanager
def _naming_data_flag(ns: argparse.Namespace):
    """A bad CSV given with --data is reported as ``--data: FILE line 3: ...``, so the
    message names the flag like every other bad value does."""
    try:
        yield
    except Exception as exc:
        datasets = sys.modules.get("engine.data.datasets")
        if (getattr(ns, "data_path", None) and datasets is not None
                and isinstance(exc, datasets.DataError)):
            raise CliError(f"--data: {exc}") from None
        raise


def _replay_plan(ns: argparse.Namespace):
    """``--from RUN.npz``: the saved run's config, changed by any other flags, and the plan
    that replays its length and its manual rate changes."""
    if getattr(ns, "preset", None) or getattr(ns, "config", None):
        raise CliError("--from cannot be combined with --preset or --config: the run file "
                       "holds its own config (single flags such as --lr still change it)")
    from engine.config.experiment import FIELDS, ExperimentConfig
    from engine.experiments.replay import ReplayPlan
    from engine.io.runfile import load_run

    saved = load_run(_run_file(ns.from_run, "--from"))
    values = {f: v for f in FIELDS if (v := getattr(ns, f, None)) is not None}
    config = ExperimentConfig.from_dict(values, base=saved.config)
    epochs = config.epochs if config.epochs != saved.config.epochs else None
    return config, ReplayPlan.from_saved(saved, config, epochs)


EXPORT_FLAGS = {"history": "--export-history", "predictions": "--export-predictions",
                "config": "--export-config"}


def _export_targets(ns: argparse.Namespace) -> dict[str, str]:
    """The exports asked for, each target checked before training rather than after."""
    targets = {kind: path for kind in EXPORT_FLAGS
               if (path := getattr(ns, f"export_{kind}", None))}
    if targets:
        from engine.io.export import ExportError, check_target

        for kind, path in targets.items():
            try:
                check_target(path)
            except ExportError as exc:
                raise CliError(f"{EXPORT_FLAGS[kind]}: {exc}") from None
    return targets


def _check_save_path(path: str) -> str:
    """Refuse a --save target that cannot be written before training, not after."""
    import os
    from pathlib import Path

    target = Path(path)
    if target.is_dir():
        raise CliError(f"--save: {path} is a folder; give a file name such as run.npz")
    folder = target.parent
    if not folder.is_dir():
        raise CliError(f"--save: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise CliError(f"--save: folder {folder} is not writable")
    return path


def run_gradcheck(ns: argparse.Namespace) -> int:
    config = build_config(ns)
    from engine.config.experiment import MAX_EPOCHS

    value = str(ns.at_epoch).strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_EPOCHS:
        raise CliError(f'--at-epoch: the epoch must be a whole number from 0 to '
                       f'{MAX_EPOCHS:,}, got "{ns.at_epoch}"')
    from tui.cli.output import gradcheck

    with _naming_data_flag(ns):
        return gradcheck(config, json_mode=ns.json, at_epoch=int(value))


MAX_WORKERS = 256


def run_sweep(ns: argparse.Namespace) -> int:
    from engine.experiments.sweep import expand_grid

    configs = expand_grid(base_config(ns), sweep_axes(ns))
    workers = _workers(ns.workers, len(configs))
    csv_path = None
    if ns.csv:
        from engine.io.export import ExportError, check_target

        try:
            csv_path = str(check_target(ns.csv))
        except ExportError as exc:
            raise CliError(f"--csv: {exc}") from None
    from tui.cli.output import sweep

    return sweep(configs, workers=workers, csv_path=csv_path)


def sweep_axes(ns: argparse.Namespace) -> dict[str, list[str]]:
    """The grid's axes from the sweep flags, in help order: field -> values as typed.
    A comma list in one value of a single-valued setting is several values."""
    axes: dict[str, list[str]] = {}
    for _, field, _, _ in FLAG_TABLE:
        values = getattr(ns, field, None)
        if values is None:
            continue
        if field == "bias" and not values:  # a bare --bias
            values = ["true"]
        if field not in WHOLE_VALUE_FIELDS:
            values = [part.strip() for value in values
                      for part in (value.split(",") if "," in value else [value])
                      if part.strip() or "," not in value]
        axes[field] = values
    return axes


def _workers(text: str | None, runs: int) -> int:
    import os

    if text is None:
        return max(1, min(os.cpu_count() or 1, runs))
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_WORKERS:
        raise CliError(f'--workers: the number of worker processes must be a whole number '
                       f'from 1 to {MAX_WORKERS}, got "{text}"')
    return min(int(value), runs)


def run_serve(ns: argparse.Namespace) -> int:
    from tui.cli.serve import ServeError, check_port, serve

    try:
        port = check_port(ns.port)
    except ServeError as exc:
        raise CliError(str(exc)) from None
    extra: list[str] = []
    if getattr(ns, "preset", None) or getattr(ns, "config", None):
        build_config(ns)  # a bad preset or file is reported now, not in every browser tab
        if getattr(ns, "preset", None):
            extra += ["--preset", ns.preset]
        if getattr(ns, "config", None):
            import os

            extra += ["--config", os.path.abspath(ns.config)]
    try:
        return serve(ns.host, port, extra, url=ns.public_url)
    except ServeError as exc:
        raise CliError(str(exc)) from None


def run_app(ns: argparse.Namespace) -> int:
    config = build_config(ns) if (ns.preset or ns.config) else None
    options = _app_options(ns)
    try:
        from tui.app import run_app as start
    except ModuleNotFoundError as exc:
        if exc.name != "tui.app":
            raise
        error_line("the app is not part of this installation; try nn-tui train")
        return EXIT_FAILED
    return int(start(config, **options) or 0)


def _app_options(ns: argparse.Namespace) -> dict[str, Any]:
    """The app's keyword options given on the command line (only those given)."""
    options: dict[str, Any] = {}
    if getattr(ns, "autosave", None) is False:
        options["autosave"] = False
    spec = getattr(ns, "open_run", None)
    if spec:
        if ns.preset or ns.config:
            raise CliError("--open cannot be combined with --preset or --config: the run "
                           "file holds its own config")
        from engine.io.runfile import load_run

        path = _run_file(spec, "--open")
        load_run(path)  # a bad file is one line here, not a traceback from the app
        options["run_path"] = path
    return options


def _run_file(spec: str, flag: str):
    """The run file a --open or --from value names (``latest``: the newest kept run)."""
    from tui.core.archive import ArchiveError, resolve

    try:
        return resolve(spec)
    except ArchiveError as exc:
        raise CliError(f"{flag}: {exc}") from None


def run_runs(ns: argparse.Namespace) -> int:
    """``nn-tui runs``: the run archive, newest first."""
    value = str(ns.limit).strip()
    if not (value.isascii() and value.isdigit()):
        raise CliError(f'--limit: the number of runs must be a whole number (0 for all), '
                       f'got "{ns.limit}"')
    import json

    from tui.core.archive import MAX_BYTES, MAX_RUNS, archived_files, list_runs, listing, runs_dir

    folder = runs_dir()
    runs, problems = list_runs(folder, int(value))
    for problem in problems:
        print(f"{PROG}: skipped {problem}", file=sys.stderr)
    if ns.json:
        for run in runs:
            print(json.dumps(listing(run), allow_nan=False))
        return EXIT_OK
    if not runs:
        print(f"no runs kept yet in {folder}")
        return EXIT_OK
    total = len(archived_files(folder))
    print(f"{len(runs)} of {total} kept runs in {folder}, newest first "
          f"(at most {MAX_RUNS} runs and {MAX_BYTES // 2**20} MiB are kept)")
    _print_table([_run_row(listing(run)) for run in runs])
    return EXIT_OK


RUN_COLUMNS = ("saved", "data", "layers", "epochs", "status", "loss", "acc", "file")


def _run_row(item: dict[str, Any]) -> list[str]:
    loss, accuracy = item["final_loss"], item["accuracy"]
    return [item["saved"].replace("T", " "), item["dataset"], item["architecture"],
            f"{item['epochs']:,}", item["status"],
            "—" if loss is None else f"{loss:.4g}",
            "—" if accuracy is None else f"{100 * accuracy:.1f}%", item["name"]]


def _print_table(rows: list[list[str]]) -> None:
    widths = [max(len(str(r[i])) for r in [list(RUN_COLUMNS), *rows])
              for i in range(len(RUN_COLUMNS))]
    for row in [list(RUN_COLUMNS), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
              .rstrip())


COMMANDS = {"train": run_train, "gradcheck": run_gradcheck, "sweep": run_sweep,
            "serve": run_serve, "tui": run_app, "runs": run_runs, None: run_app}


def main(argv: list[str] | None = None) -> int:
    """Run the ``nn-tui`` command line; returns the exit status."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        try:
            ns = _parse(args)
        except SystemExit as done:  # --help and --version
            return done.code if isinstance(done.code, int) else EXIT_OK
        return COMMANDS[ns.command](ns)
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()  # the reader went away (nn-tui train | head): not an error of ours
        return EXIT_FAILED
    except Exception as exc:
        message = _bad_input_message(exc)
        if message is None:
            raise
        error_line(message)
        return EXIT_USAGE


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's flush at exit does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


if __name__ == "__main__":
    sys.exit(main())
