"""Where migrator keeps its state in the database: the names of its tables beside Alembic's
version table, and the read-only queries the runner and the gate share. Plain strings (no
SQLAlchemy), so the gate's command line can use them without importing it; the table
definitions are in :mod:`migrator.tables`."""

from __future__ import annotations

HISTORY = "migrator_history"  # one row per attempt to apply or undo a revision
BACKFILLS = "migrator_backfills"  # one row per declared backfill
INSTANCES = "migrator_instances"  # application instances and the release they run
VERSION_TABLE = "alembic_version"  # Alembic's (the project's env.py may name another)
DEPLOYMENTS = "migrator_deployments"  # `migrator deployed --release V`: rollouts that finished
TABLES = (HISTORY, BACKFILLS, INSTANCES, VERSION_TABLE, DEPLOYMENTS)

# Indexes a failed or interrupted CREATE INDEX CONCURRENTLY left INVALID (PostgreSQL).
INVALID_INDEXES = """
SELECT n.nspname AS schema, c.relname AS index, t.relname AS "table"
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2
"""

# The latest attempt of every revision (what the state of each revision follows from), plus
# per revision its latest successful upgrade (the checksum that was applied).
HISTORY_COLUMNS = ("id", "revision", "phase", "release", "action", "status", "checksum", "path",
                   "started_at", "finished_at", "duration_ms", "attempts", "run_by", "error",
                   "override_reason")
LATEST_HISTORY = f"""
SELECT {", ".join("h." + c for c in HISTORY_COLUMNS)} FROM {HISTORY} h
WHERE h.id IN (SELECT max(id) FROM {HISTORY} GROUP BY revision)
   OR h.id IN (SELECT max(id) FROM {HISTORY} WHERE action = 'upgrade' AND status = 'applied'
               GROUP BY revision)
ORDER BY h.id
"""

# A backfill being run holds the session-level advisory lock (BACKFILL_LOCK_CLASS, its id) for
# as long as its process lives: a row still ``running`` without it belongs to a process that died.
BACKFILL_LOCK_CLASS = 0x6D676266  # "mgbf"
BACKFILL_LOCKS_HELD = f"""
SELECT objid::bigint AS id FROM pg_locks
WHERE locktype = 'advisory' AND classid = {BACKFILL_LOCK_CLASS} AND objsubid = 2 AND granted
  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""
