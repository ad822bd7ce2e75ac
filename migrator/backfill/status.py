"""Reading backfill progress as plain dicts, for ``migrator status``, ``backfill --status``, JSON
and the gate (unfinished backfills of releases <= V block ``gate ready``)."""

from __future__ import annotations

import json

from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import Connection

from ..locks import live_backfills
from ..tables import backfills


def _has_table(conn: Connection) -> bool:
    return inspect(conn).has_table(backfills.name)


def _as_status(row) -> dict:
    r = dict(row)
    total = r.get("rows_total_estimate")
    scanned = r.get("rows_scanned") or 0
    pct = None
    if r["status"] == "finished":
        pct = 100.0
    elif total:
        pct = round(min(99.9, 100.0 * scanned / total), 1)
    out = {
        "name": r["name"], "revision": r["revision"], "release": r["release"],
        "table": r["table_name"], "status": r["status"],
        "rows_done": r["rows_done"] or 0, "rows_scanned": scanned, "rows_total_estimate": total,
        "percent": pct, "last_key": json.loads(r["last_key"]) if r["last_key"] else None,
        "batches": r["batches"] or 0, "batch_size": r["batch_size"], "max_batch_ms": r["max_batch_ms"],
        "error": r["error"],
    }
    for k in ("started_at", "updated_at", "finished_at"):
        out[k] = r[k].isoformat() if r[k] else None
    return out


def backfill_status(conn: Connection | Engine) -> list[dict]:
    """Every declared backfill, oldest first, as plain dicts (for ``status``, JSON and the gate)."""
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return backfill_status(c)
    if not _has_table(conn):
        return []
    rows = conn.execute(select(backfills).order_by(backfills.c.id)).mappings().all()
    live = live_backfills(conn) if any(r["status"] == "running" for r in rows) else None
    out = [_as_status(r) for r in rows]
    for b, r in zip(out, rows):
        # running: is the process that runs it alive (None: cannot be told on this database)
        b["alive"] = (r["id"] in live) if (live is not None and r["status"] == "running") else None
    return out


def pending_backfills(conn: Connection | Engine) -> list[dict]:
    """The backfills not finished (pending, running, or failed), oldest first."""
    return [b for b in backfill_status(conn) if b["status"] != "finished"]
