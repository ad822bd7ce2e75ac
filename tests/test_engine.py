"""The lint engine: suppressions, configured severities, source diagnostics, phase rules, the
carried state as plain data, and an Alembic revision linted on its .py lines."""

from __future__ import annotations

import json
import textwrap

import pytest

from migrator.config import Config
from migrator.errors import UsageError
from migrator.lint import engine
from migrator.lint.engine import check_rule_config, lint_migration, lint_sources
from migrator.lint.state import SchemaState
from migrator.model import (Finding, Location, MigrationPhase, MigrationSource, Severity,
                            Statement)
from migrator.sources.sqlfiles import sql_source
from migrator.sql.split import split_sql
from tests.cases.harness import lint_text, rule_names


def source(text: str, path: str = "m.sql", **kw) -> MigrationSource:
    """A source straight from the splitter (no header reading): the engine's own input."""
    return MigrationSource(path=path, statements=split_sql(text, path), text=text,
                           kind=kw.pop("kind", "stdin"), **kw)


def findings(text: str, **kw):
    report = lint_sources([source(text, **kw)], Config())
    return report.migrations[0].findings


# --- suppressions ----------------------------------------------------------------------------

def test_suppression_on_the_same_line_hides_the_finding():
    assert findings("TRUNCATE staging;  -- migrator: ignore[truncate] reloaded by every import\n") == []


def test_suppression_on_the_line_above_hides_the_finding():
    text = "-- migrator: ignore[truncate] reloaded by every import\nTRUNCATE staging;\n"
    assert findings(text) == []


def test_suppression_two_lines_above_does_not_apply():
    text = "-- migrator: ignore[truncate] reloaded by every import\n\nTRUNCATE staging;\n"
    assert {f.rule for f in findings(text)} == {"truncate", "unused-suppression"}


def test_suppression_on_any_line_of_a_multi_line_statement_applies():
    text = ("ALTER TABLE users\n"
            "    RENAME COLUMN nick TO nickname;  -- migrator: ignore[rename-column] unused since 0.9\n"
            "TRUNCATE a;\n")
    assert [f.rule for f in findings(text)] == ["truncate"]


def test_suppression_names_several_rules():
    text = ("SELECT 1;\n-- migrator: ignore[rename-column, truncate] one-off cleanup before launch\n"
            "ALTER TABLE t RENAME COLUMN a TO b;\n")
    (f,) = findings(text)
    assert f.rule == "unused-suppression" and "`truncate`" in f.message and f.loc.line == 2


def test_file_level_suppression_covers_every_statement():
    text = ("TRUNCATE a;\nTRUNCATE b;\n"
            "-- migrator: ignore-file[truncate] scratch tables of the importer\n")
    assert findings(text) == []


def test_suppression_without_reason_is_an_error_but_still_suppresses():
    (f,) = findings("TRUNCATE staging; -- migrator: ignore[truncate]\n")
    assert f.rule == "suppression-without-reason" and f.severity is Severity.ERROR
    assert (f.loc.line, f.loc.column) == (1, 19)


def test_unknown_rule_in_a_suppression_is_reported():
    (f,) = findings("SELECT 1; -- migrator: ignore[no-such-rule] because\n")
    assert f.rule == "unused-suppression" and "not a rule" in f.message


def test_suppression_in_a_python_revision_uses_hash_comments():
    text = "# migrator: ignore[truncate] staging only\n"
    stmt = Statement("TRUNCATE staging", Location("versions/a1.py", 2, 5))
    src = MigrationSource(path="versions/a1.py", statements=[stmt], text=text + "op.execute(...)\n",
                          kind="alembic", declared_phase="expand")
    assert lint_sources([src], Config()).migrations[0].findings == []


