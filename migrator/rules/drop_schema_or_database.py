NAME = "drop-schema-or-database"
SEVERITY = "error"
SUMMARY = "DROP SCHEMA / DROP DATABASE destroys everything in it in one statement."
WHY = """\
Dropping a schema (with CASCADE: and everything in it) or a database removes objects the
running release may still use, with no way to see from the migration which ones. Remove
objects one by one in contract migrations, each after no release uses it."""
FIX = "drop the individual tables/views/functions in contract migrations; drop the empty schema last, without CASCADE"
FIX_SQL = """\
-- contract, once nothing uses them
DROP TABLE legacy.orders;
DROP TABLE legacy.customers;
DROP SCHEMA legacy;  -- only if empty: fails instead of cascading"""
FIX_ALEMBIC = """\
op.drop_table("orders", schema="legacy")
op.drop_table("customers", schema="legacy")"""
BAD = ["DROP SCHEMA legacy CASCADE;", "DROP DATABASE analytics;"]
GOOD = ["DROP TABLE legacy.orders;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"drop_schema", "drop_database"})


def check(op, ctx):
    from migrator.rules._helpers import named

    if op.kind == "drop_schema":
        names = ", ".join(op.names or [op.name or op.schema or ""])
        extra = " and everything in it" if op.cascade else ""
        yield f"DROP SCHEMA {names} removes the schema{extra}; the running release may still use it"
    elif op.kind == "drop_database":
        yield f"DROP DATABASE{named(op.name)} removes a whole database from under the running release"
