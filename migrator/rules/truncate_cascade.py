NAME = "truncate-cascade"
SEVERITY = "error"
SUMMARY = "TRUNCATE ... CASCADE also empties every table that references this one."
WHY = """\
`TRUNCATE ... CASCADE` empties the named tables and, silently, every table with a foreign key
pointing at them, each under an ACCESS EXCLUSIVE lock. Which tables that is depends on the
schema at run time, not on the migration text."""
FIX = "delete the rows you mean to delete, in bounded batches, table by table"
FIX_SQL = """\
DELETE FROM order_lines WHERE order_id IN (SELECT id FROM orders WHERE archived);
DELETE FROM orders WHERE archived AND id BETWEEN 1 AND 10000;"""
FIX_ALEMBIC = """\
op.execute("DELETE FROM orders WHERE archived AND id BETWEEN 1 AND 10000")"""
BAD = ["TRUNCATE orders CASCADE;"]
GOOD = ["DELETE FROM orders WHERE archived AND id BETWEEN 1 AND 10000;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"truncate"})


def check(op, ctx):
    if op.kind == "truncate" and op.cascade:
        names = ", ".join(op.names or [op.table or ""])
        yield (f"TRUNCATE {names} CASCADE empties these tables and every table referencing them, "
               "under ACCESS EXCLUSIVE locks")
