"""Stand-ins that let a revision's ``upgrade()`` run offline: no env.py, no database.

A data migration asks the database questions (``op.get_bind().execute(...).fetchall()``).
Offline there is nobody to answer, so :class:`OfflineBind` records what the revision executes
and answers every question with "nothing"; :class:`EmptyResult` says so once per line, as a
``hidden-data-migration`` warning, because whatever the revision would have done with real rows
cannot be seen. :class:`LenientEnviron` lets a revision read environment variables that are not
set (a warning, rendered as an empty string) instead of failing to import.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any, Callable

HIDDEN_DATA_MESSAGE = (
    "data migration reads the database; what it emits could not be seen offline"
)


class EmptyResult:
    """A result with no rows. Reading it reports the hidden data migration at the reading line."""

    rowcount = 0
    returns_rows = True
    inserted_primary_key = None
    returned_defaults = None

    def __init__(self, on_read: Callable[[], None]):
        self._on_read = on_read

    def _read(self, value: Any) -> Any:
        self._on_read()
        return value

    # row access
    def fetchall(self) -> list:
        return self._read([])

    def all(self) -> list:
        return self._read([])

    def fetchmany(self, size: int | None = None) -> list:
        return self._read([])

    def fetchone(self) -> None:
        return self._read(None)

    def first(self) -> None:
        return self._read(None)

    def one(self) -> None:
        return self._read(None)

    def one_or_none(self) -> None:
        return self._read(None)

    def scalar(self) -> None:
        return self._read(None)

    def scalar_one(self) -> None:
        return self._read(None)

    def scalar_one_or_none(self) -> None:
        return self._read(None)

    def partitions(self, size: int | None = None) -> Iterator[list]:
        return self._read(iter(()))

    def __iter__(self) -> Iterator[Any]:
        return self._read(iter(()))

    # shaping the result keeps it empty
    def scalars(self, *a: Any, **kw: Any) -> "EmptyResult":
        return self

    def mappings(self) -> "EmptyResult":
        return self

    def columns(self, *a: Any) -> "EmptyResult":
        return self

    def unique(self, *a: Any) -> "EmptyResult":
        return self

    def yield_per(self, n: int) -> "EmptyResult":
        return self

    def keys(self) -> list:
        return []

    def close(self) -> None:
        pass

    def __enter__(self) -> "EmptyResult":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class _Transaction:
    def __init__(self, bind: "OfflineBind"):
        self._bind = bind

    def commit(self) -> None:
        pass

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Transaction":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class OfflineBind:
    """What ``op.get_bind()`` returns offline: executes into the recorder, returns no rows.

    ``emit(sql_text)`` records one piece of SQL at the current revision line; ``compile(stmt,
    params)`` turns a SQLAlchemy construct into SQL text; ``on_read()`` reports a read.
    """

    def __init__(self, dialect: Any, emit: Callable[[str], None],
                 compile: Callable[[Any, Any], str], on_read: Callable[[], None]):
        self.dialect = dialect
        self._emit = emit
        self._compile = compile
        self._on_read = on_read
        self.info: dict = {}
        self.closed = False

    # executing
    def execute(self, statement: Any, parameters: Any = None, *multi: Any, **kw: Any) -> EmptyResult:
        self._emit(self._compile(statement, parameters))
        return EmptyResult(self._on_read)

    def exec_driver_sql(self, statement: str, parameters: Any = None, **kw: Any) -> EmptyResult:
        self._emit(str(statement))
        return EmptyResult(self._on_read)

    def scalar(self, statement: Any, parameters: Any = None, **kw: Any) -> None:
        return self.execute(statement, parameters).scalar()

    def scalars(self, statement: Any, parameters: Any = None, **kw: Any) -> EmptyResult:
        return self.execute(statement, parameters)

    # transactions: a hand-written commit is part of what the revision does
    def commit(self) -> None:
        self._emit("COMMIT")

    def rollback(self) -> None:
        self._emit("ROLLBACK")

    def begin(self) -> _Transaction:
        return _Transaction(self)

    def begin_nested(self) -> _Transaction:
        return _Transaction(self)

    def in_transaction(self) -> bool:
        return True

    def in_nested_transaction(self) -> bool:
        return False

    # being a connection and an engine at once
    def connect(self) -> "OfflineBind":
        return self

    def execution_options(self, **kw: Any) -> "OfflineBind":
        return self

    def get_execution_options(self) -> dict:
        return {}

    @property
    def engine(self) -> "OfflineBind":
        return self

    def close(self) -> None:
        pass

    def invalidate(self) -> None:
        pass

    def __enter__(self) -> "OfflineBind":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass


class LenientEnviron(MutableMapping):
    """``os.environ`` for the time of an offline render: a variable that is not set reads as ""
    (reported through ``on_missing(name)``) instead of raising KeyError at import."""

    def __init__(self, real: MutableMapping, on_missing: Callable[[str], None]):
        self._real = real
        self._on_missing = on_missing

    def __getitem__(self, key: str) -> str:
        try:
            return self._real[key]
        except KeyError:
            self._on_missing(key)
            return ""

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def get(self, key: str, default: Any = None) -> Any:
        return self._real.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._real

    def copy(self) -> dict:
        return dict(self._real)

    def __getattr__(self, name: str) -> Any:  # encodekey, putenv, ... of os._Environ
        return getattr(self._real, name)


def swap_environ(on_missing: Callable[[str], None]) -> Callable[[], None]:
    """Install a LenientEnviron as os.environ; returns the function that restores the real one."""
    real = os.environ
    os.environ = LenientEnviron(real, on_missing)  # type: ignore[assignment]

    def restore() -> None:
        os.environ = real  # type: ignore[assignment]

    return restore
