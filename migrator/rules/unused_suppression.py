NAME = "unused-suppression"
SEVERITY = "warning"
SUMMARY = "A `migrator: ignore[...]` comment that hides nothing."
WHY = """\
A suppression whose rule does not fire on its line (or in its file, for ignore-file) is stale or
misspelled: it documents a danger that is not there, and a misspelled one silences nothing."""
FIX = "remove the comment, or correct the rule name"
FIX_SQL = """\
ALTER TABLE users ADD COLUMN note text;   -- no suppression needed"""
FIX_ALEMBIC = """\
op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
BAD = ["ALTER TABLE users ADD COLUMN note text;  -- migrator: ignore[truncate] left over from an old version"]
GOOD = ["ALTER TABLE users ADD COLUMN note text;"]
ENGINE = True
