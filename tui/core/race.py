"""A race: the current config against variants of one setting, trained as stacks.

The app's ``v`` builds the entrants (``race_entrants``: the config with one setting
varied, each labelled by what differs, "lr 0.125", "seed 3"), groups them by
``engine.stack.stack_key`` and trains each group as one ``StackTrainer``: a rate or a
seed race is one stack, a race of hidden sizes, activations or optimizers is a
stack per kind. ``RaceSession`` has the interface ``TrainingLoop`` steps (``run``,
``run_epochs``, ``step``, ``done``, ``epoch``, ``meter``, ``speed``, ``running``,
``paused``), so the app's training task, pause, step and the speed cap work for a
race as for one run.

Several stacks run in lockstep: every time box brings each of them to the same
epoch (``_lockstep``), so the panels and curves compare networks at equal epochs,
not at equal wall time (a wider network would lag behind otherwise).

No Textual here: the race screen (``tui.screens.race``) reads what it draws from
``RaceSession.curves`` and ``RaceSession.predictor``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine import ConfigError, Event, ExperimentConfig, Trainer, make_network
from engine.config.experiment import MAX_LR
from engine.nn.losses import predicted_class, true_class
from engine.optim.schedules import RateChange
from engine.stack.trainer import StackTrainer, stack_key
from engine.train.bundle import DataBundle, build_data
from tui.core.event_text import format_lr
from tui.core.training import RateMeter

LR_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
SEEDS = tuple(range(8))
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
HIDDEN_FACTORS = (0.5, 1.0, 2.0, 4.0)
OPTIMIZERS = ("sgd", "momentum", "adam")
MAX_GRIDS = 8
"""Sets of points whose outputs a race keeps (``RaceSession.outputs``)."""
MIN_LR = 1e-12
"""The least rate [ sets (as for one run in the app): a race's rates stay above it."""

RACE_KINDS: dict[str, tuple[str, str]] = {
    # kind: (menu key, what the menu says)
    "lr": ("l", "learning rate × ¼ ½ 1 2 4"),
    "seed": ("s", "seeds 0–7 (initial weights)"),
    "activation": ("a", "hidden activation: sigmoid tanh relu leaky_relu"),
    "hidden": ("h", "hidden sizes × ½ 1 2 4 (a stack each)"),
    "optimizer": ("o", "optimizer: sgd momentum adam"),
}
"""What a race can vary, in the menu's order."""


@dataclass(frozen=True)
class Entrant:
    """One network of a race: its config and the words that set it apart."""

    label: str
    config: ExperimentConfig


def race_entrants(config: ExperimentConfig, kind: str) -> list[Entrant]:
    """The config and its variants of one setting (``RACE_KINDS``). Variants the config
    cannot take (a rate above the maximum, an activation the loss refuses) are left
    out; ValueError when fewer than two remain, saying why."""
    variants = _VARIANTS[kind](config)
    entrants, seen = [], set()
    for label, values in variants:
        try:
            variant = config.replace(**values)
        except ConfigError:
            continue
        if variant not in seen:
            seen.add(variant)
            entrants.append(Entrant(label, variant))
    if len(entrants) < 2:
        raise ValueError(f"no {kind} race for this config: {_why_not(config, kind)}")
    return entrants


def _lr_variants(config: ExperimentConfig) -> list[tuple[str, dict]]:
    rates = [min(config.lr * f, MAX_LR) for f in LR_FACTORS]
    return [(f"lr {format_lr(lr)}", {"lr": lr}) for lr in rates]


def _seed_variants(config: ExperimentConfig) -> list[tuple[str, dict]]:
    return [(f"seed {seed}", {"seed": seed}) for seed in SEEDS]


def _activation_variants(config: ExperimentConfig) -> list[tuple[str, dict]]:
    """The hidden layers' activation varied; the output's stays (the loss may need it)."""
    if not config.hidden:
        return []
    out = config.layer_activations[-1]
    return [(name, {"activation": (name,) * len(config.hidden) + (out,)})
            for name in ACTIVATIONS]


def _hidden_variants(config: ExperimentConfig) -> list[tuple[str, dict]]:
    if not config.hidden:
        return []
    variants = []
    for factor in HIDDEN_FACTORS:
        hidden = tuple(max(1, round(h * factor)) for h in config.hidden)
        variants.append(("hidden " + ",".join(map(str, hidden)), {"hidden": hidden}))
    return variants


def _optimizer_variants(config: ExperimentConfig) -> list[tuple[str, dict]]:
    return [(name, {"optimizer": name}) for name in OPTIMIZERS]


_VARIANTS: dict[str, Callable[[ExperimentConfig], list[tuple[str, dict]]]] = {
    "lr": _lr_variants, "seed": _seed_variants, "activation": _activation_variants,
    "hidden": _hidden_variants, "optimizer": _optimizer_variants,
}


def _why_not(config: ExperimentConfig, kind: str) -> str:
    if kind in ("activation", "hidden") and not config.hidden:
        return "the network has no hidden layer"
    return "its variants are invalid or all the same"


def group_stacks(configs: list[ExperimentConfig]) -> list[list[int]]:
    """Indices of ``configs`` by stack (``stack_key``), in order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for index, config in enumerate(configs):
        groups.setdefault(stack_key(config), []).append(index)
    return list(groups.values())


def scores(out: np.ndarray, data: DataBundle) -> np.ndarray:
    """Each network's training score from its outputs ``out`` (``(K, n)``, ``(K, n, 1)`` or
    ``(K, n, C)``): the fraction classified right, or a regression's R^2."""
    out = out.reshape(len(out), len(data.y_train), -1).astype(np.float64)
    if data.regression:
        target = data.y_train.reshape(-1)
        spread = float(np.sum((target - target.mean()) ** 2))
        residual = np.sum((out[..., 0] - target) ** 2, axis=1)
        return 1.0 - residual / spread if spread > 0 else np.full(len(out), math.nan)
    truth = true_class(data.y_train)
    classes = predicted_class(out.reshape(-1, out.shape[2])).reshape(out.shape[:2])
    return np.mean(classes == truth, axis=1)


