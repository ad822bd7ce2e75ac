"""Random and mutated SQL through ``migrator lint --format json``: never a traceback, always a
valid JSON document (DESIGN section 3: what cannot be parsed is a warning, never a crash)."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.cli import cli

SEEDS = [
    "ALTER TABLE users ADD COLUMN full_name text;",
    "ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name;",
    "CREATE INDEX CONCURRENTLY idx_users_email ON users (email);",
    "CREATE INDEX idx_users_email ON users (email);",
    "CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, user_id bigint "
    "REFERENCES users (id), total numeric(10, 2) NOT NULL DEFAULT 0, note text);",
    "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;",
    "ALTER TABLE orders VALIDATE CONSTRAINT orders_user_fk;",
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;",
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(200);",
    "ALTER TABLE users RENAME COLUMN email TO email_address;",
    "ALTER TABLE users ADD COLUMN uid uuid DEFAULT gen_random_uuid();",
    "ALTER TYPE mood ADD VALUE 'happy';",
    "UPDATE users SET active = true;",
    "DELETE FROM sessions WHERE id < 1000;",
    "TRUNCATE audit_log CASCADE;",
    "SET lock_timeout = '2s';",
    "COMMENT ON TABLE users IS 'people; who log in';",
    "DO $$ BEGIN RAISE NOTICE 'hi'; END $$;",
    "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$;",
    "BEGIN;\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;",
    "DROP INDEX CONCURRENTLY IF EXISTS idx_old;",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv;",
    "ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE USING INDEX users_email_idx;",
    "VACUUM FULL users;",
    "LOCK TABLE users IN ACCESS EXCLUSIVE MODE;",
    "CREATE TABLE e (id int, during tstzrange, EXCLUDE USING gist (during WITH &&));",
    "ALTER TABLE users ALTER COLUMN name SET DEFAULT 'x', ALTER COLUMN age DROP NOT NULL;",
    "GRANT SELECT ON users TO reporting;",
    "-- migrator: ignore[require-concurrent-index] reason\nCREATE INDEX i ON t (a);",
]
FRAGMENTS = [
    ";", "'", '"', "$$", "$x$", "(", ")", ",", "--", "/*", "*/", "\n", " ", "\\", "E'\\''",
    "NOT VALID", "CONCURRENTLY", "USING INDEX", "IF EXISTS", "CASCADE", "DEFAULT now()",
    "ALTER TABLE", "ADD COLUMN", "DROP", "CREATE", "INDEX", "ON", "BEGIN", "COMMIT", "é", "\x00",
    "\t", "::", "[]", "ARRAY[1,2]", "WHERE", "NULL", "0", "-1", "99999999999999999999",
]

_mutation = st.tuples(
    st.sampled_from(["insert", "delete", "replace", "truncate", "duplicate"]),
    st.floats(0, 1), st.floats(0, 1), st.sampled_from(FRAGMENTS),
)


def _mutate(sql: str, mutations) -> str:
    for kind, a, b, frag in mutations:
        i = int(a * len(sql))
        j = min(len(sql), i + int(b * 12))
        if kind == "insert":
            sql = sql[:i] + frag + sql[i:]
        elif kind == "delete":
            sql = sql[:i] + sql[j:]
        elif kind == "replace":
            sql = sql[:i] + frag + sql[j:]
        elif kind == "truncate":
            sql = sql[:i]
        else:
            sql = sql + "\n" + sql[i:j]
    return sql


mutated_sql = st.builds(
    lambda seeds, muts: _mutate("\n".join(seeds), muts),
    st.lists(st.sampled_from(SEEDS), min_size=1, max_size=4),
    st.lists(_mutation, max_size=5),
)
random_sql = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=30).map("".join)


def _lint_stdin(sql: str):
    return CliRunner().invoke(cli, ["lint", "--format", "json", "--no-cache", "-"], input=sql)


def _assert_clean_json(result, sql: str) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crash on {sql!r}: {result.exception!r}")
    assert result.exit_code in (0, 1), f"exit {result.exit_code} on {sql!r}: {result.output}"
    doc = json.loads(result.stdout)
    assert doc["version"] == 1
    assert doc["summary"]["migrations"] == len(doc["migrations"]) == 1
    for f in doc["migrations"][0]["findings"]:
        assert f["line"] >= 1 and f["column"] >= 1 and f["severity"] in ("error", "warning")
    assert (result.exit_code == 1) == (doc["summary"]["errors"] > 0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_sql)
def test_mutated_real_statements_never_crash_and_give_valid_json(sql):
    _assert_clean_json(_lint_stdin(sql), sql)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_sql)
def test_random_text_never_crashes_and_gives_valid_json(sql):
    _assert_clean_json(_lint_stdin(sql), sql)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200).map(lambda b: b"CREATE INDEX i ON t (a);\n" + b))
def test_bytes_that_are_not_utf8_never_crash(data):
    result = CliRunner().invoke(cli, ["lint", "--format", "json", "--no-cache", "-"], input=data)
    _assert_clean_json(result, repr(data))
