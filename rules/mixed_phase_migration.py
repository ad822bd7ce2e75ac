NAME = "mixed-phase-migration"
SEVERITY = "error"
SUMMARY = "One migration both expands and contracts: split it."
WHY = """\
Expand operations must run before the new release deploys and contract operations only after
no old release runs. A migration that does both cannot run at either moment: run early, its
contract half breaks the old release; run late, the new release starts without its expand
half. Neutral operations (comments, ANALYZE, session settings, bounded updates) fit either."""
FIX = "move the contract operations into a separate contract migration of the next release"
FIX_SQL = """\
-- 0007_expand.sql      -- migrator: phase=expand release=1.5.0
ALTER TABLE users ADD COLUMN full_name text;
-- 0008_contract.sql    -- migrator: phase=contract release=1.6.0
ALTER TABLE users DROP COLUMN legacy_name;"""
FIX_ALEMBIC = """\
# versions/abc_expand.py:   phase = "expand";   release = "1.5.0"
op.add_column("users", sa.Column("full_name", sa.Text(), nullable=True))
# versions/def_contract.py: phase = "contract"; release = "1.6.0"
op.drop_column("users", "legacy_name")"""
BAD = ["ALTER TABLE users ADD COLUMN full_name text;\nALTER TABLE users DROP COLUMN legacy_name;"]
GOOD = [
    "ALTER TABLE users ADD COLUMN full_name text;\nCOMMENT ON COLUMN users.full_name IS 'display name';",
]


def check_migration(mig):
    from migrator.model import Finding, MigrationPhase, Phase, Severity

    if mig.phase is not MigrationPhase.MIXED:
        return
    e, c = mig.first(Phase.EXPAND), mig.first(Phase.CONTRACT)
    yield Finding(
        NAME, Severity.ERROR, c.loc,
        f"this migration expands (line {e.loc.line}: {e.kind.replace('_', ' ')}) and contracts "
        f"(line {c.loc.line}: {c.kind.replace('_', ' ')}): no moment of a rolling deploy is safe "
        "to run both",
        FIX,
    )
