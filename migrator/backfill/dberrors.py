"""Sorting database errors during a backfill, by the one classifier (migrator.dberrors): a lock
wait to retry, an unreachable database (indeterminate, resumable), or a mistake in the declared
SQL or the data, or a statement cancelled by statement_timeout (definitive: the batch failed)."""

from __future__ import annotations

from ..dberrors import CANCELED, LOCK, UNREACHABLE, classify, reason, sqlstate

__all__ = ["CANCELED", "Superseded", "is_canceled", "is_lock_timeout", "is_unreachable", "message", "sqlstate"]


def is_lock_timeout(e: BaseException) -> bool:
    """lock_timeout (55P03), a deadlock or serialization failure: retry the batch."""
    return classify(e) == LOCK


def is_unreachable(e: BaseException) -> bool:
    """The database is gone or refusing work for now: indeterminate, resume later."""
    return classify(e) == UNREACHABLE


def is_canceled(e: BaseException) -> bool:
    """statement_timeout or a cancel request (57014): the batch failed, it was not unreachable."""
    return classify(e) == CANCELED


def message(e: BaseException) -> str:
    """The server's reason, first line, passwords removed."""
    return reason(e)


class Superseded(Exception):
    """The progress row moved under us: another process runs this backfill."""
