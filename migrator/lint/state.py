"""What earlier migrations of the same run tell the linter about the schema.

The linter reads migrations in order and carries a :class:`SchemaState` from one to the next:
column types (from CREATE TABLE, ADD COLUMN, ALTER ... TYPE), CHECK constraints and whether they
were validated, tables created and dropped. A fact not in the state is *unknown*, and the rules
assume the unsafe case for it.

The state is plain data: :meth:`SchemaState.to_dict` / :meth:`SchemaState.from_dict` round-trip
through JSON, and :meth:`SchemaState.digest` names it for a cache key. It must be computed
sequentially (migration N's state-in is migration N-1's state-out); everything else a
migration's lint result depends on is its own source and the configuration.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from ..model import Operation, table_key
from ..pgfacts import normalize_type


def _normalize_type(text: str | None) -> str | None:
    if text is None:
        return None
    return normalize_type(text)


@dataclass
class CheckFact:
    not_null_column: str | None
    validated: bool


@dataclass
class SchemaState:
    # table key -> column name -> normalized type (None: the column exists, its type is unknown)
    columns: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # table key -> constraint name -> what it checks and whether it is validated
    checks: dict[str, dict[str, CheckFact]] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)  # created by a migration linted earlier
    dropped_tables: set[str] = field(default_factory=set)
    # function name (lower case; "schema.name" when created qualified outside public) ->
    # "immutable" | "stable" | "volatile", from CREATE / ALTER FUNCTION of earlier migrations
    functions: dict[str, str] = field(default_factory=dict)

    # --- questions the rules ask -------------------------------------------------------------

    def column_type(self, table: str | None, column: str | None, schema: str | None = None) -> str | None:
        return self.columns.get(table_key(table, schema), {}).get((column or "").lower())

    def learn_column_type(self, table: str | None, column: str | None, schema: str | None,
                          type_: str | None) -> None:
        """Record a column's type the source states (Alembic's existing_type) if the run has not
        declared it: what earlier migrations declared wins."""
        if column and type_ and self.column_type(table, column, schema) is None:
            self.columns.setdefault(table_key(table, schema), {})[column.lower()] = _normalize_type(type_)

    def has_validated_not_null_check(self, table: str | None, column: str | None,
                                     schema: str | None = None) -> bool:
        col = (column or "").lower()
        return any(
            c.validated and c.not_null_column == col
            for c in self.checks.get(table_key(table, schema), {}).values()
        )

    def has_unvalidated_not_null_check(self, table: str | None, column: str | None,
                                       schema: str | None = None) -> bool:
        col = (column or "").lower()
        return any(
            not c.validated and c.not_null_column == col
            for c in self.checks.get(table_key(table, schema), {}).values()
        )

    def function_volatility(self, name: str) -> str | None:
        """What CREATE / ALTER FUNCTION said of ``name`` ("schema.name" or "name")."""
        name = name.lower()
        found = self.functions.get(name)
        if found is None and "." in name:
            schema, _, bare = name.partition(".")
            found = self.functions.get(bare) if schema == "public" else None
        return found

    def has_validated_check(self, key: str) -> bool:
        """Some validated CHECK constraint on the table (by its table key) is known."""
        return any(c.validated for c in self.checks.get(key, {}).values())

    # --- reading one operation ---------------------------------------------------------------

    def apply(self, op: Operation) -> None:
        """Record what ``op`` changes. Unknown kinds change nothing, and neither does a
        rollback (a down migration is not a step of the forward history)."""
        if op.rollback:
            return
        handler = _APPLY.get(op.kind)
        if handler is not None:
            handler(self, op, table_key(op.table, op.schema))

    def _create_table(self, op: Operation, key: str) -> None:
        self.tables.add(key)
        self.dropped_tables.discard(key)
        self.columns[key] = {c.name.lower(): _normalize_type(c.type) for c in op.columns}
        self.checks[key] = {}
        for c in op.columns:
            if c.check_sql:  # an inline CHECK of CREATE TABLE is validated as it is created
                self.checks[key][f"{key}_{c.name}_check".lower()] = CheckFact(
                    c.name.lower() if c.check_not_null else None, True)
        if op.constraint is not None:
            self._add_constraint(key, op.constraint, created_valid=True)

    def _create_table_as(self, op: Operation, key: str) -> None:
        self.tables.add(key)
        self.dropped_tables.discard(key)
        self.columns.pop(key, None)

    def _drop_table(self, op: Operation, key: str) -> None:
        for name in op.names or [op.table]:
            k = table_key(name, op.schema) if "." not in (name or "") else table_key(
                name.split(".", 1)[1], name.split(".", 1)[0])
            self.columns.pop(k, None)
            self.checks.pop(k, None)
            self.tables.discard(k)
            self.dropped_tables.add(k)

    def _rename_table(self, op: Operation, key: str) -> None:
        if not op.new_name:
            return
        new = table_key(op.new_name, op.schema)
        for d in (self.columns, self.checks):
            if key in d:
                d[new] = d.pop(key)
        if key in self.tables:
            self.tables.discard(key)
            self.tables.add(new)

    def _add_column(self, op: Operation, key: str) -> None:
        cols = self.columns.setdefault(key, {})
        for c in op.columns:
            cols[c.name.lower()] = _normalize_type(c.type)

    def _drop_column(self, op: Operation, key: str) -> None:
        if not op.column:
            return
        self.columns.get(key, {}).pop(op.column.lower(), None)
        for name, fact in list(self.checks.get(key, {}).items()):
            if fact.not_null_column == op.column.lower():
                del self.checks[key][name]

    def _rename_column(self, op: Operation, key: str) -> None:
        cols = self.columns.get(key)
        if op.column and op.new_name and cols is not None and op.column.lower() in cols:
            cols[op.new_name.lower()] = cols.pop(op.column.lower())

    def _alter_column_type(self, op: Operation, key: str) -> None:
        if op.column:
            self.columns.setdefault(key, {})[op.column.lower()] = _normalize_type(op.new_type)

    def _add_constraint_op(self, op: Operation, key: str) -> None:
        if op.constraint is not None:
            self._add_constraint(key, op.constraint, created_valid=not op.constraint.not_valid)

    def _validate_constraint(self, op: Operation, key: str) -> None:
        fact = self.checks.get(key, {}).get(op.name.lower()) if op.name else None
        if fact is not None:
            fact.validated = True

    def _drop_constraint(self, op: Operation, key: str) -> None:
        for name in op.names or [op.name]:
            if name:
                self.checks.get(key, {}).pop(name.lower(), None)

    def _rename_constraint(self, op: Operation, key: str) -> None:
        checks = self.checks.get(key, {})
        if op.name and op.new_name and op.name.lower() in checks:
            checks[op.new_name.lower()] = checks.pop(op.name.lower())

    def _object(self, op: Operation, key: str) -> None:
        if op.object_type == "function":
            self._function(op)

    def _function(self, op: Operation) -> None:
        names = op.names or ([op.name] if op.name else [])
        keys = [table_key(n, op.schema) for n in names]
        if op.kind == "drop_object" or op.kind == "rename_object":
            moved = self.functions.pop(keys[0], None) if keys else None
            for k in keys[1:]:
                self.functions.pop(k, None)
            if op.kind == "rename_object" and moved and op.new_name:
                self.functions[table_key(op.new_name, op.schema)] = moved
        elif op.volatility and keys:
            self.functions[keys[0]] = op.volatility

    def _add_constraint(self, key: str, spec, *, created_valid: bool) -> None:
        if spec.type not in ("check", "not_null"):
            return
        col = spec.not_null_column or (spec.columns[0] if spec.type == "not_null" and spec.columns else None)
        name = (spec.name or f"{key}_{col or 'anon'}_check").lower()
        self.checks.setdefault(key, {})[name] = CheckFact(col.lower() if col else None, created_valid)

    # --- plain data --------------------------------------------------------------------------

    def copy(self) -> "SchemaState":
        return SchemaState.from_dict(self.to_dict())

    def to_dict(self) -> dict:
        return {
            "columns": {t: dict(sorted(c.items())) for t, c in sorted(self.columns.items())},
            "checks": {
                t: {n: {"not_null_column": f.not_null_column, "validated": f.validated}
                    for n, f in sorted(c.items())}
                for t, c in sorted(self.checks.items())
            },
            "tables": sorted(self.tables),
            "dropped_tables": sorted(self.dropped_tables),
            "functions": dict(sorted(self.functions.items())),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SchemaState":
        return cls(
            columns={t: dict(c) for t, c in data.get("columns", {}).items()},
            checks={
                t: {n: CheckFact(f.get("not_null_column"), bool(f.get("validated"))) for n, f in c.items()}
                for t, c in data.get("checks", {}).items()
            },
            tables=set(data.get("tables", [])),
            dropped_tables=set(data.get("dropped_tables", [])),
            functions=dict(data.get("functions", {})),
        )

    def digest(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


# What each operation kind does to the state (kinds not listed change nothing).
_APPLY = {
    "create_table": SchemaState._create_table,
    "create_table_as": SchemaState._create_table_as,
    "drop_table": SchemaState._drop_table,
    "rename_table": SchemaState._rename_table,
    "add_column": SchemaState._add_column,
    "drop_column": SchemaState._drop_column,
    "rename_column": SchemaState._rename_column,
    "alter_column_type": SchemaState._alter_column_type,
    "add_constraint": SchemaState._add_constraint_op,
    "validate_constraint": SchemaState._validate_constraint,
    "drop_constraint": SchemaState._drop_constraint,
    "rename_constraint": SchemaState._rename_constraint,
    "create_object": SchemaState._object,
    "alter_object": SchemaState._object,
    "drop_object": SchemaState._object,
    "rename_object": SchemaState._object,
}
