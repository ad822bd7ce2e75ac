NAME = "lock-table"
SEVERITY = "error"
SUMMARY = "LOCK TABLE in SHARE mode or stronger blocks the running release's writes (or reads) until the migration commits."
WHY = """\
An explicit `LOCK TABLE` (ACCESS EXCLUSIVE when no mode is given) holds its lock for the rest of
the migration's transaction, and queues behind every running query first. SHARE, SHARE ROW
EXCLUSIVE and EXCLUSIVE block the running release's INSERT, UPDATE and DELETE; ACCESS EXCLUSIVE
blocks its SELECTs too. The weaker modes (ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE, SHARE UPDATE
EXCLUSIVE) conflict only with DDL, VACUUM and index builds, never with plain reads and writes:
they are not flagged. Migrations should take only the locks their statements need, briefly,
with a lock_timeout."""
FIX = "remove the LOCK (or use a mode weaker than SHARE); keep each DDL statement short and set lock_timeout so it gives up instead of queueing"
FIX_SQL = """\
SET lock_timeout = '2s';
ALTER TABLE orders ADD COLUMN note text;"""
FIX_ALEMBIC = """\
op.execute("SET lock_timeout = '2s'")
op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))"""
BAD = ["LOCK TABLE orders;", "LOCK TABLE orders IN SHARE MODE;"]
GOOD = ["SET lock_timeout = '2s';", "LOCK TABLE orders IN ACCESS SHARE MODE;",
        "LOCK TABLE orders IN SHARE UPDATE EXCLUSIVE MODE;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"lock_table"})


def check(op, ctx):
    from migrator.pgfacts import lock_blocks, lock_mode

    if op.kind != "lock_table" or op.table_created_here:
        return
    mode = lock_mode(op)
    blocked = lock_blocks(mode)
    if blocked:
        names = ", ".join(op.names or [op.table or ""])
        yield (f"LOCK TABLE {names} IN {mode} MODE blocks the running release's {blocked} on it "
               "until the migration commits")
