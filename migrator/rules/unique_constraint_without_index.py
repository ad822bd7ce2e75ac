NAME = "unique-constraint-without-index"
SEVERITY = "error"
SUMMARY = "A UNIQUE or PRIMARY KEY constraint on an existing table builds its index under an ACCESS EXCLUSIVE lock."
WHY = """\
`ADD CONSTRAINT ... UNIQUE` / `PRIMARY KEY` (or an inline `UNIQUE` / `PRIMARY KEY` on an added
column) builds the index while holding an ACCESS EXCLUSIVE lock: no reads or writes for the
whole build. Build the index concurrently first, then attach it with `USING INDEX`, which is
instant. Both steps tighten what the running release may write (duplicates now fail), so they
are contract operations."""
FIX = "CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... UNIQUE USING INDEX (contract)"
FIX_SQL = """\
-- contract, outside a transaction block
CREATE UNIQUE INDEX CONCURRENTLY users_email_key ON users (email);
-- then (may be in a transaction)
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.create_index("users_email_key", "users", ["email"], unique=True,
                    postgresql_concurrently=True)
op.execute("ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key")"""
BAD = [
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);",
    "ALTER TABLE users ADD PRIMARY KEY (id);",
]
GOOD = [
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_key;",
    "CREATE TABLE tags (id bigint, name text);\nALTER TABLE tags ADD CONSTRAINT tags_name_key UNIQUE (name);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_constraint", "add_column"})


def check(op, ctx):
    from migrator.rules._helpers import added_columns, named, table_name

    if op.kind == "add_constraint" and op.constraint is not None and not op.table_created_here:
        c = op.constraint
        if c.type in ("unique", "primary_key") and not c.using_index:
            what = "PRIMARY KEY" if c.type == "primary_key" else "UNIQUE"
            yield (f"adding {what}{named(c.name)} to existing table {table_name(op)} builds its index "
                   "under an ACCESS EXCLUSIVE lock (no reads or writes until it is built)")
    for col in added_columns(op, ctx):
        if col.unique or col.primary_key:
            what = "PRIMARY KEY" if col.primary_key else "UNIQUE"
            yield (f"column {col.name} {what} on existing table {table_name(op)} builds an index "
                   "under an ACCESS EXCLUSIVE lock")
