"""A real SQLAlchemy connection to no database, for ``op.get_bind()`` offline.

Data migrations use the bind the way they would online: ``conn.execute(text(...))``,
``.fetchall()``, ORM sessions, ``sa.inspect(conn)``, ``conn.commit()``. Offline there is no
server, so this module gives SQLAlchemy a PostgreSQL dialect whose DBAPI answers every query as
an empty database would: no rows, except that an aggregate without GROUP BY (``count(*)``,
``max(id)``) and a SELECT without FROM give their one row (a count is 0, anything else NULL
unless it is a literal), and UPDATE / DELETE touch 0 rows. So ``while q.count() > 0`` and
``if conn.execute(...).rowcount == 0: break`` loops end offline. each statement executed is handed to ``on_execute(construct, params,
autocommit)`` (autocommit: the connection was set to ``isolation_level="AUTOCOMMIT"``), each
attempt to read rows to ``on_read()`` and each ``commit()`` / ``rollback()`` to ``on_commit(word)``.
The connection is a genuine
:class:`sqlalchemy.engine.Connection`, so ORM sessions and results behave as documented; they
simply see an empty database.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import sqlalchemy as sa
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.base import PGDialect

_RETURNS_ROWS = re.compile(r"^\s*(?:\(\s*)*(SELECT|WITH|SHOW|VALUES|TABLE|FETCH|EXPLAIN)\b|\bRETURNING\b",
                           re.IGNORECASE)


class _Hooks:
    """Where the current render's callbacks live (one render at a time per process)."""

    on_execute: Callable[[Any, Any, bool], None] | None = None
    on_read: Callable[[], None] | None = None
    on_commit: Callable[[str], None] | None = None


def _value(node: Any) -> Any:
    """What an empty database answers for one selected expression of a one-row SELECT."""
    from sqlglot import exp

    node = node.unalias() if isinstance(node, exp.Alias) else node
    if isinstance(node, exp.Count):
        return 0
    if isinstance(node, exp.Literal):
        return node.to_py()
    if isinstance(node, exp.Coalesce):  # coalesce(max(id), 0)
        for arg in [node.this, *node.expressions]:
            value = _value(arg)
            if value is not None:
                return value
    return None


