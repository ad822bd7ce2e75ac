NAME = "set-tablespace"
SEVERITY = "error"
SUMMARY = "SET TABLESPACE copies the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`ALTER TABLE ... SET TABLESPACE` copies every data file of the table to the new tablespace
while holding an ACCESS EXCLUSIVE lock: no reads or writes until the copy finishes."""
FIX = "move data online with pg_repack --tablespace, or create new tables in the tablespace and move data in batches"
FIX_SQL = """\
-- outside migrations: pg_repack --table orders --tablespace fast_ssd
-- or new objects directly in place:
CREATE TABLE orders_archive (LIKE orders) TABLESPACE slow_hdd;"""
FIX_ALEMBIC = """\
op.execute("CREATE TABLE orders_archive (LIKE orders) TABLESPACE slow_hdd")"""
BAD = ["ALTER TABLE orders SET TABLESPACE fast_ssd;"]
GOOD = ["CREATE TABLE orders_archive (id bigint);\nALTER TABLE orders_archive SET TABLESPACE slow_hdd;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"set_tablespace"})


def check(op, ctx):
    if op.kind == "set_tablespace" and not op.table_created_here:
        yield (f"SET TABLESPACE on {op.table or op.name or ''} copies the table under an ACCESS "
               "EXCLUSIVE lock (no reads or writes until it finishes)")