class RacePredictor:
    """A light model of one network of a race: its own ``Network`` (built once), loaded
    with the stack's current weights on ``load``; predicts without touching the stack."""

    def __init__(self, config: ExperimentConfig, data: DataBundle) -> None:
        self.network = make_network(config)
        self.data = data
        self.probability = config.output_name == "probability"

    def load(self, weights: list[np.ndarray]) -> None:
        for target, source in zip(self.network.params, weights, strict=True):
            target[...] = source

    def predict_raw(self, X_raw: np.ndarray) -> np.ndarray:  # noqa: N803
        """Outputs ``(n,)`` for points in the data's own coordinates (as Trainer's: scaled,
        then the config's features)."""
        X = self.data.inputs(np.asarray(X_raw, dtype=float))  # noqa: N806
        out = self.network.predict(X)
        return out if out.shape[1] > 1 else out[:, 0]

    def accuracy(self) -> float:
        """Training accuracy (a regression's R^2) at the loaded weights (what the panel's
        map shows)."""
        d = self.data
        with np.errstate(all="ignore"):
            out = self.network.predict(d.X_train).astype(np.float64)
        return float(scores(out[None], d)[0])


class RaceSession:
    """The networks of a race, trained as stacks; what ``TrainingLoop`` steps."""

    def __init__(self, kind: str, entrants: list[Entrant],
                 speed_of: Callable[[], float | None] = lambda: None) -> None:
        """``speed_of``: the speed cap now (the app's session's, so { } act on both)."""
        self.kind = kind
        self.labels = [e.label for e in entrants]
        self.configs = [e.config for e in entrants]
        self.data = build_data(self.configs[0])  # the same data for every stack
        self.groups = group_stacks(self.configs)
        self.stacks = [StackTrainer([self.configs[i] for i in group], data=self.data)
                       for group in self.groups]
        self.where = {i: (s, j) for s, group in enumerate(self.groups)
                      for j, i in enumerate(group)}
        """Network i of the race is member j of stack s."""
        self.meter = RateMeter()
        self.running = self.paused = False
        self.kept = False
        """The networks were kept as runs (the app keeps a race once)."""
        self._speed_of = speed_of
        self._per_epoch = [0.0] * len(self.stacks)  # seconds per epoch, by stack
        self._predictors: dict[int, RacePredictor] = {}
        self.version = 0
        """Counts the calls that may have changed weights (keys the caches below)."""
        self._outputs: dict[tuple, list] = {}  # points: [inputs, version, outputs]
        self._accuracies: tuple[int, np.ndarray] | None = None
        self.lr_scale = 1.0
        """The factor [ and ] have set every rate to, against the race's start."""

    @property
    def k(self) -> int:
        return len(self.configs)

    @property
    def speed(self) -> float | None:
        return self._speed_of()

    @property
    def done(self) -> bool:
        return all(stack.done for stack in self.stacks)

    @property
    def epoch(self) -> int:
        """The epoch of the stacks still training (all at one epoch, in lockstep)."""
        alive = [s.epoch for s in self.stacks if not s.done]
        return min(alive) if alive else max(s.epoch for s in self.stacks)

    @property
    def total(self) -> int:
        return self.configs[0].epochs

    @property
    def state(self) -> str:
        if self.done:
            return "finished"
        if self.running:
            return "running"
        return "paused" if self.paused or self.epoch > 0 else "ready"

    # --- training (TrainingLoop's interface) ---------------------------------------
    def run(self, seconds: float) -> list[Event]:
        """A time box: one stack trains for ``seconds``, several in lockstep."""
        alive = [s for s in range(len(self.stacks)) if not self.stacks[s].done]
        self.version += 1
        if len(alive) == 1:
            events = self._gather({alive[0]: self.stacks[alive[0]].run(seconds=seconds)})
        else:
            events = self._lockstep(alive, self._epochs_in(alive, seconds))
        self.meter.add(self.epoch)
        return events

    def run_epochs(self, epochs: int) -> list[Event]:
        """Exactly ``epochs`` epochs (a capped race), noted for the rate meter."""
        events = self.step(epochs) if epochs > 0 else []
        self.meter.add(self.epoch)
        return events

    def step(self, epochs: int) -> list[Event]:
        alive = [s for s in range(len(self.stacks)) if not self.stacks[s].done]
        self.version += 1
        return self._lockstep(alive, epochs)

    def _epochs_in(self, alive: list[int], seconds: float) -> int:
        """Epochs every stack can train in ``seconds`` together (8 to start with)."""
        per_epoch = sum(self._per_epoch[s] for s in alive)
        return max(1, int(seconds / per_epoch)) if per_epoch > 0 else 8

    def _lockstep(self, alive: list[int], epochs: int) -> list[Event]:
        """Bring every stack in ``alive`` to the same epoch, ``epochs`` past the last."""
        target = min(self.stacks[s].epoch for s in alive) + epochs if alive else 0
        ran = {}
        for s in alive:
            stack = self.stacks[s]
            count = target - stack.epoch
            if count <= 0:
                continue
            start, before = time.perf_counter(), stack.epoch
            ran[s] = stack.run(epochs=count)
            done = stack.epoch - before
            if done > 0:
                self._per_epoch[s] = (time.perf_counter() - start) / done
        return self._gather(ran)

    def _gather(self, ran: dict[int, list[list[Event]]]) -> list[Event]:
        """The stacks' events, flattened in the race's order."""
        by_network: dict[int, list[Event]] = {}
        for s, events in ran.items():
            for j, network_events in enumerate(events):
                by_network[self.groups[s][j]] = network_events
        return [event for i in sorted(by_network) for event in by_network[i]]

    def scale_lr(self, factor: float) -> list[RateChange]:
        """[ and ]: every network still training gets its rate times ``factor`` (by hand),
        so their ratios stay what the race compares. The factor is cut so that no rate
        leaves [MIN_LR, MAX_LR]. Returns the changes in the race's order (none when the
        rates are at that limit already, or no network trains any more)."""
        alive = [i for i in range(self.k) if not self.member_state(i).done]
        rates = [self.member_state(i).lr for i in alive]
        if not rates:
            return []
        factor = min(max(factor, MIN_LR / min(rates)), MAX_LR / max(rates))
        if factor == 1.0:
            return []
        self.lr_scale *= factor
        changes = []
        for i, lr in zip(alive, rates, strict=True):
            s, j = self.where[i]
            changes.append(self.stacks[s].set_lr(j, lr * factor))
        return changes

    def rate_change_epochs(self) -> list[int]:
        """The epochs at which the race's rates were changed by hand (the chart's marks)."""
        epochs = {c.epoch for i in range(self.k) for c in self.member_state(i).rate_changes
                  if c.reason == "manual"}
        return sorted(epochs)

    # --- what the race screen shows ---------------------------------------------------
    def member_state(self, i: int):
        """Network i's ``engine.stack.trainer.Member`` (epoch, rate, status, history)."""
        s, j = self.where[i]
        return self.stacks[s].members[j]

    def weights(self, i: int) -> list[np.ndarray]:
        s, j = self.where[i]
        return self.stacks[s].weights(j)

    def predictor(self, i: int) -> RacePredictor:
        """Network i's light model, loaded with its weights now."""
        if i not in self._predictors:
            self._predictors[i] = RacePredictor(self.configs[i], self.data)
        predictor = self._predictors[i]
        predictor.load(self.weights(i))
        return predictor

    def outputs(self, X_raw: np.ndarray) -> np.ndarray:  # noqa: N803
        """Every network's output ``(K, n)`` (``(K, n, C)`` for C classes) at points in the
        data's own coordinates: one stacked forward pass per stack
        (``StackTrainer.predict``), made again only when the weights changed. Kept per
        set of points (the maps' grids: maps of two widths have two), with the points'
        network inputs (scaled, the features)."""
        X_raw = np.asarray(X_raw, dtype=float)  # noqa: N806
        key = (X_raw.shape, X_raw.tobytes())
        cached = self._outputs.get(key)
        if cached is None:
            if len(self._outputs) >= MAX_GRIDS:
                self._outputs.clear()
            cached = self._outputs[key] = [self.data.inputs(X_raw), -1, None]
        if cached[1] != self.version:
            cached[1], cached[2] = self.version, self._predict(cached[0])
        return cached[2]

    @property
    def regression(self) -> bool:
        """The networks predict real targets: their score is R^2, not an accuracy."""
        return self.data.regression

    def accuracies(self) -> np.ndarray:
        """Every network's training accuracy (a regression's R^2) at its weights now,
        ``(K,)`` (what its map shows), from one stacked pass per stack, made again only
        after training."""
        if self._accuracies is None or self._accuracies[0] != self.version:
            out = self._predict(self.data.X_train)
            self._accuracies = (self.version, scores(out, self.data))
        return self._accuracies[1]

    def _predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """``StackTrainer.predict`` of every stack, in the race's order: ``(K, n)``, or
        ``(K, n, C)`` for C classes."""
        classes = self.configs[0].sizes[-1]
        out = np.empty((self.k, len(X)) + ((classes,) if classes > 1 else ()))
        with np.errstate(all="ignore"):
            for stack, group in zip(self.stacks, self.groups, strict=True):
                out[group] = stack.predict(X)
        return out

    def curves(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Every network's training loss as (label, epochs, losses), in the race's order."""
        return [(label, *self.member_state(i).history.loss_curve())
                for i, label in enumerate(self.labels)]

    def member(self, i: int) -> Trainer:
        """Network i as a restored Trainer (``StackTrainer.member``), to keep or save."""
        s, j = self.where[i]
        return self.stacks[s].member(j)

    def request_stop(self) -> None:
        for stack in self.stacks:
            stack.request_stop()

    def summary(self) -> str:
        """``5 networks · 1 stack``: how the race trains."""
        n = len(self.stacks)
        return f"{self.k} networks · {n} stack{'s' if n > 1 else ''}"

    def best(self) -> int | None:
        """The network with the lowest last loss (None before any epoch)."""
        losses = [self.member_state(i).last_loss for i in range(self.k)]
        finite = [(loss, i) for i, loss in enumerate(losses) if math.isfinite(loss)]
        return min(finite)[1] if finite else None


__all__ = ["ACTIVATIONS", "Entrant", "LR_FACTORS", "OPTIMIZERS", "RACE_KINDS",
           "RacePredictor", "RaceSession", "SEEDS", "group_stacks", "race_entrants"]
