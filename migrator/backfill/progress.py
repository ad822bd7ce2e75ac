"""What a running backfill tells the person watching: a rich progress bar (rows/s, ETA) on a
terminal, a plain log line every few seconds otherwise (CI logs), nothing for library callers."""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _eta(remaining: float, rate: float) -> str:
    if rate <= 0 or remaining <= 0:
        return "-"
    s = int(remaining / rate)
    return f"{s // 3600}h{s // 60 % 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


class NullProgress:
    """The progress protocol: start, update after each committed batch, finish."""

    def start(self, name: str, *, total: int | None, scanned: int, done: int) -> None:
        pass

    def update(self, *, scanned: int, done: int, batch_rows: int, batch_ms: float,
               batch_size: int) -> None:
        pass

    def finish(self, *, scanned: int, done: int, status: str) -> None:
        pass


class LogProgress(NullProgress):
    """One plain line every ``interval`` seconds and at the end."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0):
        self.stream = stream or sys.stderr
        self.interval = interval

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()

    def start(self, name, *, total, scanned, done):
        self.name, self.total, self.scanned0 = name, total, scanned
        self.t0 = self.last = time.monotonic()
        of = f" of ~{total}" if total else ""
        self._write(f"backfill {name}: starting at {scanned} rows walked{of}")

    def update(self, *, scanned, done, batch_rows, batch_ms, batch_size):
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        rate = (scanned - self.scanned0) / max(now - self.t0, 1e-9)
        pct = f" ({100 * scanned / self.total:.0f}%)" if self.total else ""
        eta = _eta((self.total or 0) - scanned, rate) if self.total else "-"
        self._write(f"backfill {self.name}: {scanned} rows walked{pct}, {done} updated, "
                    f"{rate:.0f} rows/s, ETA {eta}, batch {batch_size} rows in {batch_ms:.0f} ms")

    def finish(self, *, scanned, done, status):
        secs = time.monotonic() - self.t0
        self._write(f"backfill {self.name}: {status}: {scanned} rows walked, {done} updated, "
                    f"{secs:.1f} s")


class RichProgress(NullProgress):
    """A rich progress bar with rows/s and ETA (a terminal)."""

    def __init__(self, console=None):
        from rich.console import Console

        self.console = console or Console(stderr=True)

    def start(self, name, *, total, scanned, done):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn,
                                   TextColumn, TimeElapsedColumn, TimeRemainingColumn)

        class Rate(TextColumn):
            def render(self, task):
                speed = task.finished_speed or task.speed
                from rich.text import Text

                return Text(f"{speed or 0:,.0f} rows/s")

        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TaskProgressColumn(), Rate(""),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=self.console, transient=False)
        self.bar.start()
        self.total = total
        self.task = self.bar.add_task(f"backfill {name}", total=max(total or 0, scanned) or None,
                                      completed=scanned)

    def update(self, *, scanned, done, batch_rows, batch_ms, batch_size):
        total = self.total if self.total and self.total >= scanned else None
        self.bar.update(self.task, completed=scanned, total=total if total else (scanned or None))

    def finish(self, *, scanned, done, status):
        self.bar.update(self.task, completed=scanned, total=scanned or 1)
        self.bar.stop()
        self.console.print(f"backfill {status}: {scanned} rows walked, {done} updated",
                           highlight=False, markup=False)


def make_progress(stream: TextIO | None = None, interval: float = 10.0) -> NullProgress:
    """A bar on a terminal, plain lines otherwise."""
    stream = stream or sys.stderr
    if hasattr(stream, "isatty") and stream.isatty():
        return RichProgress()
    return LogProgress(stream, interval)
