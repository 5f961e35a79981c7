"""``nn-tui explain``: one training step, stage by stage, as text or JSON lines.

The headless twin of the app's explainer (``engine.explain``): train ``--epoch N``
epochs first (default 0), then print the next step's stages: the batch, raw and scaled,
``Z_l`` and ``A_l`` for every layer, the loss, ``dE/dA``, ``delta``, ``dE/dW`` and ``dE/db``
layer by layer back, the optimizer's update and the new weights, each with its equation,
shape and values.

``--json`` prints one object per line: first ``{"event": "explain", ...}`` with the weights
and biases in use (``weights``, ``biases``: nested lists, one per layer, each bias a list),
``X`` after scaling, ``y``, ``X_raw`` and ``rows`` (the batch's training-set indices), then
one ``{"event": "stage", ...}`` per stage with ``stage``, ``layer``, ``name``, ``equation``,
``shape``, ``operands``, ``note`` and the full ``values`` (nested lists of numbers, each
row a list). A value that is not finite (NaN, infinity) is written as null, as in every
JSON line nn-tui prints.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from tui.cli.configs import build_config, naming_data_flag, trained_to
from tui.cli.errors import EXIT_FAILED, EXIT_OK, CliError
from tui.cli.output import json_line
from tui.core.safe_text import printable

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig
    from engine.explain import Walk


def whole_number(value: str, flag: str, highest: int) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) > highest:
        raise CliError(f'{flag}: must be a whole number from 0 to {highest:,}, got "{value}"')
    return int(text)


def run_explain(ns: argparse.Namespace) -> int:
    from engine.config.experiment import MAX_EPOCHS, MAX_POINTS

    config = build_config(ns)
    epoch = whole_number(ns.epoch, "--epoch", MAX_EPOCHS)
    batch = whole_number(ns.batch, "--batch", MAX_POINTS)
    with naming_data_flag(ns):
        return explain(config, epoch=epoch, batch=batch, json_mode=ns.json, full=ns.full)


def explain(config: ExperimentConfig, *, epoch: int = 0, batch: int = 0,
            json_mode: bool = False, full: bool = False) -> int:
    """Train ``epoch`` epochs, then print the next step's walk; 0, or 1 if training
    diverged before it."""

    from engine.explain import batch_rows
    from engine.explain import explain as walk_through

    trainer = trained_to(config, epoch, "no step to explain")
    if trainer is None:
        return EXIT_FAILED
    batches = len(batch_rows(trainer))
    if batch >= batches:
        raise CliError(f"--batch: this epoch has {batches} batch{'es' * (batches > 1)}, "
                       f"numbered from 0 to {batches - 1}; got {batch}")
    walk = walk_through(trainer, batch)
    if json_mode:
        print_json(walk)
    else:
        print_text(walk, config, full)
    return EXIT_OK


def print_json(walk: Walk) -> None:
    print(json_line({
        "event": "explain", "epoch": walk.epoch, "batch": walk.batch, "batches": walk.batches,
        "rows": walk.rows, "loss": walk.loss, "optimizer": walk.optimizer, "lr": walk.lr,
        "activations": list(walk.activations), "bias": walk.bias, "dtype": walk.dtype.name,
        "weights": walk.weights, "biases": [b[0] for b in walk.biases],
        "X_raw": walk["X_raw"].values, "X": walk["X"].values, "y": walk.inputs["y"],
        "agreement": walk.agreement, "exact": walk.exact, "notes": list(walk.notes),
    }))
    for s in walk.stages:
        print(json_line({
            "event": "stage", "stage": s.stage, "layer": s.layer, "name": s.name,
            "equation": s.equation, "shape": s.shape, "operands": list(s.operands),
            "kind": s.kind, "note": s.note, "values": s.values,
        }))


def print_text(walk: Walk, config: ExperimentConfig, full: bool) -> None:
    from engine.explain import matrix_text, stage_text

    sizes = "-".join(str(n) for n in config.sizes)
    acts = ",".join(walk.activations)
    print(f"one training step of {sizes} {acts} with {walk.loss} loss and {walk.optimizer} "
          f"(lr {walk.lr:g}) on {printable(config.dataset_label)}: epoch {walk.epoch:,}, batch "
          f"{walk.batch + 1} of {walk.batches} ({len(walk.rows)} points)")
    for note in walk.notes:
        print(note)
    print("\nthe weights in use:")
    for name, values in walk.inputs.items():
        if name[0] in "Wb" and "_" in name:
            print(f"  {name}  {'x'.join(map(str, values.shape))}")
            print("\n".join("    " + line for line in matrix_text(values, full=full).splitlines()))
    labels = [f"#{r}" for r in walk.rows]
    for stage in walk.stages:
        print()
        print(stage_text(stage, labels=labels, full=full))
    print()
    where = ("the trainer's weights after this epoch" if walk.exact else
             "the trainer's weights after this batch (the epoch goes on with the next one)")
    print(f"The new weights are {where}; the course's formulas give them to within "
          f"{walk.agreement:.1e} of the largest weight (rounding).")
