NAME = "mixed-phase-migration"
SEVERITY = "error"
SUMMARY = "One migration both expands and contracts: split it."
WHY = """\
Expand operations must run before the new release deploys and contract operations only after
no old release runs. A migration that does both cannot run at either moment: run early, its
contract half breaks the old release; run late, the new release starts without its expand
half. Neutral operations (comments, ANALYZE, session settings, bounded updates) fit either.

Where the phase of an operation is not obvious, the linter decides by harm to the running
release:

- Created earlier in the same migration counts as new: indexes and constraints on new columns
  (a `UNIQUE` / `PRIMARY KEY ... USING INDEX` covers the columns of its index, when that index
  was created earlier in the migration on the same table), `DROP DEFAULT` of a new column or of
  a column this migration (or the same statement) made nullable, and renaming anything created
  earlier in the migration, such as a value of a new enum: all expand. A `UNIQUE` index over a
  new and an existing column stays contract.
- `ALTER TABLE ... DETACH PARTITION` is contract (its rows leave the running release's queries);
  `ATTACH PARTITION` is expand. Disabling a trigger is contract, enabling one expand. Enabling,
  disabling or forcing row-level security, and creating, altering or dropping a policy, are
  contract (the running release may stop seeing rows). On a table created earlier in the same
  migration all of these are expand.
- `ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID` is contract, `DROP CONSTRAINT` and `DROP
  DEFAULT` contract, `SET DEFAULT` and `DROP NOT NULL` expand; on a domain created earlier in the
  same migration, expand.
- `LOCK TABLE` in ACCESS SHARE, ROW SHARE, ROW EXCLUSIVE or SHARE UPDATE EXCLUSIVE mode is
  neutral: those modes never block the running release's reads or writes.
- A down part of a migration (diesel `down.sql`, Flyway `U__`, `*.down.sql`, goose `-- +goose
  Down`, dbmate `-- migrate:down`) is a rollback: its dangerous operations are reported, but it
  has no phase to declare or to mix, and it does not change the schema state later migrations
  are judged against."""
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
