"""Connections for the runner: the URL with a short lock_timeout baked in (so it holds whatever
the project's env.py does with it), transactional DDL on SQLite, and one clear message when the
database cannot be used: exit 2 when retrying cannot help (wrong password, missing database,
unknown role), exit 3 when it may (unreachable, restarting, timed out)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import URL

from .. import engines
from ..config import Config, find_database_url
from ..dberrors import connection_error, reason
from ..dburl import redact, redact_text
from ..engines import session_url


def session_settings(config: Config) -> dict[str, int]:
    """The PostgreSQL session settings every runner connection starts with."""
    settings = {"lock_timeout": int(config.lock_timeout_ms)}
    if config.statement_timeout_ms:
        settings["statement_timeout"] = int(config.statement_timeout_ms)
    return settings


def runner_url(config: Config) -> URL:
    """The URL with the session settings in its libpq options (so they hold whatever the
    project's env.py does with it)."""
    return session_url(find_database_url(config)[0], session_settings(config))


def given_url(config: Config) -> str:
    """The URL as the user gave it (not as rewritten for the driver), password removed."""
    return redact(find_database_url(config)[0])


def shown_url(config: Config) -> str:
    """The URL as the user gave it, password removed, and where it came from."""
    return f"{given_url(config)} (from {find_database_url(config)[1]})"


def url_for_alembic(url: URL) -> str:
    """The URL handed to env.py as sqlalchemy.url (with its password: it stays in memory)."""
    return url.render_as_string(hide_password=False)


def make_engine(config: Config) -> sa.Engine:
    return engines.make_engine(runner_url(config), sqlite_timeout=config.lock_timeout_ms / 1000.0)


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
