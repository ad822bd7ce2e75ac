NAME = "suppression-without-reason"
SEVERITY = "error"
SUMMARY = "A `migrator: ignore[...]` comment must say why."
WHY = """\
A suppression switches off a safety check for one statement (or a whole file). Without a
reason, the next reader cannot tell a considered exception from a silenced alarm."""
FIX = "write the reason after the bracket: -- migrator: ignore[rule] <why it is safe here>"
FIX_SQL = """\
-- migrator: ignore[truncate] staging table, loaded fresh by every import
TRUNCATE import_staging;"""
FIX_ALEMBIC = """\
# migrator: ignore[truncate] staging table, loaded fresh by every import
op.execute("TRUNCATE import_staging")"""
BAD = ["TRUNCATE import_staging;  -- migrator: ignore[truncate]"]
GOOD = [
    "ALTER TABLE users ADD COLUMN note text;\n"
    "-- migrator: ignore[truncate] staging table, reloaded by every import\n"
    "TRUNCATE import_staging;",
]
ENGINE = True
