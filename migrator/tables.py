"""The tables migrator keeps beside Alembic's version table. Shared by the runner (writes
history and, from ``migrator deployed``, deployments), the backfill runner (writes progress), the
gate (reads them all) and the instance registry (writes instances). Portable between PostgreSQL
and SQLite."""

from __future__ import annotations

from sqlalchemy import (BigInteger, Column, DateTime, Float, Integer, MetaData, String, Table,
                        Text, UniqueConstraint)

from .store import BACKFILLS, DEPLOYMENTS, HISTORY, INSTANCES

metadata = MetaData()

# One row per attempt to apply (or roll back) one revision.
# status: running | applied | failed | rolled_back
# action: upgrade | downgrade
history = Table(
    HISTORY,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("revision", String(64), nullable=False, index=True),
    Column("phase", String(16), nullable=False),
    Column("release", String(64), nullable=False),
    Column("action", String(16), nullable=False, default="upgrade"),
    Column("status", String(16), nullable=False),
    Column("checksum", String(64)),
    Column("path", Text),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("duration_ms", Float),
    Column("attempts", Integer, nullable=False, default=1),
    Column("run_by", String(255)),  # user@host pid
    Column("error", Text),
    Column("override_reason", Text),  # lint override or accepted checksum drift, recorded
)

# One row per declared backfill. status: pending | running | finished | failed
backfills = Table(
    BACKFILLS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("revision", String(64), nullable=False),
    Column("release", String(64), nullable=False),
    Column("table_name", String(255), nullable=False),
    Column("spec", Text, nullable=False),  # JSON of the declaration
    Column("status", String(16), nullable=False),
    Column("last_key", Text),  # JSON list: the last primary key processed
    Column("rows_done", BigInteger, nullable=False, default=0),
    Column("rows_scanned", BigInteger, nullable=False, default=0),  # keys walked (done <= scanned)
    Column("rows_total_estimate", BigInteger),
    Column("batches", Integer, nullable=False, default=0),
    Column("batch_size", Integer),
    Column("max_batch_ms", Float),
    Column("started_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
    UniqueConstraint("name", name="uq_migrator_backfills_name"),
)

# Application instances reporting the release they run (the instance registry).
instances = Table(
    INSTANCES,
    metadata,
    Column("instance_id", String(128), primary_key=True),
    Column("release", String(64), nullable=False),
    Column("hostname", String(255)),
    Column("pid", Integer),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False, index=True),
    Column("stopped_at", DateTime(timezone=True)),  # set when the instance deregisters cleanly
)

# The record of deployments: a pipeline runs ``migrator deployed --release V`` once the rollout of
# V has finished. ``contract`` refuses a release nobody declared or recorded (a typo), and with
# no instance registry it needs this record to know the old release is gone.
deployments = Table(
    DEPLOYMENTS,
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("release", String(64), nullable=False, index=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("recorded_by", String(255)),  # user@host pid
    Column("note", Text),
)


def ensure_tables(connection) -> None:
    """Create migrator's tables if missing (idempotent; safe under concurrent runners on PG when
    called while holding the runner lock)."""
    metadata.create_all(connection, checkfirst=True)
