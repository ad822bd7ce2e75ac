"""What the database says, read once: the latest history state of every revision, Alembic's
version table, invalid indexes, backfills, registered instances and recorded deployments. One read-only transaction;
nothing is written.

Two ways in, the same SQL: a SQLAlchemy Engine or Connection (the runner, the server, SQLite),
or a plain psycopg connection for a PostgreSQL URL (the command line: it spares importing
SQLAlchemy, a third of a pipeline's ``gate`` call).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from ..state import Attempt
from ..store import (BACKFILL_LOCKS_HELD, BACKFILLS, DEPLOYMENTS, HISTORY, HISTORY_COLUMNS, INSTANCES,
                     INVALID_INDEXES, LATEST_HISTORY, TABLES as _TABLES, VERSION_TABLE)

Run = Callable[[str], list[dict]]  # SQL (no parameters) -> rows as dicts


@dataclass
class Snapshot:
    now: datetime
    dialect: str
    tables: set[str] = field(default_factory=set)  # which of migrator's tables exist
    history: list[Attempt] = field(default_factory=list)  # each revision's latest (and applied) rows
    invalid_indexes: list[dict] = field(default_factory=list)  # schema, index, table
    backfills: list[dict] = field(default_factory=list)
    instances: list[dict] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)  # release, recorded_at; oldest first
    version_heads: list[str] | None = None  # Alembic's version table (None: no such table)


_PG_PREAMBLE = "SELECT now() AS now, " + ", ".join(
    f"to_regclass('{name}') IS NOT NULL AS t{i}" for i, name in enumerate(_TABLES))

_BACKFILLS = (f"SELECT id, name, revision, release, status, rows_done, rows_total_estimate, last_key, error "
              f"FROM {BACKFILLS} ORDER BY id")

_DEPLOYMENTS = f"SELECT release, recorded_at, recorded_by FROM {DEPLOYMENTS} ORDER BY id"

_INSTANCES = (f"SELECT instance_id, release, hostname, pid, started_at, last_seen, stopped_at "
              f"FROM {INSTANCES} ORDER BY release, instance_id")


def _when(value):
    """An aware datetime (SQLite hands back naive values or text in UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


def _attempt(r: dict) -> Attempt:
    values = {k: r[k] for k in HISTORY_COLUMNS}
    values["action"] = values["action"] or "upgrade"
    values["started_at"], values["finished_at"] = _when(values["started_at"]), _when(values["finished_at"])
    return Attempt(**values)


def read_snapshot(run: Run, dialect: str, *, with_instances: bool = True,
                  table_names: Callable[[], set[str]] | None = None) -> Snapshot:
    if dialect == "postgresql":
        row = run(_PG_PREAMBLE)[0]
        snap = Snapshot(now=_when(row["now"]), dialect=dialect)
        snap.tables = {name for i, name in enumerate(_TABLES) if row[f"t{i}"]}
    else:
        snap = Snapshot(now=datetime.now(timezone.utc), dialect=dialect)
        if dialect == "sqlite":
            names = {r["name"] for r in run("SELECT name FROM sqlite_master WHERE type = 'table'")}
        else:
            names = table_names() if table_names else set()
        snap.tables = {t for t in _TABLES if t in names}

    if HISTORY in snap.tables:
        snap.history = [_attempt(r) for r in run(LATEST_HISTORY)]
    if VERSION_TABLE in snap.tables:
        snap.version_heads = [r["version_num"] for r in run(f"SELECT version_num FROM {VERSION_TABLE}")]
    if dialect == "postgresql":
        snap.invalid_indexes = run(INVALID_INDEXES)
    if BACKFILLS in snap.tables:
        snap.backfills = run(_BACKFILLS)
        if dialect == "postgresql" and any(b["status"] == "running" for b in snap.backfills):
            live = {r["id"] for r in run(BACKFILL_LOCKS_HELD)}
            for b in snap.backfills:
                b["alive"] = b["id"] in live if b["status"] == "running" else None
    if with_instances and INSTANCES in snap.tables:
        snap.instances = [{**r, **{k: _when(r[k]) for k in ("started_at", "last_seen", "stopped_at")}}
                          for r in run(_INSTANCES)]
    if with_instances and DEPLOYMENTS in snap.tables:
        snap.deployments = [{**r, "recorded_at": _when(r["recorded_at"])} for r in run(_DEPLOYMENTS)]
    return snap


# -- through SQLAlchemy --------------------------------------------------------------------------

def _sa_run(conn) -> Run:
    from sqlalchemy import text

    return lambda sql: [dict(r) for r in conn.execute(text(sql)).mappings()]


def _read_sa(conn, with_instances: bool) -> Snapshot:
    from sqlalchemy import inspect

    from ..locks import live_backfills

    snap = read_snapshot(_sa_run(conn), conn.dialect.name, with_instances=with_instances,
                         table_names=lambda: set(inspect(conn).get_table_names()))
    if snap.dialect == "sqlite" and any(b["status"] == "running" for b in snap.backfills):
        live = live_backfills(conn)  # file locks beside the database: proof a runner lives
        if live is not None:
            for b in snap.backfills:
                b["alive"] = b["id"] in live if b["status"] == "running" else None
    return snap


def take_snapshot(bind, *, with_instances: bool = True) -> Snapshot:
    """Read everything in one read-only transaction (REPEATABLE READ on PostgreSQL, so the parts
    agree with each other). A Connection passed in is used as it is, in its own transaction."""
    from sqlalchemy import text
    from sqlalchemy.engine import Connection

    if isinstance(bind, Connection):
        return _read_sa(bind, with_instances)
    with bind.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            conn.execute(text("SET TRANSACTION READ ONLY"))
        try:
            return _read_sa(conn, with_instances)
        finally:
            conn.rollback()


# -- through psycopg alone (PostgreSQL URLs) -----------------------------------------------------

def libpq_url(url: str) -> str | None:
    """The URL as libpq reads it, when it names PostgreSQL through psycopg (or libpq spelling)."""
    text = url.strip()
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if text.startswith(prefix):
            return "postgresql://" + text[len(prefix):]
    return None


def take_snapshot_libpq(url: str, *, with_instances: bool = True, connect_timeout: int = 5,
                        statement_timeout_ms: int = 10000) -> Snapshot:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row

    params = conninfo_to_dict(url)
    ours = f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout_ms)}"
    params["options"] = f"{params.get('options') or ''} {ours}".strip()  # keep the URL's (search_path)
    params.setdefault("connect_timeout", connect_timeout)
    params.setdefault("application_name", "migrator-gate")
    with psycopg.connect(**params, row_factory=dict_row) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True

        def run(sql: str) -> list[dict]:
            return conn.execute(sql).fetchall()

        try:
            return read_snapshot(run, "postgresql", with_instances=with_instances)
        finally:
            conn.rollback()
