"""Connections for the runner: the URL with a short lock_timeout baked in (so it holds whatever
the project's env.py does with it), transactional DDL on SQLite, and one clear message when the
database cannot be used: exit 2 when retrying cannot help (wrong password, missing database,
unknown role), exit 3 when it may (unreachable, restarting, timed out)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from ..config import Config, find_database_url
from ..dberrors import connection_error, reason
from ..dburl import is_postgres, is_sqlite, normalize_url, redact_text


def session_options(config: Config) -> str:
    """libpq ``options``: the session settings every runner connection starts with."""
    opts = [f"-c lock_timeout={int(config.lock_timeout_ms)}"]
    if config.statement_timeout_ms:
        opts.append(f"-c statement_timeout={int(config.statement_timeout_ms)}")
    return " ".join(opts)


def runner_url(config: Config) -> URL:
    url = normalize_url(find_database_url(config)[0])
    if is_postgres(url):
        existing = url.query.get("options")
        existing = " ".join(existing) if isinstance(existing, tuple) else (existing or "")
        url = url.update_query_dict({"options": (existing + " " + session_options(config)).strip()})
    return url


def given_url(config: Config) -> str:
    """The URL as the user gave it (not as rewritten for the driver), password removed."""
    return redact_text(find_database_url(config)[0])


def shown_url(config: Config) -> str:
    """The URL as the user gave it, password removed, and where it came from."""
    return f"{given_url(config)} (from {find_database_url(config)[1]})"


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


def check_reachable(engine: sa.Engine, config: Config | None = None) -> None:
    """Connect once. A wrong password, missing database or unknown role is exit 2 (permanent);
    an unreachable or restarting server exit 3; one redacted line naming the URL the user gave."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as e:
        where = shown_url(config) if config is not None else redact_text(str(engine.url))
        secrets = (str(engine.url.password),) if engine.url.password else ()
        raise connection_error(e, f"cannot connect to {where}", secrets) from None


def short_error(e: BaseException, url: URL | None = None) -> str:
    """The first line of the server's reason, passwords removed."""
    secrets = (str(url.password),) if url is not None and url.password else ()
    return reason(e, secrets)
