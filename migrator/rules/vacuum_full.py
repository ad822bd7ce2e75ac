NAME = "vacuum-full"
SEVERITY = "error"
SUMMARY = "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`VACUUM FULL` copies the whole table into a new file while holding an ACCESS EXCLUSIVE lock: no
reads or writes until it finishes. It also cannot run inside a transaction block."""
FIX = "plain VACUUM (no lock against reads/writes), or pg_repack to reclaim space online"
FIX_SQL = """\
VACUUM (ANALYZE) orders;
-- to reclaim space without blocking: pg_repack --table orders"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.execute("VACUUM (ANALYZE) orders")"""
BAD = ["VACUUM FULL orders;"]
GOOD = ["COMMIT;\nVACUUM ANALYZE orders;"]


def check(op, ctx):
    if op.kind == "vacuum_full" and not op.table_created_here:
        yield (f"VACUUM FULL {op.table or ''} rewrites the table under an ACCESS EXCLUSIVE lock "
               "(no reads or writes until it finishes)")
