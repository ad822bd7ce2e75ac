"""The classifier and the rules against a labeled case set (tests/cases/operations.txt), and the
schema state carried from one migration to the next."""

from __future__ import annotations

import pytest

from migrator.model import MigrationPhase, Phase, Severity
from tests.cases.harness import last_operation, lint_text, load_cases, rule_names

CASES = load_cases()


def test_case_set_is_broad():
    assert len(CASES) >= 150
    phases = {c.phase for c in CASES}
    assert phases == {"expand", "contract", "neutral", "rejected", "unknown"}
    rejected_rules = {r for c in CASES for r in c.rules}
    assert len(rejected_rules) >= 25


def test_accuracy_on_labeled_cases_is_100_percent():
    wrong = []
    for case in CASES:
        phase, rules, _ = case.run()
        if phase != case.phase or rules != case.rules:
            wrong.append(f"cases line {case.line}: expected {case.phase} {sorted(case.rules)}, "
                         f"got {phase} {sorted(rules)}: {case.sql}")
    accuracy = 100.0 * (len(CASES) - len(wrong)) / len(CASES)
    print(f"\nclassifier accuracy: {accuracy:.1f}% ({len(CASES) - len(wrong)}/{len(CASES)} cases)")
    assert not wrong, "\n".join(wrong)


# --- the state carried across migrations ------------------------------------------------------

NEXT = "\n-- next migration\n"


def _type_change(previous: str | None, new: str, **kw):
    first = f"CREATE TABLE users (id bigint PRIMARY KEY, email {previous});" if previous else \
        "CREATE TABLE accounts (id bigint PRIMARY KEY);"
    return lint_text(first + NEXT + f"ALTER TABLE users ALTER COLUMN email TYPE {new};", **kw)


def test_widening_a_type_created_earlier_is_expand():
    report = _type_change("varchar(20)", "varchar(50)")
    assert last_operation(report).phase is Phase.EXPAND
    assert report.migrations[1].phase is MigrationPhase.EXPAND
    assert rule_names(report) == set()


def test_narrowing_a_type_created_earlier_is_rejected():
    report = _type_change("varchar(50)", "varchar(20)")
    assert last_operation(report).phase is Phase.REJECTED
    assert rule_names(report) == {"change-column-type"}
    (finding,) = report.migrations[1].findings
    assert "varchar(50)" in finding.message and "varchar(20)" in finding.message


def test_unknown_previous_type_is_rejected_saying_what_was_not_seen():
    report = _type_change(None, "varchar(50)")
    assert last_operation(report).phase is Phase.REJECTED
    (finding,) = report.migrations[1].findings
    assert finding.rule == "unknown-previous-type" and finding.severity is Severity.ERROR
    assert "previous type of users.email" in finding.message
    assert finding.loc.path == "m1.sql" and finding.loc.line == 1


def test_type_seen_through_a_chain_of_migrations():
    text = ("CREATE TABLE users (id int, email varchar(20));" + NEXT
            + "ALTER TABLE users ALTER COLUMN email TYPE varchar(40);" + NEXT
            + "ALTER TABLE users ALTER COLUMN email TYPE varchar(30);")
    report = lint_text(text)
    assert [m.rejected for m in report.migrations] == [False, False, True]
    assert "from varchar(40) to varchar(30)" in report.migrations[2].findings[0].message


def test_a_dropped_table_forgets_its_columns():
    text = ("CREATE TABLE users (id int, email varchar(20));" + NEXT + "DROP TABLE users;" + NEXT
            + "ALTER TABLE users ALTER COLUMN email TYPE varchar(40);")
    assert rule_names(lint_text(text)) == {"unknown-previous-type"}


CONTRACT = "-- migrator: phase=contract\n"
NOT_NULL_RECIPE = (
    CONTRACT + "ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;"
    + NEXT + CONTRACT + "ALTER TABLE users VALIDATE CONSTRAINT users_email_nn;"
    + NEXT + CONTRACT + "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\n"
    + "ALTER TABLE users DROP CONSTRAINT users_email_nn;"
)


def test_set_not_null_after_a_validated_check_is_contract():
    report = lint_text(NOT_NULL_RECIPE)
    assert [m.phase for m in report.migrations] == [MigrationPhase.CONTRACT] * 3
    assert rule_names(report) == set()
    assert report.migrations[2].operations[0].phase is Phase.CONTRACT


