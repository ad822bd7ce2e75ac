"""What the backfill needs from the catalog: the table and columns exist, the key to walk (the
primary key unless one is given, which must be unique and NOT NULL), a cheap row estimate."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from ..errors import UsageError
from .spec import BackfillSpec


def resolve_key(conn: Connection, spec: BackfillSpec) -> tuple[str, ...]:
    """Check the table and columns exist; return the key to walk (the primary key unless given).
    Names are only ever looked up, never spliced: a crafted name is just a missing table."""
    insp = inspect(conn)
    where = spec.qualified_table
    if not insp.has_table(spec.table, schema=spec.schema):
        raise UsageError(f"backfill: table {where!r} does not exist")
    cols = {c["name"]: c for c in insp.get_columns(spec.table, schema=spec.schema)}
    missing = [c for c in spec.set if c not in cols]
    if missing:
        raise UsageError(f"backfill of {where!r}: no column(s) {', '.join(map(repr, missing))} "
                         f"(columns: {', '.join(cols)})")
    pk = tuple(insp.get_pk_constraint(spec.table, schema=spec.schema).get("constrained_columns") or ())
    if spec.key is None:
        if not pk:
            raise UsageError(f"backfill of {where!r}: the table has no primary key; pass key=[...] "
                             "naming NOT NULL columns with a unique index")
        return pk
    key = tuple(spec.key)
    missing = [k for k in key if k not in cols]
    if missing:
        raise UsageError(f"backfill of {where!r}: key column(s) {', '.join(map(repr, missing))} "
                         "do not exist")
    nullable = [k for k in key if cols[k].get("nullable", True) and k not in pk]
    if nullable:
        raise UsageError(f"backfill of {where!r}: key column(s) {', '.join(nullable)} may be NULL; "
                         "a keyset walk would skip those rows")
    uniques = [set(pk)] if pk else []
    uniques += [set(u["column_names"]) for u in insp.get_unique_constraints(spec.table, schema=spec.schema)]
    uniques += [set(i["column_names"]) for i in insp.get_indexes(spec.table, schema=spec.schema)
                if i.get("unique") and None not in i["column_names"]]
    if not any(u and u <= set(key) for u in uniques):
        raise UsageError(f"backfill of {where!r}: key {list(key)} is not unique (no primary key, "
                         "unique constraint or unique index within it)")
    return key


def table_literal(conn: Connection, spec: BackfillSpec) -> str:
    prep = conn.dialect.identifier_preparer
    return (prep.quote_schema(spec.schema) + "." if spec.schema else "") + prep.quote(spec.table)


def estimate_rows(conn: Connection, spec: BackfillSpec) -> int | None:
    """A cheap row count estimate for the ETA: the planner's on PostgreSQL, count(*) on SQLite."""
    table = table_literal(conn, spec)
    if conn.dialect.name == "postgresql":
        n = conn.execute(text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:t)"),
                         {"t": table}).scalar()
        if n is not None and n >= 0:
            return int(n)
        # never analysed: count, but never more than a million rows
        return int(conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1000000) s")).scalar())
    return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())
