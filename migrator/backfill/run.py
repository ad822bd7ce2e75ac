"""Running a declared backfill: one batch per short transaction, progress saved in
migrator_backfills in the same transaction as the batch, so a killed process resumes exactly
where it stopped. Batch size adapts to a target duration; lock waits are bounded and retried."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from ..config import Config
from ..dburl import normalize_url, redact_text
from ..errors import IndeterminateError, MigratorError, RefusedError, UsageError
from ..runner.retry import RetryPolicy, Schedule
from ..runner.retry import is_lock_timeout as _runner_lock_timeout
from ..runner.tables import backfills, ensure_tables
from . import sqlgen
from .progress import NullProgress
from .spec import BackfillSpec

UNFINISHED = ("pending", "running", "failed")


@dataclass
class BackfillResult:
    name: str
    status: str  # finished | already_finished
    rows_done: int = 0  # rows updated, over all runs
    rows_scanned: int = 0  # keys walked, over all runs
    batches: int = 0
    last_key: list | None = None
    max_batch_ms: float = 0.0
    elapsed_s: float = 0.0  # this run
    batch_ms: list[float] = field(default_factory=list)  # this run's batch durations

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("batch_ms")
        return d


# -- the catalog ------------------------------------------------------------------------------
def resolve_key(conn: Connection, spec: BackfillSpec) -> tuple[str, ...]:
    """Check the table and columns exist; return the key to walk (the primary key unless given).
    Names are only ever looked up, never spliced: a crafted name is just a missing table."""
    insp = inspect(conn)
    where = spec.qualified_table
    if not insp.has_table(spec.table, schema=spec.schema):
        raise UsageError(f"backfill: table {where!r} does not exist")
    cols = {c["name"]: c for c in insp.get_columns(spec.table, schema=spec.schema)}
    missing = [c for c in spec.set if c not in cols]
    if missing:
        raise UsageError(f"backfill of {where!r}: no column(s) {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(cols)})")
    pk = tuple(insp.get_pk_constraint(spec.table, schema=spec.schema).get("constrained_columns") or ())
    if spec.key is None:
        if not pk:
            raise UsageError(f"backfill of {where!r}: the table has no primary key; pass key=[...] "
                             "naming NOT NULL columns with a unique index")
        return pk
    key = tuple(spec.key)
    missing = [k for k in key if k not in cols]
    if missing:
        raise UsageError(f"backfill of {where!r}: key column(s) {', '.join(map(repr, missing))} "
                         "do not exist")
    nullable = [k for k in key if cols[k].get("nullable", True) and k not in pk]
    if nullable:
        raise UsageError(f"backfill of {where!r}: key column(s) {', '.join(nullable)} may be NULL; "
                         "a keyset walk would skip those rows")
    uniques = [set(pk)] if pk else []
    uniques += [set(u["column_names"]) for u in insp.get_unique_constraints(spec.table, schema=spec.schema)]
    uniques += [set(i["column_names"]) for i in insp.get_indexes(spec.table, schema=spec.schema)
                if i.get("unique") and None not in i["column_names"]]
    if not any(u and u <= set(key) for u in uniques):
        raise UsageError(f"backfill of {where!r}: key {list(key)} is not unique (no primary key, "
                         "unique constraint or unique index within it)")
    return key


def _table_literal(conn: Connection, spec: BackfillSpec) -> str:
    prep = conn.dialect.identifier_preparer
    return (prep.quote_schema(spec.schema) + "." if spec.schema else "") + prep.quote(spec.table)


def estimate_rows(conn: Connection, spec: BackfillSpec) -> int | None:
    """A cheap row count estimate for the ETA: the planner's on PostgreSQL, count(*) on SQLite."""
    table = _table_literal(conn, spec)
    if conn.dialect.name == "postgresql":
        n = conn.execute(text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t)"),
                         {"t": table}).scalar()
        if n is not None and n >= 0:
            return int(n)
        # never analysed: count, but never more than a million rows
        return int(conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1000000) s")).scalar())
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())


# -- one batch ----------------------------------------------------------------------------------
def _jsonable(v: Any) -> Any:
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
            return [_jsonable(v) for v in row[:n]], int(row[n]), int(row[n + 1])
        row = conn.execute(stmts[0], params).one_or_none()
        if row is None or row[n] == 0:
            return last, 0, 0
        hi = list(row[:n])
        params.update({f"upto_{i}": v for i, v in enumerate(hi)})
        updated = conn.execute(stmts[1], params).rowcount
        return [_jsonable(v) for v in hi], int(row[n]), int(updated)