def _one_row(sql: str) -> tuple[list[str], tuple] | None:
    """(column names, the row) when the SELECT gives one row on an empty database: an aggregate
    without GROUP BY, or no FROM at all. None: it gives no rows."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="postgres")
    except Exception:  # noqa: BLE001 - unparseable: no rows
        return None
    if not isinstance(tree, exp.Select) or tree.args.get("group") is not None:
        return None
    projections = tree.expressions
    has_from = tree.args.get("from_", tree.args.get("from")) is not None
    if has_from and not any(p.find(exp.AggFunc) for p in projections):
        return None
    if has_from and tree.args.get("having") is not None:
        return None
    names = [p.alias_or_name if p.alias_or_name not in ("", "*") else "?column?" for p in projections]
    return names, tuple(_value(p) for p in projections)


class _Cursor:
    arraysize = 1
    rowcount = 0
    lastrowid = None

    def __init__(self) -> None:
        self.description: list | None = None
        self.description_override: list | None = None
        self._rows: list[tuple] = []

    def execute(self, sql: str, params: Any = None) -> None:
        self._rows = []
        self.description = self.description_override
        self.description_override = None
        if not _RETURNS_ROWS.search(sql or ""):
            return
        if self.description is None:
            self.description = []
        if re.match(r"\s*(?:\(\s*)*(?:SELECT|WITH)\b", sql or "", re.IGNORECASE):
            found = _one_row(sql)
            if found is not None:
                names, row = found
                if not self.description:
                    self.description = [(n, None, None, None, None, None, None) for n in names]
                width = len(self.description)
                self._rows = [tuple(row[:width]) + (None,) * (width - len(row))]

    def executemany(self, sql: str, seq: Any) -> None:
        self.description = None
        self._rows = []

    def _read(self) -> None:
        if _Hooks.on_read is not None:
            _Hooks.on_read()

    def fetchone(self) -> tuple | None:
        self._read()
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list:
        self._read()
        size = size or self.arraysize
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    def fetchall(self) -> list:
        self._read()
        out, self._rows = self._rows, []
        return out

    def close(self) -> None:
        pass

    def setinputsizes(self, *a: Any) -> None:
        pass

    def setoutputsize(self, *a: Any) -> None:
        pass


class _Connection:
    autocommit = False

    def cursor(self, *a: Any, **kw: Any) -> _Cursor:
        return _Cursor()

    def commit(self) -> None:
        if _Hooks.on_commit is not None:
            _Hooks.on_commit("COMMIT")

    def rollback(self) -> None:
        if _Hooks.on_commit is not None:
            _Hooks.on_commit("ROLLBACK")

    def close(self) -> None:
        pass


class _DBAPI:
    """PEP 249 module surface, enough for SQLAlchemy."""

    paramstyle = "named"
    apilevel = "2.0"
    threadsafety = 1

    class Error(Exception):
        pass

    class Warning(Exception):  # noqa: A001 - PEP 249 name
        pass

    InterfaceError = type("InterfaceError", (Error,), {})
    DatabaseError = type("DatabaseError", (Error,), {})
    DataError = type("DataError", (DatabaseError,), {})
    OperationalError = type("OperationalError", (DatabaseError,), {})
    IntegrityError = type("IntegrityError", (DatabaseError,), {})
    InternalError = type("InternalError", (DatabaseError,), {})
    ProgrammingError = type("ProgrammingError", (DatabaseError,), {})
    NotSupportedError = type("NotSupportedError", (DatabaseError,), {})

    @staticmethod
    def connect(*a: Any, **kw: Any) -> _Connection:
        return _Connection()


class OfflinePGDialect(PGDialect):
    """PostgreSQL 15 as far as SQL generation goes; no server behind it."""

    driver = "migratoroffline"
    supports_statement_cache = True
    default_paramstyle = "named"

    @classmethod
    def import_dbapi(cls) -> Any:
        return _DBAPI

    def _get_server_version_info(self, connection: Any) -> tuple[int, int]:
        return (15, 0)

    def _get_default_schema_name(self, connection: Any) -> str:
        return "public"

    def get_default_isolation_level(self, dbapi_conn: Any) -> str:
        return "READ COMMITTED"

    def get_isolation_level(self, dbapi_connection: Any) -> str:
        return "READ COMMITTED"

    def set_isolation_level(self, dbapi_connection: Any, level: str) -> None:
        pass

    def get_isolation_level_values(self, dbapi_conn: Any) -> tuple[str, ...]:
        return (*super().get_isolation_level_values(dbapi_conn), "AUTOCOMMIT")

    def _set_backslash_escapes(self, connection: Any) -> None:
        self._backslash_escapes = False

    def _check_max_identifier_length(self, connection: Any) -> None:
        return None

    def do_ping(self, dbapi_connection: Any) -> bool:
        return True


registry.register("postgresql.migratoroffline", __name__, "OfflinePGDialect")
_engine: sa.Engine | None = None


def _get_engine() -> sa.Engine:
    global _engine
    if _engine is None:
        _engine = sa.create_engine("postgresql+migratoroffline://", poolclass=sa.pool.StaticPool)

        @sa.event.listens_for(_engine, "before_execute")
        def _before_execute(conn, clauseelement, multiparams, params, execution_options):
            if _Hooks.on_execute is not None:
                p = multiparams[0] if multiparams else (params or None)
                autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
                _Hooks.on_execute(clauseelement, p, autocommit)

        @sa.event.listens_for(_engine, "before_cursor_execute")
        def _describe(conn, cursor, statement, parameters, context, executemany):
            # ORM loading looks columns up by name: describe what the statement selects.
            compiled = getattr(context, "compiled", None)
            columns = getattr(compiled, "_result_columns", None)
            if columns:
                cursor.description_override = [
                    (entry[1], None, None, None, None, None, None) for entry in columns
                ]

    return _engine


class OfflineConnection:
    """Context manager: a connection inside a transaction (as Alembic's is), with the hooks set
    while it is open."""

    def __init__(self, on_execute: Callable[[Any, Any, bool], None], on_read: Callable[[], None],
                 on_commit: Callable[[str], None]):
        self._hooks = (on_execute, on_read, on_commit)
        self.connection: sa.Connection | None = None

    def __enter__(self) -> sa.Connection:
        self.connection = _get_engine().connect()
        self.connection.begin()
        _Hooks.on_execute, _Hooks.on_read, _Hooks.on_commit = self._hooks
        return self.connection

    def __exit__(self, *exc: Any) -> None:
        _Hooks.on_execute = _Hooks.on_read = _Hooks.on_commit = None
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - a revision may leave it in any state
            pass
