NAME = "drop-index-non-concurrently"
SEVERITY = "error"
SUMMARY = "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table."
WHY = """\
A plain `DROP INDEX` takes an ACCESS EXCLUSIVE lock on the index's table. It is quick once it
has the lock, but it queues behind every running query on the table and every query queues
behind it: one slow report turns into an outage. `DROP INDEX CONCURRENTLY` waits for
conflicting transactions without blocking new ones."""
FIX = "DROP INDEX CONCURRENTLY, outside a transaction block, in a contract migration"
FIX_SQL = """\
-- contract, outside BEGIN ... COMMIT
DROP INDEX CONCURRENTLY IF EXISTS orders_legacy_idx;"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.drop_index("orders_legacy_idx", table_name="orders",
                  postgresql_concurrently=True, if_exists=True)"""
BAD = ["DROP INDEX orders_legacy_idx;"]
GOOD = ["COMMIT;\nDROP INDEX CONCURRENTLY orders_legacy_idx;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"drop_index", "drop_object"})


def check(op, ctx):
    if op.kind == "drop_index" or (op.kind == "drop_object" and op.object_type == "index"):
        if op.concurrently:
            return
        names = [n.lower() for n in (op.names or [op.name]) if n]
        if names and all(n.split(".")[-1] in ctx.created_indexes for n in names):
            return  # created earlier in this migration: nobody depends on it yet
        if op.if_exists and names and all(n.split(".")[-1] in ctx.dropped_constraints for n in names):
            return  # the index of a constraint dropped earlier here is gone: IF EXISTS, a no-op
        yield (f"DROP INDEX {', '.join(names) or ''} without CONCURRENTLY takes an ACCESS EXCLUSIVE "
               "lock on the table: it waits behind running queries and blocks every query behind it")
