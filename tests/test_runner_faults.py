"""The runner under pressure on real PostgreSQL: concurrent runners, a long transaction holding a
lock the migration needs, an interrupted CREATE INDEX CONCURRENTLY."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from migrator.runner import api
from migrator.locks import advisory_key
from tests.support.sample import (cli_env, columns, config_for, copy_sample, execute, history_rows,
                                  run_cli, scalar)

pytestmark = pytest.mark.postgres


def test_eight_concurrent_runners_apply_each_revision_exactly_once(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    env = cli_env(pg_url)
    args = ["expand", "--release", "1.2.0", "-d", str(project), "--format", "json", "--lock-wait", "60"]
    with ThreadPoolExecutor(8) as pool:
        procs = list(pool.map(lambda _: run_cli(args, env=env), range(8)))
    assert [p.returncode for p in procs] == [0] * 8, [p.stderr for p in procs]
    applied = Counter(r["revision"] for r in history_rows(pg_url) if r["status"] == "applied")
    assert applied == Counter({"e100_create_tables": 1, "e110_add_full_name": 1,
                               "e111_index_full_name": 1, "e120_relax_name_columns": 1})
    # exactly one runner did the work; the others found nothing left to do
    import json
    counts = sorted(len(json.loads(p.stdout)["migrations"]) for p in procs)
    assert counts == [0] * 7 + [4]


def test_a_second_runner_gives_up_after_lock_wait_with_exit_3(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (advisory_key(),))
        p = run_cli(["expand", "-r", "1.0.0", "-d", str(project), "--lock-wait", "0.5"], env=cli_env(pg_url),
                    timeout=60)  # the lock is held until the end: only --lock-wait can end the run
        assert p.returncode == 3, p.stderr
        assert "runner lock" in p.stderr
    assert scalar(pg_url, "SELECT to_regclass('users') IS NULL")


def _hold_users(pg_url: str) -> psycopg.Connection:
    """A long transaction that read users: it holds ACCESS SHARE until it ends."""
    conn = psycopg.connect(pg_url)
    conn.execute("SELECT count(*) FROM users")
    return conn


def test_migration_retries_behind_a_long_transaction_without_blocking_other_queries(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url, lock_timeout_ms=100, retry_attempts=60,
                        retry_base_delay=0.05, retry_max_delay=0.1, retry_max_total=30)
    assert api.expand(config, "1.0.0").ok
    execute(pg_url, "INSERT INTO users (first_name, last_name, email) VALUES ('A', 'B', 'a@b')")
    holder = _hold_users(pg_url)
    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", api.expand(config, "1.1.0")))
    t.start()
    try:
        # wait until the migration is queued behind the holder (it retries ADD COLUMN)
        waiting = ("SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                   "AND query ILIKE 'ALTER TABLE users ADD COLUMN%'")
        for _ in range(3000):
            if scalar(pg_url, waiting):
                break
            time.sleep(0.01)
        else:
            pytest.fail("the migration never queued behind the long transaction")
        # other sessions are never queued behind the waiting ALTER for longer than its
        # lock_timeout: they get through while the holder still holds (if the ALTER waited
        # without a bound, they would queue until the holder ends and hit their own lock_timeout)
        with psycopg.connect(pg_url, autocommit=True) as other:
            other.execute("SET lock_timeout = '10s'")
            for _ in range(5):
                assert other.execute("SELECT count(*) FROM users").fetchone()[0] == 1
                time.sleep(0.05)
        assert t.is_alive()
    finally:
        holder.rollback()
        holder.close()
    t.join(30)
    r = result["r"]
    assert r.ok, r.steps
    assert r.steps[0].revision == "e110_add_full_name" and r.steps[0].attempts > 1
    assert scalar(pg_url, "SELECT full_name FROM users") == "A B"


def test_exhausted_retries_fail_cleanly_with_nothing_half_applied(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.0.0").ok
    holder = _hold_users(pg_url)
    try:
        env = cli_env(pg_url, MIGRATOR_RETRY_ATTEMPTS="3", MIGRATOR_LOCK_TIMEOUT_MS="100")
        p = run_cli(["expand", "-r", "1.1.0", "-d", str(project)], env=env, timeout=60)  # holder never lets go
    finally:
        holder.rollback()
        holder.close()
    assert p.returncode == 1, p.stdout + p.stderr
    assert "failed" in p.stdout and "lock_timeout" in p.stdout and "3 attempts" in p.stdout
    assert "full_name" not in columns(pg_url, "users")
    assert scalar(pg_url, "SELECT version_num FROM alembic_version") == "e100_create_tables"
    last = history_rows(pg_url)[-1]
    assert (last["revision"], last["status"], last["attempts"]) == ("e110_add_full_name", "failed", 3)
    assert "LockNotAvailable" in last["error"] and "s3cret" not in last["error"]
    # and once the long transaction is gone, the next run completes
    assert api.expand(config, "1.1.0").ok


def test_interrupted_create_index_concurrently_is_repaired_on_the_next_run(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.1.0").ok
    # an earlier run died while building the index: the revision is not stamped and an INVALID
    # index of the same name is left behind (made here by a unique build over duplicates)
    execute(pg_url, "DROP INDEX ix_users_full_name",
            "UPDATE alembic_version SET version_num = 'e110_add_full_name' "
            "WHERE version_num = 'e111_index_full_name'",
            "DELETE FROM migrator_history WHERE revision = 'e111_index_full_name'",
            "INSERT INTO users (first_name, last_name, email, full_name) VALUES "
            "('A', 'B', 'a1@x', 'A B'), ('A', 'B', 'a2@x', 'A B')")
    with psycopg.connect(pg_url, autocommit=True) as c:
        with pytest.raises(psycopg.errors.UniqueViolation):
            c.execute("CREATE UNIQUE INDEX CONCURRENTLY ix_users_full_name ON users (full_name)")
    invalid = "SELECT count(*) FROM pg_index WHERE NOT indisvalid AND indexrelid = 'ix_users_full_name'::regclass"
    assert scalar(pg_url, invalid) == 1

    r = api.expand(config, "1.1.0")
    assert r.ok, r.steps
    assert [s.revision for s in r.steps] == ["e111_index_full_name"]
    assert r.steps[0].repaired == ["public.ix_users_full_name"]
    assert scalar(pg_url, invalid) == 0
    assert scalar(pg_url, "SELECT indisunique FROM pg_index WHERE indexrelid = 'ix_users_full_name'::regclass") is False


def test_success_is_never_reported_over_an_invalid_index(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.2.0").ok
    execute(pg_url, "INSERT INTO users (first_name, last_name, email, full_name) VALUES "
                    "('A', 'B', 'a1@x', 'A B'), ('A', 'B', 'a2@x', 'A B')")
    (project / "migrations/versions/e130_swallow.py").write_text('''
from alembic import op

revision = "e130_swallow"
down_revision = "e120_relax_name_columns"
branch_labels = None
depends_on = None
phase = "expand"
release = "1.3.0"


def upgrade():
    with op.get_context().autocommit_block():
        try:  # a careless revision that hides the failed build
            op.execute("CREATE UNIQUE INDEX CONCURRENTLY ux_orders_total ON orders (total)")
            op.execute("CREATE UNIQUE INDEX CONCURRENTLY ux_users_full_name ON users (full_name)")
        except Exception:
            pass
''')
    r = api.expand(config, "1.3.0", override_lint={"e130_swallow": "test"})
    assert not r.ok
    assert r.steps[0].status == "failed" and "ux_users_full_name" in r.steps[0].error
    assert history_rows(pg_url)[-1]["status"] == "failed"
