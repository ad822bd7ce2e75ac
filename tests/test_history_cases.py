"""Verdicts that depend on an earlier migration (issue 13.6): with the earlier migration in the
same run the verdict follows what it did; without it, the fact is unknown and the verdict is
the unsafe one."""

from __future__ import annotations

import pytest

from migrator.config import Config
from migrator.lint.parallel import lint_paths
from tests.cases.harness import lint_text

# (id, earlier migration, the migration judged, verdict with the earlier one, verdict alone)
# A verdict is (phase of the judged migration or "rejected", the rules it reports).
CASES = [
    ("varchar widening needs the previous type",
     "CREATE TABLE users (id bigint, email varchar(50));",
     "ALTER TABLE users ALTER COLUMN email TYPE varchar(100);",
     ("expand", set()), ("rejected", {"unknown-previous-type"})),
    ("varchar narrowing is a rewrite either way",
     "CREATE TABLE users (id bigint, email varchar(50));",
     "ALTER TABLE users ALTER COLUMN email TYPE varchar(10);",
     ("rejected", {"change-column-type"}), ("rejected", {"unknown-previous-type"})),
    ("a type changed by an earlier migration is the new previous type",
     "CREATE TABLE t (id int, d numeric(10,2));\n-- next migration\nALTER TABLE t ALTER COLUMN d TYPE numeric(12,2);",
     "ALTER TABLE t ALTER COLUMN d TYPE numeric(14,2);",
     ("expand", set()), ("rejected", {"unknown-previous-type"})),
    ("interval precision raised",
     "CREATE TABLE e (id int, took interval(3));",
     "ALTER TABLE e ALTER COLUMN took TYPE interval(6);",
     ("expand", set()), ("rejected", {"unknown-previous-type"})),
    ("SET NOT NULL after a validated check",
     "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;\n"
     "-- next migration\nALTER TABLE users VALIDATE CONSTRAINT users_email_nn;",
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
     ("contract", set()), ("rejected", {"set-not-null-without-check"})),
    ("SET NOT NULL after a validated check written as NOT (col IS NULL) AND ...",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (NOT (email IS NULL) AND id > 0) NOT VALID;\n"
     "-- next migration\nALTER TABLE users VALIDATE CONSTRAINT c;",
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
     ("contract", set()), ("rejected", {"set-not-null-without-check"})),
    ("SET NOT NULL after a check that was never validated",
     "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;",
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
     ("rejected", {"set-not-null-without-check"}), ("rejected", {"set-not-null-without-check"})),
    ("SET NOT NULL after the check was dropped again",
     "ALTER TABLE users ADD CONSTRAINT c CHECK (email IS NOT NULL) NOT VALID;\n-- next migration\n"
     "ALTER TABLE users VALIDATE CONSTRAINT c;\n-- next migration\nALTER TABLE users DROP CONSTRAINT c;",
     "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
     ("rejected", {"set-not-null-without-check"}), ("rejected", {"set-not-null-without-check"})),
    ("a default calling a function an earlier migration made STABLE",
     "CREATE FUNCTION app.region() RETURNS text LANGUAGE sql STABLE AS $$ SELECT 'eu' $$;",
     "ALTER TABLE users ADD COLUMN region text DEFAULT app.region();",
     ("expand", set()), ("rejected", {"volatile-default"})),
    ("a default calling a function an earlier migration created without a volatility (VOLATILE)",
     "CREATE FUNCTION region() RETURNS text LANGUAGE sql AS $$ SELECT 'eu' $$;",
     "ALTER TABLE users ADD COLUMN region text DEFAULT region();",
     ("rejected", {"volatile-default"}), ("rejected", {"volatile-default"})),
    ("ATTACH PARTITION after its bounds CHECK was validated",
     "ALTER TABLE m2020 ADD CONSTRAINT b CHECK (at >= '2020-01-01' AND at < '2021-01-01') NOT VALID;\n"
     "-- next migration\nALTER TABLE m2020 VALIDATE CONSTRAINT b;",
     "ALTER TABLE m ATTACH PARTITION m2020 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
     ("expand", set()), ("rejected", {"attach-partition-without-check"})),
    ("a table created by an earlier migration is an existing table",
     "CREATE TABLE t (id int, a int);",
     "CREATE INDEX t_a_idx ON t (a);",
     ("rejected", {"create-index-non-concurrently"}), ("rejected", {"create-index-non-concurrently"})),
    ("an enum created by an earlier migration is in use",
     "CREATE TYPE mood AS ENUM ('happy', 'sad');",
     "ALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy';",
     ("rejected", {"rename-object"}), ("rejected", {"rename-object"})),
]


def _verdict(report) -> tuple[str, set[str]]:
    m = report.migrations[-1]
    return ("rejected" if m.rejected else m.phase.value), {f.rule for f in m.findings}


@pytest.mark.parametrize("name,earlier,judged,with_history,alone", CASES, ids=[c[0] for c in CASES])
def test_verdict_with_and_without_the_earlier_migration(name, earlier, judged, with_history, alone):
    both = lint_text(earlier + "\n-- next migration\n" + judged)
    assert _verdict(both) == with_history
    assert _verdict(lint_text(judged)) == alone


@pytest.mark.parametrize("name,earlier,judged,with_history,alone",
                         [c for c in CASES if c[3] != c[4]], ids=[c[0] for c in CASES if c[3] != c[4]])
def test_a_directory_run_carries_history_and_an_excluded_migration_does_not(
        tmp_path, monkeypatch, name, earlier, judged, with_history, alone):
    """The same facts through the real path: files on disk, the lint cache, exclusion."""
    monkeypatch.chdir(tmp_path)
    parts = earlier.split("\n-- next migration\n")
    for i, text in enumerate(parts):
        (tmp_path / f"{i:03d}_earlier.sql").write_text(text + "\n")
    (tmp_path / "999_judged.sql").write_text(judged + "\n")
    off = {"missing-phase": "off"}  # plain files declare no phase here
    config = Config(root=tmp_path, sql_transaction="file", rules=off)
    for _ in range(2):  # the second run is answered from the cache
        assert _verdict(lint_paths([str(tmp_path)], config)) == with_history
    excluded = Config(root=tmp_path, sql_transaction="file", rules=off, exclude=["*_earlier.sql"])
    assert _verdict(lint_paths([str(tmp_path)], excluded)) == alone


def test_alembic_existing_type_states_the_previous_type_when_history_is_missing():
    """An Alembic alter_column(existing_type=...) says what no earlier migration of the run did."""
    from migrator.model import Location, MigrationSource, Statement
    from migrator.lint.engine import lint_sources

    stmt = Statement("ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(100)",
                     Location("versions/a.py", 12, 5), previous_type="VARCHAR(50)")
    narrowing = Statement("ALTER TABLE users ALTER COLUMN email TYPE VARCHAR(20)",
                          Location("versions/b.py", 12, 5), previous_type="VARCHAR(100)")
    report = lint_sources([MigrationSource("versions/a.py", [stmt], kind="alembic"),
                           MigrationSource("versions/b.py", [narrowing], kind="alembic")], Config())
    assert [_verdict_of(m) for m in report.migrations] == [("expand", set()),
                                                          ("rejected", {"change-column-type"})]


def _verdict_of(m) -> tuple[str, set[str]]:
    return ("rejected" if m.rejected else m.phase.value), {f.rule for f in m.findings}
