"""``nn-tui sweep``'s table: plain text at the end, and live on stderr (Rich) as it runs."""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from tui.cli.output import fmt_percent
from tui.core.safe_text import printable

if TYPE_CHECKING:
    from engine.config.experiment import ExperimentConfig

STATUS_STYLES = {"queued": "dim", "running": "cyan", "finished": "green", "diverged": "yellow",
                 "error": "bold red"}
LIVE_REFRESH_SECONDS = 0.25


def short(x: float | None) -> str:
    return f"{x:.4g}" if x is not None and math.isfinite(x) else "-"


def r2(x: float | None) -> str:
    return f"{x:.4f}" if x is not None and math.isfinite(x) else "-"


def percent(x: float | None) -> str:
    return fmt_percent(x).strip() if x is not None and math.isfinite(x) else "-"


class SweepTable:
    """The rows of a sweep as it runs: a row per run, updated by progress and results."""

    def __init__(self, configs: list[ExperimentConfig], varied: list[str]) -> None:
        from engine.experiments.sweep import value_text

        self.varied = list(varied)
        self.settings = [[value_text(getattr(c, f)) for f in self.varied] for c in configs]
        self.epochs = [c.epochs for c in configs]
        self.has_test = any(c.test_split > 0 for c in configs)
        # a sweep of regressions scores by R^2 (in the results' accuracy fields)
        self.regression = bool(configs) and all(c.regression for c in configs)
        self.results: list[dict | None] = [None] * len(configs)
        self.progress_of: dict[int, dict] = {}

    regression = False

    def score(self, x: float | None) -> str:
        """An accuracy as a percent, or a regression's R^2."""
        return r2(x) if self.regression else percent(x)

    def result(self, result: dict) -> None:
        self.results[result["run"]] = result

    def progress(self, update: dict) -> None:
        self.progress_of[update["run"]] = update

    @property
    def headers(self) -> list[str]:
        if self.regression:
            heads = ["run", *self.varied, "status", "epochs", "loss", "R²"]
            return heads + (["test loss", "test R²"] if self.has_test else []) + ["seconds"]
        heads = ["run", *self.varied, "status", "epochs", "loss", "accuracy"]
        if self.has_test:
            heads += ["test loss", "test acc"]
        return heads + ["100% at", "seconds"]

    def cells(self, i: int) -> tuple[list[str], str]:
        """A row's cells and its status."""
        r = self.results[i]
        cells = [str(i), *self.settings[i]]
        if r is None:
            p = self.progress_of.get(i)
            if p is None:
                return cells + ["queued"] + [""] * (len(self.headers) - len(cells) - 1), "queued"
            row = ["running", f"{p['epoch']:,}", short(p["loss"]), self.score(p["accuracy"])]
            if self.has_test:
                row += ["", ""]
            perfect = [] if self.regression else [""]
            return cells + row + perfect + [f"{p['seconds']:.1f}"], "running"
        row = [r["status"], f"{r['epochs_run']:,}", short(r["final_loss"]),
               self.score(r["final_accuracy"])]
        if self.has_test:
            row += [short(r["test_loss"]), self.score(r["test_accuracy"])]
        if not self.regression:
            perfect = r["perfect_epoch"]
            row.append("-" if perfect is None else f"{perfect:,}")
        row.append(f"{r['seconds']:.1f}")
        return [printable(c) for c in cells + row], r["status"]  # settings name files

    def text_lines(self) -> list[str]:
        """The table as plain aligned text (for a file, a pipe or the end of a sweep)."""
        heads = self.headers
        rows = [self.cells(i)[0] for i in range(len(self.results))]
        widths = [max(len(h), *(len(row[j]) for row in rows)) for j, h in enumerate(heads)]
        left = set(range(1, 2 + len(self.varied)))  # the settings and the status
        def line(cells):
            return "  ".join(
                c.ljust(w) if j in left else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        lines = [line(heads)] + [line(row) for row in rows]
        lines += [f"run {i}: {printable(r['message'])}" for i, r in enumerate(self.results)
                  if r is not None and r["status"] == "error"]
        return lines

    def rich_table(self, max_rows: int | None = None):
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, header_style="bold", pad_edge=False)
        for j, head in enumerate(self.headers):
            left = 1 <= j <= 1 + len(self.varied)
            table.add_column(head, justify="left" if left else "right", no_wrap=True)
        order = list(range(len(self.results)))
        if max_rows is not None and len(order) > max_rows:
            # the running rows first, then the latest finished, then the next queued
            running = [i for i in order if self.results[i] is None and i in self.progress_of]
            done = [i for i in order if self.results[i] is not None]
            queued = [i for i in order if self.results[i] is None and i not in self.progress_of]
            keep = (running + done[::-1] + queued)[:max_rows]
            hidden = len(order) - len(keep)
            order = sorted(keep)
            table.caption = (f"{hidden} more runs not shown: {len(done)} done, "
                             f"{len(queued)} queued")
        for i in order:
            cells, status = self.cells(i)
            # Text, not markup: a file name such as "[bold].csv" is shown as it is
            table.add_row(*map(Text, cells), style=STATUS_STYLES.get(status, ""))
        return table


class LiveTable:
    """The sweep's table, redrawn on stderr as runs progress and finish (a terminal only)."""

    def __init__(self, table: SweepTable) -> None:
        import time

        from rich.console import Console
        from rich.live import Live

        self.table = table
        self.console = Console(file=sys.stderr)
        self.live = Live(self._render(), console=self.console, auto_refresh=False,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start(refresh=True)
        self._clock = time.perf_counter
        self._last = self._clock()

    def _render(self):
        return self.table.rich_table(max_rows=max(3, self.console.height - 4))

    def _refresh(self, force: bool) -> None:
        now = self._clock()
        if force or now - self._last >= LIVE_REFRESH_SECONDS:
            self._last = now
            self.live.update(self._render(), refresh=True)

    def result(self, result: dict) -> None:
        self.table.result(result)
        self._refresh(force=True)

    def progress(self, update: dict) -> None:
        self.table.progress(update)
        self._refresh(force=False)

    def close(self) -> None:
        if self.live is not None:
            self.live.update(self._render(), refresh=True)
            self.live.stop()
            self.live = None
