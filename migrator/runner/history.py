"""The history of every attempt (``migrator_history``) and the state it implies per revision.

What is applied is what Alembic's version table says (so plain ``alembic upgrade heads`` counts);
the history adds what Alembic cannot say: failures, runs in progress, rollbacks, and the phase and
release of revisions no longer on disk (DESIGN section 4: the window survives an older catalog).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from packaging.version import InvalidVersion, Version

from ..window import MigrationRecord
from .catalog import Catalog, Revision
from .tables import history

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class HistoryRow:
    id: int
    revision: str
    phase: str
    release: str
    action: str
    status: str  # running | applied | failed | rolled_back
    checksum: str | None
    path: str | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: float | None
    attempts: int
    run_by: str | None
    error: str | None
    override_reason: str | None


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

def rows(conn, revision: str | None = None) -> list[HistoryRow]:
    """All attempts, oldest first (optionally of one revision)."""
    if not _has_table(conn, history.name):
        return []
    q = sa.select(history).order_by(history.c.id)
    if revision is not None:
        q = q.where(history.c.revision == revision)
    return [HistoryRow(**dict(r._mapping)) for r in conn.execute(q)]


def latest(conn) -> dict[str, HistoryRow]:
    """The latest attempt per revision."""
    out: dict[str, HistoryRow] = {}
    for r in rows(conn):
        out[r.revision] = r
    return out


def last_applied(conn) -> dict[str, HistoryRow]:
    """Per revision, the latest attempt that applied it (its checksum is what was applied)."""
    out: dict[str, HistoryRow] = {}
    for r in rows(conn):
        if r.status == "applied" and r.action == "upgrade":
            out[r.revision] = r
    return out


def version_heads(conn, version_table: str = VERSION_TABLE) -> list[str]:
    """The revision ids in Alembic's version table."""
    if not _has_table(conn, version_table):
        return []
    t = sa.table(version_table, sa.column("version_num"))
    return [r[0] for r in conn.execute(sa.select(t.c.version_num))]


def applied_revisions(conn, catalog: Catalog, version_table: str = VERSION_TABLE) -> set[str]:
    """The revisions Alembic considers applied: the version table's entries and their ancestors."""
    applied: set[str] = set()
    for head in version_heads(conn, version_table):
        applied.add(head)
        applied |= catalog.ancestors(head)
    return applied


def state_of(revision: str, applied: set[str], last: HistoryRow | None) -> str:
    if revision in applied:
        return "applied"
    if last is not None and last.status in ("failed", "running", "rolled_back"):
        return last.status
    return "pending"


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except (InvalidVersion, TypeError):
        return None


def load_records(conn, catalog: Catalog, version_table: str = VERSION_TABLE) -> list[MigrationRecord]:
    """One record per known migration: the catalog on disk united with the history. Feed them to
    :func:`migrator.window.compute_window`."""
    applied = applied_revisions(conn, catalog, version_table)
    last = latest(conn)
    out = [MigrationRecord(r.id, r.phase, r.release, state_of(r.id, applied, last.get(r.id)))
           for r in catalog.revisions]
    # revisions gone from disk (an older catalog after a rollback of the code): trust the history
    for rid, row in last.items():
        if rid in catalog.by_id:
            continue
        v = _version(row.release)
        if v is None:
            continue
        if row.action == "downgrade":
            state = "rolled_back" if row.status == "rolled_back" else "applied"
        else:
            state = row.status
        out.append(MigrationRecord(rid, row.phase, v, state))
    return out


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
