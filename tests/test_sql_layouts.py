"""Plain .sql migrations of the common tools: transaction mode from their markers, and their
down parts linted as rollbacks (issue: lint verdicts on real corpora, layouts and noise)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator.config import Config
from migrator.errors import UsageError
from migrator.lint.engine import lint_sources
from migrator.report import json as json_report
from migrator.sources.discover import load_sources

LOCKING = ("ALTER TABLE orders ADD CONSTRAINT orders_qty CHECK (qty > 0) NOT VALID;\n"
           "ALTER TABLE orders VALIDATE CONSTRAINT orders_qty;\n")
CONCURRENT = "CREATE INDEX CONCURRENTLY orders_qty_idx ON orders (qty);\n"


def lint_dir(root: Path, config: Config | None = None):
    config = config or Config(root=root)
    sources = load_sources([str(root)], config)
    return sources, lint_sources(sources, config)


def findings(report, index: int = 0) -> set[tuple[str, str]]:
    return {(f.rule, f.severity.value) for f in report.migrations[index].findings
            if f.rule != "missing-phase"}


def write(root: Path, rel: str, text: str) -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


# -- transaction mode ---------------------------------------------------------------------------


def test_an_undeclared_file_is_judged_by_harm(tmp_path):
    write(tmp_path, "001_locking.sql", LOCKING)
    write(tmp_path, "002_index.sql", CONCURRENT)
    sources, report = lint_dir(tmp_path)
    assert [(s.transaction, s.transaction_declared) for s in sources] == [("file", False)] * 2
    # the VALIDATE scans under the ADD's lock when the runner wraps the file: rejected
    assert ("validate-in-locking-transaction", "error") in findings(report, 0)
    # CONCURRENTLY is refused loudly if the file is wrapped: a warning saying how to declare
    concurrent = [f for f in report.migrations[1].findings if f.rule == "concurrently-in-transaction"]
    assert [f.severity.value for f in concurrent] == ["warning"]
    assert "transaction=false" in concurrent[0].message and "sql_transaction" in concurrent[0].message
    doc = json.loads(json_report.render(report))
    tx = doc["migrations"][0]["transaction"]
    assert tx["mode"] == "file" and tx["declared"] is False and "not declared" in tx["reason"]


@pytest.mark.parametrize("setting,validate_rejected,concurrent", [
    ("file", True, "error"), ("statement", False, None)])
def test_sql_transaction_setting_declares_the_mode(tmp_path, setting, validate_rejected, concurrent):
    write(tmp_path, "001_locking.sql", LOCKING)
    write(tmp_path, "002_index.sql", CONCURRENT)
    _, report = lint_dir(tmp_path, Config(root=tmp_path, sql_transaction=setting))
    assert (("validate-in-locking-transaction", "error") in findings(report, 0)) is validate_rejected
    got = {sev for rule, sev in findings(report, 1) if rule == "concurrently-in-transaction"}
    assert got == ({concurrent} if concurrent else set())
    doc = json.loads(json_report.render(report))
    assert doc["migrations"][0]["transaction"] == {
        "mode": setting, "declared": True, "reason": f'[tool.migrator] sql_transaction = "{setting}"'}


def test_a_bad_sql_transaction_setting_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="sql_transaction"):
        Config(root=tmp_path, sql_transaction="per-file")
    with pytest.raises(UsageError, match="functions"):
        Config(root=tmp_path, functions={"f": "sometimes"})


@pytest.mark.parametrize("name,text,mode,reason", [
    ("001_goose.sql", "-- +goose Up\n-- +goose NO TRANSACTION\n" + CONCURRENT, "statement", "goose"),
    ("001_goose.sql", "-- +goose up\n" + CONCURRENT, "file", "goose"),
    ("001_goose.sql", "--  +GOOSE NO TRANSACTION\n-- +goose Up\n" + CONCURRENT, "statement", "goose"),
    ("001_dbmate.sql", "-- migrate:up transaction:false\n" + CONCURRENT + "-- migrate:down\nDROP INDEX x;\n",
     "statement", "dbmate"),
    ("001_dbmate.sql", "-- migrate:up\n" + CONCURRENT, "file", "dbmate"),
    ("0001_sqlx.up.sql", "-- no-transaction\n" + CONCURRENT, "statement", "sqlx"),
    ("20210410175418000000_idx.autocommit.up.sql", CONCURRENT, "statement", "popx"),
    ("001_header.sql", "-- migrator: transaction=false\n" + CONCURRENT, "statement", "header"),
    ("001_header.sql", "-- +goose Up\n-- migrator: transaction=true\n" + CONCURRENT, "file", "header"),
])
def test_tool_markers_declare_the_mode(tmp_path, name, text, mode, reason):
    write(tmp_path, name, text)
    sources, report = lint_dir(tmp_path, Config(root=tmp_path, sql_transaction="file"))
    up = sources[0]
    assert (up.transaction, up.transaction_declared) == (mode, True)
    assert reason in up.transaction_reason
    concurrent = {sev for rule, sev in findings(report, 0) if rule == "concurrently-in-transaction"}
    assert concurrent == (set() if mode == "statement" else {"error"})


def test_flyway_script_config_and_its_default(tmp_path):
    write(tmp_path, "sql/V1__index.sql", CONCURRENT)
    write(tmp_path, "sql/V1__index.sql.conf", "executeInTransaction=false\n")
    write(tmp_path, "sql/V2__locking.sql", LOCKING)
    sources, report = lint_dir(tmp_path)
    assert [(s.transaction, s.transaction_declared) for s in sources] == [("statement", True), ("file", False)]
    assert "executeInTransaction=false in V1__index.sql.conf" in sources[0].transaction_reason
    assert "Flyway" in sources[1].transaction_reason
    assert findings(report, 0) == set()
    assert ("validate-in-locking-transaction", "error") in findings(report, 1)


def test_diesel_metadata_toml(tmp_path):
    write(tmp_path, "migrations/2024-01-01-000000_idx/up.sql", CONCURRENT)
    write(tmp_path, "migrations/2024-01-01-000000_idx/down.sql", "DROP INDEX CONCURRENTLY orders_qty_idx;\n")
    write(tmp_path, "migrations/2024-01-01-000000_idx/metadata.toml", "run_in_transaction = false\n")
    write(tmp_path, "migrations/2024-02-01-000000_chk/up.sql", LOCKING)
    write(tmp_path, "migrations/2024-02-01-000000_chk/down.sql", "ALTER TABLE orders DROP CONSTRAINT orders_qty;\n")
    sources, report = lint_dir(tmp_path)
    assert [(Path(s.path).parent.name[-3:], Path(s.path).name, s.direction, s.transaction, s.transaction_declared)
            for s in sources] == [
        ("idx", "up.sql", "up", "statement", True), ("idx", "down.sql", "down", "statement", True),
        ("chk", "up.sql", "up", "file", True), ("chk", "down.sql", "down", "file", True)]
    assert findings(report, 0) == set() and findings(report, 1) == set()
    assert ("validate-in-locking-transaction", "error") in findings(report, 2)


# -- down parts ----------------------------------------------------------------------------------


def test_down_parts_are_rollbacks_not_forward_steps(tmp_path):
    write(tmp_path, "V1__users.sql", "CREATE TABLE users (id int, email varchar(20));\n")
    write(tmp_path, "U1__users.sql", "DROP TABLE users;\n")
    write(tmp_path, "V2__widen.sql", "ALTER TABLE users ALTER COLUMN email TYPE varchar(40);\n")
    write(tmp_path, "U2__widen.sql", "ALTER TABLE users ALTER COLUMN email TYPE varchar(20);\n")
    sources, report = lint_dir(tmp_path)
    assert [(Path(s.path).name, s.direction) for s in sources] == [
        ("V1__users.sql", "up"), ("U1__users.sql", "down"), ("V2__widen.sql", "up"), ("U2__widen.sql", "down")]
    # the rollback of V1 did not drop users from the forward history: V2 still knows the type
    assert findings(report, 2) == set()
    # a rollback has no phase to declare or mix, but its own dangers are still reported
    rules = {f.rule for f in report.migrations[1].findings}
    assert "missing-phase" not in rules and "mixed-phase-migration" not in rules
    assert findings(report, 3) == {("change-column-type", "error")}
    doc = json.loads(json_report.render(report))
    assert [m.get("direction", "up") for m in doc["migrations"]] == ["up", "down", "up", "down"]


def test_goose_and_dbmate_sections_split_into_up_and_down_with_the_file_lines(tmp_path):
    text = ("-- +goose Up\nCREATE TABLE t (id int);\n-- +goose StatementBegin\nSELECT 1;\n"
            "-- +goose StatementEnd\n\n-- +goose Down\nDROP TABLE t;\n")
    write(tmp_path, "20240101_t.sql", text)
    write(tmp_path, "20240102_u.sql", "-- migrate:up\nALTER TABLE t ADD COLUMN a text;\n\n"
                                       "-- migrate:down\nALTER TABLE t DROP COLUMN a;\n")
    sources, report = lint_dir(tmp_path)
    assert [(Path(s.path).name, s.direction) for s in sources] == [
        ("20240101_t.sql", "up"), ("20240101_t.sql", "down"), ("20240102_u.sql", "up"), ("20240102_u.sql", "down")]
    assert [st.loc.line for st in sources[0].statements] == [2, 4]
    assert [(st.sql, st.loc.line) for st in sources[1].statements] == [("DROP TABLE t", 8)]
    assert [m.phase.value for m in report.migrations] == ["expand", "contract", "expand", "contract"]
    assert report.errors == 0


def test_sqlx_and_golang_migrate_down_files_follow_their_up_file(tmp_path):
    write(tmp_path, "1_users.up.sql", "CREATE TABLE users (id int);\n")
    write(tmp_path, "1_users.down.sql", "DROP TABLE users;\n")
    write(tmp_path, "2_email.up.sql", "ALTER TABLE users ADD COLUMN email text;\n")
    write(tmp_path, "2_email.down.sql", "ALTER TABLE users DROP COLUMN email;\n")
    sources, report = lint_dir(tmp_path)
    assert [(s.path.rsplit("/", 1)[-1], s.direction) for s in sources] == [
        ("1_users.up.sql", "up"), ("1_users.down.sql", "down"),
        ("2_email.up.sql", "up"), ("2_email.down.sql", "down")]
    assert report.errors == 0


# -- blanking the other direction's lines ---------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from migrator.sources.sql_layouts import _blank_except  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["", "a", "-- +goose Up", "x;\r"]), max_size=12),
       st.lists(st.tuples(st.integers(0, 14), st.integers(0, 14)), max_size=4))
def test_blank_except_keeps_exactly_the_lines_in_range(lines, keep):
    text = "\n".join(lines)
    n = len(text.split("\n"))
    kept = [any(a <= i < b for a, b in keep) for i in range(n)]
    want = "\n".join(line if k else "" for line, k in zip(text.split("\n"), kept))
    assert _blank_except(text, keep) == want
