"""What the linter knows while it walks one migration, statement by statement.

:class:`MigrationContext` holds the facts one statement alone does not show:

- tables and columns created earlier in the same migration (it sets
  ``op.table_created_here`` / ``op.column_created_here`` before the rules see an operation);
- explicit ``BEGIN`` / ``COMMIT`` blocks, and whether an operation runs inside a transaction;
- the write-blocking locks taken so far in the current transaction, per table;
- the :class:`~migrator.lint.state.SchemaState` carried over from earlier migrations, updated
  operation by operation;
- the PostgreSQL server version.

Rules receive this object as ``ctx``; the helper questions below are the vocabulary they share
with the classifier, so both answer every question the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Operation
from ..model import qualified_key  # noqa: F401 - re-exported
from ..pgfacts import (ACCESS_EXCLUSIVE, LOCK_MODES, LOCK_RANK, SHARE,  # noqa: F401 - re-exported
                      SHARE_ROW_EXCLUSIVE, lock_blocks, lock_mode)
from .state import SchemaState, table_key


# Operation kinds that take ACCESS EXCLUSIVE on op.table until the transaction ends.
_ACCESS_EXCLUSIVE_KINDS = frozenset({
    "add_column", "drop_column", "rename_column", "alter_column_type", "set_not_null",
    "drop_not_null", "set_default", "drop_default", "drop_constraint", "rename_table",
    "set_logged", "set_unlogged", "set_tablespace", "alter_table_other", "alter_identity", "drop_table",
    "set_generated_expression", "drop_generated_expression", "inherit", "no_inherit",
    "truncate", "cluster", "vacuum_full", "reindex", "rename_constraint", "row_security",
})

# LOCK TABLE modes that block the running release's writes (SHARE and stronger); the weaker
# ones (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE, SHARE UPDATE EXCLUSIVE) conflict only with DDL,
# VACUUM and other maintenance, never with plain SELECT / INSERT / UPDATE / DELETE.


TRANSACTION_CONTROL = frozenset({"begin", "commit", "rollback", "savepoint"})


def index_columns(op: Operation) -> list[str]:
    """The plain column names an index (or constraint) covers, lower case."""
    if op.constraint is not None and op.constraint.columns:
        return [c.lower() for c in op.constraint.columns]
    names = [c.name.lower() for c in op.columns if c.name]
    if not names and op.column:
        names = [op.column.lower()]
    return names


# The object kinds (as CREATE records them) a GRANT/REVOKE securable word can name.
_SECURABLE_KIND = {
    "function": ("function",), "procedure": ("procedure",),
    "routine": ("function", "procedure"), "sequence": ("sequence",), "schema": ("schema",),
    "type": ("type", "domain"), "domain": ("domain",),
}


@dataclass
class MigrationContext:
    state: SchemaState = field(default_factory=SchemaState)
    server_version: int = 15
    created_tables: set[str] = field(default_factory=set)
    created_columns: set[tuple[str, str]] = field(default_factory=set)
    created_indexes: set[str] = field(default_factory=set)
    created_views: set[str] = field(default_factory=set)  # (materialized) views, by name
    # (kind, name) of functions, sequences, types, schemas ... created earlier in the migration
    created_objects: set[tuple[str, str]] = field(default_factory=set)
    # names of constraints dropped earlier in the migration (a UNIQUE/PRIMARY KEY constraint's
    # index goes with it, under the same name)
    dropped_constraints: set[str] = field(default_factory=set)
    # index name -> (table key, columns) of indexes created earlier in the migration
    index_columns_of: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    # (table key, column) made nullable earlier in the migration (DROP NOT NULL)
    made_nullable: set[tuple[str, str]] = field(default_factory=set)
    # (table key, column) added NOT NULL to an existing table earlier in the migration
    added_not_null: set[tuple[str, str]] = field(default_factory=set)
    # every operation of the migration, in order (so a question may look within one statement)
    operations: list[Operation] = field(default_factory=list)
    # the .sql file's transaction mode was not declared: it is judged as one transaction
    # (lock-holding sequences), while CONCURRENTLY is only warned about
    transaction_assumed: bool = False
    # [tool.migrator] functions: name -> volatility the configuration declares
    functions: dict[str, str] = field(default_factory=dict)
    explicit_block: bool = False  # inside BEGIN ... COMMIT written in the migration
    locks: dict[str, str] = field(default_factory=dict)  # table key -> strongest lock held
    _last_in_transaction: bool = True
    _redefined: set[int] | None = None  # ids of the operations view_redefined() says yes to

    # --- questions rules and the classifier share --------------------------------------------

    def in_transaction(self, op: Operation) -> bool:
        return op.in_transaction or self.explicit_block

    def columns_created_here(self, op: Operation) -> bool:
        """Every column the index/constraint covers was added earlier in this migration (a
        ``USING INDEX`` constraint covers the columns of its index, when that index was
        created earlier in this migration)."""
        if op.table_created_here:
            return True
        cols = index_columns(op)
        key = table_key(op.table, op.schema)
        if not cols and op.constraint is not None and op.constraint.using_index:
            traced = self.index_columns_of.get(op.constraint.using_index.lower())
            if traced is None or traced[0] != key:
                return False
            if traced[0] in self.created_tables:
                return True
            cols = traced[1]
        return bool(cols) and all((key, c) in self.created_columns for c in cols)

    def created_here(self, kind: str, name: str | None) -> bool:
        """An object of ``kind`` (type, domain, function ...) named ``name`` was created earlier
        in this migration."""
        return bool(name) and (kind, name.lower()) in self.created_objects

    def function_volatility(self, name: str) -> tuple[str | None, str]:
        """(volatility, where it was learned) of a function that is not built in: a CREATE /
        ALTER FUNCTION of this run wins over the configuration; (None, "") when unknown."""
        found = self.state.function_volatility(name)
        if found:
            return found, "its CREATE FUNCTION"
        bare = name.lower().rpartition(".")[2]
        for key in (name.lower(), bare):
            if key in self.functions:
                return self.functions[key], "[tool.migrator] functions"
        return None, ""

    def renamed_object_created_here(self, op: Operation) -> bool:
        """A renamed function/type/schema/... (or a value or attribute of a type) was created
        earlier in this migration: no release refers to it yet."""
        ot = op.object_type or ""
        kinds = ("type", "domain") if ot in ("enum_value", "type_attribute", "type") else (ot,)
        return any(self.created_here(k, op.name) for k in kinds)

    def default_drop_is_harmless(self, op: Operation) -> bool:
        """DROP DEFAULT of a column added earlier in this migration, or made nullable earlier
        in it (or in the same statement): an insert that leaves the column out still works."""
        if op.column_created_here:
            return True
        key, col = table_key(op.table, op.schema), (op.column or "").lower()
        if (key, col) in self.made_nullable:
            return True
        return any(o is not op and o.kind == "drop_not_null" and o.loc == op.loc and o.sql == op.sql
                   and table_key(o.table, o.schema) == key and (o.column or "").lower() == col
                   for o in self.operations)

    def view_redefined(self, op: Operation) -> bool:
        """``op`` is half of a view's redefinition: ``DROP VIEW v`` (no CASCADE) and a later
        ``CREATE VIEW v`` in the same transaction of this migration. Readers never see v
        missing: the pair adds or removes only what the new definition does."""
        if op.kind not in ("drop_object", "create_object") or op.object_type not in _VIEWS:
            return False
        if self._redefined is None:
            self._redefined = _view_redefinitions(self.operations, self.in_transaction)
        return id(op) in self._redefined

    def objects_created_here(self, op: Operation) -> bool:
        """Every object a GRANT/REVOKE ON FUNCTION/SEQUENCE/TYPE/... names was created earlier in
        this migration (so no release can be using it yet)."""
        kind = _SECURABLE_KIND.get(op.object_type or "")
        names = op.names or ([op.name] if op.name else [])
        return bool(kind and names) and all(
            any((k, n.lower()) in self.created_objects for k in kind) for n in names)

    def holds_lock(self, table: str | None, schema: str | None, at_least: str) -> str | None:
        """The lock held on table in the current transaction if it is at least ``at_least``."""
        held = self.locks.get(table_key(table, schema))
        if held and LOCK_RANK[held] >= LOCK_RANK[at_least]:
            return held
        return None

    # --- walking the migration ---------------------------------------------------------------

    def before(self, op: Operation) -> None:
        """Mark what was created earlier in this migration, and open/close the transaction."""
        key = table_key(op.table, op.schema)
        if op.kind in ("create_table", "create_table_as"):
            op.table_created_here = False
        else:
            op.table_created_here = bool(op.table) and key in self.created_tables
        if op.kind in ("add_column",):
            op.column_created_here = op.table_created_here
        elif op.column:
            op.column_created_here = op.table_created_here or (key, op.column.lower()) in self.created_columns
        elif op.kind in ("add_constraint", "create_index"):
            op.column_created_here = self.columns_created_here(op)
        if op.kind == "alter_column_type" and op.previous_type and not op.table_created_here:
            self.state.learn_column_type(op.table, op.column, op.schema, op.previous_type)
        # Alembic's autocommit_block (or a statement outside BEGIN in an unwrapped file) commits
        # what ran before it: the locks taken so far are released.
        in_txn = self.in_transaction(op)
        if not in_txn or (in_txn and not self._last_in_transaction):
            self.locks.clear()
        self._last_in_transaction = in_txn

    def after(self, op: Operation) -> None:
        """Record what op created, the locks it took, and the state it changed."""
        key = table_key(op.table, op.schema)
        if op.kind in ("begin", "commit", "rollback"):
            self.explicit_block = op.kind == "begin"
            self.locks.clear()
        else:
            self._record_created(op, key)
        if self.in_transaction(op) and op.table and op.kind not in TRANSACTION_CONTROL:
            self._record_locks(op, key)
        self.state.apply(op)

    def _record_created(self, op: Operation, key: str) -> None:
        kind = op.kind
        if kind in ("create_table", "create_table_as"):
            if op.if_not_exists:
                # IF NOT EXISTS says the table may be there already, with its rows: what follows
                # gets no new-table leniency (a no-op here, then a plain CREATE INDEX would lock
                # a live table)
                return
            self.created_tables.add(key)
            for c in op.columns:
                self.created_columns.add((key, c.name.lower()))
        elif kind == "add_column":
            for c in op.columns:
                self.created_columns.add((key, c.name.lower()))
                if c.not_null and not op.table_created_here:
                    self.added_not_null.add((key, c.name.lower()))
        elif kind == "create_index" and op.name:
            self.created_indexes.add(op.name.lower())
            self.index_columns_of[op.name.lower()] = (key, index_columns(op))
        elif kind == "drop_not_null" and op.table and op.column:
            self.made_nullable.add((key, op.column.lower()))
        elif kind == "create_object" and op.object_type in ("view", "materialized_view") and op.name:
            self.created_views.add(op.name.lower())
        elif kind == "drop_constraint" and op.name:
            self.dropped_constraints.add(op.name.lower())
        if kind == "create_object" and op.object_type and op.name:
            self.created_objects.add((op.object_type, op.name.lower()))

    def _record_locks(self, op: Operation, key: str) -> None:
        """The locks ``op`` takes inside the transaction: on its table, and on the tables it
        references (a foreign key's target, LOCK TABLE's list, the partition it attaches)."""
        lock = self._lock_on_table(op)
        if op.kind in ("attach_partition", "detach_partition") and op.names:
            self._take(qualified_key(op.names[0]), ACCESS_EXCLUSIVE)
        if lock:
            self._take(key, lock)

    def _lock_on_table(self, op: Operation) -> str | None:
        """The lock ``op`` takes on its own table (None: none that matters); LOCK TABLE and a
        foreign key's target are taken here, in statement order."""
        kind = op.kind
        if kind in _ACCESS_EXCLUSIVE_KINDS and not (kind == "reindex" and op.concurrently):
            return ACCESS_EXCLUSIVE
        if kind == "add_constraint" and op.constraint is not None:
            foreign = op.constraint.type == "foreign_key"
            if foreign and op.constraint.references:
                self._take(table_key(op.constraint.references), SHARE_ROW_EXCLUSIVE)
            return SHARE_ROW_EXCLUSIVE if foreign else ACCESS_EXCLUSIVE
        if kind == "create_index" and not op.concurrently:
            return SHARE
        if kind == "lock_table":
            mode = lock_mode(op)
            for name in op.names or [op.table]:
                if mode in LOCK_RANK:
                    self._take(qualified_key(name, op.schema), mode)
            return None
        if kind in ("enable_trigger", "disable_trigger") or (
                kind == "create_object" and op.object_type == "trigger"):
            return SHARE_ROW_EXCLUSIVE
        if kind in ("create_object", "alter_object") and op.object_type == "policy":
            return ACCESS_EXCLUSIVE
        if kind == "detach_partition" and not op.concurrently and op.value != "FINALIZE":
            return ACCESS_EXCLUSIVE
        return None

    def _take(self, key: str, lock: str) -> None:
        held = self.locks.get(key)
        if held is None or LOCK_RANK[lock] > LOCK_RANK[held]:
            self.locks[key] = lock


