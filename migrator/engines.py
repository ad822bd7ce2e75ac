"""The one place SQLAlchemy engines are made: for the runner, the backfill runner, the gate, the
server and the instance registry.

- PostgreSQL: the session settings (``lock_timeout``, ``statement_timeout``, read-only) go into
  the URL's libpq ``options`` after the URL's own (a search_path, say), so they hold on every
  connection, including the one a project's env.py opens from the URL; a bounded connect timeout.
- SQLite: pysqlite's own transaction handling is taken over (``BEGIN`` or ``BEGIN IMMEDIATE``
  when SQLAlchemy begins), so DDL is transactional and a migration atomic; a bounded busy wait.
- Pooling: none by default (a command's few connections), or a small pre-pinged pool for
  long-lived processes (the server, an application's registry).
"""

from __future__ import annotations

from typing import Mapping

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.pool import NullPool

from .dburl import is_postgres, is_sqlite, normalize_url


def session_url(url: str | URL, settings: Mapping[str, object] | None = None) -> URL:
    """The URL (normalised for the driver) with PostgreSQL session ``settings`` appended to its
    libpq ``options``; other databases' URLs unchanged."""
    sa_url = url if isinstance(url, URL) else normalize_url(url)
    if not settings or not is_postgres(sa_url):
        return sa_url
    existing = sa_url.query.get("options")
    existing = " ".join(existing) if isinstance(existing, tuple) else (existing or "")
    ours = " ".join(f"-c {k}={v}" for k, v in settings.items())
    return sa_url.update_query_dict({"options": f"{existing} {ours}".strip()})


def make_engine(url: str | URL, *, settings: Mapping[str, object] | None = None,
                connect_timeout: float = 5.0, pool_size: int | None = None,
                application_name: str | None = None, sqlite_timeout: float = 5.0,
                sqlite_begin: str | None = "BEGIN") -> Engine:
    """An engine for ``url`` (libpq or SQLAlchemy spelling). ``settings``: PostgreSQL session
    settings (``{"lock_timeout": 2000}``); ``pool_size``: None for no pool, else a pre-pinged pool
    of that size; ``sqlite_begin``: the statement that opens a SQLite transaction (None: leave
    pysqlite's own handling)."""
    sa_url = session_url(url, settings)
    kwargs: dict = {}
    connect_args: dict = {}
    if pool_size is None:
        if not (is_sqlite(sa_url) and sa_url.database in (None, "", ":memory:")):
            kwargs["poolclass"] = NullPool  # (an in-memory SQLite database lives in its one connection)
    else:
        kwargs.update(pool_pre_ping=True)
        if not is_sqlite(sa_url):
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=connect_timeout)
    if is_postgres(sa_url):
        connect_args["connect_timeout"] = max(1, int(round(connect_timeout)))
        if application_name:
            connect_args["application_name"] = application_name
    if is_sqlite(sa_url):
        connect_args["timeout"] = max(0.1, float(sqlite_timeout))
    engine = sa.create_engine(sa_url, connect_args=connect_args, **kwargs)
    if is_sqlite(sa_url) and sqlite_begin:
        _own_sqlite_transactions(engine, sqlite_begin)
    return engine


def _own_sqlite_transactions(engine: Engine, begin: str) -> None:
    """pysqlite commits DDL as it goes; take the transactions over (the pysqlite recipe)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql(begin)


def engine_from(engine_or_url, **kwargs) -> tuple[Engine | Connection, bool]:
    """(engine or connection, owned): ``owned`` is True when it was made here from a URL and the
    caller must dispose of it."""
    if isinstance(engine_or_url, (Engine, Connection)):
        return engine_or_url, False
    return make_engine(engine_or_url if isinstance(engine_or_url, URL) else str(engine_or_url), **kwargs), True