def test_source_diagnostics_are_folded_in_and_can_be_suppressed():
    diag = Finding("hidden-data-migration", Severity.WARNING, Location("m.sql", 1, 1), "reads rows")
    src = source("SELECT 1;\n")
    src.diagnostics.append(diag)
    assert [f.rule for f in lint_sources([src], Config()).migrations[0].findings] == ["hidden-data-migration"]
    src2 = source("SELECT 1; -- migrator: ignore[hidden-data-migration] reviewed by hand\n")
    src2.diagnostics.append(diag)
    assert lint_sources([src2], Config()).migrations[0].findings == []


def test_a_statement_note_is_a_hidden_body_warning_at_its_line():
    src = source("SELECT 1;\n")
    src.statements[0].note = "the revision reads query results here"
    (f,) = lint_sources([src], Config()).migrations[0].findings
    assert f.rule == "hidden-body" and f.severity is Severity.WARNING and f.loc.line == 1


# --- configuration ---------------------------------------------------------------------------

def test_a_rule_turned_off_reports_nothing():
    report = lint_sources([source("TRUNCATE s;\n")], Config(rules={"truncate": "off"}))
    assert report.migrations[0].findings == [] and not report.migrations[0].rejected


def test_a_rule_downgraded_to_warning_no_longer_rejects():
    report = lint_sources([source("TRUNCATE s;\n")], Config(rules={"truncate": "warning"}))
    (f,) = report.migrations[0].findings
    assert f.severity is Severity.WARNING and not report.migrations[0].rejected
    assert report.warnings == 1 and report.errors == 0


def test_a_warning_rule_can_be_made_an_error():
    report = lint_sources([source("FROBNICATE;\n")], Config(rules={"unparsed-statement": "error"}))
    assert report.migrations[0].rejected


@pytest.mark.parametrize("rules", [{"no-such-rule": "off"}, {"truncate": "fatal"}])
def test_bad_rule_configuration_is_a_usage_error(rules):
    with pytest.raises(UsageError):
        check_rule_config(Config(rules=rules))
    with pytest.raises(UsageError):
        lint_sources([], Config(rules=rules))


def test_source_rules_may_be_configured():
    check_rule_config(Config(rules={"missing-phase-tag": "off", "revision-import-error": "warning"}))


def test_server_version_comes_from_the_configuration():
    text = "ALTER TABLE users ADD COLUMN status text NOT NULL DEFAULT 'x';\n"
    assert lint_sources([source(text)], Config(server_version=10)).migrations[0].rejected
    assert not lint_sources([source(text)], Config(server_version=11)).migrations[0].rejected


# --- phases of whole migrations ----------------------------------------------------------------

def test_expand_migration_that_drops_is_a_phase_mismatch_at_the_drop():
    text = "-- migrator: phase=expand\nALTER TABLE u ADD COLUMN a text;\n\nALTER TABLE u DROP COLUMN b;\n"
    m = lint_text(text).migrations[0]
    assert m.phase is MigrationPhase.MIXED
    assert [f.rule for f in m.findings] == ["mixed-phase-migration"]
    m = lint_text("-- migrator: phase=expand\nSELECT 1;\nALTER TABLE u DROP COLUMN b;\n").migrations[0]
    (f,) = m.findings
    assert f.rule == "phase-mismatch" and f.loc.line == 3 and "phase=expand" in f.message


def test_contract_migration_that_adds_is_a_phase_mismatch():
    m = lint_text("-- migrator: phase=contract\nCREATE TABLE t (a int);\n").migrations[0]
    assert [f.rule for f in m.findings] == ["phase-mismatch"] and m.rejected


def test_neutral_only_migration_takes_its_declared_phase():
    m = lint_text("-- migrator: phase=contract\nANALYZE users;\n").migrations[0]
    assert m.phase is MigrationPhase.CONTRACT and m.findings == []


def test_sql_file_without_phase_warns_and_errs_when_it_contracts():
    m = lint_text("ALTER TABLE u ADD COLUMN a text;\n", kind="sql").migrations[0]
    assert [(f.rule, f.severity) for f in m.findings] == [("missing-phase", Severity.WARNING)]
    m = lint_text("ALTER TABLE u DROP COLUMN a;\n", kind="sql").migrations[0]
    assert [(f.rule, f.severity) for f in m.findings] == [("missing-phase", Severity.ERROR)]


