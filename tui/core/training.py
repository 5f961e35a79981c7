"""The training side of the TUI, with no UI in it.

``TrainingSession`` owns one :class:`engine.Trainer` built from one config (rebuilding
it is a reset) and answers the questions the panels ask: the curves, the scatter data,
the status figures, the log lines. ``TrainingLoop`` runs a session in an asyncio task:

    loop:   events = trainer.run(seconds=CHUNK)      # a time box, ~25 ms
            pending += events
            every REFRESH seconds (and at the end):  on_update(pending); pending = []
            for _ in range(YIELD_TURNS):             # keys and rendering get their turns
                await asyncio.sleep(0)

An asyncio task, not a thread: the trainer is only ever touched from the event loop,
so the UI never reads it half-updated. Stopping is cancelling the task and awaiting it;
the cancellation lands at the ``sleep``, between two time boxes, never inside one.

At a speed cap (``TrainingSession.speed``, epochs per second, for demos) a time box
trains exactly the epochs due by the wall clock (``Pacer``: an accumulator of
fractional epochs) with ``trainer.step`` and sleeps the rest of the box: the same
epochs in the same order as an uncapped run, only spread over time.

Also here, with no UI either: ``gradcheck_job`` (the gradient check on a copy of the
network, safe to run in a worker thread), and ``trainer_from_saved`` passed on from
``engine.io.runfile`` (a trainer that carries on from a run file, with its weights).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine import (
    DATASET_NAMES,
    ConfigError,
    Event,
    ExperimentConfig,
    LayerCheck,
    RateChange,
    SavedRun,
    Trainer,
    gradient_check,
    make_network,
)
from engine.io.numerics import describe, differences, fingerprint
from engine.io.runfile import trainer_from_saved
from engine.nn.losses import predicted_class
from engine.train.edits import EditError, parse_value
from engine.train.events import WeightEdited
from tui.core.event_text import format_lr, mae_text, printout_lines, r2_text

CHUNK_SECONDS = 0.025
"""How long one ``trainer.run`` time box is asked to last (it overshoots by a few ms).

The trade-off: a key waits for at most one box, and the UI's fixed costs per box are
spread over more epochs. Measured with bench/tui.py: 15 ms boxes gave 0.87-0.89 of
the engine's rate alone with an event-loop lag p95 of 14 ms; 25 ms boxes 0.91 with 26
ms (the target is at most 50 ms, and a key still answers within a frame or two)."""

YIELD_TURNS = 32
"""After each time box the task gives the event loop this many turns (``sleep(0)``).

