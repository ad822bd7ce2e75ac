NAME = "rename-column"
SEVERITY = "error"
SUMMARY = "Renaming a column breaks the release that is still running."
WHY = """\
`ALTER TABLE ... RENAME COLUMN` is instant, but every query of the release still running (and of
the release an instant rollback would bring back) names the old column: from the moment the
migration commits, those queries fail with `column "..." does not exist`. There is no phase in
which a rename is safe, because the old and the new code never agree on one name."""
FIX = "add the new column (expand), write both and backfill, switch reads, drop the old column (contract)"
FIX_SQL = """\
-- expand (release N): add the new column and keep it in sync
ALTER TABLE users ADD COLUMN full_name text;
-- + a trigger or the application writing both columns, then a batched backfill:
UPDATE users SET full_name = name WHERE id BETWEEN 1 AND 10000;   -- repeat per batch
-- release N reads and writes full_name
-- contract (release N+1, after no release N-1 runs):
ALTER TABLE users DROP COLUMN name;"""
FIX_ALEMBIC = """\
# expand revision (phase = "expand")
op.add_column("users", sa.Column("full_name", sa.Text(), nullable=True))
# backfill in batches (migrator backfill), then in a later contract revision:
op.drop_column("users", "name")"""
BAD = ["ALTER TABLE users RENAME COLUMN name TO full_name;"]
GOOD = [
    "ALTER TABLE users ADD COLUMN full_name text;",
    "CREATE TABLE accounts (id bigint PRIMARY KEY, nm text);\nALTER TABLE accounts RENAME COLUMN nm TO name;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"rename_column"})


def check(op, ctx):
    if op.kind == "rename_column" and not op.table_created_here:
        from migrator.rules._helpers import column_ref

        yield (f"renaming column {column_ref(op)} to {op.new_name}: the running release still "
               "reads and writes the old name and fails as soon as this commits")