def next_batch_size(size: int, ms: float, walked: int, costs: deque, target: float, lo: int,
                    hi: int) -> int:
    """The next batch size: sized for the target duration at the slowest per-row cost of the last
    few batches (one slow batch shrinks the next at once; growth waits until the slow one has
    aged out, and is at most x4 a step), within [lo, hi]. Conservative on purpose: the target
    is what a lock holder should take, and a noisy server must not push batches far past it."""
    costs.append(ms / max(walked, 1))
    ideal = target / max(max(costs), 1e-6)
    return int(min(hi, max(lo, min(ideal, size * 4.0))))


# -- errors -------------------------------------------------------------------------------------
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")
_LOCK_STATES = ("55P03", "40P01", "40001")


def _sqlstate(e: BaseException) -> str | None:
    return getattr(getattr(e, "orig", None), "sqlstate", None)


def is_lock_timeout(e: BaseException) -> bool:
    """lock_timeout (55P03), a deadlock or serialization failure: retry the batch."""
    return _runner_lock_timeout(e) or _sqlstate(e) in _LOCK_STATES


def is_unreachable(e: BaseException) -> bool:
    if not isinstance(e, DBAPIError):
        return False
    if e.connection_invalidated:
        return True
    state = _sqlstate(e)
    if state is not None:
        return state.startswith(_CONNECTION_STATES[0]) or state in _CONNECTION_STATES[1:]
    if "sqlite" in type(e.orig).__module__:  # SQLite: only a file it cannot open or read
        return any(m in str(e.orig) for m in ("unable to open", "disk I/O error"))
    return type(e.orig).__name__ == "OperationalError"


def _message(e: BaseException) -> str:
    orig = getattr(e, "orig", None) or e
    return redact_text(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)


class _Superseded(Exception):
    """The progress row moved under us: another process runs this backfill."""


# -- the loop -----------------------------------------------------------------------------------
def _now() -> datetime:
    return datetime.now(timezone.utc)


def _engine(engine_or_url) -> tuple[Engine, bool]:
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    from sqlalchemy import create_engine, event

    url = normalize_url(str(engine_or_url)) if not hasattr(engine_or_url, "drivername") else engine_or_url
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 5})

        @event.listens_for(engine, "connect")
        def _no_implicit_tx(dbapi_conn, record):  # the pysqlite recipe: we say BEGIN ourselves
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine, True
    return create_engine(url, pool_pre_ping=False), True


def _ensure_tables(conn: Connection) -> None:
    """Create migrator's tables unless they exist; a concurrent creator winning the race is fine."""
    for attempt in range(3):
        try:
            with conn.begin():
                if inspect(conn).has_table(backfills.name):
                    return
                ensure_tables(conn)
            return
        except (IntegrityError, DBAPIError) as e:
            if is_unreachable(e) or attempt == 2:
                raise
            time.sleep(0.05)


def _row(conn: Connection, name: str) -> dict | None:
    r = conn.execute(select(backfills).where(backfills.c.name == name)).mappings().one_or_none()
    return dict(r) if r else None


def register(conn: Connection, spec: BackfillSpec, *, revision: str, release: str) -> dict:
    """Record the backfill as pending unless already known; in the caller's transaction (the runner
    may call it inside the revision's DDL transaction). Returns the row."""
    ensure_tables(conn)
    name = spec.resolved_name(revision)
    row = _row(conn, name)
    if row is None:
        conn.execute(backfills.insert().values(
            name=name, revision=revision, release=str(release), table_name=spec.qualified_table,
            spec=spec.to_json(), status="pending", rows_done=0, rows_scanned=0, batches=0,
            updated_at=_now()))
        row = _row(conn, name)
    return row


