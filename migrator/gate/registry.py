"""The instance registry and the application's start-up check.

An application calls, at start-up::

    import migrator
    migrator.require_compatible(engine, "1.4.0")           # raises IncompatibleSchemaError
    handle = migrator.register_instance(engine, "1.4.0")   # heartbeats in a daemon thread
    ...
    handle.stop()                                          # on shutdown: deregisters

``gate contract --release V`` refuses while a live instance runs a release older than V. An
instance is live while it heartbeats; it expires after ``instance_ttl`` seconds of silence (a
killed pod) and is gone at once when it deregisters.
"""

from __future__ import annotations

import atexit
import os
import socket
import sys
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.engine import Connection, Engine

from ..dburl import redact_text
from ..errors import IndeterminateError, RefusedError, UsageError
from ..releases import parse_release
from ..tables import instances
from ..state import derive
from ..window import Window
from .connect import engine_from
from .snapshot import take_snapshot

DEFAULT_INTERVAL = 15.0  # seconds between heartbeats; keep well under instance_ttl (default 60)
RETENTION = timedelta(days=7)  # rows silent for longer are pruned when an instance registers


class IncompatibleSchemaError(RefusedError):
    """This release of the application cannot run against the database schema as it is."""

    def __init__(self, message: str, *, release: str, window: Window | None = None):
        self.release = release
        self.window = window
        super().__init__(message)


def _now_expr(conn: Connection):
    """The database's clock on PostgreSQL (all hosts agree), ours elsewhere."""
    return func.now() if conn.dialect.name == "postgresql" else datetime.now(timezone.utc)


def _upsert(conn: Connection, row: dict) -> None:
    name = conn.dialect.name
    if name in ("postgresql", "sqlite"):
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(instances).values(**row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[instances.c.instance_id],
            set_={"release": stmt.excluded.release, "hostname": stmt.excluded.hostname,
                  "pid": stmt.excluded.pid, "last_seen": stmt.excluded.last_seen, "stopped_at": None},
        )
        conn.execute(stmt)
        return
    done = conn.execute(update(instances).where(instances.c.instance_id == row["instance_id"])
                        .values(**{k: v for k, v in row.items() if k != "started_at"}, stopped_at=None))
    if not done.rowcount:
        conn.execute(instances.insert().values(**row))


class InstanceHandle:
    """One registered instance. ``stop()`` ends the heartbeat and deregisters (idempotent)."""

    def __init__(self, bind: Engine | Connection, owned: bool, instance_id: str, release: str,
                 hostname: str, interval: float):
        self.instance_id = instance_id
        self.release = release
        self.hostname = hostname
        self.interval = interval
        self._bind = bind
        self._owned = owned
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._lock = threading.Lock()

    def _run(self, fn) -> Any:
        if isinstance(self._bind, Connection):
            with self._lock:
                try:
                    result = fn(self._bind)
                    self._bind.commit()
                    return result
                except BaseException:
                    self._bind.rollback()
                    raise
        with self._bind.begin() as conn:
            return fn(conn)

    def register(self) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        try:  # its own transaction: two instances starting at once may race to create the table
            self._run(lambda conn: instances.create(conn, checkfirst=True))
        except SQLAlchemyError:
            pass  # created by the other one (or no CREATE privilege: the insert below says so)

        def go(conn: Connection) -> None:
            now = _now_expr(conn)
            conn.execute(delete(instances).where(
                instances.c.last_seen < (func.now() - RETENTION if conn.dialect.name == "postgresql"
                                         else datetime.now(timezone.utc) - RETENTION)))
            _upsert(conn, {"instance_id": self.instance_id, "release": self.release,
                           "hostname": self.hostname, "pid": os.getpid(), "started_at": now, "last_seen": now})
        self._run(go)

    def beat(self) -> None:
        """Report that this instance is alive (re-registers if its row was removed)."""
        def go(conn: Connection) -> int:
            return conn.execute(update(instances).where(instances.c.instance_id == self.instance_id)
                                .values(last_seen=_now_expr(conn), stopped_at=None)).rowcount
        if not self._run(go):
            self.register()

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
                if self._failing:
                    sys.stderr.write(f"migrator: instance {self.instance_id}: heartbeat recovered\n")
                self._failing = False
            except Exception as e:  # noqa: BLE001 - the database may be away; keep trying
                if not self._failing:
                    msg = redact_text(str(getattr(e, "orig", None) or e).strip().splitlines()[0] if str(e).strip() else type(e).__name__)
                    sys.stderr.write(f"migrator: instance {self.instance_id}: heartbeat failed: {msg}\n")
                self._failing = True

    def start_heartbeat(self) -> None:
        self._thread = threading.Thread(target=self._heartbeat_loop, daemon=True,
                                        name=f"migrator-heartbeat-{self.instance_id}")
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop heartbeating and deregister (mark stopped). Never raises."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        try:
            self._run(lambda conn: conn.execute(
                update(instances).where(instances.c.instance_id == self.instance_id)
                .values(stopped_at=_now_expr(conn))))
        except Exception as e:  # noqa: BLE001 - the row then simply expires after the ttl
            sys.stderr.write(f"migrator: instance {self.instance_id}: could not deregister "
                             f"({type(e).__name__}); it expires after the ttl\n")
        finally:
            if self._owned:
                self._bind.dispose()
            try:
                atexit.unregister(self.stop)
            except Exception:  # noqa: BLE001
                pass

    def __enter__(self) -> "InstanceHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<InstanceHandle {self.instance_id} release={self.release}>"


