"""Counting work instead of timing it: a test that asserts seconds fails whenever the machine is
busy, a count of function calls is the same on every run. Speed figures live in benchmarks/."""

from __future__ import annotations

import sys
from typing import Any, Callable


def count_calls(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, int]:
    """``fn(*args, **kwargs)`` and the number of Python and built-in function calls it made."""
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call" or event == "c_call":
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        result = fn(*args, **kwargs)
    finally:
        sys.setprofile(previous)
    return result, calls


def growth(fn: Callable[[int], Any], small: int, factor: int = 10) -> float:
    """How many times more calls ``fn(small * factor)`` makes than ``fn(small)``, per unit of
    ``factor``: about 1.0 when the work is linear in the argument, about ``factor`` when
    quadratic."""
    _, a = count_calls(fn, small)
    _, b = count_calls(fn, small * factor)
    return b / (a * factor)


class FakeClock:
    """Stands in for the ``time`` module of the code under test: ``monotonic`` moves only when
    the code sleeps or the test calls ``advance``, so durations are exact and asserted on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    perf_counter = monotonic

    def time(self) -> float:
        return 1_700_000_000.0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds
