"""Running a declared backfill: one batch per short transaction, progress saved in
migrator_backfills in the same transaction as the batch, so a killed process resumes exactly
where it stopped. Batch size adapts to a target duration; lock waits are bounded and retried."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, func, inspect, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from ..config import Config
from ..engines import make_engine
from ..errors import IndeterminateError, MigratorError, RefusedError, UsageError
from ..locks import release_backfill_lock, try_backfill_lock
from ..retry import RetryPolicy, Schedule
from ..tables import backfills, ensure_tables
from .batch import Batcher, next_batch_size
from .catalog import estimate_rows, resolve_key
from .dberrors import Superseded, is_lock_timeout, is_unreachable, message, sqlstate
from .progress import NullProgress
from .spec import BackfillSpec
from .status import backfill_status, pending_backfills

__all__ = ["BackfillResult", "backfill_status", "pending_backfills", "register", "run_backfill",
           "run_pending", "resolve_key"]


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


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _engine(engine_or_url) -> tuple[Engine, bool]:
    """The engine given, or one made from a URL (owned: the caller disposes of it). On SQLite a
    batch takes the write lock when it begins (BEGIN IMMEDIATE), not halfway through."""
    if isinstance(engine_or_url, Engine):
        return engine_or_url, False
    return make_engine(engine_or_url, sqlite_begin="BEGIN IMMEDIATE"), True


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


def declare(conn: Connection, spec: BackfillSpec, *, revision: str, release: str) -> dict:
    """The upgrade of ``revision`` declares the backfill, in the revision's own transaction: a
    new one is recorded as pending; one already known (the revision was applied before, then
    rolled back, maybe by plain ``alembic downgrade``) starts over, since the rows it filled
    went with the downgrade. Returns the row."""
    ensure_tables(conn)
    name = spec.resolved_name(revision)
    if _row(conn, name) is None:
        return register(conn, spec, revision=revision, release=release)
    conn.execute(update(backfills).where(backfills.c.name == name).values(
        revision=revision, release=str(release), table_name=spec.qualified_table, spec=spec.to_json(),
        status="pending", last_key=None, rows_done=0, rows_scanned=0, rows_total_estimate=None,
        batches=0, max_batch_ms=None, started_at=None, finished_at=None, error=None,
        updated_at=_now()))
    return _row(conn, name)


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
        if is_unreachable(e):
            raise IndeterminateError(f"backfill {spec.resolved_name(revision)}: database unreachable "
                                     f"({message(e)}); run `migrator backfill` to resume") from None
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
        if not try_backfill_lock(conn, row["id"]):
            raise IndeterminateError(f"backfill {self.name}: another process is running it; wait for it "
                                     "(`migrator backfill --status`) or run `migrator backfill` again later")
        try:
            with conn.begin():
                row = _row(conn, self.name)  # as the previous owner left it
                if row["status"] == "finished":
                    return self._result(row, "already_finished", 0.0, [])
                total = estimate_rows(conn, spec)
                conn.execute(update(backfills).where(backfills.c.id == row["id"]).values(
                    status="running", rows_total_estimate=total, error=None,
                    started_at=func.coalesce(backfills.c.started_at, _now()), updated_at=_now()))
            self.id = row["id"]
            return self._loop(key, row, total)
        finally:
            release_backfill_lock(conn, row["id"])

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
                        raise Superseded()
                # the whole transaction, commit included: how long the batch held its row locks
                return new_last, walked, changed, (time.monotonic() - t0) * 1000.0
            except Superseded:
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
                        f"backfill {self.name}: database unreachable ({message(e)}) after "
                        f"{scanned} rows; run `migrator backfill` to resume") from None
                self._fail(e)

    def _fail(self, e: DBAPIError):
        msg = message(e)
        try:
            with self.conn.begin():
                self.conn.execute(update(backfills).where(backfills.c.id == self.id).values(
                    status="failed", error=msg[:2000], updated_at=_now()))
        except SQLAlchemyError:
            pass
        self.progress.finish(scanned=0, done=0, status="failed")
        state = sqlstate(e) or ""
        text_ = f"backfill {self.name} on {self.spec.qualified_table}: a batch failed: {msg}"
        if state.startswith("42") or (not state and ("syntax" in msg or "no such" in msg)):
            raise UsageError(text_ + " (check the set= / where= SQL)") from None
        raise RefusedError(text_) from None


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
                spec = replace(spec, name=b["name"])
            results.append(run_backfill(engine, spec, revision=b["revision"], release=b["release"],
                                        config=config,
                                        progress=progress_factory() if progress_factory else None))
        return results
    except MigratorError:
        raise
    except SQLAlchemyError as e:
        if is_unreachable(e):
            raise IndeterminateError(f"backfill: database unreachable ({message(e)})") from None
        raise
    finally:
        if owned:
            engine.dispose()
