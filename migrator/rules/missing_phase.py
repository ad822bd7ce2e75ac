NAME = "missing-phase"
SEVERITY = "warning"
SUMMARY = "A SQL migration declares no phase; it is treated as expand."
WHY = """\
A `.sql` migration declares its phase in its header (`-- migrator: phase=expand`) or by living
under an `expand/` or `contract/` directory. Without one the runner treats it as expand, so a
file whose operations contract would run before the old release is gone: then this is an
error, otherwise a warning. (Alembic revisions report a missing `phase = ...` as
`missing-phase-tag`; standard input is not checked.)"""
FIX = "add a header: -- migrator: phase=expand|contract release=X.Y.Z"
FIX_SQL = """\
-- migrator: phase=expand release=1.5.0
ALTER TABLE users ADD COLUMN full_name text;"""
FIX_ALEMBIC = """\
phase = "expand"
release = "1.5.0\""""
BAD = ["ALTER TABLE users ADD COLUMN full_name text;"]
GOOD = ["-- migrator: phase=expand release=1.5.0\nALTER TABLE users ADD COLUMN full_name text;"]


def check_migration(mig):
    from migrator.model import Finding, Location, MigrationPhase, Severity

    if mig.declared or mig.source.kind != "sql":
        return
    loc = Location(mig.source.path, 1, 1)
    if mig.phase is MigrationPhase.CONTRACT:
        yield Finding(NAME, Severity.ERROR, loc,
                      "no phase declared, so this runs as expand, but its operations contract: "
                      "the old release still running breaks", FIX.replace("expand|contract", "contract"))
    else:
        yield Finding(NAME, Severity.WARNING, loc,
                      "no phase declared (header `-- migrator: phase=...` or an expand/ or "
                      "contract/ directory): treated as expand", FIX)
