"""The retry discipline for lock timeouts: exponential backoff with jitter, bounded in attempts and
in total time (never queue behind a long transaction; give up cleanly instead)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

from .config import Config
from .dberrors import sqlstate

LOCK_NOT_AVAILABLE = "55P03"


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8  # attempts in all, the first included
    base_delay: float = 0.5
    max_delay: float = 10.0
    max_total: float = 120.0  # seconds from the first attempt after which no retry starts

    @classmethod
    def from_config(cls, config: Config) -> "RetryPolicy":
        return cls(max(1, config.retry_attempts), max(0.0, config.retry_base_delay),
                   max(0.0, config.retry_max_delay), max(0.0, config.retry_max_total))

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to sleep before retry number ``retry`` (1-based): half fixed, half jitter."""
        cap = min(self.max_delay, self.base_delay * (2 ** (retry - 1)))
        return cap / 2 + (rng or random).uniform(0, cap / 2)


class Schedule:
    """Counts attempts and says whether (and after how long) another may start."""

    def __init__(self, policy: RetryPolicy, clock=time.monotonic, sleep=time.sleep):
        self.policy = policy
        self.clock, self.sleep = clock, sleep
        self.started = clock()
        self.attempts = 0

    def begin_attempt(self) -> int:
        self.attempts += 1
        return self.attempts

    def wait_for_next(self) -> bool:
        """Sleep before the next attempt; False when the schedule is exhausted."""
        if self.attempts >= self.policy.attempts:
            return False
        pause = self.policy.delay(self.attempts)
        if self.clock() + pause - self.started > self.policy.max_total:
            return False
        self.sleep(pause)
        return True


def is_lock_timeout(exc: BaseException) -> bool:
    """A lock we could not get in time: PostgreSQL's lock_timeout (55P03), or SQLite's busy
    timeout ("database is locked")."""
    if sqlstate(exc) == LOCK_NOT_AVAILABLE:
        return True
    return "database is locked" in str(exc)
