NAME = "cluster"
SEVERITY = "error"
SUMMARY = "CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`CLUSTER` rewrites the table in index order while holding an ACCESS EXCLUSIVE lock: no reads or
writes until it finishes."""
FIX = "use pg_repack --order-by to reorder online, outside migrations"
FIX_SQL = """\
-- outside the migration, online:
-- pg_repack --table orders --order-by created_at"""
FIX_ALEMBIC = """\
# no CLUSTER in the revision; reorder online with pg_repack as an operations task,
# and at most refresh statistics here:
op.execute("ANALYZE orders")"""
BAD = ["CLUSTER orders USING orders_created_at_idx;"]
GOOD = ["ANALYZE orders;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"cluster"})


def check(op, ctx):
    if op.kind == "cluster" and not op.table_created_here:
        yield (f"CLUSTER {op.table or ''} rewrites the table under an ACCESS EXCLUSIVE lock "
               "(no reads or writes until it finishes)")
