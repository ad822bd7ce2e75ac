NAME = "constraint-without-not-valid"
SEVERITY = "error"
SUMMARY = "A CHECK or FOREIGN KEY added to an existing table without NOT VALID scans it under a blocking lock."
WHY = """\
Adding a CHECK constraint takes an ACCESS EXCLUSIVE lock and a FOREIGN KEY a SHARE ROW EXCLUSIVE
lock (on both tables); either is then held while PostgreSQL reads every row to validate it, so
writes (and for CHECK, reads) stop for the whole scan. With `NOT VALID` the constraint is added
instantly and enforced for new writes; `VALIDATE CONSTRAINT` later scans under a lock that lets
reads and writes continue. The same applies to an inline `REFERENCES` or `CHECK` on a column
added to an existing table. A NOT VALID constraint tightens what the running release may write,
so it belongs in a contract migration (unless it covers only columns added in this migration)."""
FIX = "ADD CONSTRAINT ... NOT VALID (contract), then VALIDATE CONSTRAINT in a separate transaction"
FIX_SQL = """\
-- contract migration 1
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;
-- contract migration 2 (a separate transaction)
ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;"""
FIX_ALEMBIC = """\
op.create_foreign_key("orders_customer_fk", "orders", "customers", ["customer_id"], ["id"],
                      postgresql_not_valid=True)
# next revision:
op.execute("ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk")"""
BAD = [
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id);",
    "ALTER TABLE orders ADD CONSTRAINT orders_amount_positive CHECK (amount > 0);",
    "ALTER TABLE orders ADD COLUMN customer_id bigint REFERENCES customers (id);",
]
GOOD = [
    "ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id) NOT VALID;",
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_fk;",
    "CREATE TABLE payments (id bigint PRIMARY KEY, order_id bigint);\n"
    "ALTER TABLE payments ADD CONSTRAINT payments_order_fk FOREIGN KEY (order_id) REFERENCES orders (id);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_constraint", "add_column"})


def check(op, ctx):
    from migrator.rules._helpers import added_columns, article, named, table_name

    if op.kind == "add_constraint" and op.constraint is not None and not op.table_created_here:
        c = op.constraint
        if c.type in ("check", "foreign_key") and not c.not_valid:
            what = "FOREIGN KEY" if c.type == "foreign_key" else "CHECK"
            lock = "SHARE ROW EXCLUSIVE (no writes)" if c.type == "foreign_key" else "ACCESS EXCLUSIVE (no reads or writes)"
            yield (f"adding {what}{named(c.name)} to existing table {table_name(op)} without NOT VALID "
                   f"holds {article(lock)} {lock} lock while every row is scanned")
    for col in added_columns(op, ctx):
        if col.references:
            yield (f"column {col.name} REFERENCES {col.references} on existing table {table_name(op)}: "
                   "the foreign key is validated by a full scan under a lock that blocks writes")
        if col.check_sql:
            yield (f"column {col.name} with an inline CHECK on existing table {table_name(op)}: "
                   "every row is checked under an ACCESS EXCLUSIVE lock")
