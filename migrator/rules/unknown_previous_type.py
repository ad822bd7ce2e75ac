NAME = "unknown-previous-type"
SEVERITY = "error"
SUMMARY = "A column type change whose previous type was not seen cannot be proven safe."
WHY = """\
Only binary-coercible type changes avoid a table rewrite under an ACCESS EXCLUSIVE lock, and
whether a change is binary-coercible depends on the type the column had before. The linter
learns it from the earlier migrations of the same run (CREATE TABLE, ADD COLUMN, an earlier
ALTER TYPE). When none of them declared the column, the linter assumes the unsafe case."""
FIX = "lint this migration together with the migration that created the column, or suppress with the previous type as the reason"
FIX_SQL = """\
-- lint all migrations together so the column's creation is seen:
--   migrator lint migrations/
-- or, when the previous type is known to be varchar(100):
-- migrator: ignore[unknown-previous-type] email was varchar(100) (0001_users.sql, pruned)
ALTER TABLE users ALTER COLUMN email TYPE varchar(200);"""
FIX_ALEMBIC = """\
# migrator: ignore[unknown-previous-type] email was String(100) in the squashed baseline
op.alter_column("users", "email", type_=sa.String(200), existing_type=sa.String(100))"""
BAD = ["ALTER TABLE users ALTER COLUMN email TYPE varchar(200);"]
GOOD = [
    "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100));\n-- next migration\n"
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"alter_column_type"})


def check(op, ctx):
    if op.kind != "alter_column_type" or op.table_created_here or op.using:
        return
    if ctx.state.column_type(op.table, op.column, op.schema) is None:
        from migrator.rules._helpers import column_ref

        yield (f"cannot see the previous type of {column_ref(op)} (no earlier migration in this "
               f"run declares it), so changing it to {op.new_type or '?'} is assumed to rewrite "
               "the table under an ACCESS EXCLUSIVE lock")
