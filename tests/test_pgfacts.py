"""pgfacts: type names, binary-coercible changes and volatility, checked against a real server."""

from __future__ import annotations

import psycopg
import pytest

from migrator import pgfacts
from migrator.pgfacts import is_binary_coercible, normalize_type, volatile_calls


@pytest.mark.parametrize(
    "text, expected",
    [
        ("character varying(20)", "varchar(20)"),
        ("CHARACTER VARYING", "varchar"),
        ("VARCHAR( 20 )", "varchar(20)"),
        ("int4", "int"), ("integer", "int"), ("INT", "int"),
        ("int8", "bigint"), ("BIGINT", "bigint"), ("int2", "smallint"),
        ("serial4", "serial"), ("serial8", "bigserial"),
        ("timestamp with time zone", "timestamptz"),
        ("timestamp(3) with time zone", "timestamptz(3)"),
        ("TIMESTAMP WITHOUT TIME ZONE", "timestamp"),
        ("time with time zone", "timetz"),
        ("numeric(10, 2)", "numeric(10,2)"), ("DECIMAL(5)", "numeric(5)"),
        ("double precision", "float8"), ("float", "float8"), ("float(10)", "real"), ("float4", "real"),
        ("boolean", "bool"),
        ("bit varying(5)", "varbit(5)"),
        ("character(3)", "char(3)"), ("bpchar", "bpchar"), ("character", "char(1)"),
        ("integer[]", "int[]"), ("text[][]", "text[][]"), ("int[3]", "int[]"), ("integer array", "int[]"),
        ("varchar(10)[]", "varchar(10)[]"),
        ("pg_catalog.text", "text"),
        ("public.citext", "public.citext"),
        ('"MyType"', '"MyType"'),
        ('"char"', '"char"'),
        ("  Text ", "text"),
    ],
)
def test_normalize_type(text, expected):
    assert normalize_type(text) == expected


def test_normalize_type_of_nothing():
    assert normalize_type(None) is None
    assert normalize_type("  ") is None


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("varchar(10)", "varchar(20)", True),
        ("character varying(10)", "varchar(10)", True),
        ("varchar(20)", "varchar(10)", False),
        ("varchar(10)", "varchar", True),
        ("varchar(10)", "text", True),
        ("varchar", "text", True),
        ("text", "varchar", True),
        ("text", "varchar(10)", False),
        ("varchar", "varchar(10)", False),
        ("numeric(10,2)", "numeric(12,2)", True),
        ("numeric(10,2)", "numeric(12,3)", False),
        ("numeric(10,2)", "numeric(8,2)", False),
        ("numeric(10,2)", "numeric", True),
        ("numeric", "numeric(10,2)", False),
        ("decimal(5)", "numeric(6,0)", True),
        ("cidr", "inet", True),
        ("inet", "cidr", False),
        ("timestamp(3)", "timestamp(6)", True),
        ("timestamp(3)", "timestamp", True),
        ("timestamptz(6)", "timestamptz(3)", False),
        ("bit varying(5)", "varbit(10)", True),
        ("varbit(10)", "bit varying(5)", False),
        ("int", "integer", True),
        ("int", "bigint", False),
        ("smallint", "int", False),
        ("timestamp", "timestamptz", False),
        ("text", "jsonb", False),
        ("char(5)", "varchar(10)", False),
        ("int[]", "bigint[]", False),
        ("citext", "text", True),  # the citext extension's cast is binary (checked on PG 15)
        ("citext", "varchar(10)", False),
        ("hstore", "text", None),
        ("text", "mood", None),
        (None, "text", None),
    ],
)
def test_is_binary_coercible(old, new, expected):
    assert is_binary_coercible(old, new) is expected


@pytest.mark.parametrize(
    "expr, names",
    [
        ("gen_random_uuid()", ["gen_random_uuid"]),
        ("GEN_RANDOM_UUID()", ["gen_random_uuid"]),
        ("public.uuid_generate_v4()", ["uuid_generate_v4"]),
        ("md5(random()::text)", ["random"]),
        ("nextval('s'::regclass)", ["nextval"]),
        ("clock_timestamp()", ["clock_timestamp"]),
        ("now()", []),
        ("CURRENT_TIMESTAMP", []),
        ("statement_timestamp()", []),
        ("txid_current()", []),
        ("'random()'", []),
        ("lower('X')", []),
    ],
)
def test_volatile_calls(expr, names):
    assert volatile_calls(expr) == names


