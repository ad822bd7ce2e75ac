"""split_sql: statements, locations and transaction marking of a PostgreSQL script."""

from __future__ import annotations

import pytest

from migrator.sql.split import split_sql
from tests.support.work import growth


def sqls(text: str, **kw) -> list[str]:
    return [s.sql for s in split_sql(text, "m.sql", **kw)]


def test_semicolons_separate_statements_and_are_dropped():
    assert sqls("SELECT 1; SELECT 2;\nSELECT 3") == ["SELECT 1", "SELECT 2", "SELECT 3"]


def test_empty_statements_and_blank_text_give_nothing():
    assert sqls(";;  ;\n\n") == []
    assert sqls("") == []
    assert sqls("-- only a comment\n/* and another */") == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
        ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
        (r"SELECT E'\'; still'; SELECT 2", [r"SELECT E'\'; still'", "SELECT 2"]),
        (r"SELECT e'a\\'; SELECT 2", [r"SELECT e'a\\'", "SELECT 2"]),
        # a backslash in a standard string is just a character
        ("SELECT 'a\\'; SELECT 2", ["SELECT 'a\\'", "SELECT 2"]),
        ('CREATE TABLE "a;b" (x int); SELECT 2', ['CREATE TABLE "a;b" (x int)', "SELECT 2"]),
        ('SELECT "a"";b"; SELECT 2', ['SELECT "a"";b"', "SELECT 2"]),
        ("SELECT $$ a; b $$; SELECT 2", ["SELECT $$ a; b $$", "SELECT 2"]),
        ("SELECT $fn$ $$; $fn$; SELECT 2", ["SELECT $fn$ $$; $fn$", "SELECT 2"]),
        ("SELECT $a$ $b$; $b$ $a$; SELECT 2", ["SELECT $a$ $b$; $b$ $a$", "SELECT 2"]),
        ("SELECT 1 -- x; y\n; SELECT 2", ["SELECT 1 -- x; y", "SELECT 2"]),
        ("SELECT /* a; /* nested; */ b; */ 1; SELECT 2", ["SELECT /* a; /* nested; */ b; */ 1", "SELECT 2"]),
        # $1 is a parameter, not a dollar quote; identifiers may contain $
        ("SELECT $1; SELECT a$b$c; SELECT 2", ["SELECT $1", "SELECT a$b$c", "SELECT 2"]),
        # an identifier ending in e followed by a quote is not an E-string
        ("SELECT type'x\\'; SELECT 2", ["SELECT type'x\\'", "SELECT 2"]),
    ],
)
def test_semicolons_inside_quotes_and_comments_do_not_split(text, expected):
    assert sqls(text) == expected


def test_dollar_quoted_function_body_is_one_statement():
    text = """
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  UPDATE t SET x = 1;  -- inside ; body
  RETURN NEW;
END;
$body$;
SELECT 2;
"""
    out = sqls(text)
    assert len(out) == 2
    assert out[0].startswith("CREATE FUNCTION") and out[0].endswith("$body$")
    assert out[1] == "SELECT 2"


def test_sql_standard_function_body_keeps_its_semicolons():
    text = ("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n"
            "  SELECT CASE WHEN true THEN 2 END;\nEND;\nSELECT 3;")
    out = sqls(text)
    assert len(out) == 2
    assert out[0].endswith("END") and "SELECT CASE" in out[0]
    assert out[1] == "SELECT 3"


def test_psql_meta_commands_are_skipped():
    text = "\\connect app\n\\set ON_ERROR_STOP on\nSELECT 1;\n  \\c other\nSELECT 2;"
    assert sqls(text) == ["SELECT 1", "SELECT 2"]


def test_location_is_first_real_token_not_leading_comment():
    text = "-- header\n\n/* block\n comment */   ALTER TABLE t ADD c int;\n\n\tSELECT 1;  SELECT 2;"
    out = split_sql(text, "db/001.sql")
    assert [(s.loc.line, s.loc.column) for s in out] == [(4, 15), (6, 2), (6, 13)]
    assert all(s.loc.path == "db/001.sql" for s in out)
    assert out[0].sql == "ALTER TABLE t ADD c int"


def test_location_after_multiline_strings_and_bodies():
    text = "SELECT 'a\nb\nc';\nDO $$\nBEGIN\nEND\n$$;\n  CREATE INDEX i ON t (a);"
    out = split_sql(text, "x.sql")
    assert [(s.loc.line, s.loc.column) for s in out] == [(1, 1), (4, 1), (8, 3)]


