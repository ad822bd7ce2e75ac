NAME = "bad-migration-header"
SEVERITY = "error"
SUMMARY = "A migration's phase or release declaration cannot be read."
WHY = """\
The runner orders migrations by release and runs them by phase. A `.sql` header
(`-- migrator: phase=... release=...`) or an Alembic `phase` / `release` attribute that is
not understood would put the migration in the wrong place, so it is an error.
(Reported by the source readers, on the offending line.)"""
FIX = "write the header as: -- migrator: phase=expand|contract release=X.Y.Z"
FIX_SQL = """\
-- migrator: phase=expand release=1.5.0
ALTER TABLE users ADD COLUMN note text;"""
FIX_ALEMBIC = """\
phase = "expand"
release = "1.5.0"

def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
BAD = [
    "-- migrator: phase=sideways\nALTER TABLE users ADD COLUMN note text;",
    "-- migrator: phase=expand release=not-a-version\nALTER TABLE users ADD COLUMN note text;",
]
GOOD = ["-- migrator: phase=expand release=1.5.0\nALTER TABLE users ADD COLUMN note text;"]
ENGINE = True
