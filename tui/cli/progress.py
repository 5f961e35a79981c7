"""Where ``nn-tui train``'s lines go: stdout, and a Rich progress bar on stderr when it
is a terminal (Rich is imported only when the bar is shown).

Training runs in short time boxes so the log streams as it comes (a box costs no
measurable speed); ``Screen.box_seconds`` is that box.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from tui.core.safe_text import printable

if TYPE_CHECKING:
    from engine.train.trainer import Trainer

BOX_SECONDS_BAR = 0.1  # time box with a progress bar to refresh
BOX_SECONDS_PLAIN = 0.5  # time box without: how often the log is flushed


class Screen:
    """Prints lines to stdout, and owns the progress bar on stderr when there is one.

    While the bar is live and stdout is the same terminal, lines go through the bar's
    console so they scroll above it instead of tearing it. When stdout is a file or a
    pipe they are written straight to it, so it only ever holds the log.
    """

    def __init__(self, trainer: Trainer, show_bar: bool, total: int | None = None) -> None:
        self.trainer = trainer
        self.total = trainer.config.epochs if total is None else total
        self.progress = None
        self.task = None
        self._through_console = False
        if show_bar:
            self._start_bar()

    def _start_bar(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("training"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[count]}"),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("lr {task.fields[lr]}"),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
            transient=True,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task(
            "", total=self.total, count="", loss="", lr="", speed=""
        )
        self.update()
        self.progress.start()
        self._through_console = sys.stdout.isatty()

    @property
    def box_seconds(self) -> float:
        return BOX_SECONDS_BAR if self.progress is not None else BOX_SECONDS_PLAIN

    def line(self, text: str) -> None:
        """One line of the report; escaped, since it may name a file (the --data header)."""
        text = printable(text)
        if self._through_console:
            self.progress.console.print(text, markup=False, highlight=False, emoji=False,
                                        soft_wrap=True)
        else:
            sys.stdout.write(text + "\n")

    def update(self) -> None:
        """Move the bar to the trainer's epoch and show its loss, rate and speed."""
        sys.stdout.flush()
        if self.progress is None:
            return
        t = self.trainer
        speed = t.epoch / t.seconds if t.seconds > 0 else 0.0
        loss = f"{t.last_loss:.4g}" if math.isfinite(t.last_loss) else "-"
        self.progress.update(
            self.task, completed=t.epoch, count=f"{t.epoch:,}/{self.total:,}",
            loss=loss, lr=f"{t.lr:g}", speed=f"{speed:,.0f} epochs/s",
        )
        self.progress.refresh()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
            self._through_console = False
        sys.stdout.flush()
