NAME = "attach-partition-without-check"
SEVERITY = "error"
SUMMARY = "ATTACH PARTITION scans the partition under an ACCESS EXCLUSIVE lock unless a validated CHECK already proves its bounds."
WHY = """\
`ALTER TABLE parent ATTACH PARTITION p FOR VALUES ...` checks every row of `p` against the
partition bounds. The parent only takes SHARE UPDATE EXCLUSIVE (PostgreSQL 12+), but `p` is
locked ACCESS EXCLUSIVE for the whole scan: no reads or writes of it until every row is read.
PostgreSQL skips the scan when `p` already has a validated CHECK constraint implying the bounds,
and such a CHECK can be added `NOT VALID` and validated online beforehand. A partition created
earlier in the same migration is empty, so attaching it is fine. The linter cannot compare a
CHECK's expression with the bounds: any validated CHECK on the partition that an earlier
migration (or this one) added is taken as the proof, so write it to match the bounds exactly,
or PostgreSQL scans anyway."""
FIX = "add a CHECK matching the bounds NOT VALID, VALIDATE it in a later migration, then ATTACH PARTITION (and drop the CHECK)"
FIX_SQL = """\
-- migration 1
ALTER TABLE measurements_2020 ADD CONSTRAINT m2020_bounds
  CHECK (at >= '2020-01-01' AND at < '2021-01-01') NOT VALID;
-- migration 2
ALTER TABLE measurements_2020 VALIDATE CONSTRAINT m2020_bounds;
-- migration 3: no scan, the CHECK proves the bounds
ALTER TABLE measurements ATTACH PARTITION measurements_2020
  FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');
ALTER TABLE measurements_2020 DROP CONSTRAINT m2020_bounds;"""
FIX_ALEMBIC = """\
op.create_check_constraint("m2020_bounds", "measurements_2020",
                           "at >= '2020-01-01' AND at < '2021-01-01'", postgresql_not_valid=True)
# next revision
op.execute("ALTER TABLE measurements_2020 VALIDATE CONSTRAINT m2020_bounds")
# next revision
op.execute("ALTER TABLE measurements ATTACH PARTITION measurements_2020 "
           "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')")"""
BAD = [
    "ALTER TABLE measurements ATTACH PARTITION measurements_2020 "
    "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
]
GOOD = [
    "ALTER TABLE measurements_2020 ADD CONSTRAINT m2020_bounds "
    "CHECK (at >= '2020-01-01' AND at < '2021-01-01') NOT VALID;\n"
    "-- next migration\n"
    "ALTER TABLE measurements_2020 VALIDATE CONSTRAINT m2020_bounds;\n"
    "-- next migration\n"
    "ALTER TABLE measurements ATTACH PARTITION measurements_2020 "
    "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
    "CREATE TABLE measurements_2030 (at timestamptz NOT NULL, value float8);\n"
    "ALTER TABLE measurements ATTACH PARTITION measurements_2030 "
    "FOR VALUES FROM ('2030-01-01') TO ('2031-01-01');",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"attach_partition"})


def check(op, ctx):
    from migrator.model import qualified_key

    if op.kind != "attach_partition" or not op.names:
        return
    key = qualified_key(op.names[0])
    if key in ctx.created_tables or ctx.state.has_validated_check(key):
        return
    yield (f"ATTACH PARTITION {op.names[0]} scans every row of it under an ACCESS EXCLUSIVE lock: "
           "no validated CHECK constraint on it is known to prove the partition bounds")