def test_phase_from_an_expand_directory_needs_no_header():
    src = sql_source(b"ALTER TABLE u ADD COLUMN a text;\n", "expand/0001.sql", directory_phase="expand")
    assert lint_sources([src], Config()).migrations[0].findings == []


def test_findings_point_at_line_and_column_of_each_statement():
    text = "SELECT 1;\n  TRUNCATE a;\nALTER TABLE t\n  RENAME COLUMN x TO y;\n"
    fs = findings(text)
    assert [(f.rule, f.loc.line, f.loc.column) for f in fs] == [("truncate", 2, 3), ("rename-column", 3, 1)]


# --- never a crash ---------------------------------------------------------------------------

def test_a_parser_failure_becomes_an_unparsed_warning(monkeypatch):
    import migrator.sql.parse as parse

    def boom(stmt, server_version=15):
        raise RecursionError("too deep")

    monkeypatch.setattr(parse, "parse_statement", boom)
    (f,) = findings("SELECT 1;\n")
    assert f.rule == "unparsed-statement" and "RecursionError" in f.message


# --- state and caching -------------------------------------------------------------------------

def test_state_round_trips_through_json_and_names_itself_by_digest():
    state = SchemaState()
    lint_migration(source("CREATE TABLE u (id int, e varchar(20));\n"
                          "ALTER TABLE u ADD CONSTRAINT nn CHECK (e IS NOT NULL) NOT VALID;\n"),
                   state, Config())
    data = json.loads(json.dumps(state.to_dict()))
    again = SchemaState.from_dict(data)
    assert again.to_dict() == state.to_dict() and again.digest() == state.digest()
    assert again.column_type("u", "e") == "varchar(20)"
    assert again.has_unvalidated_not_null_check("u", "e")
    assert state.digest() != SchemaState().digest()


def test_lint_migration_advances_the_state_it_is_given():
    state = SchemaState()
    lint_migration(source("CREATE TABLE u (id int, e varchar(20));\n"), state, Config())
    m = lint_migration(source("ALTER TABLE u ALTER COLUMN e TYPE varchar(30);\n"), state, Config())
    assert m.findings == [] and state.column_type("u", "e") == "varchar(30)"


def test_lint_migration_accepts_operations_parsed_elsewhere():
    src = source("TRUNCATE a;\n")
    ops = engine.parse_source(src, 15)
    m = lint_migration(src, SchemaState(), Config(), operations=ops)
    assert [f.rule for f in m.findings] == ["truncate"] and m.operations is ops


def test_replaying_operations_gives_the_same_state_as_linting():
    text = "CREATE TABLE u (id int, e varchar(20));\nALTER TABLE u ALTER COLUMN e TYPE text;\n"
    linted, replayed = SchemaState(), SchemaState()
    m = lint_migration(source(text), linted, Config())
    for op in m.operations:
        replayed.apply(op)
    assert replayed.to_dict() == linted.to_dict()


# --- an Alembic revision, rendered offline ----------------------------------------------------

REVISION = '''\
"""add full name"""
from alembic import op
import sqlalchemy as sa

revision = "a1"
down_revision = None
branch_labels = ("expand",)
phase = "expand"
release = "1.0.0"


def upgrade():
    op.add_column("users", sa.Column("full_name", sa.Text(), nullable=True))
    op.create_index("users_full_name_idx", "users", ["full_name"], postgresql_concurrently=True)
    with op.get_context().autocommit_block():
        op.create_index("users_email_idx", "users", ["email"], postgresql_concurrently=True)
    # migrator: ignore[unbatched-update-delete] users has 40 rows (internal admin table)
    op.execute("UPDATE users SET full_name = name")


def downgrade():
    pass
'''


