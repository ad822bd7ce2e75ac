"""Engines for the gate, the server and the instance registry (made by :mod:`migrator.engines`):
a bounded connect timeout, a small pre-pinged pool, and for the gate read-only sessions."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from .. import engines


def make_engine(url: str, *, connect_timeout: float = 5.0, read_only: bool = False,
                statement_timeout_ms: int | None = None, pool_size: int = 5) -> Engine:
    """An engine with pre-ping (it survives the database restarting) and bounded waits."""
    settings: dict[str, object] = {}
    if read_only:
        settings["default_transaction_read_only"] = "on"
    if statement_timeout_ms:
        settings["statement_timeout"] = int(statement_timeout_ms)
    return engines.make_engine(url, settings=settings, connect_timeout=connect_timeout, pool_size=pool_size,
                               application_name="migrator-gate" if read_only else "migrator",
                               sqlite_begin=None)


def engine_from(engine_or_url, **kwargs) -> tuple[Engine | Connection, bool]:
    """(engine or connection, owned): ``owned`` is True when we built it and must dispose of it."""
    if isinstance(engine_or_url, (Engine, Connection)):
        return engine_or_url, False
    return make_engine(str(engine_or_url), **kwargs), True
