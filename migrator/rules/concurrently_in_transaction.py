NAME = "concurrently-in-transaction"
SEVERITY = "error"
SUMMARY = "CONCURRENTLY cannot run inside a transaction block: the migration fails."
WHY = """\
`CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` and
`ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY` refuse to run inside a transaction block
(`ERROR: ... cannot run inside a transaction block`). Alembic runs every revision in a transaction unless the statement sits inside `autocommit_block()`, and a `.sql` file wrapped by the runner (or written between BEGIN and COMMIT) is one transaction.
When a `.sql` file does not say how its runner runs it (no `-- migrator: transaction=...`
header, no tool marker such as goose's `-- +goose NO TRANSACTION`, no `sql_transaction`
setting), the statement is only a warning: PostgreSQL refuses it loudly and nothing is harmed,
so the warning says how to declare the mode."""
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
KINDS = frozenset({"create_index", "drop_index", "reindex", "detach_partition"})

# REFRESH MATERIALIZED VIEW CONCURRENTLY may run in a transaction block: not here.
_VERBS = {"create_index": "CREATE INDEX", "drop_index": "DROP INDEX", "reindex": "REINDEX",
          "detach_partition": "DETACH PARTITION"}


def check(op, ctx):
    from migrator.model import Finding, Severity

    verb = _VERBS.get(op.kind)
    if verb is None or not op.concurrently or not ctx.in_transaction(op):
        return
    if ctx.transaction_assumed and not ctx.explicit_block:
        # The file does not say how it is run: PostgreSQL refuses the statement loudly if it
        # is wrapped, and harms nothing, so say how to declare the mode instead of rejecting.
        yield Finding(NAME, Severity.WARNING, op.loc,
                      f"{verb} CONCURRENTLY cannot run inside a transaction block, and this file "
                      "does not say whether its runner wraps it in one: declare it "
                      "(-- migrator: transaction=false, your tool's no-transaction marker, or "
                      "[tool.migrator] sql_transaction = \"statement\")", FIX)
        return
    yield (f"{verb} CONCURRENTLY runs inside a transaction block here: PostgreSQL refuses it "
           "and the migration fails")
