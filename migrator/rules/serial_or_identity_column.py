NAME = "serial-or-identity-column"
SEVERITY = "error"
SUMMARY = "Adding a serial or identity column to an existing table rewrites it under an ACCESS EXCLUSIVE lock."
WHY = """\
A `serial` / `bigserial` column defaults to `nextval()` and an identity column generates a value
per row: PostgreSQL fills every existing row, rewriting the table while holding an ACCESS
EXCLUSIVE lock (no reads, no writes)."""
FIX = "add a nullable bigint, attach a sequence as its default, backfill in batches, then add the constraint you need"
FIX_SQL = """\
-- expand
CREATE SEQUENCE orders_number_seq;
ALTER TABLE orders ADD COLUMN number bigint;
ALTER TABLE orders ALTER COLUMN number SET DEFAULT nextval('orders_number_seq');
-- batched backfill:
UPDATE orders SET number = nextval('orders_number_seq') WHERE id BETWEEN 1 AND 10000 AND number IS NULL;"""
FIX_ALEMBIC = """\
op.execute("CREATE SEQUENCE orders_number_seq")
op.add_column("orders", sa.Column("number", sa.BigInteger(), nullable=True))
op.alter_column("orders", "number", server_default=sa.text("nextval('orders_number_seq')"))"""
BAD = [
    "ALTER TABLE orders ADD COLUMN number bigserial;",
    "ALTER TABLE orders ADD COLUMN number bigint GENERATED ALWAYS AS IDENTITY;",
]
GOOD = [
    "CREATE SEQUENCE orders_number_seq;\nALTER TABLE orders ADD COLUMN number bigint;",
    "CREATE TABLE invoices (id bigserial PRIMARY KEY);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_column"})


def check(op, ctx):
    from migrator.rules._helpers import added_columns, table_name

    for col in added_columns(op, ctx):
        if col.serial or col.identity:
            what = "serial" if col.serial else "identity"
            yield (f"{what} column {col.name} on existing table {table_name(op)}: a value is generated "
                   "for every row, rewriting the table under an ACCESS EXCLUSIVE lock")