def run_backfill(engine_or_url, spec: BackfillSpec, *, revision: str, release: str,
                 config: Config, progress=None) -> BackfillResult:
    """Run or resume one backfill. Exceptions: UsageError (bad table/column/SQL, nothing
    written), IndeterminateError (database unreachable, lock waits exhausted: resumable),
    RefusedError (a batch failed on the data)."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            return _Run(conn, spec, revision, str(release), config, progress or NullProgress()).go()
    except MigratorError:
        raise
    except SQLAlchemyError as e:
        if is_unreachable(e) or isinstance(e, DBAPIError) and _sqlstate(e) is None:
            raise IndeterminateError(f"backfill {spec.resolved_name(revision)}: database unreachable "
                                     f"({_message(e)}); run `migrator backfill` to resume") from None
        raise
    finally:
        if owned:
            engine.dispose()


class _Run:
    def __init__(self, conn, spec, revision, release, config: Config, progress):
        self.conn, self.spec, self.config, self.progress = conn, spec, config, progress
        self.revision, self.release = revision, release
        self.name = spec.resolved_name(revision)

    def go(self) -> BackfillResult:
        conn, spec = self.conn, self.spec
        _ensure_tables(conn)
        with conn.begin():
            key = resolve_key(conn, spec)
        with conn.begin():
            try:
                row = register(conn, spec, revision=self.revision, release=self.release)
            except IntegrityError:  # registered concurrently by another process
                row = None
        if row is None:
            with conn.begin():
                row = _row(conn, self.name)
        if row["status"] == "finished":
            return self._result(row, "already_finished", 0.0, [])
        with conn.begin():
            total = estimate_rows(conn, spec)
            conn.execute(update(backfills).where(backfills.c.id == row["id"]).values(
                status="running", rows_total_estimate=total, error=None,
                started_at=func.coalesce(backfills.c.started_at, _now()), updated_at=_now()))
        self.id = row["id"]
        return self._loop(key, row, total)

    def _result(self, row, status, elapsed, times) -> BackfillResult:
        return BackfillResult(
            name=self.name, status=status, rows_done=row["rows_done"] or 0,
            rows_scanned=row.get("rows_scanned") or 0, batches=row["batches"] or 0,
            last_key=json.loads(row["last_key"]) if row["last_key"] else None,
            max_batch_ms=row["max_batch_ms"] or 0.0, elapsed_s=elapsed, batch_ms=times)

    def _size_bounds(self) -> tuple[int, int]:
        c = self.config
        lo = max(1, c.backfill_min_batch)
        return lo, max(lo, c.backfill_max_batch)

    def _loop(self, key, row, total) -> BackfillResult:
        conn, cfg = self.conn, self.config
        batcher = Batcher(self.spec, conn.dialect, key)
        last = json.loads(row["last_key"]) if row["last_key"] else None
        if last is not None and len(last) != len(key):
            raise UsageError(f"backfill {self.name}: saved position {last} does not fit key {list(key)}")
        batches, done, scanned = row["batches"] or 0, row["rows_done"] or 0, row.get("rows_scanned") or 0
        max_ms = row["max_batch_ms"] or 0.0
        lo, hi = self._size_bounds()
        fixed = self.spec.batch_size
        size = fixed or min(hi, max(lo, row["batch_size"] or 1000))
        target = max(1.0, cfg.backfill_target_ms)
        with conn.begin():
            stop = batcher.end_key(conn)
        self.progress.start(self.name, total=total, scanned=scanned, done=done)
        t_start = time.monotonic()
        done_this_run = 0
        times: list[float] = []
        costs: deque[float] = deque(maxlen=5)  # ms per row of the last full batches
        while True:
            new_last, walked, changed, ms = self._batch(batcher, last, size, stop, batches, done,
                                                        scanned, max_ms)
            if walked == 0:
                break
            batches += 1
            done += changed
            done_this_run += changed
            scanned += walked
            last = new_last
            max_ms = max(max_ms, ms)
            times.append(ms)
            self.progress.update(scanned=scanned, done=done, batch_rows=walked, batch_ms=ms,
                                 batch_size=size)
            if not fixed and walked >= size:
                size = next_batch_size(size, ms, walked, costs, target, lo, hi)
            self._polite(t_start, done_this_run)
        self.progress.finish(scanned=scanned, done=done, status="finished")
        with conn.begin():
            final = _row(conn, self.name)
        return self._result(final, "finished", time.monotonic() - t_start, times)

    def _polite(self, t_start: float, rows: int) -> None:
        cfg = self.config
        pause = max(0.0, cfg.backfill_pause_ms / 1000.0)
        if cfg.backfill_max_rate:
            ahead = rows / cfg.backfill_max_rate - (time.monotonic() - t_start)
            pause = max(pause, ahead)
        if pause > 0:
            time.sleep(pause)

    def _batch(self, batcher: Batcher, last, size, stop, batches, done, scanned, max_ms):
        """One batch and its progress in one transaction, retried on lock timeouts."""
        cfg, conn = self.config, self.conn
        schedule = Schedule(RetryPolicy.from_config(cfg))
        while True:
            attempt = schedule.begin_attempt()
            try:
                with conn.begin():
                    t0 = time.monotonic()
                    if batcher.postgres:
                        conn.exec_driver_sql(f"SET LOCAL lock_timeout = {int(cfg.lock_timeout_ms)}")
                    if stop is None:  # an empty table: nothing to walk
                        new_last, walked, changed = last, 0, 0
                    else:
                        new_last, walked, changed = batcher.run(conn, last, size, stop)
                    ms = (time.monotonic() - t0) * 1000.0
                    values: dict[str, Any] = {"updated_at": _now()}
                    if walked == 0:
                        values.update(status="finished", finished_at=_now(), error=None)
                    else:
                        values.update(last_key=json.dumps(new_last), rows_done=done + changed,
                                      rows_scanned=scanned + walked, batches=batches + 1,
                                      batch_size=size, max_batch_ms=max(max_ms, ms))
                    res = conn.execute(update(backfills).where(
                        backfills.c.id == self.id, backfills.c.batches == batches).values(**values))
                    if res.rowcount != 1:
                        raise _Superseded()
                # the whole transaction, commit included: how long the batch held its row locks
                return new_last, walked, changed, (time.monotonic() - t0) * 1000.0
            except _Superseded:
                raise IndeterminateError(f"backfill {self.name}: another process advanced it "
                                         "meanwhile; run `migrator backfill` again") from None
            except DBAPIError as e:
                if is_lock_timeout(e):
                    if not schedule.wait_for_next():
                        raise IndeterminateError(
                            f"backfill {self.name}: lock wait timed out {attempt} times on "
                            f"{self.spec.qualified_table} (lock_timeout {cfg.lock_timeout_ms} ms); "
                            f"stopped after {scanned} rows, run `migrator backfill` to resume") from None
                    if not self.spec.batch_size:  # a smaller batch holds fewer locks
                        size = max(self._size_bounds()[0], size // 2)
                    continue
                if is_unreachable(e):
                    raise IndeterminateError(
                        f"backfill {self.name}: database unreachable ({_message(e)}) after "
                        f"{scanned} rows; run `migrator backfill` to resume") from None
                self._fail(e)

    def _fail(self, e: DBAPIError):
        msg = _message(e)
        try:
            with self.conn.begin():
                self.conn.execute(update(backfills).where(backfills.c.id == self.id).values(
                    status="failed", error=msg[:2000], updated_at=_now()))
        except SQLAlchemyError:
            pass
        self.progress.finish(scanned=0, done=0, status="failed")
        state = _sqlstate(e) or ""
        text_ = f"backfill {self.name} on {self.spec.qualified_table}: a batch failed: {msg}"
        if state.startswith("42") or (not state and ("syntax" in msg or "no such" in msg)):
            raise UsageError(text_ + " (check the set= / where= SQL)") from None
        raise RefusedError(text_) from None


# -- reading progress ---------------------------------------------------------------------------
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
    return [_as_status(r) for r in rows]


def pending_backfills(conn: Connection | Engine) -> list[dict]:
    """The backfills not finished (pending, running, or failed), oldest first."""
    return [b for b in backfill_status(conn) if b["status"] != "finished"]


def run_pending(engine_or_url, *, config: Config, names: list[str] | None = None,
                progress_factory=None) -> list[BackfillResult]:
    """Run or resume every unfinished backfill (or the named ones), in declaration order."""
    engine, owned = _engine(engine_or_url)
    try:
        with engine.connect() as conn:
            todo = pending_backfills(conn)
            conn.rollback()
        if names:
            known = {b["name"] for b in backfill_status(engine)}
            unknown = [n for n in names if n not in known]
            if unknown:
                raise UsageError(f"no backfill named {', '.join(map(repr, unknown))}")
            todo = [b for b in todo if b["name"] in names]
        results = []
        for b in todo:
            with engine.connect() as conn:
                stored = conn.execute(select(backfills.c.spec, backfills.c.revision).where(
                    backfills.c.name == b["name"])).one()
            spec = BackfillSpec.from_json(stored.spec)
            if spec.name is None:  # keep the stored name: it was derived when declared
                from dataclasses import replace

                spec = replace(spec, name=b["name"])
            results.append(run_backfill(engine, spec, revision=b["revision"], release=b["release"],
                                        config=config,
                                        progress=progress_factory() if progress_factory else None))
        return results
    except MigratorError:
        raise
    except SQLAlchemyError as e:
        if is_unreachable(e) or isinstance(e, DBAPIError):
            raise IndeterminateError(f"backfill: database unreachable ({_message(e)})") from None
        raise
    finally:
        if owned:
            engine.dispose()
