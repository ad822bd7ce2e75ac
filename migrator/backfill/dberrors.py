"""Sorting database errors during a backfill: a lock wait to retry, an unreachable database
(indeterminate, resumable), or a mistake in the declared SQL or the data (definitive)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from ..dburl import redact_text
from ..runner.retry import is_lock_timeout as _runner_lock_timeout
from ..runner.retry import sqlstate

# connection exceptions, server shutting down or starting, too many connections, canceled
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03", "53300", "57014")
_LOCK_STATES = ("55P03", "40P01", "40001")


def is_lock_timeout(e: BaseException) -> bool:
    """lock_timeout (55P03), a deadlock or serialization failure: retry the batch."""
    return _runner_lock_timeout(e) or sqlstate(e) in _LOCK_STATES


def is_unreachable(e: BaseException) -> bool:
    """The database is gone or refusing work for now: indeterminate, resume later."""
    if not isinstance(e, DBAPIError):
        return False
    if e.connection_invalidated:
        return True
    state = sqlstate(e)
    if state is not None:
        return state.startswith(_CONNECTION_STATES[0]) or state in _CONNECTION_STATES[1:]
    if "sqlite" in type(e.orig).__module__:  # SQLite: only a file it cannot open or read
        return any(m in str(e.orig) for m in ("unable to open", "disk I/O error"))
    return type(e.orig).__name__ in ("OperationalError", "InterfaceError")


def message(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    return redact_text(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)


class Superseded(Exception):
    """The progress row moved under us: another process runs this backfill."""
