NAME = "not-null-without-default"
SEVERITY = "error"
SUMMARY = "Adding a NOT NULL column without a default to an existing table fails or breaks the running release."
WHY = """\
On a table with rows, `ADD COLUMN ... NOT NULL` without a default fails outright. On an empty
one it succeeds, and then every INSERT of the release still running (which does not know the
column) fails with a not-null violation.

The same happens when a migration adds the column NOT NULL with a default and then drops the
default (Django does this for every new field with a default): the migration is still expand,
since dropping the default of a column added in the same migration removes nothing the running
release had, but a warning says that its INSERTs now fail. Keep the default until the contract
phase and drop it there."""
FIX = "add the column nullable (or NOT NULL with a constant default), backfill, then tighten in contract"
FIX_SQL = """\
-- expand
ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';   -- instant since PG 11
-- or nullable + backfill, then the NOT NULL recipe in contract:
ALTER TABLE users ADD COLUMN status text;"""
FIX_ALEMBIC = """\
op.add_column("users", sa.Column("status", sa.Text(), nullable=False, server_default="active"))"""
BAD = ["ALTER TABLE users ADD COLUMN status text NOT NULL;"]
GOOD = [
    "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'active';",
    "ALTER TABLE users ADD COLUMN status text;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_column", "drop_default"})


def check(op, ctx):
    from migrator.rules._helpers import added_columns, table_name

    if op.kind == "drop_default":
        yield from _dropped_default(op, ctx)

    for col in added_columns(op, ctx):
        if col.not_null and not col.has_default and not (col.serial or col.identity or col.generated_stored):
            yield (f"NOT NULL column {col.name} without a default on existing table {table_name(op)}: "
                   "fails if the table has rows, and the running release's INSERTs fail if not")


def _dropped_default(op, ctx):
    from migrator.model import table_key
    from migrator.model import Finding, Severity
    from migrator.rules._helpers import column_ref

    if op.table and op.column and (table_key(op.table, op.schema), op.column.lower()) in ctx.added_not_null:
        yield Finding(NAME, Severity.WARNING, op.loc,
                      f"{column_ref(op)} was added NOT NULL earlier in this migration: without its "
                      "default, the running release's INSERTs (which do not name it) fail with a "
                      "not-null violation; keep the default until the contract phase", FIX)
