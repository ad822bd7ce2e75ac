"""Progress of long steps, for the person watching: a bar on a terminal, a plain line every few
seconds elsewhere (CI logs), always on standard error so the report stream stays clean."""

from __future__ import annotations

import sys
import time
from typing import TextIO

MIN_FOR_A_BAR = 20  # fewer items finish before a bar is worth drawing


class CountProgress:
    """``progress(done, total)`` for a count of items (revisions rendered): a transient rich bar
    when ``stream`` is a terminal, else a line every ``interval`` seconds (and a last one, once
    a line was printed)."""

    def __init__(self, what: str, stream: TextIO | None = None, interval: float = 10.0):
        self.what = what
        self.stream = stream or sys.stderr
        self.interval = interval
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bar = None
        self.task = None
        self.t0 = time.monotonic()
        self.last = self.t0
        self.printed = False

    def __call__(self, done: int, total: int) -> None:
        if total < MIN_FOR_A_BAR:
            return
        if self.tty:
            self._draw(done, total)
            return
        now = time.monotonic()
        if done >= total:
            if self.printed:
                self._line(done, total, now)
            return
        if now - self.last >= self.interval:
            self.last = now
            self._line(done, total, now)

    def _line(self, done: int, total: int, now: float) -> None:
        rate = done / max(now - self.t0, 1e-9)
        eta = f", ETA {int((total - done) / rate)} s" if 0 < done < total and rate > 0 else ""
        self.stream.write(f"migrator: {self.what}: {done}/{total} ({100 * done // total}%), "
                          f"{rate:.0f}/s{eta}\n")
        self.stream.flush()
        self.printed = True

    def _draw(self, done: int, total: int) -> None:
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        if self.bar is None:
            self.bar = Progress(TextColumn(self.what), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(file=self.stream),
                                transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.what, total=total)
        self.bar.update(self.task, completed=done, total=total)
        if done >= total:
            self.bar.stop()
