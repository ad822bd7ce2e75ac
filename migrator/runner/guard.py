"""What runs is what was linted: every statement a revision sends to the database while the
runner applies it is parsed into the operation model and classified by the linter before it
executes.

The offline rendering that ``migrator lint`` (and the runner's lint-before-apply) checked is not
always what runs: a revision may branch on ``op.get_context().as_sql`` /
``context.is_offline_mode()``, or decide from rows it reads through ``op.get_bind()``. A statement
the offline rendering did not show is allowed when the linter finds it harmless in the
revision's phase (a bounded UPDATE of a data migration, a comment); one that the linter rejects,
or that belongs to the other phase, stops the revision before it runs: the exception raised in
SQLAlchemy's ``before_cursor_execute`` aborts the statement, env.py's transaction rolls back on
PostgreSQL, and every later statement of the revision is refused too (so a revision that
swallows the exception cannot carry on, nor can Alembic record it as applied).

Statements sent around SQLAlchemy (a raw DBAPI cursor, another process) are not seen.
"""

from __future__ import annotations

import functools
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import sqlalchemy as sa

from ..config import Config
from ..lint.classify import evaluate
from ..lint.context import TRANSACTION_CONTROL, MigrationContext
from ..lint.engine import parse_source
from ..model import Location, MigrationSource, Operation, Phase, Severity, Statement

# Operation kinds that read or set session state: never a schema change to stop.
_HARMLESS = TRANSACTION_CONTROL | {"select", "set_session", "analyze"}


class UnlintedStatement(Exception):
    """A statement the offline lint never saw, refused before it ran."""

    def __init__(self, sql: str, reason: str):
        self.sql = sql
        self.reason = reason
        super().__init__(self.describe())

    def describe(self) -> str:
        shown = self.sql if len(self.sql) <= 500 else self.sql[:500] + " ..."
        return (f"stopped before running a statement the offline lint did not show: {self.reason}; "
                f"statement: {shown} -- the revision takes another path against the database than "
                "offline (an op.get_context().as_sql / is_offline_mode() branch, or a decision "
                "made from rows it reads); --override-lint covers only what lint showed")


def _signature(op: Operation) -> tuple:
    return (op.kind, (op.schema or "").lower(), (op.table or "").lower(), (op.column or "").lower(),
            (op.name or "").lower(), op.object_type, op.has_where, op.concurrently)


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_NAMED = re.compile(r"%\((\w+)\)s|%s|%%")


def inline_parameters(sql: str, params: Any) -> str:
    """The statement with its bound parameters written in as literals (for classification
    only: pyformat ``%(name)s`` / format ``%s`` placeholders of psycopg and friends)."""
    if isinstance(params, (list, tuple)) and params and isinstance(params[0], (dict, list, tuple)):
        params = params[0]  # executemany: the first row stands for all
    if not params:
        return sql
    seq = iter(params) if isinstance(params, (list, tuple)) else iter(())

    def sub(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        if m.group(1) is not None:
            return _literal(params.get(m.group(1))) if isinstance(params, dict) else m.group(0)
        return _literal(next(seq, None))

    try:
        return _NAMED.sub(sub, sql)
    except Exception:  # noqa: BLE001 - classification falls back to the raw text
        return sql


@dataclass
class StatementGuard:
    """Checks the statements of one revision as they are sent (module docstring)."""

    config: Config
    path: str
    phase: str  # the revision's phase
    action: str = "upgrade"  # "upgrade" | "downgrade"
    seen: list[Operation] = field(default_factory=list)  # what the offline rendering showed
    refused: UnlintedStatement | None = None
    checked: int = 0
    # Off for databases other than PostgreSQL: the linter's verdicts are PostgreSQL's, and e.g.
    # SQLite's batch mode sends table copies the offline rendering never shows.
    enabled: bool = True
    # Statements are checked while the revision's own function runs (see :meth:`around`), not
    # what env.py or Alembic send around it (a search_path, the version table).
    active: bool = False

    def __post_init__(self) -> None:
        self._seen = {_signature(op) for op in self.seen}
        self._context = MigrationContext(server_version=self.config.server_version,
                                         functions=dict(getattr(self.config, "functions", {}) or {}))
        self._thread = threading.get_ident()

    def _version_tables(self) -> set[str]:
        names = {"alembic_version"}
        try:
            from alembic import context

            version = getattr(context.get_context(), "_version", None)
            if version is not None:
                names.add(version.name.lower())
        except Exception:  # noqa: BLE001 - outside a migration context
            pass
        return names

    def check(self, sql: str, params: Any, autocommit: bool = False) -> None:
        """Raise :class:`UnlintedStatement` for a statement that must not run."""
        if self.refused is not None:
            raise self.refused
        if not self.active:
            return
        self.checked += 1
        text = inline_parameters(sql, params)
        source = MigrationSource(path=self.path, kind="alembic", statements=[
            Statement(text, Location(self.path, 1, 1), in_transaction=not autocommit)])
        versions = self._version_tables()
        for op in parse_source(source, self.config.server_version):
            self._context.before(op)
            try:
                if (op.kind in _HARMLESS or (op.table or "").lower() in versions
                        or _signature(op) in self._seen):
                    continue
                reason = self._verdict(op)
                if reason:
                    self.refused = UnlintedStatement(sql, reason)
                    raise self.refused
            finally:
                self._context.after(op)

    def _verdict(self, op: Operation) -> str | None:
        """Why ``op`` must not run (None: it may)."""
        phase, findings = evaluate(op, self._context)
        errors = []
        for f in findings:
            setting = str((self.config.rules or {}).get(f.rule, "")).lower()
            if setting == "off":
                continue
            if setting == "error" or (setting != "warning" and f.severity is Severity.ERROR):
                errors.append(f)
        if errors:
            return f"{errors[0].rule}: {errors[0].message}"
        if phase is Phase.REJECTED and not findings:
            return "rejected by the linter"
        if (self.action == "upgrade" and self.phase in ("expand", "contract")
                and phase in (Phase.EXPAND, Phase.CONTRACT) and phase.value != self.phase):
            return (f"a {phase.value} statement in a {self.phase} migration ({op.kind}"
                    f"{' on ' + op.table if op.table else ''})")
        return None

    def around(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """``function`` (the revision's upgrade/downgrade) with the check active while it runs."""

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            self.active = True
            try:
                return function(*args, **kwargs)
            finally:
                self.active = False

        return checked

    @contextmanager
    def watching(self) -> Iterator["StatementGuard"]:
        """Check every statement any SQLAlchemy engine sends from this thread meanwhile (the
        connection the runner hands env.py, or one env.py or the revision makes itself)."""
        if not self.enabled:
            yield self
            return

        def before(conn, cursor, statement, parameters, context, executemany):
            if threading.get_ident() != self._thread:
                return
            autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
            dbapi = getattr(getattr(conn, "connection", None), "dbapi_connection", None)
            autocommit = autocommit or bool(getattr(dbapi, "autocommit", False))
            self.check(statement, parameters, autocommit)

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", before)
        try:
            yield self
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", before)
