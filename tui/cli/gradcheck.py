"""``nn-tui gradcheck``: backpropagation against finite differences, the app's ``g``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.configs import build_config, naming_data_flag, trained_to
from tui.cli.errors import CliError
from tui.cli.output import json_line
from tui.core.safe_text import printable

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig
    from engine.train.gradcheck import GradientCheck


def run_gradcheck(ns: argparse.Namespace) -> int:
    config = build_config(ns)
    from engine.config.experiment import MAX_EPOCHS

    value = str(ns.at_epoch).strip()
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_EPOCHS:
        raise CliError(f'--at-epoch: the epoch must be a whole number from 0 to '
                       f'{MAX_EPOCHS:,}, got "{ns.at_epoch}"')
    with naming_data_flag(ns):
        return gradcheck(config, json_mode=ns.json, at_epoch=int(value))


def gradcheck(config: ExperimentConfig, *, json_mode: bool, at_epoch: int = 0) -> int:
    """``nn-tui gradcheck``: exit 0 if the check passes, 1 if it fails, 3 if inconclusive.

    The check is the app's ``g``: the same preparation (``tui.core.training.gradcheck_job``:
    a float64 copy of the network on up to 20 training points) judged by the same rule
    (``engine.train.gradcheck``), on the initial weights or, with ``at_epoch``, on those
    after training that many epochs; its verdict and words are the app's.
    """
    from engine.config.experiment import ConfigError
    from tui.core.training import check_gradients, gradcheck_refusal

    refusal = gradcheck_refusal(config)
    if refusal is not None:  # before any data is built or any epoch is trained
        raise ConfigError("hidden", refusal)
    trainer = trained_to(config, at_epoch, "nothing to check")
    if trainer is None:
        return 1
    report = check_gradients(trainer)
    check = report.check
    if json_mode:
        for c in check:
            print(json_line({"event": "layer", "layer": c.layer, "weight_error": c.weight_error,
                             "bias_error": c.bias_error, "parameters": c.n_checked,
                             "verdict": c.verdict, "largest_gradient": c.largest,
                             "resolved": c.n_resolved, "kinked": c.n_kinked,
                             "zero_gradient": c.zero}))
        print(json_line({"event": "gradcheck", "verdict": check.verdict, "reason": check.reason,
                         "passed": check.passed, "inconclusive": check.inconclusive,
                         "max_error": check.worst, "tolerance": check.tolerance,
                         "noise": check.noise, "floor": check.floor, "loss": check.loss,
                         "epoch": trainer.epoch, "points": report.points}))
        return gradcheck_exit_status(check)
    sizes = "-".join(str(s) for s in config.sizes)
    weights = f", weights of epoch {trainer.epoch:,}" if trainer.epoch else ""
    acts = ",".join(dict.fromkeys(config.layer_activations))  # e.g. tanh,softmax
    print(f"gradient check of {sizes} {acts} with {config.loss} loss "
          f"on {report.points} of {report.total_points} {printable(config.dataset_label)} points "
          f"(float64){weights}")
    for c in check:
        biases = f"  biases {c.bias_error:.1e}" if c.bias_error is not None else ""
        note = ""
        if c.zero:
            note = "  all gradients zero: not really checked"
        elif c.verdict == "inconclusive":
            note = f"  gradients below {check.floor:.1e}: too small to check"
        if c.n_kinked:
            note += f"  {c.n_kinked} at relu kinks: not compared"
        print(f"layer {c.layer}  weights {c.weight_error:.1e}{biases}  "
              f"({c.n_checked} parameters){note}")
    print(f"gradient check {check.summary}")
    return gradcheck_exit_status(check)


INCONCLUSIVE_STATUS = 3
"""``nn-tui gradcheck``'s exit status when nothing could be compared (not a failure)."""


def gradcheck_exit_status(check: GradientCheck) -> int:
    """0 passed, 1 FAILED, 3 inconclusive (2 is a bad flag, file or config)."""
    if check.passed:
        return 0
    return INCONCLUSIVE_STATUS if check.inconclusive else 1
