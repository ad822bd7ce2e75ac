NAME = "reindex-non-concurrently"
SEVERITY = "error"
SUMMARY = "REINDEX without CONCURRENTLY blocks writes (and reads that use the index)."
WHY = """\
`REINDEX` locks out writes to the table and reads that would use the index for the whole
rebuild. `REINDEX ... CONCURRENTLY` (PostgreSQL 12+) builds a new index alongside the old one
and swaps them with only brief locks."""
FIX = "REINDEX INDEX CONCURRENTLY (PostgreSQL 12+), outside a transaction block"
FIX_SQL = """\
REINDEX INDEX CONCURRENTLY orders_customer_id_idx;
-- before PostgreSQL 12: CREATE INDEX CONCURRENTLY a copy, DROP INDEX CONCURRENTLY the old one"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.execute("REINDEX INDEX CONCURRENTLY orders_customer_id_idx")"""
BAD = ["REINDEX INDEX orders_customer_id_idx;", "REINDEX TABLE orders;"]
GOOD = ["COMMIT;\nREINDEX INDEX CONCURRENTLY orders_customer_id_idx;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"reindex"})


def check(op, ctx):
    if op.kind == "reindex" and not op.concurrently:
        target = op.name or op.table or ""
        yield (f"REINDEX {target} without CONCURRENTLY blocks writes to the table (and reads "
               "through the index) for the whole rebuild")
