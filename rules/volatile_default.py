NAME = "volatile-default"
SEVERITY = "error"
SUMMARY = "ADD COLUMN with a volatile default rewrites the table under an ACCESS EXCLUSIVE lock."
WHY = """\
Since PostgreSQL 11 `ADD COLUMN ... DEFAULT <constant or stable expression>` is instant: the
default is stored once. A volatile default (`gen_random_uuid()`, `clock_timestamp()`,
`random()`, `nextval()`, ...) must be computed per existing row, so PostgreSQL rewrites the
whole table holding an ACCESS EXCLUSIVE lock. Before PostgreSQL 11 every default rewrites."""
FIX = "add the column without a default (or with a constant), SET DEFAULT separately, backfill existing rows in batches"
FIX_SQL = """\
-- expand
ALTER TABLE users ADD COLUMN public_id uuid;
ALTER TABLE users ALTER COLUMN public_id SET DEFAULT gen_random_uuid();  -- new rows only
-- batched backfill:
UPDATE users SET public_id = gen_random_uuid() WHERE id BETWEEN 1 AND 10000 AND public_id IS NULL;"""
FIX_ALEMBIC = """\
op.add_column("users", sa.Column("public_id", sa.Uuid(), nullable=True))
op.alter_column("users", "public_id", server_default=sa.text("gen_random_uuid()"))
# then: migrator backfill (batched UPDATE ... WHERE public_id IS NULL)"""
BAD = [
    "ALTER TABLE users ADD COLUMN public_id uuid DEFAULT gen_random_uuid();",
    "ALTER TABLE events ADD COLUMN seen_at timestamptz NOT NULL DEFAULT clock_timestamp();",
]
GOOD = [
    "ALTER TABLE users ADD COLUMN public_id uuid;\n"
    "ALTER TABLE users ALTER COLUMN public_id SET DEFAULT gen_random_uuid();",
    "ALTER TABLE events ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
    "CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid());",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_column"})


def check(op, ctx):
    from migrator.model import Finding, Severity
    from migrator.pgfacts import FAST_DEFAULT_SINCE, unseen_calls
    from migrator.rules._helpers import added_columns, table_name

    for col in added_columns(op, ctx):
        if col.serial or col.identity or col.generated_stored:
            continue  # their own rules
        if col.default_volatile:
            yield (f"column {col.name} on existing table {table_name(op)} has a volatile default "
                   f"({col.default_sql or '?'}): every row is rewritten under an ACCESS EXCLUSIVE lock")
        elif unseen_calls(col.default_sql):
            # The function's volatility cannot be seen from the migration: not provably safe.
            yield Finding(NAME, Severity.WARNING, op.loc,
                          f"column {col.name} on existing table {table_name(op)} has a default calling "
                          f"{', '.join(unseen_calls(col.default_sql))}(), whose volatility the linter "
                          "cannot see: if it is VOLATILE every row is rewritten under an ACCESS "
                          "EXCLUSIVE lock (check pg_proc.provolatile; suppress with the reason)", FIX)
        elif col.has_default and ctx.server_version < FAST_DEFAULT_SINCE:
            yield (f"column {col.name} on existing table {table_name(op)} has a default: before "
                   f"PostgreSQL {FAST_DEFAULT_SINCE} that rewrites the table under an ACCESS EXCLUSIVE lock")
