"""The real cause of a failure reaches the user: a backfill batch cancelled by statement_timeout
is a failed batch (SQLSTATE 57014), counted as failed, not "database unreachable"; an index build
whose backend is cancelled or terminated reports the server's reason, not SQLAlchemy's
PendingRollbackError. Real PostgreSQL, the real command line, the sample project."""

from __future__ import annotations

import json
import threading
import time

import psycopg
import pytest

from tests.support.faults import copy_sample, load_users, migrator

pytestmark = [pytest.mark.faults, pytest.mark.postgres]


@pytest.fixture
def project_at_1_0_0(pg_url, tmp_path):
    project = copy_sample(tmp_path)
    r = migrator("expand", "--release", "1.0.0", "--database-url", pg_url, cwd=project)
    assert r.returncode == 0, r.stderr
    load_users(pg_url, 3000)
    return project, pg_url


def test_a_backfill_batch_cancelled_by_statement_timeout_is_reported_and_counted_as_failed(project_at_1_0_0):
    project, url = project_at_1_0_0
    e110 = project / "migrations" / "versions" / "e110_add_full_name.py"
    # every row costs 2 ms: a batch of hundreds of rows outlasts a 300 ms statement_timeout
    e110.write_text(e110.read_text().replace(
        '''set={"full_name": "first_name || ' ' || last_name"}''',
        '''set={"full_name": "first_name || ' ' || last_name || pg_sleep(0.002)::text"}'''))
    r = migrator("expand", "--release", "1.1.0", "--database-url", url, "--statement-timeout", "300",
                 "--format", "json", cwd=project)
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["summary"]["failed"] == 1, doc["summary"]
    step = next(m for m in doc["migrations"] if m["revision"] == "e110_add_full_name")
    assert "statement timeout" in step["error"] and "57014" in step["error"], step["error"]
    assert "unreachable" not in step["error"]
    text = migrator("expand", "--release", "1.1.0", "--database-url", url, "--statement-timeout", "300",
                    cwd=project)
    assert text.returncode == 1 and "0 failed" not in text.stdout, text.stdout
    with psycopg.connect(url) as c:
        status, error = c.execute("SELECT status, error FROM migrator_backfills").fetchone()
    assert status == "failed" and "statement timeout" in error


def _kill_index_build(url: str, how: str, done: threading.Event, killed: list) -> None:
    """Wait for the CREATE INDEX CONCURRENTLY backend and cancel or terminate it."""
    with psycopg.connect(url, autocommit=True) as c:
        while not done.is_set():
            row = c.execute("SELECT pid FROM pg_stat_activity WHERE query ILIKE 'CREATE INDEX CONCURRENTLY%%' "
                            "AND pid <> pg_backend_pid()").fetchone()
            if row:
                c.execute(f"SELECT {how}(%s)", (row[0],))
                killed.append(row[0])
                return
            time.sleep(0.01)


@pytest.mark.parametrize("how, words", [("pg_cancel_backend", "canceling statement due to user request"),
                                        ("pg_terminate_backend", "terminating connection due to administrator command")])
def test_killing_an_index_build_surfaces_the_servers_reason(project_at_1_0_0, how, words):
    project, url = project_at_1_0_0
    # an open transaction makes the concurrent build wait for it, long enough to be killed
    # (a snapshot held open, no lock on users: the build waits for it after its scans)
    holder = psycopg.connect(url)
    holder.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    holder.execute("SELECT 1")
    done, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_index_build, args=(url, how, done, killed))
    killer.start()
    try:
        r = migrator("expand", "--release", "1.1.0", "--database-url", url, "--lock-timeout", "20000",
                     "--format", "json", cwd=project)
    finally:
        done.set()
        killer.join(30)
        holder.close()
    assert killed, f"the index build was never seen: {r.stdout[-800:]} {r.stderr[-800:]}"
    out = r.stdout + r.stderr
    assert r.returncode in (1, 3), out
    assert "PendingRollbackError" not in out and "Traceback" not in out, out
    assert words in out, out
    # a rerun repairs what the killed build left (an INVALID index) and finishes
    r = migrator("expand", "--release", "1.1.0", "--database-url", url, cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
