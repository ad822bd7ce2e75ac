"""Helpers of the fault-injection suite (tests/test_faults.py): running migrator as a user does,
dumping a database for comparison, and generating hostile SQL for the linter."""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from tests.support.pgserver import find_bindir

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_project"
RELEASES = ["1.0.0", "1.1.0", "1.2.0", "1.3.0"]
# The full rollout of the sample project after 1.0.0, in deploy-pipeline order.
ROLLOUT = [("expand", "1.1.0"), ("contract", "1.1.0"), ("expand", "1.2.0"), ("contract", "1.2.0"),
           ("expand", "1.3.0"), ("contract", "1.3.0")]


def migrator_env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MIGRATOR_") and k not in ("DATABASE_URL", "PGPASSWORD")}
    env.update(overrides)
    return env


def copy_sample(dest: Path) -> Path:
    """A private copy of the sample project (tests may break it, and SQLite files stay out)."""
    target = dest / "project"
    shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("__pycache__", "*.db"))
    return target


def migrator(*args: str, cwd: Path = SAMPLE, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd,
                          env=env if env is not None else migrator_env(), capture_output=True,
                          text=True, timeout=timeout)


def start_migrator(*args: str, cwd: Path = SAMPLE, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "migrator", *args], cwd=cwd,
                            env=env if env is not None else migrator_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate(timeout=30)


def load_users(url: str, rows: int) -> None:
    """Fill the 1.0.0 tables with ``rows`` users and as many orders."""
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("INSERT INTO users (email, first_name, last_name) "
                  "SELECT 'u' || g || '@example.com', 'First' || g, 'Last' || (g %% 97) "
                  "FROM generate_series(1, %s) g", (rows,))
        c.execute("INSERT INTO orders (user_id, total) "
                  "SELECT 1 + (g::bigint * 7919) %% %s, g %% 1000 FROM generate_series(1, %s) g",
                  (rows, rows))
        c.execute("ANALYZE users")


_DUMP_NOISE = re.compile(r"^(--.*|SET .*|SELECT pg_catalog\.set_config.*|\\(un)?restrict .*)$")


def schema_dump(url: str) -> str:
    """``pg_dump --schema-only`` without comments and session settings (stable across databases)."""
    bindir = find_bindir()
    pg_dump = os.path.join(bindir, "pg_dump") if bindir else "pg_dump"
    out = subprocess.run([pg_dump, "--schema-only", "--no-owner", "--no-privileges", "-d", url],
                         capture_output=True, text=True, check=True).stdout
    lines = [ln for ln in out.splitlines() if ln.strip() and not _DUMP_NOISE.match(ln)]
    return "\n".join(lines)