_VIEWS = ("view", "materialized_view")


def _view_key(op: Operation) -> tuple[str, str]:
    return (op.object_type or "", (op.name or "").lower())


def _view_redefinitions(operations: list[Operation], in_transaction) -> set[int]:
    """Ids of the DROP VIEW / CREATE VIEW operations that pair up as redefinitions."""
    out: set[int] = set()
    dropped: dict[tuple[str, str], Operation] = {}  # view -> the DROP still waiting for its CREATE
    waiting: dict[int, set[tuple[str, str]]] = {}  # a DROP's id -> its views not created again yet
    for o in operations:
        if o.kind in ("commit", "rollback"):
            dropped.clear()  # across a COMMIT, readers see the view missing
        elif o.kind == "drop_object" and o.object_type in _VIEWS and not o.cascade and in_transaction(o):
            views = {(o.object_type, n.lower()) for n in (o.names or [o.name]) if n}
            waiting[id(o)] = set(views)
            for v in views:
                dropped[v] = o
        elif o.kind == "create_object" and o.object_type in _VIEWS and o.name and in_transaction(o):
            drop = dropped.pop(_view_key(o), None)
            if drop is not None:
                out.add(id(o))
                waiting[id(drop)].discard(_view_key(o))
                if not waiting[id(drop)]:
                    out.add(id(drop))
    return out