def test_alembic_revision_findings_point_at_the_py_lines(tmp_path):
    from migrator.sources.alembic_offline import render_revision

    path = tmp_path / "a1_add.py"
    path.write_text(REVISION)
    src = render_revision(path, "versions/a1_add.py")
    m = lint_sources([src], Config()).migrations[0]
    assert [(f.rule, f.loc.path, f.loc.line) for f in m.findings] == [
        ("concurrently-in-transaction", "versions/a1_add.py", 14)]
    assert m.phase is MigrationPhase.EXPAND and m.rejected


def test_suppressions_in_the_leading_comment_block_are_not_header_errors():
    text = ("-- migrator: phase=expand release=1.0.0\n"
            "-- migrator: ignore-file[truncate] scratch tables of the importer\n"
            "-- migrator: ignore[rename-column] nothing reads nick since 0.9\n"
            "ALTER TABLE users RENAME COLUMN nick TO nickname;\nTRUNCATE scratch;\n")
    src = sql_source(text.encode(), "0001.sql")
    m = lint_sources([src], Config()).migrations[0]
    assert m.findings == [] and m.source.declared_phase == "expand"


def test_a_failing_rule_is_a_warning_not_a_crash(monkeypatch):
    import dataclasses

    from migrator.lint import catalog

    rules = {r.name: r for r in catalog.all_rules()}

    def broken(op, ctx):
        raise KeyError("boom")

    rules["truncate"] = dataclasses.replace(rules["truncate"], check=broken)
    monkeypatch.setattr(catalog, "_catalog", lambda: rules)
    (f,) = findings("TRUNCATE a;\n")
    assert f.rule == "truncate" and f.severity is Severity.WARNING and "internal error" in f.message


ALTER_TYPE_REVISION = '''
from alembic import op
import sqlalchemy as sa

revision = "b1"
down_revision = None


def upgrade():
    with op.batch_alter_table("params") as batch_op:
        batch_op.alter_column("value", existing_type=sa.String(500), type_=sa.String({new}),
                              existing_nullable=False)
'''


@pytest.mark.parametrize("new, rules", [
    (6000, []),  # widening varchar: binary-coercible, the stated existing_type proves it
    (50, ["change-column-type"]),  # narrowing: checked against the stated type, still refused
])
def test_alembic_existing_type_is_the_previous_type(tmp_path, new, rules):
    from migrator.sources.alembic_offline import render_revision

    path = tmp_path / "b1_widen.py"
    path.write_text(ALTER_TYPE_REVISION.format(new=new))
    src = render_revision(path, "versions/b1_widen.py")
    m = lint_sources([src], Config()).migrations[0]
    assert [f.rule for f in m.findings if f.rule != "missing-phase-tag"] == rules
    assert m.phase is MigrationPhase.EXPAND and m.rejected is bool(rules)


def test_a_type_declared_by_an_earlier_migration_wins_over_existing_type(tmp_path):
    from migrator.sources.alembic_offline import render_revision

    path = tmp_path / "b1_widen.py"
    path.write_text(ALTER_TYPE_REVISION.format(new=6000))
    earlier = sql_source(b"CREATE TABLE params (value integer NOT NULL);\n", "0001.sql")
    m = lint_sources([earlier, render_revision(path, "versions/b1_widen.py")], Config()).migrations[1]
    assert "change-column-type" in [f.rule for f in m.findings]  # integer -> varchar rewrites


def test_default_calling_a_function_of_unknown_volatility_is_rejected_with_both_ways_out():
    from tests.cases.harness import lint_text

    (m,) = lint_text("ALTER TABLE posts ADD COLUMN owner uuid DEFAULT auth.uid();").migrations
    assert [(f.rule, f.severity.value) for f in m.findings] == [("volatile-default", "error")]
    assert "auth.uid" in m.findings[0].message and m.rejected
    text = m.findings[0].message + m.findings[0].fix
    assert 'functions = {"auth.uid" = "stable"}' in text and "ALTER FUNCTION auth.uid(...) STABLE" in text
    assert "backfill" in text
    (m,) = lint_text("ALTER TABLE posts ADD COLUMN owner text DEFAULT lower('X');").migrations
    assert m.findings == []
