NAME = "change-column-type"
SEVERITY = "error"
SUMMARY = "Changing a column's type rewrites or scans the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`ALTER COLUMN ... TYPE` holds an ACCESS EXCLUSIVE lock (no reads, no writes) while PostgreSQL
rewrites the whole table and its indexes, unless the change is binary-coercible
(`varchar(n)` -> `varchar(m > n)`, `varchar` -> `text`, `numeric(p,s)` -> `numeric(q > p,s)`,
dropping a length limit). Even without a rewrite, a narrowing change scans every row, and the
running release may write values the new type rejects. A `USING` clause is treated as a
rewrite, unless it only casts the column to the new type (`USING col::new_type`, which Django
writes on every type change): PostgreSQL applies that same coercion without it. Which changes
avoid the rewrite was checked on PostgreSQL 15 for every built-in type family: also the
temporal and interval precision raises (`timestamp(3)` -> `timestamp`, `interval(3)` ->
`interval`), `cidr` -> `inet`, `bit(n)` -> `varbit`, `xml` -> `text`, and `citext` <-> `text`.
`timestamp` <-> `timestamptz` skips the rewrite only when the session's TimeZone is UTC, which
the linter cannot know: it is reported."""
FIX = "add a new column of the new type (expand), dual-write and backfill in batches, switch reads, drop the old column (contract)"
FIX_SQL = """\
-- expand
ALTER TABLE orders ADD COLUMN amount_cents bigint;
-- sync trigger or dual writes, then batched backfill:
UPDATE orders SET amount_cents = amount * 100 WHERE id BETWEEN 1 AND 10000;
-- contract, once no release reads the old column
ALTER TABLE orders DROP COLUMN amount;"""
FIX_ALEMBIC = """\
# expand revision
op.add_column("orders", sa.Column("amount_cents", sa.BigInteger(), nullable=True))
# widening that is binary-coercible is fine as is:
op.alter_column("users", "email", type_=sa.String(320), existing_type=sa.String(254))"""
BAD = [
    "ALTER TABLE orders ADD COLUMN amount int;\nALTER TABLE orders ALTER COLUMN amount TYPE bigint;",
    "ALTER TABLE users ALTER COLUMN email TYPE citext USING lower(email)::citext;",
]
GOOD = [
    "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100));\n"
    "-- next migration\n"
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);",
    "ALTER TABLE users ADD COLUMN nickname varchar(20);\n"
    "ALTER TABLE users ALTER COLUMN nickname TYPE text;",
]

# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"alter_column_type"})


def check(op, ctx):
    if op.kind != "alter_column_type" or op.table_created_here:
        return
    from migrator.pgfacts import is_binary_coercible
    from migrator.rules._helpers import column_ref

    new = op.new_type or "?"
    if op.using:
        yield (f"changing {column_ref(op)} to {new} USING an expression rewrites the table "
               "under an ACCESS EXCLUSIVE lock (no reads or writes until it finishes)")
        return
    old = ctx.state.column_type(op.table, op.column, op.schema)
    if old is None:
        return  # unknown-previous-type says what could not be seen
    coercible = is_binary_coercible(old, op.new_type)
    if coercible is False:
        yield (f"changing {column_ref(op)} from {old} to {new} is not binary-coercible: the table "
               "is rewritten (or every row checked) under an ACCESS EXCLUSIVE lock, and the running "
               "release may write values the new type rejects")
    elif coercible is None:
        yield (f"changing {column_ref(op)} from {old} to {new}: cannot prove the change is "
               "binary-coercible, so assume a rewrite under an ACCESS EXCLUSIVE lock")
