NAME = "unbatched-update-delete"
SEVERITY = "error"
SUMMARY = "UPDATE or DELETE without WHERE rewrites the whole table in one transaction."
WHY = """\
An UPDATE or DELETE of every row locks every row it touches until the migration commits: the
running release's writes to any of them wait, the table bloats by its own size, and a
replica falls behind. Migrations should change data in bounded batches (`WHERE` on a key)."""
FIX = "run it as a batched backfill (migrator backfill), each batch bounded by a key range"
FIX_SQL = """\
UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 10000 AND status IS NULL;
-- repeat per key range, one transaction each"""
FIX_ALEMBIC = """\
# declare a batched backfill and run it with `migrator backfill`
op.execute("UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 10000 AND status IS NULL")"""
BAD = ["UPDATE users SET status = 'active';", "DELETE FROM audit_log;"]
GOOD = [
    "UPDATE users SET status = 'active' WHERE id BETWEEN 1 AND 10000;",
    "CREATE TABLE flags (id int, on_ boolean);\nUPDATE flags SET on_ = true;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"update", "delete"})


def check(op, ctx):
    if op.kind in ("update", "delete") and not op.has_where and not op.table_created_here:
        from migrator.rules._helpers import table_name

        verb = op.kind.upper()
        yield (f"{verb} of every row of {table_name(op)} (no WHERE) locks all of them until the "
               "migration commits: the running release's writes wait")
