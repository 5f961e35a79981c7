"""The race (``v``): the current config against variants of one setting, trained as
stacks (``tui.core.race``) in their own training loop, shown on the race screen, and
kept as runs when it ends. Mixed into ``NNApp``."""

from __future__ import annotations

from collections.abc import Sequence

from engine import ConfigError, DataError, Event
from tui.core.archive import Autosaver
from tui.core.event_text import race_rate_text
from tui.core.keeper import RunKeeper
from tui.core.race import RaceSession, race_entrants
from tui.core.training import TrainingLoop
from tui.updates import Scope, SessionUpdate


class RaceActions:
    """The race's actions (a mixin of ``NNApp``, a Textual ``App``)."""

    def action_race(self) -> None:
        """v: race the current config against variants of one setting (a menu)."""
        from tui.screens.race import RaceMenu

        intro = f"{self.describe(self.session.config)}\ntrained as stacks; esc ends the race"
        self.push_screen(RaceMenu(intro), callback=self._race_chosen)

    async def _race_chosen(self, kind: str | None) -> None:
        """Build the race's stacks and show it; the current run pauses meanwhile."""
        from tui.screens.race import RaceScreen

        if kind is None:
            return
        try:
            race = RaceSession(kind, race_entrants(self.session.config, kind),
                               speed_of=lambda: self.session.speed)
        except (ValueError, ConfigError, DataError) as error:  # no variants; too big a stack
            self.error(f"race: {getattr(error, 'message', error)}")
            return
        await self.training.stop()
        await self.end_race(self.race)
        self.race, self.race_loop = race, TrainingLoop(
            race, self._on_race_update, self._on_training_error)
        self.say("note", f"— {kind} race: {', '.join(race.labels)} ({race.summary()})")
        await self._open_screen(RaceScreen(race, deterministic=self.deterministic))

    def _on_race_update(self, events: Sequence[Event], final: bool) -> None:
        """The race screen redraws; a race that has ended keeps its networks' runs."""
        if not self.is_running:
            return
        if final and self.race is not None and self.race.done:
            self._keep_race(self.race)
        self.publish_race("all" if final else "tick")

    def scale_race_lr(self, factor: float) -> None:
        """[ / ] in a race: every network's rate times ``factor``, their ratios kept
        (``RaceSession.scale_lr``); said in a pop-up over the race and in the epoch log."""
        race = self.race
        if race is None:
            return
        changes = race.scale_lr(factor)
        if not changes:
            limit = "no network trains any more" if race.done else (
                f"a rate is at the {'least' if factor < 1 else 'most'} allowed already")
            self.notify(f"race: the rates stay as they are: {limit}", timeout=3)
            return
        text = race_rate_text(changes)
        self.say("rate", f"▸ {race.kind} race: {text}")
        self.notify(text, title="Race", timeout=3)
        self.publish_race("curves")

    def publish_race(self, scope: Scope = "all") -> None:
        """Tell the race screen what changed in the race (``tui.updates``' scopes).

        A signal of its own, not ``session_updated``: the main screen's panels and status
        line, hidden under the race screen, must not redraw on the race's ticks. Textual
        repaints the whole top screen for any change on the screen below it (that one may
        show through), and a whole repaint costs the race 25 ms of training a time."""
        self.race_updated.publish(SessionUpdate(scope))

    async def end_race(self, race: RaceSession | None) -> None:
        """The race screen is gone: stop the race and keep its networks' runs."""
        if race is None or race is not self.race:
            return
        if self.race_loop is not None:
            await self.race_loop.stop()
        self._keep_race(race)
        self.race = self.race_loop = None

    def _keep_race(self, race: RaceSession) -> None:
        """Each network that trained, as a run in the runs table and the archive
        (``source`` race), once per race."""
        if race.kept:
            return
        race.kept = True
        keeper = RunKeeper(self.runs, Autosaver(self.autosaver.folder))
        keeper.source = "race"
        kept = [keeper.keep(race.member(i)) for i in range(race.k)]
        records = [k.record for k in kept if k.record is not None]
        for warning in dict.fromkeys(k.warning for k in kept if k.warning):
            self.notify(warning, severity="warning", timeout=8)
        if records:
            labels = ", ".join(r.label for r in records)
            self.say("dim", f"race kept as runs {labels}; R lists the runs")
            self.runs_changed()
