"""The history of every attempt (``migrator_history``): reading it (through SQLAlchemy) and
writing it. What the rows mean, the state of each revision and the window, is
:func:`migrator.state.derive`'s to say; :func:`read_states` hands it the rows."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime, timezone

import sqlalchemy as sa

from .. import state as st
from ..store import HISTORY_COLUMNS, LATEST_HISTORY, VERSION_TABLE
from ..script import Revision
from ..tables import backfills, history


def now() -> datetime:
    return datetime.now(timezone.utc)


def who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _has_table(conn, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


# -- reading ------------------------------------------------------------------------------------

def _attempt(row) -> st.Attempt:
    m = row._mapping
    return st.Attempt(**{k: m[k] for k in HISTORY_COLUMNS})


def rows(conn, revision: str | None = None) -> list[st.Attempt]:
    """All attempts, oldest first (optionally of one revision)."""
    if not _has_table(conn, history.name):
        return []
    q = sa.select(history).order_by(history.c.id)
    if revision is not None:
        q = q.where(history.c.revision == revision)
    return [_attempt(r) for r in conn.execute(q)]


def latest_rows(conn) -> list[st.Attempt]:
    """Each revision's latest attempt and latest successful upgrade, oldest first: what
    :func:`migrator.state.derive` needs."""
    if not _has_table(conn, history.name):
        return []
    q = sa.text(LATEST_HISTORY).columns(*(history.c[k] for k in HISTORY_COLUMNS))
    return [_attempt(r) for r in conn.execute(q)]


def version_heads(conn, version_table: str = VERSION_TABLE) -> list[str] | None:
    """The revision ids in Alembic's version table (None: no such table)."""
    if not _has_table(conn, version_table):
        return None
    t = sa.table(version_table, sa.column("version_num"))
    return [r[0] for r in conn.execute(sa.select(t.c.version_num))]


def read_states(conn, catalog, version_table: str = VERSION_TABLE) -> st.States:
    """Every revision's state and the window, as :func:`migrator.state.derive` reads them."""
    return st.derive(catalog, latest_rows(conn), version_heads(conn, version_table))


# -- writing ------------------------------------------------------------------------------------

def record_start(conn, rev: Revision, *, action: str = "upgrade",
                 override_reason: str | None = None) -> int:
    """Insert a ``running`` row; the caller commits. Returns its id."""
    res = conn.execute(sa.insert(history).values(
        revision=rev.id, phase=rev.phase, release=rev.release_text, action=action,
        status="running", checksum=rev.checksum, path=rev.path, started_at=now(),
        attempts=0, run_by=who(), override_reason=override_reason,
    ))
    return int(res.inserted_primary_key[0])


def record_finish(conn, row_id: int, *, status: str, attempts: int, started: datetime,
                  error: str | None = None) -> float:
    """Close an attempt; returns its duration in milliseconds."""
    end = now()
    duration = (end - started).total_seconds() * 1000.0
    conn.execute(sa.update(history).where(history.c.id == row_id).values(
        status=status, finished_at=end, duration_ms=duration, attempts=attempts,
        error=(error[:4000] if error else None),
    ))
    return duration


def forget_backfills(conn, revision: str) -> None:
    """A downgrade undoes what the upgrade declared: the backfills of ``revision`` are dropped
    (their rows went with it; applying it again declares them anew)."""
    conn.execute(sa.delete(backfills).where(backfills.c.revision == revision))
