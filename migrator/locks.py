"""One runner at a time, and one process per backfill. PostgreSQL: a session-level advisory lock polled with
``pg_try_advisory_lock`` from a dedicated autocommit connection (never a transaction-level lock and
never a blocking wait inside a transaction: that would deadlock with CREATE INDEX CONCURRENTLY,
which waits for every open transaction). SQLite: an exclusive OS file lock beside the database."""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .errors import IndeterminateError
from .store import BACKFILL_LOCK_CLASS, BACKFILL_LOCKS_HELD, BACKFILLS

_KEY = int.from_bytes(hashlib.sha256(b"migrator.runner").digest()[:8], "big", signed=True)
POLL = 0.1


def advisory_key() -> int:
    return _KEY


@contextmanager
def runner_lock(engine: sa.Engine, *, wait: float, on_wait=None) -> Iterator[None]:
    """Hold the runner lock for the duration; raise IndeterminateError (exit 3) after ``wait``
    seconds. ``on_wait`` is called once when the lock is busy (to tell the user)."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, wait, on_wait):
            yield
    elif engine.dialect.name == "sqlite":
        with _file_lock(engine.url, wait, on_wait):
            yield
    else:
        yield


def _deadline_passed(deadline: float, wait: float) -> None:
    if time.monotonic() >= deadline:
        raise IndeterminateError(f"another migrator run holds the runner lock; gave up after "
                                 f"waiting {wait:g}s (--lock-wait): try again later")


def _poll(try_acquire, wait: float, on_wait) -> None:
    """Try to take a lock without blocking, every POLL seconds until ``wait`` runs out (then
    IndeterminateError); ``on_wait`` is told once that another runner holds it."""
    deadline = time.monotonic() + max(0.0, wait)
    told = False
    while not try_acquire():
        if not told and on_wait is not None:
            on_wait()
            told = True
        _deadline_passed(deadline, wait)
        time.sleep(POLL)


@contextmanager
def _advisory(engine: sa.Engine, wait: float, on_wait) -> Iterator[None]:
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        _poll(lambda: bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": _KEY}).scalar()),
              wait, on_wait)
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _KEY})
            except Exception:  # noqa: BLE001 - closing the session releases it anyway
                pass
    finally:
        conn.close()


def sqlite_lock_path(url: URL) -> str | None:
    db = url.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    return os.path.abspath(db) + ".migrator.lock"


@contextmanager
def _file_lock(url: URL, wait: float, on_wait) -> Iterator[None]:
    path = sqlite_lock_path(url)
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def try_flock() -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    try:
        _poll(try_flock, wait, on_wait)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# -- one process per backfill, and proof that it is alive ----------------------------------------
# PostgreSQL: a session-level advisory lock (BACKFILL_LOCK_CLASS, id), dropped by the server when
# the session ends. SQLite: an exclusive OS file lock beside the database, dropped by the kernel
# when the process ends.

_held: dict[str, int] = {}  # SQLite lock file -> descriptor, for the backfills this process runs


def backfill_lock_path(url: URL, backfill_id: int) -> str | None:
    """The SQLite backfill's lock file (None: an in-memory database)."""
    db = url.database
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    return os.path.abspath(db) + f".migrator-backfill-{int(backfill_id)}.lock"


def try_backfill_lock(conn, backfill_id: int) -> bool:
    """Take the backfill's lock (held while the process running it lives, so others can tell a
    live run from a dead one). False: another process holds it."""
    if conn.dialect.name == "postgresql":
        with conn.begin():
            return bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:c, :i)"),
                                     {"c": BACKFILL_LOCK_CLASS, "i": int(backfill_id)}).scalar())
    path = backfill_lock_path(conn.engine.url, backfill_id) if conn.dialect.name == "sqlite" else None
    if path is None:
        return True
    if path in _held:
        return False
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _held[path] = fd
    return True


def release_backfill_lock(conn, backfill_id: int) -> None:
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin():
                conn.execute(sa.text("SELECT pg_advisory_unlock(:c, :i)"),
                             {"c": BACKFILL_LOCK_CLASS, "i": int(backfill_id)})
        except sa.exc.SQLAlchemyError:  # the session is gone: so is the lock
            pass
        return
    path = backfill_lock_path(conn.engine.url, backfill_id) if conn.dialect.name == "sqlite" else None
    fd = _held.pop(path, None) if path else None
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def live_backfills(conn) -> set[int] | None:
    """Ids of the backfills a live process is running (None: cannot be told on this database)."""
    if conn.dialect.name == "postgresql":
        return {int(r[0]) for r in conn.execute(sa.text(BACKFILL_LOCKS_HELD))}
    if conn.dialect.name != "sqlite" or backfill_lock_path(conn.engine.url, 0) is None:
        return None
    running = [int(r[0]) for r in conn.execute(
        sa.text(f"SELECT id FROM {BACKFILLS} WHERE status = 'running'"))]
    return {i for i in running if _sqlite_lock_held(backfill_lock_path(conn.engine.url, i))}


def _sqlite_lock_held(path: str) -> bool:
    if path in _held:
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this probe took
    return False