def default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def register_instance(engine_or_url, release: str, *, instance_id: str | None = None,
                      heartbeat: bool = True, interval: float = DEFAULT_INTERVAL) -> InstanceHandle:
    """Record that this process runs ``release`` (upsert into migrator_instances) and, with
    ``heartbeat``, refresh ``last_seen`` every ``interval`` seconds from a daemon thread.
    Returns a handle; ``handle.stop()`` (also run at interpreter exit) deregisters."""
    version = parse_release(release)
    if interval <= 0:
        raise UsageError(f"heartbeat interval must be positive, got {interval!r}")
    bind, owned = engine_from(engine_or_url, pool_size=1)
    handle = InstanceHandle(bind, owned, instance_id or default_instance_id(), str(version),
                            socket.gethostname(), interval)
    try:
        handle.register()
    except Exception as e:
        if owned:
            bind.dispose()
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(e, SQLAlchemyError):
            raise IndeterminateError(f"cannot register instance: {redact_text(str(getattr(e, 'orig', None) or e))}") from None
        raise
    if heartbeat:
        handle.start_heartbeat()
    atexit.register(handle.stop)
    return handle


def require_compatible(engine_or_url, release: str, *, catalog: Any = None) -> Window:
    """Raise IncompatibleSchemaError unless code of ``release`` can run against the schema
    (C <= release <= E, docs/window.md). Returns the window. Call it at application start-up."""
    version = parse_release(release)
    bind, owned = engine_from(engine_or_url, pool_size=1, read_only=True)
    try:
        snap = take_snapshot(bind, with_instances=False)
    except Exception as e:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(e, SQLAlchemyError):
            raise IndeterminateError("cannot read the schema's migration history: "
                                     f"{redact_text(str(getattr(e, 'orig', None) or e))}") from None
        raise
    finally:
        if owned:
            bind.dispose()
    window = derive(catalog, snap.history, snap.version_heads).window
    if window.supports(version):
        return window
    span = window.span()
    if not window.not_contracted_past(version):
        why = (f"contract migrations of release {window.min_release} are applied, so what release "
               f"{version} uses may have been removed")
    else:
        missing = [r for r in window.pending_expand if r.release <= version]
        names = ", ".join(f"{r.revision} ({r.release}, {r.state})" for r in missing[:5])
        why = f"expand migrations it needs are not applied: {names}; run `migrator expand --release {version}` first"
    raise IncompatibleSchemaError(
        f"release {version} cannot run against this database schema (compatible releases: {span}): {why}",
        release=str(version), window=window)


def list_instances(engine_or_url, *, ttl: float) -> list[dict]:
    """Registered instances with ``state``: live | expired (silent longer than ttl) | stopped."""
    bind, owned = engine_from(engine_or_url, pool_size=1, read_only=True)
    try:
        snap = take_snapshot(bind, with_instances=True)
    finally:
        if owned:
            bind.dispose()
    cutoff = snap.now - timedelta(seconds=ttl)
    out = []
    for inst in snap.instances:
        state = "stopped" if inst["stopped_at"] else ("live" if inst["last_seen"] >= cutoff else "expired")
        out.append({**inst, "state": state, "silent_s": round((snap.now - inst["last_seen"]).total_seconds(), 1)})
    return out


__all__ = ["IncompatibleSchemaError", "InstanceHandle", "list_instances", "register_instance",
           "require_compatible"]
