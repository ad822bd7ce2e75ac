"""Resumability: a process killed with SIGKILL, or a database restarted, mid-run; the backfill
resumes exactly where it stopped, no batch redone, no row skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from migrator.backfill.run import backfill_status, register, run_backfill
from migrator.backfill.spec import BackfillSpec
from migrator.config import Config
from migrator.dburl import normalize_url
from migrator.errors import IndeterminateError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N, BATCH = 2000, 20
SPEC = BackfillSpec("users", {"full_name": "first_name || ' ' || last_name", "n": "n + 1"},
                    where="full_name IS NULL", batch_size=BATCH, name="users.full_name")
SLOW = Config(backfill_pause_ms=15)

CHILD = """
import sys
from migrator.backfill.run import run_backfill
from migrator.backfill.spec import BackfillSpec
from migrator.config import Config
spec = BackfillSpec.from_json(sys.argv[2])
run_backfill(sys.argv[1], spec, revision="r1", release="1.0.0", config=Config(backfill_pause_ms=15))
print("FINISHED")
"""


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request):
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    engine = create_engine(normalize_url(url))
    with engine.begin() as c:
        c.execute(text("CREATE TABLE users (id integer PRIMARY KEY, first_name text NOT NULL, "
                       "last_name text NOT NULL, full_name text, n integer NOT NULL DEFAULT 0)"))
        c.execute(text("INSERT INTO users (id, first_name, last_name) VALUES (:id, 'f', 'l')"),
                  [{"id": i} for i in range(1, N + 1)])
    yield url, engine
    engine.dispose()


def progress(engine) -> dict:
    rows = backfill_status(engine)
    return rows[0] if rows else {"rows_done": 0, "batches": 0, "status": None}


def filled(engine) -> tuple[int, int]:
    with engine.connect() as c:
        return tuple(c.execute(text("SELECT count(*) FILTER (WHERE n = 1), max(n) FROM users")
                               if engine.dialect.name == "postgresql" else
                               text("SELECT sum(n = 1), max(n) FROM users")).one())


def wait_for(cond, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_sigkill_mid_run_then_resume_redoes_no_batch(db):
    url, engine = db
    env = {**os.environ, "PYTHONPATH": ROOT}
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, SPEC.to_json()], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: progress(engine)["rows_done"] >= 10 * BATCH)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    at_kill = progress(engine)
    assert at_kill["status"] == "running"
    b = at_kill["batches"]
    assert 10 <= b < N // BATCH
    # progress was saved with each batch: exactly the committed batches are visible, no more, no less
    assert at_kill["rows_done"] == b * BATCH and at_kill["last_key"] == [b * BATCH]
    assert filled(engine) == (b * BATCH, 1)

    r = run_backfill(url, SPEC, revision="r1", release="1.0.0", config=Config())
    assert r.status == "finished" and r.rows_done == N
    assert r.batches == N // BATCH  # the batches done before the kill were not done again
    assert len(r.batch_ms) == N // BATCH - b
    assert filled(engine) == (N, 1)


def test_database_restart_mid_run_is_indeterminate_then_resumes(pg_server, pg_url):
    engine = create_engine(normalize_url(pg_url))
    with engine.begin() as c:
        c.execute(text("CREATE TABLE users (id integer PRIMARY KEY, first_name text NOT NULL, "
                       "last_name text NOT NULL, full_name text, n integer NOT NULL DEFAULT 0)"))
        c.execute(text("INSERT INTO users SELECT g, 'f', 'l', NULL, 0 FROM generate_series(1, :n) g"),
                  {"n": N})
    failure: list[BaseException] = []

    def run():
        try:
            run_backfill(pg_url, SPEC, revision="r1", release="1.0.0", config=SLOW)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            failure.append(e)

    t = threading.Thread(target=run)
    t.start()
    wait_for(lambda: progress(engine)["rows_done"] >= 5 * BATCH)
    engine.dispose()
    pg_server.restart()
    t.join(timeout=60)
    assert not t.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], IndeterminateError), failure
    assert failure[0].exit_code == 3
    assert "unreachable" in failure[0].message and "resume" in failure[0].message
    assert "s3cret" not in failure[0].message
    mid = progress(engine)
    assert mid["status"] == "running" and mid["rows_done"] < N
    assert filled(engine) == (mid["rows_done"], 1)

    r = run_backfill(pg_url, SPEC, revision="r1", release="1.0.0", config=Config())
    assert r.rows_done == N and r.batches == N // BATCH
    assert filled(engine) == (N, 1)
    engine.dispose()


def test_cli_runs_pending_backfills_and_reports_status(db):
    url, engine = db
    with engine.begin() as c:
        register(c, SPEC, revision="r1", release="1.0.0")
    env = {**os.environ, "PYTHONPATH": ROOT, "MIGRATOR_DATABASE_URL": url}
    cmd = [sys.executable, "-m", "migrator", "backfill"]
    before = subprocess.run([*cmd, "--status", "--format", "json"], env=env, cwd=ROOT,
                            capture_output=True, text=True)
    assert before.returncode == 0, before.stderr
    [b] = json.loads(before.stdout)["backfills"]
    assert b["status"] == "pending" and b["name"] == "users.full_name" and b["release"] == "1.0.0"
    ran = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert "users.full_name: finished, 2000 rows updated" in ran.stdout
    assert "finished: 2000 rows walked" in ran.stderr  # the plain progress lines (not a terminal)
    assert filled(engine) == (N, 1)
    status = subprocess.run([*cmd, "--status"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert "users.full_name  release 1.0.0  finished (100.0%)" in status.stdout


def test_cli_unreachable_database_exits_3_without_password(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT,
           "MIGRATOR_DATABASE_URL": "postgresql://app:hunter2pw@127.0.0.1:1/app"}
    for extra in ([], ["--status"]):
        p = subprocess.run([sys.executable, "-m", "migrator", "backfill", *extra], env=env,
                           cwd=tmp_path, capture_output=True, text=True)
        assert p.returncode == 3, p.stderr
        assert "unreachable" in p.stderr and "hunter2pw" not in p.stderr + p.stdout
