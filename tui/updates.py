"""How the screens hear that the session changed: one signal, one small message.

The app owns the training session and publishes a :class:`SessionUpdate` on
``app.session_updated`` (a Textual ``Signal``) whenever it changes: after each tick
of the training task, a step, a new trainer, a rate change, a screen closing. Each
screen subscribes when it mounts and reads what it needs from ``app.session`` at its
own pace, so the app never reaches into a screen (frogmouth and toolong work this way).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from textual.app import App
    from textual.screen import Screen
    from textual.signal import Signal

    from engine.train.events import Event
    from engine.train.probes import NormTracker
    from tui.core.keeper import Kept
    from tui.core.runs import RunStore
    from tui.core.training import TrainingSession

Scope = Literal["status", "curves", "tick", "all"]


@dataclass(frozen=True)
class SessionUpdate:
    """What changed in the session since the last update.

    ``scope`` says what to redraw: ``status`` the status lines only (training started);
    ``curves`` also the loss charts (a rate change, the overlays); ``tick`` a tick of
    the training task: the status lines now, the charts at their own pace; ``all``
    everything now (a step, a new trainer, the end of a run, a screen closed).
    ``events``: the trainer's new events for the log (batched while training runs).
    ``new_trainer``: the trainer was replaced (views that hold it follow the new one).
    ``kept``: the run ended with these events and was kept (its lines follow them).
    """

    scope: Scope = "all"
    events: Sequence[Event] = field(default_factory=tuple)
    new_trainer: bool = False
    kept: Kept | None = None


def shown_screen(app: App) -> Screen:
    """The topmost screen that is not a modal one (what shows under any dialog): the
    one screen that redraws on a training tick."""
    for screen in reversed(app.screen_stack):
        if not screen.is_modal:
            return screen
    return app.screen_stack[0]


class SessionHost(Protocol):
    """What the screens read from the app (``NNApp``), and nothing more."""

    session: TrainingSession
    runs: RunStore
    deterministic: bool
    session_updated: Signal[SessionUpdate]

    @property
    def norms(self) -> NormTracker | None: ...


__all__ = ["SessionHost", "SessionUpdate", "shown_screen"]
