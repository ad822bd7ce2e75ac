NAME = "exclusion-constraint"
SEVERITY = "error"
SUMMARY = "An exclusion constraint on an existing table is built and checked under an ACCESS EXCLUSIVE lock."
WHY = """\
`ADD CONSTRAINT ... EXCLUDE` builds its index and checks every row while holding an ACCESS
EXCLUSIVE lock, and unlike UNIQUE it cannot be attached from an index built concurrently
(`USING INDEX` does not accept exclusion constraints). On an existing table it blocks all
traffic for the whole build."""
FIX = "create a new table with the constraint and move the data in batches, or enforce it with a trigger; on a new table it is fine"
FIX_SQL = """\
-- expand: the constraint on a new table
CREATE TABLE bookings_v2 (
    id bigint PRIMARY KEY, room int, during tstzrange,
    EXCLUDE USING gist (room WITH =, during WITH &&)
);
-- backfill in batches, switch the code, drop the old table in contract"""
FIX_ALEMBIC = """\
op.create_table("bookings_v2", sa.Column("id", sa.BigInteger(), primary_key=True), ...,
                postgresql.ExcludeConstraint(("room", "="), ("during", "&&"), using="gist"))"""
BAD = ["ALTER TABLE bookings ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);"]
GOOD = [
    "CREATE TABLE bookings_v2 (id bigint PRIMARY KEY, room int, during tstzrange);\n"
    "ALTER TABLE bookings_v2 ADD CONSTRAINT no_overlap EXCLUDE USING gist (room WITH =, during WITH &&);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_constraint", "add_column"})


def check(op, ctx):
    from migrator.rules._helpers import named
    if (op.kind == "add_constraint" and op.constraint is not None
            and op.constraint.type == "exclude" and not op.table_created_here):
        from migrator.rules._helpers import table_name

        yield (f"exclusion constraint{named(op.constraint.name)} on existing table {table_name(op)} "
               "is built and checked under an ACCESS EXCLUSIVE lock (no reads or writes)")
