NAME = "set-not-null-without-check"
SEVERITY = "error"
SUMMARY = "SET NOT NULL without a validated CHECK (col IS NOT NULL) scans the table under an ACCESS EXCLUSIVE lock."
WHY = """\
`ALTER COLUMN ... SET NOT NULL` holds an ACCESS EXCLUSIVE lock (no reads, no writes) while it
scans every row. Since PostgreSQL 12 the scan is skipped when a validated
`CHECK (col IS NOT NULL)` constraint already proves it. The linter looks for that check in the
migrations linted together (added NOT VALID and validated earlier, or written in the CREATE
TABLE); when it cannot see one it assumes the scan. The check proves the column when it reads
`col IS NOT NULL` or `NOT (col IS NULL)` (the column may be qualified with its table), alone or
joined by AND to other conditions; under OR it proves nothing. These forms were checked on
PostgreSQL 15, which says whether it skipped the scan."""
FIX = "three contract migrations: ADD CONSTRAINT CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT; SET NOT NULL and drop the check"
FIX_SQL = """\
-- contract 1
ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;
-- contract 2
ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;
-- contract 3 (PostgreSQL 12+: no scan)
ALTER TABLE users ALTER COLUMN email SET NOT NULL;
ALTER TABLE users DROP CONSTRAINT users_email_not_null;"""
FIX_ALEMBIC = """\
op.create_check_constraint("users_email_not_null", "users", "email IS NOT NULL",
                           postgresql_not_valid=True)
# next revision
op.execute("ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null")
# next revision
op.alter_column("users", "email", nullable=False)
op.drop_constraint("users_email_not_null", "users", type_="check")"""
BAD = [
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n"
    "-- next migration\n"
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
]
GOOD = [
    "ALTER TABLE users ADD CONSTRAINT users_email_not_null CHECK (email IS NOT NULL) NOT VALID;\n"
    "-- next migration\n"
    "ALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;\n"
    "-- next migration\n"
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    "ALTER TABLE users DROP CONSTRAINT users_email_not_null;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_constraint", "set_not_null"})


def check(op, ctx):
    if op.table_created_here:
        return
    if op.kind == "add_constraint" and op.constraint is not None and op.constraint.type == "not_null":
        if op.constraint.not_valid:
            return  # PostgreSQL 18: ADD CONSTRAINT ... NOT NULL ... NOT VALID, validated later
        from migrator.rules._helpers import table_name

        cols = ", ".join(op.constraint.columns) or "?"
        yield (f"ADD CONSTRAINT ... NOT NULL on {table_name(op)} ({cols}) without NOT VALID scans every "
               "row under an ACCESS EXCLUSIVE lock")
        return
    if op.kind != "set_not_null":
        return
    from migrator.pgfacts import SET_NOT_NULL_VIA_CHECK_SINCE
    from migrator.rules._helpers import column_ref

    where = column_ref(op)
    validated = ctx.state.has_validated_not_null_check(op.table, op.column, op.schema)
    if validated and ctx.server_version >= SET_NOT_NULL_VIA_CHECK_SINCE:
        return
    if validated:
        yield (f"SET NOT NULL on {where}: PostgreSQL {ctx.server_version} ignores the validated check "
               f"(only {SET_NOT_NULL_VIA_CHECK_SINCE}+ uses it) and scans every row under an ACCESS "
               "EXCLUSIVE lock")
    elif ctx.state.has_unvalidated_not_null_check(op.table, op.column, op.schema):
        yield (f"SET NOT NULL on {where}: its CHECK (... IS NOT NULL) is still NOT VALID, so every row "
               "is scanned under an ACCESS EXCLUSIVE lock; VALIDATE it in an earlier migration")
    else:
        yield (f"SET NOT NULL on {where} scans every row under an ACCESS EXCLUSIVE lock: no validated "
               "CHECK (... IS NOT NULL) was seen in the migrations linted before it")
