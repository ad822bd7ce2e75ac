"""What the database says, read once: the latest history state of every revision, invalid
indexes, backfills and registered instances. One read-only transaction; nothing is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import column, func, inspect, select, table, text
from sqlalchemy.engine import Connection, Engine

from ..runner.tables import backfills, history, instances

_TABLES = (history.name, backfills.name, instances.name)
VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class HistoryState:
    """The latest row of one revision in migrator_history."""

    revision: str
    phase: str
    release: str
    action: str
    status: str
    error: str | None = None

    @property
    def state(self) -> str:
        """applied | running | failed | rolled_back (a finished downgrade is rolled_back)."""
        if self.status == "applied" and self.action == "downgrade":
            return "rolled_back"
        return self.status


@dataclass
class Snapshot:
    now: datetime
    dialect: str
    tables: set[str] = field(default_factory=set)  # which of migrator's tables exist
    history: list[HistoryState] = field(default_factory=list)
    invalid_indexes: list[dict] = field(default_factory=list)  # schema, index, table
    backfills: list[dict] = field(default_factory=list)
    instances: list[dict] = field(default_factory=list)
    version_heads: list[str] | None = None  # Alembic's version table (None: no such table)


_INVALID_INDEXES = text("""
SELECT n.nspname AS schema, c.relname AS index, t.relname AS "table"
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2
""")

_PG_PREAMBLE = text(
    "SELECT now() AS now, to_regclass(:h) IS NOT NULL AS h, to_regclass(:b) IS NOT NULL AS b, "
    "to_regclass(:i) IS NOT NULL AS i, to_regclass(:v) IS NOT NULL AS v"
)


def _aware(value):
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def read_snapshot(conn: Connection, *, with_instances: bool = True) -> Snapshot:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        row = conn.execute(_PG_PREAMBLE, {"h": history.name, "b": backfills.name, "i": instances.name,
                                          "v": VERSION_TABLE}).one()
        snap = Snapshot(now=_aware(row.now), dialect=dialect)
        snap.tables = {name for name, present in zip((*_TABLES, VERSION_TABLE), (row.h, row.b, row.i, row.v))
                       if present}
    else:
        snap = Snapshot(now=datetime.now(timezone.utc), dialect=dialect)
        names = set(inspect(conn).get_table_names())
        snap.tables = {t for t in (*_TABLES, VERSION_TABLE) if t in names}

    if history.name in snap.tables:
        latest = (select(func.max(history.c.id).label("id")).group_by(history.c.revision)).subquery()
        rows = conn.execute(
            select(history.c.revision, history.c.phase, history.c.release, history.c.action,
                   history.c.status, history.c.error)
            .join(latest, latest.c.id == history.c.id)
            .order_by(history.c.id)
        )
        snap.history = [HistoryState(r.revision, r.phase, r.release, r.action or "upgrade", r.status, r.error)
                        for r in rows]

    if VERSION_TABLE in snap.tables:
        version = table(VERSION_TABLE, column("version_num"))
        snap.version_heads = [r[0] for r in conn.execute(select(version.c.version_num))]

    if dialect == "postgresql":
        snap.invalid_indexes = [dict(r._mapping) for r in conn.execute(_INVALID_INDEXES)]

    if backfills.name in snap.tables:
        rows = conn.execute(
            select(backfills.c.name, backfills.c.revision, backfills.c.release, backfills.c.status,
                   backfills.c.rows_done, backfills.c.rows_total_estimate, backfills.c.last_key,
                   backfills.c.error).order_by(backfills.c.id)
        )
        snap.backfills = [dict(r._mapping) for r in rows]

    if with_instances and instances.name in snap.tables:
        snap.instances = read_instances(conn)
    return snap


def read_instances(conn: Connection) -> list[dict]:
    cols = [instances.c.instance_id, instances.c.release, instances.c.hostname, instances.c.pid,
            instances.c.started_at, instances.c.last_seen, instances.c.stopped_at]
    rows = conn.execute(select(*cols).order_by(instances.c.release, instances.c.instance_id))
    out = []
    for r in rows:
        d = dict(r._mapping)
        for k in ("started_at", "last_seen", "stopped_at"):
            d[k] = _aware(d[k])
        out.append(d)
    return out


def take_snapshot(bind: Engine | Connection, *, with_instances: bool = True) -> Snapshot:
    """Read everything in one read-only transaction (REPEATABLE READ on PostgreSQL, so the parts
    agree with each other). A Connection passed in is used as it is, in its own transaction."""
    if isinstance(bind, Connection):
        return read_snapshot(bind, with_instances=with_instances)
    with bind.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.execute(text("SET TRANSACTION READ ONLY"))
        try:
            return read_snapshot(conn, with_instances=with_instances)
        finally:
            conn.rollback()
