"""The linter's PostgreSQL facts, checked by running each statement on a real PostgreSQL 15.

- every ``is_binary_coercible`` answer for the built-in type families: the table's relfilenode
  before and after ``ALTER COLUMN ... TYPE`` (a new relfilenode is a rewrite);
- what a CHECK constraint proves to ``SET NOT NULL`` (PostgreSQL's own DEBUG1 message says
  whether it skipped the scan) against the parser's ``not_null_column``;
- the locks behind the verdicts of ALTER DOMAIN, ATTACH/DETACH PARTITION, triggers,
  row-level security and policies (pg_locks), and which LOCK TABLE modes block the running
  release's writes (a second session's INSERT times out, or not).
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from migrator.lint.context import LOCK_MODES, lock_blocks
from migrator.pgfacts import is_binary_coercible
from tests.cases.harness import lint_text

FAMILIES = {
    "character": ["varchar(10)", "varchar(20)", "varchar", "character varying(30)", "text",
                  "char(10)", "char(20)", "char", "bpchar", "citext"],
    "numeric": ["numeric(10,2)", "numeric(12,2)", "numeric(12,4)", "numeric(8,2)", "numeric",
                "numeric(10)", "decimal(12)", "int", "bigint", "smallint", "real", "float8"],
    "timestamp": ["timestamp", "timestamp(3)", "timestamp(6)", "timestamp(0) without time zone",
                  "timestamptz", "timestamptz(3)", "timestamp(4) with time zone", "date"],
    "time": ["time", "time(3)", "time(6)", "timetz", "timetz(2)", "time with time zone"],
    "interval": ["interval", "interval(3)", "interval(6)", "interval(0)", "interval day",
                 "interval day to second", "interval day to second(3)", "interval year to month",
                 "interval hour to minute", "interval second(2)", "interval minute to second(4)",
                 "INTERVAL YEAR"],
    "bit": ["bit(3)", "bit(5)", "varbit(3)", "bit varying(5)", "varbit"],
    "network": ["inet", "cidr"],
    "other": ["json", "jsonb", "text", "bytea", "uuid", "xml"],
    "array": ["varchar(10)[]", "varchar(20)[]", "text[]", "int[]", "integer array", "bigint[]"],
}
PAIRS = [(a, b) for types in FAMILIES.values() for a, b in itertools.permutations(types, 2)]


def _relfilenode(cur, table: str) -> int:
    return cur.execute("SELECT relfilenode FROM pg_class WHERE oid = %s::regclass", (table,)).fetchone()[0]


def test_every_binary_coercible_and_rewrite_claim_matches_postgresql(pg_url):
    wrong = []
    checked = 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        # timestamp <-> timestamptz skips the rewrite only in a UTC session: not a fact the
        # linter can know, so it is judged in a session that is not UTC.
        conn.execute("SET TimeZone = 'America/New_York'")
        try:  # contrib, shipped with the server packages
            conn.execute("CREATE EXTENSION IF NOT EXISTS citext")
            pairs = PAIRS
        except psycopg.Error:
            pairs = [p for p in PAIRS if "citext" not in p]
        for i, (old, new) in enumerate(pairs):
            table = f"t{i}"
            conn.execute(f"CREATE TABLE {table} (v {old})")
            before = _relfilenode(conn, table)
            try:
                conn.execute(f"ALTER TABLE {table} ALTER COLUMN v TYPE {new}")
            except psycopg.Error:
                conn.execute(f"DROP TABLE {table}")
                assert not is_binary_coercible(old, new), f"{old} -> {new} fails on PostgreSQL"
                continue
            rewrote = _relfilenode(conn, table) != before
            conn.execute(f"DROP TABLE {table}")
            claim = is_binary_coercible(old, new)
            checked += 1
            if claim is None or claim == rewrote:
                wrong.append(f"{old} -> {new}: PostgreSQL {'rewrote' if rewrote else 'did not rewrite'}, "
                             f"the linter says {claim}")
    assert checked > 300
    assert not wrong, "\n".join(wrong)


def test_the_linter_reads_interval_precision_up_as_expand_and_down_as_a_rewrite():
    up = lint_text("CREATE TABLE e (id int, d interval(3))\n-- next migration\n"
                   "ALTER TABLE e ALTER COLUMN d TYPE interval(6);")
    assert not up.errors and up.migrations[-1].phase.value == "expand"
    down = lint_text("CREATE TABLE e (id int, d interval)\n-- next migration\n"
                     "ALTER TABLE e ALTER COLUMN d TYPE interval day to second(2);")
    assert {f.rule for f in down.migrations[-1].findings} == {"change-column-type"}


CHECKS = [
    ("b IS NOT NULL", "b"), ("(b IS NOT NULL)", "b"), ("NOT (b IS NULL)", "b"),
    ("NOT b IS NULL", "b"), ("a > 0 AND b IS NOT NULL", "b"), ("b IS NOT NULL AND b <> ''", "b"),
    ("{table}.b IS NOT NULL", "b"), ("b IS NOT NULL OR a > 0", None), ("b <> ''", None),
    ("a IS NOT NULL", "a"), ("b IS NULL OR a > 0", None),
]


def test_what_a_check_proves_to_set_not_null_matches_postgresql(pg_url):
    wrong = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        notices: list[str] = []
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        for i, (check, proves) in enumerate(CHECKS):
            table = f"c{i}"
            check = check.format(table=table)
            conn.execute(f"CREATE TABLE {table} (a int, b text)")
            conn.execute(f"INSERT INTO {table} VALUES (1, 'x')")
            conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT c CHECK ({check}) NOT VALID")
            conn.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT c")
            notices.clear()
            conn.execute("SET client_min_messages = debug1")
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN b SET NOT NULL")
            conn.execute("RESET client_min_messages")
            skipped = any("sufficient to prove" in n for n in notices)
            assert skipped == (proves == "b"), (check, notices)
            report = lint_text(f"ALTER TABLE {table} ADD CONSTRAINT c CHECK ({check}) NOT VALID;")
            parsed = report.migrations[0].operations[0].constraint.not_null_column
            if parsed != proves:
                wrong.append(f"CHECK ({check}): PostgreSQL proves {proves}, the parser says {parsed}")
    assert not wrong, "\n".join(wrong)


def _locks(conn, statement: str, tables: tuple[str, ...]) -> dict[str, set[str]]:
    conn.execute("BEGIN")
    conn.execute(statement)
    rows = conn.execute(
        "SELECT relation::regclass::text, mode FROM pg_locks WHERE pid = pg_backend_pid() "
        "AND locktype = 'relation' AND relation::regclass::text = ANY(%s)", (list(tables),)).fetchall()
    conn.execute("ROLLBACK")
    out: dict[str, set[str]] = {}
    for rel, mode in rows:
        out.setdefault(rel, set()).add(mode)
    return out


def test_the_locks_behind_the_new_verdicts(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE DOMAIN amount AS numeric")
        conn.execute("CREATE TABLE pay (id int, v amount)")
        conn.execute("INSERT INTO pay VALUES (1, 5)")
        conn.execute("ALTER DOMAIN amount ADD CONSTRAINT pos CHECK (VALUE > 0) NOT VALID")
        conn.execute("CREATE TABLE parent (id int) PARTITION BY RANGE (id)")
        conn.execute("CREATE TABLE p1 (id int)")
        conn.execute("CREATE TABLE p2 (id int)")
        conn.execute("ALTER TABLE parent ATTACH PARTITION p2 FOR VALUES FROM (100) TO (200)")
        # validating or adding a domain constraint blocks writes to every table using it
        for stmt in ("ALTER DOMAIN amount VALIDATE CONSTRAINT pos",
                     "ALTER DOMAIN amount ADD CONSTRAINT small CHECK (VALUE < 1000)",
                     "ALTER DOMAIN amount SET NOT NULL"):
            assert "ShareLock" in _locks(conn, stmt, ("pay",))["pay"], stmt
        assert "ShareLock" not in _locks(
            conn, "ALTER DOMAIN amount ADD CONSTRAINT nv CHECK (VALUE < 10) NOT VALID", ("pay",)).get("pay", set())
        attach = _locks(conn, "ALTER TABLE parent ATTACH PARTITION p1 FOR VALUES FROM (0) TO (100)",
                        ("parent", "p1"))
        assert attach == {"parent": {"ShareUpdateExclusiveLock"}, "p1": {"AccessExclusiveLock"}}
        detach = _locks(conn, "ALTER TABLE parent DETACH PARTITION p2", ("parent", "p2"))
        assert "AccessExclusiveLock" in detach["parent"]
        assert _locks(conn, "ALTER TABLE pay DISABLE TRIGGER ALL", ("pay",)) == {"pay": {"ShareRowExclusiveLock"}}
        assert "AccessExclusiveLock" in _locks(conn, "ALTER TABLE pay ENABLE ROW LEVEL SECURITY", ("pay",))["pay"]
        assert "AccessExclusiveLock" in _locks(conn, "CREATE POLICY pol ON pay USING (true)", ("pay",))["pay"]
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            conn.execute("BEGIN")
            try:
                conn.execute("ALTER TABLE parent DETACH PARTITION p2 CONCURRENTLY")
            finally:
                conn.execute("ROLLBACK")


@pytest.mark.parametrize("mode", LOCK_MODES)
def test_which_lock_table_modes_block_the_running_release(pg_url, mode):
    with psycopg.connect(pg_url, autocommit=True) as holder, \
            psycopg.connect(pg_url, autocommit=True) as app:
        holder.execute("CREATE TABLE IF NOT EXISTS busy (id int)")
        holder.execute("INSERT INTO busy VALUES (1)")
        holder.execute("BEGIN")
        holder.execute(f"LOCK TABLE busy IN {mode} MODE")
        app.execute("SET lock_timeout = '200ms'")
        blocked = []
        for what, sql in (("reads", "SELECT count(*) FROM busy"), ("writes", "INSERT INTO busy VALUES (2)")):
            try:
                app.execute(sql)
            except psycopg.errors.LockNotAvailable:
                blocked.append(what)
        holder.execute("ROLLBACK")
    expected = {None: [], "writes": ["writes"], "reads and writes": ["reads", "writes"]}[lock_blocks(mode)]
    assert blocked == expected
    report = lint_text(f"LOCK TABLE busy IN {mode} MODE;")
    assert ({f.rule for f in report.migrations[0].findings} == {"lock-table"}) == bool(blocked)


USING = [
    ("varchar(20)", "varchar(40)", '"v"::varchar(40)'), ("varchar(20)", "text", "v::text"),
    ("varchar(20)", "text", "CAST(v AS text)"), ("varchar(20)", "text", "(v)"),
    ("varchar(20)", "text", "lower(v)"), ("int", "bigint", "v::bigint"),
    ("text", "varchar", "(v)::character varying"), ("numeric(10,2)", "numeric(12,2)", "v::numeric(12,2)"),
    ("varchar(40)", "varchar(20)", "v::varchar(20)"), ("timestamp(3)", "timestamp(6)", "v::timestamp(6)"),
    ("varchar(20)", "varchar(40)", "v::varchar(40)::varchar(40)"), ("varchar(20)", "text", "v || ''"),
    ("interval(3)", "interval", "v::interval"), ("cidr", "inet", "v::inet"),
]


def test_a_using_clause_that_only_casts_the_column_decides_nothing(pg_url):
    """Django writes USING "col"::new_type on every type change: the same coercion as without
    USING, so the verdict is the plain change's; any other expression is a rewrite."""
    wrong = []
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for i, (old, new, using) in enumerate(USING):
            table = f"u{i}"
            conn.execute(f"CREATE TABLE {table} (id int, v {old})")
            before = _relfilenode(conn, table)
            conn.execute(f"ALTER TABLE {table} ALTER COLUMN v TYPE {new} USING {using}")
            rewrote = _relfilenode(conn, table) != before
            report = lint_text(f"CREATE TABLE {table} (id int, v {old});\n-- next migration\n"
                               f"ALTER TABLE {table} ALTER COLUMN v TYPE {new} USING {using};")
            rejected = "change-column-type" in {f.rule for f in report.migrations[-1].findings}
            if rejected != rewrote:
                wrong.append(f"{old} -> {new} USING {using}: PostgreSQL "
                             f"{'rewrote' if rewrote else 'did not rewrite'}, the linter "
                             f"{'rejects' if rejected else 'accepts'}")
    assert not wrong, "\n".join(wrong)