def test_thresholds():
    assert pgfacts.FAST_DEFAULT_SINCE == 11
    assert pgfacts.SET_NOT_NULL_VIA_CHECK_SINCE == 12
    assert pgfacts.ENUM_ADD_VALUE_IN_TRANSACTION_SINCE == 12
    assert pgfacts.REINDEX_CONCURRENTLY_SINCE == 12


@pytest.mark.postgres
def test_volatility_table_matches_the_server_catalog(pg_url):
    """Every built-in function we call volatile is volatile in pg_proc, and the clocks we call
    stable (now, current_timestamp, statement_timestamp, txid_current) are not."""
    builtins = sorted(pgfacts.VOLATILE_FUNCTIONS - pgfacts.EXTENSION_OR_NEWER_FUNCTIONS)
    with psycopg.connect(pg_url) as conn:
        rows = dict(conn.execute(
            "SELECT proname, string_agg(DISTINCT provolatile::text, '') FROM pg_proc "
            "WHERE proname = ANY(%s) GROUP BY proname",
            (builtins + ["now", "statement_timestamp", "transaction_timestamp", "txid_current"],),
        ).fetchall())
    for name in builtins:
        assert rows.get(name) == "v", f"{name}: pg_proc says {rows.get(name)!r}"
    for name in ("now", "statement_timestamp", "transaction_timestamp", "txid_current"):
        assert rows[name] == "s"
        assert name not in pgfacts.VOLATILE_FUNCTIONS


REWRITE_CASES = [
    ("varchar(10)", "varchar(20)"), ("varchar(10)", "text"), ("varchar(10)", "varchar"),
    ("text", "varchar"), ("numeric(10,2)", "numeric(12,2)"), ("numeric(10,2)", "numeric"),
    ("cidr", "inet"), ("timestamp(3)", "timestamp(6)"), ("varbit(5)", "varbit(10)"),
    ("int", "bigint"), ("numeric(10,2)", "numeric(12,3)"), ("varchar(10)", "char(10)"),
    ("smallint", "int"), ("timestamptz(3)", "timestamptz(6)"),
]


@pytest.mark.postgres
def test_binary_coercible_changes_do_not_rewrite_on_a_real_server(pg_url):
    """True means the table file is kept (no rewrite); the False cases here do rewrite."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("SET TimeZone = 'Europe/Berlin'")
        for i, (old, new) in enumerate(REWRITE_CASES):
            table = f"rw_{i}"
            conn.execute(f"CREATE TABLE {table} (c {old})")
            conn.execute(f"INSERT INTO {table} VALUES (NULL)")
            before = conn.execute("SELECT relfilenode FROM pg_class WHERE relname = %s", (table,)).fetchone()[0]
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN c TYPE {new}")
            after = conn.execute("SELECT relfilenode FROM pg_class WHERE relname = %s", (table,)).fetchone()[0]
            rewritten = before != after
            assert is_binary_coercible(old, new) is (not rewritten), (
                f"{old} -> {new}: server rewrote={rewritten}, pgfacts says "
                f"binary-coercible={is_binary_coercible(old, new)}")


@pytest.mark.postgres
def test_builtin_function_list_matches_the_server(pg_url):
    from migrator.pg_builtin_functions import NAMES

    with psycopg.connect(pg_url) as conn:
        server = {r[0] for r in conn.execute(
            "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace")}
    assert server - NAMES == set(), "functions built into the test server missing from the list"
    assert pgfacts.is_builtin_function("setval") and pgfacts.is_builtin_function("now")
    assert not pgfacts.is_builtin_function("create_hypertable")
    assert not pgfacts.is_builtin_function("setval", schema="public")
    assert pgfacts.is_builtin_function("setval", schema="pg_catalog")
