NAME = "stored-generated-column"
SEVERITY = "error"
SUMMARY = "Adding a STORED generated column to an existing table (or changing its expression) rewrites it under an ACCESS EXCLUSIVE lock."
WHY = """\
`ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` computes and stores the value for every
existing row: a full table rewrite holding an ACCESS EXCLUSIVE lock (no reads, no writes).
`ALTER COLUMN ... SET EXPRESSION AS (...)` (PostgreSQL 17) recomputes every row the same way.
(`DROP EXPRESSION` keeps the stored values and does not rewrite: it is a contract operation, as
the running release's inserts no longer get the value computed.)"""
FIX = "add a plain nullable column, fill it with a trigger for new rows and a batched backfill for old ones"
FIX_SQL = """\
-- expand
ALTER TABLE orders ADD COLUMN total_cents bigint;
CREATE FUNCTION orders_total_cents() RETURNS trigger AS $$
BEGIN NEW.total_cents := NEW.quantity * NEW.price_cents; RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER orders_total_cents BEFORE INSERT OR UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_total_cents();
-- then a batched backfill of existing rows"""
FIX_ALEMBIC = """\
op.add_column("orders", sa.Column("total_cents", sa.BigInteger(), nullable=True))
op.execute(TRIGGER_SQL)  # as in the SQL recipe; then migrator backfill"""
BAD = [
    "ALTER TABLE orders ADD COLUMN total_cents bigint GENERATED ALWAYS AS (quantity * price_cents) STORED;",
    "ALTER TABLE orders ALTER COLUMN total_cents SET EXPRESSION AS (quantity * price_cents + 1);",
]
GOOD = [
    "ALTER TABLE orders ADD COLUMN total_cents bigint;",
    "CREATE TABLE lines (q int, p int, total int GENERATED ALWAYS AS (q * p) STORED);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_column", "set_generated_expression"})


def check(op, ctx):
    from migrator.rules._helpers import added_columns, table_name

    for col in added_columns(op, ctx):
        if col.generated_stored:
            yield (f"stored generated column {col.name} on existing table {table_name(op)}: every row "
                   "is computed and rewritten under an ACCESS EXCLUSIVE lock")
    if op.kind == "set_generated_expression" and not op.table_created_here:
        yield (f"SET EXPRESSION on {table_name(op)}.{op.column}: every row is recomputed and "
               "rewritten under an ACCESS EXCLUSIVE lock")
