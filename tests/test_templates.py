"""Migrations with template placeholders (Go templates, Flyway ``${...}``) in names.

Whatever fills them in runs later; what they stand for is unknown to the linter. A statement
with one is reported as not understood (a warning on its line), never judged on a wrong name:
the index's own name used as its table, or a table created without a name."""

from __future__ import annotations

import pytest

from migrator.config import Config
from migrator.lint.engine import lint_paths
from migrator.model import Location, OpKind, Statement
from migrator.sql.parse import parse_statement

LOC = Location("db/0001.up.sql", 3, 1)

TEMPLATED = [
    'CREATE TABLE {{ index .Options "Namespace" }}.users (id bigint PRIMARY KEY, email text)',
    'CREATE INDEX users_email_idx ON {{ index .Options "Namespace" }}.users (email)',
    'drop index {{ index .Options "Namespace" }}.refresh_tokens_token_idx',
    "COMMENT ON TABLE {{ .Schema }}.users IS 'people'",
    "ALTER TABLE {{.Schema}}.users ADD COLUMN x int",
    "CREATE TABLE ${schema}.users (id bigint)",
    "CREATE INDEX users_idx ON ${flyway:defaultSchema}.users (id)",
    "ALTER TABLE ${schema}.users DROP COLUMN email",
]


@pytest.mark.parametrize("sql", TEMPLATED)
def test_a_template_placeholder_makes_the_statement_unparsed(sql):
    ops = parse_statement(Statement(sql, LOC))
    assert [op.kind for op in ops] == [OpKind.UNPARSED], ops
    assert ops[0].reason


def test_braces_inside_a_string_are_not_a_template():
    ops = parse_statement(Statement("INSERT INTO t (body) VALUES ('{{ hello }}')", LOC))
    assert [op.kind for op in ops] == [OpKind.INSERT]


def test_lint_warns_on_each_templated_line_and_never_names_the_index_as_its_table(tmp_path):
    f = tmp_path / "000001_init.up.sql"
    f.write_text("-- migrator: phase=expand release=1.0.0\n" + ";\n".join(TEMPLATED[:4]) + ";\n")
    report = lint_paths([str(f)], Config(root=tmp_path), use_cache=False)
    findings = [x for m in report.migrations for x in m.findings]
    assert sorted({x.rule for x in findings}) == ["unparsed-statement"]
    assert sorted(x.loc.line for x in findings) == [2, 3, 4, 5]
    assert all("placeholder" in x.message for x in findings)
    assert not any("on existing table users_email_idx" in x.message for x in findings)