A key press travels through several message queues (driver, app, screen, widget),
one loop turn each; with a single turn per time box every hop would wait a whole
box (measured: 126 ms from key to action). A real ``sleep(0.001)`` lets them all
run but idles about 1 ms a box (5% of the time) and measured 23 ms from key to
action; 32 turns cost a few microseconds each when nothing is waiting and measured
3 ms from key to action (bench/tui.py)."""

REFRESH_SECONDS = 0.1
"""The panels get the latest state at most this often while training."""

STATES = ("ready", "running", "paused", "finished", "diverged")

SPEEDS: tuple[float | None, ...] = (1, 10, 100, 1_000, 10_000, None)
"""The speed caps offered (epochs per second), slowest first; None: unlimited (the default)."""

ANIMATED_SPEED = 100
"""At a cap of at most this many epochs per second the app redraws every update, so the
charts and the predictions move epoch by epoch instead of twice a second."""

MAX_LAG_SECONDS = 0.25
"""A capped run catches up at most this much wall time after a stall (a slow redraw, a
suspended terminal), so that it never bursts through thousands of epochs at once."""


def speed_text(speed: float | None) -> str:
    """``10 ep/s``, ``1k ep/s``, ``unlimited``: a speed cap in words."""
    if speed is None:
        return "unlimited"
    return (f"{speed / 1000:g}k" if speed >= 1000 else f"{speed:g}") + " ep/s"


def animated(speed: float | None) -> bool:
    """True at a cap slow enough (``ANIMATED_SPEED``) to redraw on every update."""
    return speed is not None and speed <= ANIMATED_SPEED


def next_speed(speed: float | None, direction: int) -> float | None:
    """The next cap in ``SPEEDS`` (direction 1: faster, -1: slower), staying at the ends."""
    index = SPEEDS.index(speed) if speed in SPEEDS else len(SPEEDS) - 1
    return SPEEDS[min(max(index + direction, 0), len(SPEEDS) - 1)]

MAX_PLOT_POINTS = 4000
"""The scatter pair gets at most this many points (an even stride over the data)."""

MAX_SUMMARY_ROWS = 200
"""The test summary prints at most this many predictions (then says how many more)."""


# ------------------------------------------------------------------ text formats
# The events' words (epoch reports, rate changes, the testing printout) are in
# tui.core.event_text, shared with ``nn-tui train``; format_lr is passed on from there.


def format_accuracies(figures: Figures) -> str:
    """``accuracy 100.0%``, or with a test split ``acc train 100.0% · test 98.8%`` (short:
    it shares a panel's top edge with the title). A regression's: ``R² 0.9731  MAE 0.0412``,
    with a split ``train R² 0.9731 MAE 0.0412 · test R² ...``."""
    def percent(value: float | None) -> str:
        return f"{100 * value:.1f}%" if value is not None and math.isfinite(value) else "-"

    if figures.mae is not None:
        if figures.test_accuracy is None:
            return regression_text(figures.accuracy, figures.mae)
        train = regression_text(figures.accuracy, figures.mae, " ")
        test = regression_text(figures.test_accuracy, figures.test_mae, " ")
        return f"train {train} · test {test}"
    if figures.test_accuracy is None:
        return f"accuracy {percent(figures.accuracy)}"
    return f"acc train {percent(figures.accuracy)} · test {percent(figures.test_accuracy)}"


def regression_text(r2: float | None, mae: float | None, sep: str = "  ") -> str:
    """``R² 0.9731  MAE 0.0412`` (the epoch log's words); ``-`` for a missing figure."""
    def shown(value: float | None, text: Callable[[float], str]) -> str:
        return text(value) if value is not None and math.isfinite(value) else "-"

    return f"R² {shown(r2, r2_text)}{sep}MAE {shown(mae, mae_text)}"


# ------------------------------------------------------------------ measuring


class RateMeter:
    """Epochs per second over a sliding window of (time, epoch) samples."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def clear(self) -> None:
        self._samples.clear()

    def add(self, epoch: int, now: float | None = None) -> None:
        now = time.perf_counter() if now is None else now
        self._samples.append((now, epoch))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window:
            self._samples.popleft()

    @property
    def rate(self) -> float:
        """Epochs per second, or NaN before two samples."""
        if len(self._samples) < 2:
            return math.nan
        (t0, e0), (t1, e1) = self._samples[0], self._samples[-1]
        return (e1 - e0) / (t1 - t0) if t1 > t0 else math.nan


class Pacer:
    """How many epochs are due at a speed cap: an accumulator of fractional epochs.

    Each call adds the wall time since the last one times the speed and hands out the
    whole epochs owed, keeping the fraction; so over any stretch the epochs trained are
    those the clock allows, to within one, and a box of ``dt`` seconds gets at most
    ``ceil(speed * dt)``. The first epoch is due at once (a demo answers the space key
    at 1 ep/s). After a stall the debt is capped at ``MAX_LAG_SECONDS`` of epochs.
    """

    def __init__(self, speed: float, now: float) -> None:
        self.speed = speed
        self.last = now
        self.owed = 1.0

    def due(self, now: float) -> int:
        """Whole epochs due by ``now`` (and no longer owed)."""
        elapsed = max(now - self.last, 0.0)
        self.last = now
        self.owed = min(self.owed + elapsed * self.speed, 1.0 + self.speed * MAX_LAG_SECONDS)
        epochs = int(self.owed)
        self.owed -= epochs
        return epochs

    def wait(self, now: float) -> float:
        """Seconds from ``now`` until the next whole epoch is due."""
        return max((1.0 - self.owed) / self.speed - max(now - self.last, 0.0), 0.0)


# ------------------------------------------------------------------ the session


@dataclass(frozen=True)
class Figures:
    """Loss and accuracy of the network as it is now, at its current weights.

    What the status line, the prediction panel and the decision map show together (all
    at the same weights). The epoch log and the loss chart keep the course's figure:
    epoch N's loss, measured by epoch N's forward pass, before its update. The two
    differ by one update (README: "What the figures mean").
    """

    loss: float
    accuracy: float  # a regression's R^2
    test_loss: float | None = None  # None: no test split
    test_accuracy: float | None = None
    mae: float | None = None  # a regression's mean absolute error; None: a classification
    test_mae: float | None = None

    @property
    def accuracies(self) -> tuple[float, float | None]:
        """(train, test) accuracy; test None without a split."""
        return self.accuracy, self.test_accuracy


@dataclass(frozen=True)
class Status:
    """What the status line shows: the state, and the figures of the weights now."""

    state: str
    epoch: int
    total: int
    epochs_per_second: float
    lr: float
    loss: float
    accuracy: float
    test_loss: float | None = None
    test_accuracy: float | None = None
    speed: float | None = None  # the speed cap (epochs per second); None: unlimited
    mae: float | None = None  # a regression's (``accuracy`` is then R^2); None: classes
    test_mae: float | None = None


@dataclass(frozen=True)
class Curves:
    """What the loss chart shows: (epochs, losses) pairs and the rate-change epochs."""

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray] | None
    rate_changes: list[int]


@dataclass(frozen=True)
class Points:
    """What the scatter pair shows: every point, its label (the class number, or a
    regression's target), the network's output now ((n,), or (n, K) for K classes) and
    the class that output predicts (``engine.nn.losses.predicted_class``: 1 above 0.5 or
    the argmax, -1 when the output is not finite). ``n_classes`` is the data's K, 0 for
    a regression (whose ``classes`` mean nothing)."""

    X: np.ndarray
    y_true: np.ndarray
    y_pred: np.ndarray
    classes: np.ndarray
    n_classes: int = 2


class TrainingSession:
    """One trainer built from one config, and the figures the panels need from it."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.meter = RateMeter()
        self.paused = False
        self.running = False
        self.config = config
        self.trainer = Trainer(config)
        self.speed: float | None = None
        """The speed cap in epochs per second (None: unlimited). A setting of the session,
        not of the run: it outlives resets, applies and opened runs."""
        self._figures: tuple[tuple, Figures] | None = None  # (weights' key, figures)

    # --- replacing the model ---------------------------------------------------
    def rebuild(self, config: ExperimentConfig | None = None) -> Trainer:
        """A fresh trainer (new weights, epoch 0) for ``config`` (default: the same).

        Builds the new trainer first, so a config whose data cannot be built raises
        (a ConfigError or DataError) and leaves the session as it was.
        """
        config = self.config if config is None else config
        trainer = Trainer(config)
        self.config, self.trainer = config, trainer
        self.meter.clear()
        self.paused = self.running = False
        return trainer

    def adopt(self, trainer: Trainer) -> Trainer:
        """Use an already built trainer (an opened run, a checked new dataset)."""
        self.config, self.trainer = trainer.config, trainer
        self.meter.clear()
        self.paused = self.running = False
        return trainer

    def next_dataset_config(self) -> ExperimentConfig:
        """The config with the next generated dataset that it fits (a CSV file is left
        for generated data): a run of K classes cycles through the sets that take K
        (spiral, gaussian, pie), a two-class one through them all. None fitting: the
        first one's ConfigError."""
        names = DATASET_NAMES
        current = self.config.dataset if not self.config.data_path else names[-1]
        start = names.index(current) + 1 if current in names else 0
        first_error: ConfigError | None = None
        for step in range(len(names)):
            name = names[(start + step) % len(names)]
            try:
                return self.config.replace(dataset=name, data_path="", batch_size=0)
            except ConfigError as error:
                first_error = first_error or error
        assert first_error is not None
        raise first_error

    def new_data_seed_config(self) -> ExperimentConfig:
        return self.config.replace(data_seed=(self.config.data_seed + 1) % 2**32)

    # --- training ----------------------------------------------------------------
    def run(self, seconds: float) -> list[Event]:
        """Train for a time box and note the epoch for the rate meter."""
        events = self.trainer.run(seconds=seconds)
        self.meter.add(self.trainer.epoch)
        return events

    def step(self, epochs: int) -> list[Event]:
        """Exactly ``epochs`` epochs (fewer at the end); a paused run stays paused."""
        return self.trainer.step(epochs)

    def run_epochs(self, epochs: int) -> list[Event]:
        """Exactly ``epochs`` epochs for a capped run, noted for the rate meter."""
        events = self.trainer.step(epochs) if epochs > 0 else []
        self.meter.add(self.trainer.epoch)
        return events

    def set_lr(self, lr: float) -> RateChange:
        return self.trainer.set_lr(lr)

    def edit_weight(self, layer: int, kind: str, row: int, col: int, text: str) -> WeightEdited:
        """Set one weight or bias to a value typed by hand (``engine.train.edits``: every
        index from 1); EditError, in one line, for text that is not a finite number or an
        edit the trainer refuses. Never while training runs: the app pauses it first."""
        if self.running:
            raise EditError("pause training (space) before editing a weight")
        return self.trainer.edit_weight(layer, kind, row, col, parse_value(text))

    @property
    def done(self) -> bool:
        """The run is over (finished or diverged): what ``TrainingLoop`` asks."""
        return self.trainer.done

    @property
    def epoch(self) -> int:
        return self.trainer.epoch

    @property
    def state(self) -> str:
        """ready, running, paused, finished or diverged."""
        status = self.trainer.status
        if status in ("finished", "diverged"):
            return status
        if self.running:
            return "running"
        return "paused" if self.paused or self.trainer.epoch > 0 else "ready"

    # --- what the panels show -----------------------------------------------------
    def status(self, live_rate: bool = True) -> Status:
        t = self.trainer
        now = self.figures()
        rate = self.meter.rate if live_rate and self.running else math.nan
        return Status(
            state=self.state, epoch=t.epoch, total=t.config.epochs, epochs_per_second=rate,
            lr=t.lr, loss=now.loss, accuracy=now.accuracy,
            test_loss=now.test_loss, test_accuracy=now.test_accuracy, speed=self.speed,
            mae=now.mae, test_mae=now.test_mae,
        )

    def figures(self) -> Figures:
        """Loss and accuracy at the current weights, on the training set and the test
        set. A forward pass on each (no training state touched), made again only when
        the weights may have changed (another epoch, trainer, state or edit by hand)."""
        t = self.trainer
        key = (id(t), t.epoch, t.status, id(t.network.params[0]), len(t.weight_edits))
        if self._figures is not None and self._figures[0] == key:
            return self._figures[1]
        with np.errstate(all="ignore"):
            train = t.evaluate("train")
            test = t.evaluate("test") if t.data.has_test else None
        figures = Figures(
            train["loss"], train["accuracy"],
            test["loss"] if test else None, test["accuracy"] if test else None,
            train.get("mae"), test.get("mae") if test else None,
        )
        self._figures = (key, figures)
        return figures

    def curves(self) -> Curves:
        t = self.trainer
        train = t.history.loss_curve()
        test = None
        if t.data.has_test:
            cols = t.history.arrays()
            ok = np.isfinite(cols["test_loss"])
            test = (cols["epoch"][ok], cols["test_loss"][ok])
        return Curves(train, test, [c.epoch for c in t.rate_changes])

    def points(self) -> Points:
        """The points (train and test) with the network's current outputs.

        A forward pass only (no training state touched), on at most MAX_PLOT_POINTS
        points: beyond that an even stride. Their accuracy is ``figures()``'s, on
        every point, train and test apart.
        """
        t = self.trainer
        X, y = t.data.all_raw()[0], t.data.all_labels()  # labels: one-hot rows undone
        if len(X) > MAX_PLOT_POINTS:
            keep = np.linspace(0, len(X) - 1, MAX_PLOT_POINTS).astype(np.int64)
            X, y = X[keep], y[keep]
        with np.errstate(all="ignore"):
            out = t.predict_raw(X) if len(X) else np.empty(0)
        return Points(X, y, out, predicted_class(out), t.data.classes)

    def test_summary(self) -> list[str]:
        """The course's testing printout (``event_text.printout_lines``, as ``nn-tui train``
        prints it) at the current weights, after the last epoch's update.

        On the test split when there is one, else on the training data (as the course
        does); at most MAX_SUMMARY_ROWS predictions, so a big data set cannot flood the log.
        """
        t = self.trainer
        split = "test" if t.data.has_test else "train"
        return printout_lines(t, split, limit=MAX_SUMMARY_ROWS)


def arithmetic_note(saved: SavedRun) -> str | None:
    """What to tell someone who opens a run saved on other arithmetic (another NumPy, BLAS
    kernel or CPU, ``engine.io.numerics``), or None: nothing is wrong, but going on from
    it rounds differently in the last bits than going on there would."""
    here = fingerprint()
    if not differences(saved.numerics or {}, here):
        return None
    return (f"saved with {describe(saved.numerics or {})}; this is {describe(here)}: the "
            "weights are exact, but training on from them rounds differently in the last "
            "bits than it would there (a re-run matches bit for bit only with the same NumPy "
            "and BLAS on the same kind of CPU)")


# ------------------------------------------------------------------ gradient check

GRADCHECK_POINTS = 20
"""The check runs on at most this many training points (as ``nn-tui gradcheck`` does)."""

from engine.train.gradcheck import GRADCHECK_TOLERANCE, GradientCheck  # noqa: E402 (gradcheck only)

GRADCHECK_MAX_PARAMETERS = 20_000
"""Above this many parameters the finite differences would take minutes: refused."""


@dataclass(frozen=True)
class GradcheckReport:
    """Backprop against finite differences, per layer, for the current network.

    ``check`` is the engine's comparison and verdict (``engine.train.gradcheck``); the app's
    screen and ``nn-tui gradcheck`` both print its words, so they cannot disagree.
    """

    check: GradientCheck
    points: int
    total_points: int
    loss: str
    sizes: tuple[int, ...]

    @property
    def checks(self) -> tuple[LayerCheck, ...]:
        return self.check.layers

    @property
    def zero(self) -> list[bool]:
        """Per layer: every gradient is zero (nothing really compared)."""
        return [c.zero for c in self.check.layers]

    @property
    def worst(self) -> float:
        return self.check.worst

    @property
    def verdict(self) -> str:
        """``passed``, ``FAILED`` or ``inconclusive``."""
        return self.check.verdict

    @property
    def summary(self) -> str:
        """The verdict and its one-line explanation, with the figures."""
        return self.check.summary

    @property
    def inconclusive(self) -> bool:
        """Nothing was big enough to compare (dead units, or gradients below what finite
        differences resolve at this loss): no verdict on backprop."""
        return self.check.inconclusive

    @property
    def passed(self) -> bool:
        return self.check.passed

    def layer_passed(self, index: int) -> bool:
        return self.checks[index].verdict == "pass"


def gradcheck_refusal(config: ExperimentConfig) -> str | None:
    """Why a network of ``config`` is too big to check, or None: finite differences nudge
    every parameter in turn, so above GRADCHECK_MAX_PARAMETERS the check would take
    minutes. The app's ``g`` and ``nn-tui gradcheck`` refuse with these same words."""
    if config.n_parameters <= GRADCHECK_MAX_PARAMETERS:
        return None
    return (f"a gradient check nudges every parameter in turn: at most "
            f"{GRADCHECK_MAX_PARAMETERS:,} parameters, got {config.n_parameters:,} "
            f"({config.diagram()}); use narrower or fewer layers")


def gradcheck_job(
    trainer: Trainer, points: int = GRADCHECK_POINTS
) -> Callable[[], GradcheckReport]:
    """Copy what the check needs now; return the (slow) check itself, to run anywhere.

    The one preparation of a check, for the app's ``g`` and ``nn-tui gradcheck`` alike:
    a float64 network with the trainer's current parameters and up to ``points``
    training points, taken at once, so that the check may run in another thread while
    the trainer goes on: the trainer is never touched again. Layers whose biases are
    all zero (a fresh network) get small random ones on the copy: a zero bias puts
    every relu unit of an input at the origin on its kink, where finite differences
    see half a slope and backprop none. The returned function raises ValueError
    (``gradcheck_refusal``'s words) for a network too big to check this way.
    """
    config = trainer.config
    net = make_network(config.replace(dtype="float64"))
    for target, source in zip(net.params, trainer.network.params, strict=True):
        target[...] = source
    rng = np.random.default_rng([config.seed, 0xB1A5])
    for bias in net.biases:
        if not np.any(bias):
            bias[...] = rng.normal(0.0, 0.1, bias.shape)
    X = np.array(trainer.data.X_train[:points], dtype=np.float64)  # noqa: N806
    y = np.array(trainer.data.y_train[:points], dtype=np.float64)
    total = trainer.data.n_train

    def run() -> GradcheckReport:
        refusal = gradcheck_refusal(config)
        if refusal is not None:
            raise ValueError(refusal)
        with np.errstate(all="ignore"):
            check = gradient_check(net, X, y, config.loss, l2=config.l2, l1=config.l1)
        return GradcheckReport(check, len(X), total, config.loss, config.sizes)

    return run


def check_gradients(trainer: Trainer, points: int = GRADCHECK_POINTS) -> GradcheckReport:
    """``gradcheck_job(trainer, points)()``: the check, here and now."""
    return gradcheck_job(trainer, points)()


# ------------------------------------------------------------------ the loop


UpdateCallback = Callable[[Sequence[Event], bool], None]
"""``on_update(events, final)``: the events since the last update; final at the end."""


class TrainingLoop:
    """Runs a session in an asyncio task and hands batched events to ``on_update``.

    A session is anything with ``TrainingSession``'s training side (``run``,
    ``run_epochs``, ``done``, ``epoch``, ``meter``, ``speed``, ``running``, ``paused``):
    one run, or a race of networks (``tui.core.race.RaceSession``).

    ``on_update`` is called at most every ``refresh`` seconds while training, and once
    more when the task ends for any reason (``final=True``): paused, finished, diverged.
    It runs inside the task, between two time boxes, so it may read the trainer.
    An exception inside the loop is handed to ``on_error`` and ends the task.

    ``train_share`` is the fraction of wall time spent training over the last update
    period (the rest went to the UI): the app uses it to pace its chart redraws.

    ``clock`` and ``sleep`` are the loop's time (tests pass a fake clock whose sleep
    moves it on): they pace a capped run (``session.speed``).
    """

    def __init__(
        self,
        session: TrainingSession,
        on_update: UpdateCallback,
        on_error: Callable[[BaseException], None] | None = None,
        chunk: float = CHUNK_SECONDS,
        refresh: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.session = session
        self.on_update = on_update
        self.on_error = on_error
        self.chunk = chunk
        self.refresh = refresh
        self.clock = clock
        self.sleep = sleep
        self.train_share = 1.0
        self._task: asyncio.Task | None = None
        self._pacer: Pacer | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> bool:
        """Start training (False if already running or the run is over)."""
        if self.running or self.session.done:
            return False
        self.session.running, self.session.paused = True, False
        self.session.meter.clear()
        self.session.meter.add(self.session.epoch)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="nn-tui training")
        return True

    async def stop(self) -> None:
        """Cancel the task and wait until it has ended (its final update included)."""
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def _box(self) -> list[Event]:
        """One time box: ``chunk`` seconds of training, or at a cap the epochs due now."""
        speed = self.session.speed
        if speed is None:
            self._pacer = None
            return self.session.run(self.chunk)
        if self._pacer is None or self._pacer.speed != speed:
            self._pacer = Pacer(speed, self.clock())
        return self.session.run_epochs(self._pacer.due(self.clock()))

    async def _rest(self, box_start: float) -> None:
        """Give the event loop its turns; at a cap, sleep the rest of the box (no spinning)."""
        if self._pacer is None or self.session.speed is None:
            for _ in range(YIELD_TURNS):
                await asyncio.sleep(0)
            return
        now = self.clock()
        rest = max(box_start + self.chunk - now, self._pacer.wait(now))
        await self.sleep(min(rest, self.refresh))

    async def _run(self) -> None:
        session = self.session
        pending: list[Event] = []
        clock = self.clock
        last = clock()
        busy = 0.0
        self._pacer = None
        try:
            while not session.done:
                t0 = clock()
                pending.extend(self._box())
                now = clock()
                busy += now - t0
                if now - last >= self.refresh and not session.done:
                    self.train_share = busy / (now - last)
                    events, pending, busy = pending, [], 0.0
                    self.on_update(events, False)
                    last = clock()
                await self._rest(t0)
        except asyncio.CancelledError:
            session.paused = True
            raise
        except Exception as error:  # reported, never silently swallowed
            session.paused = True
            if self.on_error is None:
                raise
            self.on_error(error)
        finally:
            session.running = False
            self.on_update(pending, True)


__all__ = [
    "ANIMATED_SPEED", "CHUNK_SECONDS", "GRADCHECK_POINTS", "Pacer", "SPEEDS", "animated",
    "next_speed", "speed_text", "GRADCHECK_TOLERANCE", "GradcheckReport",
    "check_gradients", "gradcheck_job", "gradcheck_refusal", "MAX_PLOT_POINTS", "MAX_SUMMARY_ROWS",
    "REFRESH_SECONDS", "STATES", "arithmetic_note",
    "YIELD_TURNS", "Curves", "Figures", "Points", "RateMeter", "Status", "TrainingLoop",
    "TrainingSession", "format_accuracies", "format_lr", "trainer_from_saved",
]