def test_set_not_null_on_postgresql_11_is_rejected_even_with_the_check():
    report = lint_text(NOT_NULL_RECIPE, server_version=11)
    assert rule_names(report) == {"set-not-null-without-check"}
    assert "PostgreSQL 11" in report.migrations[2].findings[0].message
    assert report.migrations[2].operations[0].phase is Phase.REJECTED


def test_set_not_null_with_the_check_not_yet_validated_says_so():
    text = ("ALTER TABLE users ADD CONSTRAINT users_email_nn CHECK (email IS NOT NULL) NOT VALID;"
            + NEXT + "ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
    (finding,) = lint_text(text).migrations[1].findings
    assert finding.rule == "set-not-null-without-check" and "still NOT VALID" in finding.message


def test_set_not_null_in_a_later_run_without_the_earlier_migrations_is_rejected():
    report = lint_text("ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
    (finding,) = report.migrations[0].findings
    assert "no validated CHECK" in finding.message


@pytest.mark.parametrize("check", ["email IS NOT NULL", "(email IS NOT NULL)", "NOT (email IS NULL)"])
def test_spellings_of_the_not_null_check_are_recognized(check):
    text = (f"ALTER TABLE users ADD CONSTRAINT c CHECK ({check}) NOT VALID;" + NEXT
            + "ALTER TABLE users VALIDATE CONSTRAINT c;" + NEXT
            + "ALTER TABLE users ALTER COLUMN email SET NOT NULL;")
    assert rule_names(lint_text(text)) == set()


# --- the taxonomy's claims, checked on a real PostgreSQL server --------------------------------
# "expand" for a type change or a column default promises no table rewrite. PostgreSQL tells
# whether it rewrote: the table gets a new relfilenode.

TYPE_CHANGES = [
    ("varchar(20)", "varchar(50)"), ("varchar(20)", "text"), ("varchar(20)", "varchar"),
    ("numeric(10,2)", "numeric(12,2)"), ("numeric(10,2)", "numeric"), ("cidr", "inet"),
    ("text", "varchar"), ("varchar(50)", "varchar(20)"), ("int", "bigint"), ("bigint", "int"),
    ("text", "varchar(10)"), ("numeric(10,2)", "numeric(12,4)"), ("int", "text"),
    ("varchar(10)", "char(10)"),
]
ADDED_COLUMNS = [
    "text", "text NOT NULL DEFAULT 'x'", "timestamptz DEFAULT now()", "int DEFAULT 0",
    "uuid DEFAULT gen_random_uuid()", "timestamptz DEFAULT clock_timestamp()", "bigserial",
    "int GENERATED ALWAYS AS (id * 2) STORED", "bigint GENERATED ALWAYS AS IDENTITY",
]


def _rewrites(conn, setup: str, change: str) -> bool:
    conn.execute("DROP TABLE IF EXISTS t")
    conn.execute(setup)
    conn.execute("INSERT INTO t (id) SELECT g FROM generate_series(1, 50) g")
    before = conn.execute("SELECT relfilenode FROM pg_class WHERE oid = 't'::regclass").fetchone()
    conn.execute(change)
    after = conn.execute("SELECT relfilenode FROM pg_class WHERE oid = 't'::regclass").fetchone()
    return before != after


@pytest.mark.postgres
def test_expand_type_changes_and_added_columns_never_rewrite_on_postgresql(pg_url):
    import psycopg

    checked = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for old, new in TYPE_CHANGES:
            setup = f"CREATE TABLE t (id int, c {old})"
            change = f"ALTER TABLE t ALTER COLUMN c TYPE {new}"
            if old == "cidr":
                setup = "CREATE TABLE t (id int, c cidr DEFAULT '10.0.0.0/8')"
            phase = last_operation(lint_text(setup + ";" + NEXT + change + ";")).phase
            checked.append((change, phase, _rewrites(conn, setup, change)))
        for spec in ADDED_COLUMNS:
            setup = "CREATE TABLE t (id int)"
            change = f"ALTER TABLE t ADD COLUMN c {spec}"
            phase = last_operation(lint_text(change + ";")).phase
            checked.append((change, phase, _rewrites(conn, setup, change)))
    wrong = [(c, p.value, r) for c, p, r in checked if (p is Phase.EXPAND) == r]
    assert not wrong, f"classified expand but rewrote (or rejected but did not): {wrong}"
    assert {p for _, p, _ in checked} == {Phase.EXPAND, Phase.REJECTED}