def test_location_counts_characters_not_bytes():
    out = split_sql("SELECT 'ünïcødé'; SELECT 2;", "x.sql")
    assert (out[1].loc.line, out[1].loc.column) == (1, 19)


def test_last_statement_without_semicolon_and_unterminated_quote_run_to_end():
    assert sqls("SELECT 1;\nSELECT 2  \n") == ["SELECT 1", "SELECT 2"]
    assert sqls("SELECT 1; SELECT 'oops;\nSELECT 3;") == ["SELECT 1", "SELECT 'oops;\nSELECT 3;"]
    assert sqls("SELECT 1; /* never closed; SELECT 2;") == ["SELECT 1"]


def test_plain_file_is_wrapped_in_one_transaction_by_default():
    out = split_sql("ALTER TABLE t ADD c int; CREATE INDEX i ON t (c);", "x.sql")
    assert [s.in_transaction for s in out] == [True, True]


def test_plain_file_not_wrapped_runs_in_autocommit():
    out = split_sql("CREATE INDEX CONCURRENTLY i ON t (c);", "x.sql", wrapped=False)
    assert [s.in_transaction for s in out] == [False]


def test_explicit_begin_commit_block_marks_statements_inside():
    text = """
CREATE INDEX CONCURRENTLY i ON t (a);
BEGIN;
ALTER TABLE t ADD c int;
UPDATE t SET c = 1 WHERE id = 1;
COMMIT;
CREATE INDEX CONCURRENTLY j ON t (c);
START TRANSACTION ISOLATION LEVEL SERIALIZABLE;
SAVEPOINT s;
ROLLBACK TO SAVEPOINT s;
DELETE FROM t WHERE id = 2;
END;
VACUUM t;
BEGIN WORK;
SELECT 1;
ROLLBACK;
"""
    out = split_sql(text, "x.sql", wrapped=False)
    marks = [(s.sql.split()[0], s.in_transaction) for s in out]
    assert marks == [
        ("CREATE", False), ("BEGIN", True), ("ALTER", True), ("UPDATE", True), ("COMMIT", True),
        ("CREATE", False), ("START", True), ("SAVEPOINT", True), ("ROLLBACK", True),
        ("DELETE", True), ("END", True), ("VACUUM", False), ("BEGIN", True), ("SELECT", True),
        ("ROLLBACK", True),
    ]


def test_explicit_transaction_control_overrides_wrapping():
    # A wrapped script starts in the runner's transaction (the BEGIN inside it changes nothing);
    # its COMMIT ends that transaction, and what follows autocommits.
    out = split_sql("SELECT 1; BEGIN; SELECT 2; COMMIT; SELECT 3;", "x.sql", wrapped=True)
    assert [s.in_transaction for s in out] == [True, True, True, True, False]
    out = split_sql("SELECT 1; BEGIN; SELECT 2; COMMIT; SELECT 3;", "x.sql", wrapped=False)
    assert [s.in_transaction for s in out] == [False, True, True, True, False]
    out = split_sql("SELECT 1; COMMIT; SELECT 3;", "x.sql", wrapped=True)
    assert [s.in_transaction for s in out] == [True, True, False]


def test_begin_inside_a_body_is_not_transaction_control():
    out = split_sql("DO $$ BEGIN PERFORM 1; END $$; CREATE INDEX CONCURRENTLY i ON t (a);",
                    "x.sql", wrapped=False)
    assert [s.in_transaction for s in out] == [False, False]


CHUNK = ("ALTER TABLE t ADD COLUMN c int DEFAULT 0; -- note; here\n"
         "INSERT INTO t VALUES ('a;b', E'\\';', $$;$$); /* x; */\n")


def test_large_script_splits_every_statement():
    out = split_sql(CHUNK * 20000, "big.sql")  # ~2.2 MB, 40k statements
    assert len(out) == 40000
    assert out[-1].loc.line == 40000


def test_splitting_work_is_linear_in_the_script_size():
    """Ten times the script, ten times the calls (a quadratic splitter would make ~100x).
    Seconds per MB are printed by benchmarks/sql_bench.py."""
    assert growth(lambda n: split_sql(CHUNK * n, "big.sql"), 400) < 1.1


# ---- property: joining statements with semicolons and splitting gives them back ---------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_FRAGMENTS = ["SELECT 1", "'a;b'", "'it''s;'", "E'\\';'", '"q;x"', "$$ ; $$", "$t$ $$; $t$",
              "/* c; /* n; */ */", "x", "(a, b)", "-- c;\n", "t.a", "$1", "a$b"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=6), min_size=1, max_size=6))