def data_dump(url: str) -> dict[str, list[tuple]]:
    """The application's rows, and the migration state that must match a clean run."""
    with psycopg.connect(url) as c:
        out = {}
        for table in ("users", "orders"):
            cols = [r[0] for r in c.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY column_name", (table,))]
            out[table] = [tuple(map(str, r)) for r in c.execute(
                f"SELECT {', '.join(cols)} FROM {table} ORDER BY id")]
        out["alembic_version"] = sorted(r[0] for r in c.execute("SELECT version_num FROM alembic_version"))
    return out


def history_applied(url: str) -> set[str]:
    """Revisions whose LAST upgrade attempt the history table records as applied."""
    with psycopg.connect(url) as c:
        exists = c.execute("SELECT to_regclass('migrator_history')").fetchone()[0]
        if not exists:
            return set()
        rows = c.execute(
            "SELECT DISTINCT ON (revision) revision, action, status FROM migrator_history "
            "ORDER BY revision, id DESC").fetchall()
    return {rev for rev, action, status in rows if action == "upgrade" and status == "applied"}


def alembic_applied(url: str, project: Path = SAMPLE) -> set[str]:
    """Revisions at or below the heads stored in alembic_version (what Alembic thinks is applied)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    with psycopg.connect(url) as c:
        exists = c.execute("SELECT to_regclass('alembic_version')").fetchone()[0]
        heads = [r[0] for r in c.execute("SELECT version_num FROM alembic_version")] if exists else []
    script = ScriptDirectory.from_config(AlembicConfig(str(project / "alembic.ini")))
    applied: set[str] = set()
    for head in heads:
        for rev in script.iterate_revisions(head, "base"):
            applied.add(rev.revision)
    return applied


def wait_for(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


# -- hostile SQL for the linter ----------------------------------------------------------------

SEED_SQL = [
    "ALTER TABLE users ADD COLUMN full_name text",
    "ALTER TABLE users ADD COLUMN n integer NOT NULL DEFAULT 0",
    "ALTER TABLE users ADD COLUMN u uuid DEFAULT gen_random_uuid()",
    "ALTER TABLE users ADD COLUMN id2 bigserial",
    "ALTER TABLE users DROP COLUMN first_name",
    "ALTER TABLE users RENAME COLUMN a TO b",
    "ALTER TABLE users RENAME TO people",
    "ALTER TABLE users ALTER COLUMN email TYPE varchar(500)",
    "ALTER TABLE users ALTER COLUMN age TYPE bigint USING age::bigint",
    "ALTER TABLE users ALTER COLUMN full_name SET NOT NULL",
    "ALTER TABLE users ALTER COLUMN full_name DROP NOT NULL",
    "ALTER TABLE users ALTER COLUMN x SET DEFAULT 5",
    "ALTER TABLE users ADD CONSTRAINT ck CHECK (full_name IS NOT NULL) NOT VALID",
    "ALTER TABLE users VALIDATE CONSTRAINT ck",
    "ALTER TABLE orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES users (id)",
    "ALTER TABLE users ADD CONSTRAINT uq UNIQUE USING INDEX ix_u",
    "ALTER TABLE users ADD CONSTRAINT ex EXCLUDE USING gist (r WITH &&)",
    "CREATE INDEX ix ON users (full_name)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix ON users (lower(email)) WHERE deleted_at IS NULL",
    "CREATE UNIQUE INDEX CONCURRENTLY ux ON users (email)",
    "DROP INDEX ix",
    "DROP INDEX CONCURRENTLY IF EXISTS ix",
    "REINDEX TABLE users",
    "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v jsonb DEFAULT '{}')",
    "DROP TABLE IF EXISTS t CASCADE",
    "TRUNCATE users CASCADE",
    "UPDATE users SET full_name = first_name || ' ' || last_name",
    "UPDATE users SET a = 1 WHERE id BETWEEN 1 AND 1000",
    "DELETE FROM users",
    "INSERT INTO users (id, email) VALUES (1, 'a@b.c') ON CONFLICT DO NOTHING",
    "VACUUM FULL users",
    "CLUSTER users USING ix",
    "LOCK TABLE users IN ACCESS EXCLUSIVE MODE",
    "ALTER TABLE users SET UNLOGGED",
    "REFRESH MATERIALIZED VIEW mv",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "DROP SCHEMA s CASCADE",
    "CREATE TYPE mood AS ENUM ('sad', 'ok')",
    "ALTER TYPE mood ADD VALUE 'happy'",
    "COMMENT ON COLUMN users.email IS 'it''s the e-mail'",
    "SET lock_timeout = '2s'",
    "BEGIN",
    "COMMIT",
    "GRANT SELECT ON users TO app",
    "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $$ BEGIN NEW.x := 1; RETURN NEW; END $$ LANGUAGE plpgsql",
    "DO $body$ BEGIN EXECUTE 'DROP TABLE users'; END $body$",
    "CREATE TRIGGER tr BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION f()",
    "CREATE MATERIALIZED VIEW mv AS SELECT * FROM users",
    "ALTER TABLE \"Users\" ADD COLUMN \"Weird \"\"Name\" text",
    "ALTER TABLE s.users ADD COLUMN e text COLLATE \"C\"",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "SELECT 1",
    "",
]

_NOISE = ["'", '"', "$$", "$a$", ";", "--", "/*", "*/", "(", ")", ",", "\\", "\n", "\r\n", "\t",
          "\x00", "\ufeff", "é", "𝕏", "E'\\'", "::", "[", "]", "{", "}", "%s", "%(x)s", "?", ":x",
          " NOT VALID", " CONCURRENTLY", " IF EXISTS", " CASCADE", " WHERE", " USING", " DEFAULT",
          " ONLY", "*", "=", "||", "1e999", "-1", "NULL", " COLLATE", "E'"]


def _mutate(sql: str, rng: random.Random) -> str:
    choice = rng.randrange(9)
    if not sql:
        return rng.choice(_NOISE) * rng.randint(1, 5)
    pos = rng.randrange(len(sql) + 1)
    if choice == 0:  # truncate
        return sql[:pos]
    if choice == 1:  # insert noise
        return sql[:pos] + rng.choice(_NOISE) + sql[pos:]
    if choice == 2:  # delete a span
        return sql[:pos] + sql[pos + rng.randint(1, 12):]
    if choice == 3:  # splice two statements
        other = rng.choice(SEED_SQL)
        return sql[:pos] + other[rng.randrange(len(other) + 1):]
    if choice == 4:  # many statements, some separators missing
        parts = [rng.choice(SEED_SQL) for _ in range(rng.randint(2, 8))]
        return "".join(p + rng.choice([";", ";\n", " ", "\n", ";;"]) for p in parts)
    if choice == 5:  # case and whitespace games
        return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in sql).replace(" ", rng.choice([" ", "\n", "\t", "  /*c*/ "]))
    if choice == 6:  # huge identifiers / repetition
        return sql.replace("users", "u" * rng.randint(60, 3000), 1) * rng.randint(1, 3)
    if choice == 7:  # random bytes
        return "".join(chr(rng.randint(0, 0x2FF)) for _ in range(rng.randint(1, 200)))
    # deep nesting
    depth = rng.randint(10, 400)
    return sql + " WHERE " + "(" * depth + "1" + ")" * depth


def hostile_sql(count: int, seed: int = 20261126) -> list[str]:
    """``count`` generated and mutated SQL texts (deterministic for a seed)."""
    rng = random.Random(seed)
    out = list(SEED_SQL)
    while len(out) < count:
        sql = rng.choice(SEED_SQL)
        for _ in range(rng.randint(1, 4)):
            sql = _mutate(sql, rng)
        out.append(sql)
    return out[:count]
