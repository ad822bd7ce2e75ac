NAME = "volatile-default"
SEVERITY = "error"
SUMMARY = "ADD COLUMN with a volatile default rewrites the table under an ACCESS EXCLUSIVE lock."
WHY = """\
Since PostgreSQL 11 `ADD COLUMN ... DEFAULT <constant or stable expression>` is instant: the
default is stored once. A volatile default (`gen_random_uuid()`, `clock_timestamp()`,
`random()`, `nextval()`, ...) must be computed per existing row, so PostgreSQL rewrites the
whole table holding an ACCESS EXCLUSIVE lock. Before PostgreSQL 11 every default rewrites.

A default calling a function that is not built into PostgreSQL (a user-defined or extension
function) is judged by that function's volatility, learned from its `CREATE FUNCTION ...
IMMUTABLE | STABLE | VOLATILE` (or `ALTER FUNCTION`) in an earlier migration of the run or in
the same one (no volatility word means VOLATILE, PostgreSQL's default), or from the
configuration: `[tool.migrator] functions = {my_func = "stable"}`. When neither says, the
default is rejected: an unknown fact is assumed unsafe."""
FIX = ("add the column without a default (or with a constant), SET DEFAULT separately, backfill existing rows "
       "in batches; a function of yours that is IMMUTABLE or STABLE: say so (CREATE/ALTER FUNCTION ... STABLE "
       "in an earlier migration, or [tool.migrator] functions = {name = \"stable\"})")
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
    "ALTER TABLE users ADD COLUMN region text DEFAULT default_region();",
]
GOOD = [
    "ALTER TABLE users ADD COLUMN public_id uuid;\n"
    "ALTER TABLE users ALTER COLUMN public_id SET DEFAULT gen_random_uuid();",
    "ALTER TABLE events ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();",
    "CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid());",
    "ALTER FUNCTION default_region() STABLE;\n"
    "-- next migration\n"
    "ALTER TABLE users ADD COLUMN region text NOT NULL DEFAULT default_region();",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_column"})


def check(op, ctx):
    from migrator.pgfacts import FAST_DEFAULT_SINCE, unseen_calls
    from migrator.rules._helpers import added_columns, table_name

    for col in added_columns(op, ctx):
        if col.serial or col.identity or col.generated_stored:
            continue  # their own rules
        where = f"column {col.name} on existing table {table_name(op)}"
        if col.default_volatile:
            yield (f"{where} has a volatile default ({col.default_sql or '?'}): every row is "
                   "rewritten under an ACCESS EXCLUSIVE lock")
            continue
        learned = [(name, *ctx.function_volatility(name)) for name in unseen_calls(col.default_sql)]
        volatile = [f"{n}() (VOLATILE, from {src})" for n, v, src in learned if v == "volatile"]
        unknown = [f"{n}()" for n, v, _ in learned if v is None]
        if volatile:
            yield (f"{where} has a default calling {', '.join(volatile)}: every row is rewritten "
                   "under an ACCESS EXCLUSIVE lock")
        elif unknown:
            # Unknown is assumed unsafe: if the function is VOLATILE the table is rewritten.
            names = ", ".join(unknown)
            first = unknown[0][:-2]
            yield (f"{where} has a default calling {names}, whose volatility the linter cannot "
                   "see (a user-defined or extension function): if it is VOLATILE every row is "
                   "rewritten under an ACCESS EXCLUSIVE lock. If it is IMMUTABLE or STABLE, declare "
                   f"it: CREATE or ALTER FUNCTION {first}(...) STABLE in an earlier migration, or "
                   f"[tool.migrator] functions = {{{_toml_key(first)} = \"stable\"}}; if not, add "
                   "the column without that default and backfill")
        elif col.has_default and ctx.server_version < FAST_DEFAULT_SINCE:
            yield (f"{where} has a default: before PostgreSQL {FAST_DEFAULT_SINCE} that rewrites "
                   "the table under an ACCESS EXCLUSIVE lock")


def _toml_key(name: str) -> str:
    """A function name as a TOML key (schema-qualified names are quoted)."""
    return f'"{name}"' if "." in name else name
