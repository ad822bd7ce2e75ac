NAME = "phase-mismatch"
SEVERITY = "error"
SUMMARY = "The migration's declared phase disagrees with what its operations do."
WHY = """\
The runner applies expand migrations before the new release deploys and contract migrations
after the old release is gone, trusting the declared phase. An expand migration that removes
or tightens breaks the old release still running; a contract migration that adds something the
new release needs leaves the new release running without it."""
FIX = "declare the phase the operations have, or move the operations to a migration of that phase"
FIX_SQL = """\
-- migrator: phase=contract release=1.6.0
ALTER TABLE users DROP COLUMN legacy_name;"""
FIX_ALEMBIC = """\
phase = "contract"
release = "1.6.0"

def upgrade():
    op.drop_column("users", "legacy_name")"""
BAD = [
    "-- migrator: phase=expand\nALTER TABLE users DROP COLUMN legacy_name;",
    "-- migrator: phase=contract\nALTER TABLE users ADD COLUMN full_name text;",
]
GOOD = [
    "-- migrator: phase=contract\nALTER TABLE users DROP COLUMN legacy_name;",
    "-- migrator: phase=contract\nALTER TABLE users VALIDATE CONSTRAINT users_email_not_null;",
]


def check_migration(mig):
    from migrator.model import Finding, MigrationPhase, Phase, Severity

    declared = mig.declared
    if declared not in ("expand", "contract") or mig.phase not in (MigrationPhase.EXPAND, MigrationPhase.CONTRACT):
        return
    if mig.phase.value == declared:
        return
    actual = Phase(mig.phase.value)
    op = mig.first(actual)
    if op is None:
        return  # neutral-only: takes the declared phase
    does = "removes or tightens" if actual is Phase.CONTRACT else "adds"
    breaks = ("the old release still running breaks" if actual is Phase.CONTRACT
              else "the new release runs before it is applied")
    yield Finding(
        NAME, Severity.ERROR, op.loc,
        f"declared phase={declared}, but {op.kind.replace('_', ' ')} {does} ({actual.value}): "
        f"run as {declared}, {breaks}",
        FIX,
    )
