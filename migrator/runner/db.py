"""Connections for the runner: the URL with a short lock_timeout baked in (so it holds whatever
the project's env.py does with it), transactional DDL on SQLite, and one clear exit-3 message
when the database cannot be reached."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from ..config import Config
from ..dburl import is_postgres, is_sqlite, normalize_url, redact, redact_text
from ..errors import IndeterminateError, UsageError


def session_options(config: Config) -> str:
    """libpq ``options``: the session settings every runner connection starts with."""
    opts = [f"-c lock_timeout={int(config.lock_timeout_ms)}"]
    if config.statement_timeout_ms:
        opts.append(f"-c statement_timeout={int(config.statement_timeout_ms)}")
    return " ".join(opts)


def runner_url(config: Config) -> URL:
    if not config.database_url:
        raise UsageError("no database URL: pass --database-url or set MIGRATOR_DATABASE_URL or DATABASE_URL")
    url = normalize_url(config.database_url)
    if is_postgres(url):
        existing = url.query.get("options")
        existing = " ".join(existing) if isinstance(existing, tuple) else (existing or "")
        url = url.update_query_dict({"options": (existing + " " + session_options(config)).strip()})
    return url


def url_for_alembic(url: URL) -> str:
    """The URL handed to env.py as sqlalchemy.url (with its password: it stays in memory)."""
    return url.render_as_string(hide_password=False)


def make_engine(config: Config) -> sa.Engine:
    url = runner_url(config)
    if is_sqlite(url):
        timeout = max(0.1, config.lock_timeout_ms / 1000.0)
        engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": timeout})
        _transactional_sqlite(engine)
        return engine
    connect_args = {"connect_timeout": 5} if is_postgres(url) else {}
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)


def _transactional_sqlite(engine: sa.Engine) -> None:
    """pysqlite commits DDL as it goes; take the transactions over so a migration is atomic."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn):
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN")


def check_reachable(engine: sa.Engine) -> None:
    """Connect once; an unreachable database or a wrong password is exit 3, one redacted line."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as e:
        raise IndeterminateError(f"cannot connect to {redact(engine.url)}: {short_error(e, engine.url)}") from None


def short_error(e: BaseException, url: URL | None = None) -> str:
    """The first line of a driver error, passwords removed."""
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()
    line = text[0] if text else type(orig).__name__
    secrets = (url.password,) if url is not None and url.password else ()
    return redact_text(line, tuple(str(s) for s in secrets))
