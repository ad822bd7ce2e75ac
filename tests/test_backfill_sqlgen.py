"""The batch SQL: keyset pagination on the key, never OFFSET, identifiers quoted, values bound."""

from __future__ import annotations

import pytest
import sqlglot

from migrator.backfill.spec import BackfillSpec
from migrator.backfill.sqlgen import batch_statement, build
from migrator.errors import UsageError

SPEC = BackfillSpec("users", {"full_name": "first_name || ' ' || last_name"}, where="full_name IS NULL")


def test_postgres_batch_is_one_keyset_statement_without_offset():
    sql = batch_statement(SPEC, "postgresql")
    assert "OFFSET" not in sql.upper()
    assert "id > :after_0" in sql and "ORDER BY id LIMIT :batch_size" in sql
    assert "UPDATE users SET full_name = (first_name || ' ' || last_name)" in sql
    assert "(full_name IS NULL)" in sql
    parsed = sqlglot.parse(sql, read="postgres")
    assert len(parsed) == 1  # one statement per batch


def test_postgres_composite_key_uses_row_value_comparison():
    sql = batch_statement(SPEC, "postgresql", key=["tenant_id", "id"])
    assert "(tenant_id, id) > (:after_0, :after_1)" in sql
    assert "ORDER BY tenant_id, id LIMIT" in sql


def test_sqlite_composite_key_uses_expanded_or_form():
    sql = batch_statement(SPEC, "sqlite", key=["a", "b"])
    assert "((a > :after_0) OR (a = :after_0 AND b > :after_1))" in sql
    assert "((a < :upto_0) OR (a = :upto_0 AND b <= :upto_1))" in sql
    assert "OFFSET" not in sql.upper()


def test_first_batch_has_no_lower_bound():
    first = build(SPEC, "postgresql", ("id",)).first[0]
    assert ":after_0" not in first and "LIMIT :batch_size" in first


def test_crafted_names_are_quoted_identifiers():
    spec = BackfillSpec('users"; DROP TABLE users; --', {'x"; DROP TABLE t; --': "1"}, schema="app")
    sql = batch_statement(spec, "postgresql", key=['id" OR 1=1 --'])
    assert 'app."users""; DROP TABLE users; --"' in sql
    assert '"x""; DROP TABLE t; --" = (1)' in sql
    assert len(sqlglot.parse(sql, read="postgres")) == 1


def test_colons_in_developer_sql_are_not_bind_parameters():
    spec = BackfillSpec("t", {"v": "'a:b'::text"})
    stmts = build(spec, "postgresql", ("id",)).next
    assert "'a\\:b'\\:\\:text" in stmts[0]  # escaped for text(); rendered back by SQLAlchemy
    assert "'a:b'::text" in batch_statement(spec, "postgresql")


@pytest.mark.parametrize("kwargs", [
    {"table": "", "set": {"a": "1"}},
    {"table": "t", "set": {}},
    {"table": "t", "set": {"a": ""}},
    {"table": "t", "set": {"a": "1"}, "key": "id"},
    {"table": "t", "set": {"a": "1"}, "batch_size": 0},
    {"table": "t", "set": {"a": "1"}, "where": "  "},
])
def test_bad_declarations_are_usage_errors(kwargs):
    with pytest.raises(UsageError):
        BackfillSpec(**kwargs)


def test_spec_round_trips_through_json():
    spec = BackfillSpec("t", {"a": "b + 1"}, where="a IS NULL", key=("x", "y"), batch_size=10,
                        name="n", schema="s")
    assert BackfillSpec.from_json(spec.to_json()) == spec
    assert BackfillSpec("t", {"a": "1"}).resolved_name("abc123") == "abc123:t(a)"
