NAME = "validate-in-locking-transaction"
SEVERITY = "error"
SUMMARY = "VALIDATE CONSTRAINT in a transaction that already holds a blocking lock on the table."
WHY = """\
`VALIDATE CONSTRAINT` scans the table under a SHARE UPDATE EXCLUSIVE lock that lets reads and
writes continue, which is why it is safe on its own. But inside a transaction that already
took a stronger lock on the table (the `ADD CONSTRAINT ... NOT VALID` just before it takes
ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE for a foreign key), that lock is held for the
whole scan: traffic stops exactly as if NOT VALID had not been used.

Whether a `.sql` file runs in one transaction comes from its `-- migrator: transaction=...`
header, else its migration tool's marker or default (goose, dbmate, Flyway `.conf`, diesel
`metadata.toml`, sqlx `-- no-transaction`, popx `.autocommit.`), else `[tool.migrator]
sql_transaction = "file" | "statement"`. When nothing says, the file is judged as one
transaction (most runners wrap a file in one), and so are a wrapped file's statements before
its first `COMMIT`. The JSON report says, per file, which mode was assumed and why."""
FIX = "validate in a separate migration (or after COMMIT / outside the transaction that added the constraint)"
FIX_SQL = """\
-- migration 1
ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;
-- migration 2
ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;"""
FIX_ALEMBIC = """\
op.create_check_constraint("orders_amount_positive", "orders", "amount > 0",
                           postgresql_not_valid=True)
# a separate revision:
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive")"""
BAD = [
    "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;",
]
GOOD = [
    "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\n"
    "-- next migration\n"
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;",
    "BEGIN;\nALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0) NOT VALID;\n"
    "COMMIT;\nALTER TABLE orders VALIDATE CONSTRAINT orders_amount_positive;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"validate_constraint"})


def check(op, ctx):
    if op.kind != "validate_constraint" or op.table_created_here or not ctx.in_transaction(op):
        return
    from migrator.pgfacts import SHARE

    held = ctx.holds_lock(op.table, op.schema, SHARE)
    if held:
        from migrator.rules._helpers import named, table_name

        yield (f"VALIDATE CONSTRAINT{named(op.name)} runs in a transaction that already holds "
               f"{held} on {table_name(op)}: that lock is kept for the whole validation scan")
