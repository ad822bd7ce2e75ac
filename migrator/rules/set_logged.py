NAME = "set-logged"
SEVERITY = "error"
SUMMARY = "SET LOGGED / SET UNLOGGED rewrites the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`ALTER TABLE ... SET LOGGED` and `SET UNLOGGED` rewrite the whole table (and write it to the WAL
for LOGGED) while holding an ACCESS EXCLUSIVE lock: no reads or writes until it finishes.
UNLOGGED also makes the table lose its contents after a crash and vanish from replicas."""
FIX = "create a new table with the persistence you want, copy in batches, switch, drop the old one in contract"
FIX_SQL = """\
-- expand
CREATE TABLE events_v2 (LIKE events INCLUDING ALL);
-- batched copy, switch the code, contract:
DROP TABLE events;"""
FIX_ALEMBIC = """\
op.execute("CREATE TABLE events_v2 (LIKE events INCLUDING ALL)")"""
BAD = ["ALTER TABLE events SET LOGGED;", "ALTER TABLE events SET UNLOGGED;"]
GOOD = ["CREATE UNLOGGED TABLE scratch (id int);\nALTER TABLE scratch SET LOGGED;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"set_logged", "set_unlogged"})


def check(op, ctx):
    if op.kind in ("set_logged", "set_unlogged") and not op.table_created_here:
        what = "SET LOGGED" if op.kind == "set_logged" else "SET UNLOGGED"
        yield (f"{what} on {op.table or ''} rewrites the table under an ACCESS EXCLUSIVE lock "
               "(no reads or writes until it finishes)")
