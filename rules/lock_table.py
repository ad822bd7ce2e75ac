NAME = "lock-table"
SEVERITY = "error"
SUMMARY = "LOCK TABLE holds a heavy lock on a live table until the migration commits."
WHY = """\
An explicit `LOCK TABLE` (ACCESS EXCLUSIVE by default) blocks the running release's queries on
the table for the rest of the migration's transaction, and queues behind every running query
first. Migrations should take only the locks their statements need, briefly, with a
lock_timeout."""
FIX = "remove the LOCK; keep each DDL statement short and set lock_timeout so it gives up instead of queueing"
FIX_SQL = """\
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN note text;"""
FIX_ALEMBIC = """\
op.execute("SET lock_timeout = '2s'")
op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))"""
BAD = ["LOCK TABLE orders;", "LOCK TABLE orders IN SHARE MODE;"]
GOOD = ["SET lock_timeout = '2s';"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"lock_table"})


def check(op, ctx):
    if op.kind == "lock_table" and not op.table_created_here:
        mode = op.value or "ACCESS EXCLUSIVE"
        names = ", ".join(op.names or [op.table or ""])
        yield (f"LOCK TABLE {names} IN {mode} MODE blocks the running release's queries on it "
               "until the migration commits")
