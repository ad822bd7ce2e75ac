"""Executing one batch (the statements from sqlgen, bound to the last key and the end key) and
choosing the next batch's size."""

from __future__ import annotations

from collections import deque
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import Connection

from ..errors import UsageError
from . import sqlgen
from .spec import BackfillSpec


def jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, UUID):
        return str(v)
    if isinstance(v, (bytes, memoryview)):
        raise UsageError("backfill: binary key columns are not supported; pass key=[...]")
    return str(v)


class Batcher:
    """Prepared batch statements for one spec on one dialect; ``run`` executes one batch."""

    def __init__(self, spec: BackfillSpec, dialect, key: tuple[str, ...]):
        self.key = key
        sql = sqlgen.build(spec, dialect, key)
        self.first = [text(s) for s in sql.first]
        self.next = [text(s) for s in sql.next]
        self.end = text(sql.end)
        self.postgres = sql.dialect == "postgresql"

    def end_key(self, conn: Connection) -> list | None:
        """The highest key now (None: the table is empty). The walk stops there."""
        row = conn.execute(self.end).one_or_none()
        return list(row) if row is not None else None

    def run(self, conn: Connection, last: list | None, size: int,
            stop: list) -> tuple[list | None, int, int]:
        """One batch after key ``last``, up to key ``stop``: (the batch's last key, keys walked,
        rows updated). Walked 0 means the walk is over."""
        params: dict[str, Any] = {"batch_size": size}
        params.update({f"stop_{i}": v for i, v in enumerate(stop)})
        if last is not None:
            params.update({f"after_{i}": v for i, v in enumerate(last)})
        stmts = self.next if last is not None else self.first
        n = len(self.key)
        if self.postgres:
            row = conn.execute(stmts[0], params).one_or_none()
            if row is None or row[n] == 0:
                return last, 0, 0
            return [jsonable(v) for v in row[:n]], int(row[n]), int(row[n + 1])
        row = conn.execute(stmts[0], params).one_or_none()
        if row is None or row[n] == 0:
            return last, 0, 0
        hi = list(row[:n])
        params.update({f"upto_{i}": v for i, v in enumerate(hi)})
        updated = conn.execute(stmts[1], params).rowcount
        return [jsonable(v) for v in hi], int(row[n]), int(updated)


def next_batch_size(size: int, ms: float, walked: int, costs: deque, target: float, lo: int,
                    hi: int) -> int:
    """The next batch size: sized for the target duration at the slowest per-row cost of the last
    few batches (one slow batch shrinks the next at once; growth waits until the slow one has
    aged out, and is at most x4 a step), within [lo, hi]. Conservative on purpose: the target
    is what a lock holder should take, and a noisy server must not push batches far past it."""
    costs.append(ms / max(walked, 1))
    ideal = target / max(max(costs), 1e-6)
    return int(min(hi, max(lo, min(ideal, size * 4.0))))