def test_split_inverts_join(parts):
    statements = ["SELECT " + " ".join(p) for p in parts]
    text = ";\n".join(statements) + ";"
    got = [s.sql for s in split_sql(text, "p.sql")]
    want = [s.rstrip() for s in statements]
    assert got == want
    # every statement starts on the line the join put it on
    lines = [s.loc.line for s in split_sql(text, "p.sql")]
    expected_lines, line = [], 1
    for s in statements:
        expected_lines.append(line)
        line += s.count("\n") + 1
    assert lines == expected_lines


def test_copy_from_stdin_data_is_not_sql():
    text = ("SET x = 1;\nCOPY public.t (a, b) FROM stdin;\n1\tit's; here\n2\t$$ -- ;\n\\.\n"
            "SELECT 2;\ncopy t from STDIN with (format csv);\na;b\n\\.\n")
    out = split_sql(text, "dump.sql")
    assert [s.sql for s in out] == ["SET x = 1", "COPY public.t (a, b) FROM stdin", "SELECT 2",
                                    "copy t from STDIN with (format csv)"]
    assert out[2].loc.line == 6


def test_windows_line_endings_and_byte_order_mark():
    out = split_sql("\ufeffSELECT 1;\r\n  SELECT 2;\r\n", "win.sql")
    assert [s.sql for s in out] == ["SELECT 1", "SELECT 2"]
    assert [(s.loc.line, s.loc.column) for s in out] == [(1, 1), (2, 3)]


# ---- property: the fast scan splits exactly as the splitter it replaced -----------------------
from tests.support import split_reference  # noqa: E402

# Pieces that change the lexical state (or look as if they might) next to plain text, so
# random joins produce E-strings after words, tags inside identifiers, nested comments,
# unterminated quotes, COPY data, BEGIN ATOMIC bodies and transaction control.
_LEXEMES = ["e'", "E'", "'", "''", '"', "\\", "\\'", "$", "$$", "$a$", "$b1$", "a$", "x$y$",
            "--", "/*", "*/", "/", "-", ";", "\n", "\r\n", " ", "\t", "\ufeff", "é", "_",
            "type", "e", "1", "BEGIN", "begin atomic", "END", "COMMIT", "ROLLBACK TO s",
            "START TRANSACTION", "create function f() returns int ", "case", "copy t from stdin",
            "\\.", "\\connect db", "PREPARE TRANSACTION 'x'", "SELECT "]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_LEXEMES), max_size=40), st.booleans())
def test_fast_scan_equals_the_reference_splitter(pieces, wrapped):
    text = "".join(pieces)
    got = split_sql(text, "f.sql", wrapped=wrapped)
    want = split_reference.split_sql(text, "f.sql", wrapped=wrapped)
    assert got == want


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("eE'\"$a_1;-/*\\\n .é"), max_size=60), st.booleans())
def test_fast_scan_equals_the_reference_splitter_on_any_characters(text, wrapped):
    assert split_sql(text, "f.sql", wrapped=wrapped) == split_reference.split_sql(
        text, "f.sql", wrapped=wrapped)


_SCRIPT = """\ufeff-- migrator: phase=expand
/* header /* nested; */ still; */
CREATE TABLE t (id bigint, note text DEFAULT 'it''s; fine', "odd;name" int);
INSERT INTO t VALUES (1, E'a\\';b', $q$ ; $$ ; $q$), (2, type'x', a$b$);
CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
  IF NEW.x THEN RAISE NOTICE 'x;'; END IF; RETURN NEW;
END $body$;
CREATE FUNCTION g(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC
  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END; SELECT 2;
END;
BEGIN; CREATE INDEX CONCURRENTLY i ON t (id); COMMIT;
COPY t (id, note) FROM stdin;
3\tsemi; colon
\\.
\\connect other
START TRANSACTION; ROLLBACK TO SAVEPOINT s; END;
SELECT 'unterminated;
"""


@pytest.mark.parametrize("wrapped", [True, False])
def test_fast_scan_equals_the_reference_splitter_on_a_realistic_script(wrapped):
    for text in (_SCRIPT, _SCRIPT.replace("\n", "\r\n"), CHUNK * 50):
        got = split_sql(text, "f.sql", wrapped=wrapped)
        assert got == split_reference.split_sql(text, "f.sql", wrapped=wrapped)
    assert len(split_sql(_SCRIPT, "f.sql")) == 12
