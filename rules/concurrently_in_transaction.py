NAME = "concurrently-in-transaction"
SEVERITY = "error"
SUMMARY = "CONCURRENTLY cannot run inside a transaction block: the migration fails."
WHY = """\
`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY` and `REINDEX CONCURRENTLY` refuse to run
inside a transaction block (`ERROR: ... cannot run inside a transaction block`). Alembic runs
every revision in a transaction unless the statement sits inside `autocommit_block()`, and a
`.sql` file wrapped by the runner (or written between BEGIN and COMMIT) is one transaction."""
FIX = "run it outside the transaction: Alembic autocommit_block(), or a .sql file that is not wrapped (after COMMIT)"
FIX_SQL = """\
-- not between BEGIN and COMMIT, and in a file the runner does not wrap:
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.create_index("orders_customer_id_idx", "orders", ["customer_id"],
                    postgresql_concurrently=True)"""
BAD = [
    "BEGIN;\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);\nCOMMIT;",
    "CREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
]
GOOD = ["COMMIT;\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"create_index", "drop_index", "reindex"})


def check(op, ctx):
    if op.kind in ("create_index", "drop_index", "reindex") and op.concurrently and ctx.in_transaction(op):
        verb = {"create_index": "CREATE INDEX", "drop_index": "DROP INDEX", "reindex": "REINDEX"}[op.kind]
        yield (f"{verb} CONCURRENTLY runs inside a transaction block here: PostgreSQL refuses it "
               "and the migration fails")
