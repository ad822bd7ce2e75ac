NAME = "truncate"
SEVERITY = "error"
SUMMARY = "TRUNCATE deletes every row under an ACCESS EXCLUSIVE lock."
WHY = """\
`TRUNCATE` takes an ACCESS EXCLUSIVE lock and removes all rows at once: the release still
running loses its data, and the lock queues behind every running query on the table. It is
not MVCC-safe either: concurrent transactions see an empty table."""
FIX = "delete what must go in bounded batches (DELETE ... WHERE id BETWEEN ...), or drop the table in contract once no release uses it"
FIX_SQL = """\
DELETE FROM sessions WHERE id BETWEEN 1 AND 10000;   -- repeat per batch
-- or, once no release reads the table (contract):
DROP TABLE sessions;"""
FIX_ALEMBIC = """\
op.execute("DELETE FROM sessions WHERE id BETWEEN 1 AND 10000")  # migrator backfill runs batches"""
BAD = ["TRUNCATE sessions;", "TRUNCATE TABLE sessions, tokens;"]
GOOD = ["DELETE FROM sessions WHERE expires_at < '2024-01-01';"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"truncate"})


def check(op, ctx):
    if op.kind == "truncate" and not op.cascade and not op.table_created_here:
        names = ", ".join(op.names or [op.table or ""])
        yield (f"TRUNCATE {names} removes every row under an ACCESS EXCLUSIVE lock: the running "
               "release loses its data")
