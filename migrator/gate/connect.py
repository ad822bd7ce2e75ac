"""Engines for the gate and the instance registry: built from a URL (libpq or SQLAlchemy
spelling) or taken as given, with a bounded connect timeout and, for the gate, read-only
sessions."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine

from ..dburl import is_postgres, normalize_url


def make_engine(url: str, *, connect_timeout: float = 5.0, read_only: bool = False,
                statement_timeout_ms: int | None = None, pool_size: int = 5) -> Engine:
    """An engine with pre-ping (it survives the database restarting) and bounded waits."""
    sa_url = normalize_url(url)
    kwargs: dict = {"pool_pre_ping": True}
    connect_args: dict = {}
    if is_postgres(sa_url):
        connect_args["connect_timeout"] = max(1, int(round(connect_timeout)))
        options = []
        if read_only:
            options.append("-c default_transaction_read_only=on")
        if statement_timeout_ms:
            options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
        if options:  # after the URL's own options (a search_path, say), not instead of them
            connect_args["options"] = " ".join([sa_url.query.get("options") or "", *options]).strip()
        connect_args.setdefault("application_name", "migrator-gate" if read_only else "migrator")
        kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=connect_timeout)
    return create_engine(sa_url, connect_args=connect_args, **kwargs)


def engine_from(engine_or_url, **kwargs) -> tuple[Engine | Connection, bool]:
    """(engine or connection, owned): ``owned`` is True when we built it and must dispose of it."""
    if isinstance(engine_or_url, (Engine, Connection)):
        return engine_or_url, False
    return make_engine(str(engine_or_url), **kwargs), True
