"""A contract killed (SIGKILL) during its own backfill: the row it leaves ``running`` reads as
interrupted once its process is gone (the advisory lock is the proof of life), the gate's refusal
names the command that unblocks it, and rerunning ``contract`` resumes the backfill before the
gate and finishes the release. The sample project on real PostgreSQL, the CLI as a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg
from sqlalchemy.engine import make_url

from migrator.backfill.status import backfill_status
from migrator.gate.core import evaluate
from migrator.runner import api
from migrator.locks import backfill_lock_path
from tests.support.faults import kill_group, migrator, migrator_env, start_migrator
from tests.support.sample import config_for, copy_sample, engine, execute, scalar
from tests.support.window import assert_window_invariant

NAME = "users_full_name_1_2_0"  # the 1.2.0 contract's second backfill pass
ROWS = 20000
USERS_SQLITE = ("INSERT INTO users (id, first_name, last_name, email) VALUES "
                "(1, 'Ada', 'Lovelace', 'ada@example.com'), (2, 'Alan', 'Turing', 'alan@example.com')")


def _row(url: str):
    with psycopg.connect(url, autocommit=True) as c:
        return c.execute("SELECT status, rows_done FROM migrator_backfills WHERE name = %s", (NAME,)).fetchone()


def _status(url: str) -> dict:
    e = engine(url)
    try:
        return next(b for b in backfill_status(e) if b["name"] == NAME)
    finally:
        e.dispose()


def _errors(result) -> dict[str, str]:
    return {r.code: r.message for r in result.reasons if r.severity == "error"}


def test_contract_killed_during_its_backfill_resumes_when_rerun(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.2.0").ok
    # release 1.0.0 kept writing users without full_name while 1.2.0 rolled out
    execute(pg_url, f"INSERT INTO users (email, first_name, last_name) SELECT 'u' || g || '@x', 'F' || g, "
                    f"'L' || g FROM generate_series(10, {ROWS + 9}) g", "ANALYZE users")

    api.deployed(config, "1.3.0")  # the pipeline records the rollout before contract
    slow = migrator_env(MIGRATOR_DATABASE_URL=pg_url, MIGRATOR_BACKFILL_MIN_BATCH="100",
                        MIGRATOR_BACKFILL_MAX_BATCH="100", MIGRATOR_BACKFILL_PAUSE_MS="20")
    proc = start_migrator("contract", "--release", "1.3.0", cwd=project, env=slow)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            row = _row(pg_url)
            if row is not None and row[0] == "running" and row[1] >= 500:
                break
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        else:
            raise AssertionError("the contract's backfill never started")
        # alive: its process holds the lock, and the gate says it is running
        assert _status(pg_url)["alive"] is True
        assert "is running" in _errors(evaluate("ready", "1.2.0", url=pg_url, config=config))["backfill_unfinished"]
    finally:
        kill_group(proc)

    assert _row(pg_url)[0] == "running"  # what the killed process left
    assert _status(pg_url)["alive"] is False
    ready = _errors(evaluate("ready", "1.2.0", url=pg_url, config=config))
    assert "interrupted" in ready["backfill_unfinished"] and "migrator backfill" in ready["backfill_unfinished"]
    assert scalar(pg_url, "SELECT count(*) FROM users WHERE full_name IS NULL") > 0

    rerun = migrator("contract", "--release", "1.3.0", cwd=project,
                     env=migrator_env(MIGRATOR_DATABASE_URL=pg_url))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"resumed backfill {NAME}: finished" in rerun.stdout + rerun.stderr
    assert _row(pg_url)[0] == "finished"
    assert scalar(pg_url, "SELECT count(*) FROM users WHERE full_name IS NULL") == 0
    assert scalar(pg_url, "SELECT count(*) FROM information_schema.columns "
                          "WHERE table_name = 'users' AND column_name = 'first_name'") == 0  # c130 ran
    assert evaluate("ready", "1.3.0", url=pg_url, config=config).passed
    assert_window_invariant(config)


def test_a_dead_backfill_row_is_handed_back_by_the_next_runner_and_a_refusal_names_the_fix(tmp_path, pg_url):
    """No resume possible here (the backfill is an expand's): the next runner session marks the
    dead row pending, and ``contract`` refuses naming the commands that unblock it."""
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.2.0").ok
    api.deployed(config, "1.2.0")
    # a runner that died mid-backfill: running, and no process holds its lock
    execute(pg_url, "UPDATE migrator_backfills SET status = 'running', rows_done = 1")
    assert _status_any(pg_url)["alive"] is False
    refused = migrator("contract", "--release", "1.2.0", cwd=project,
                       env=migrator_env(MIGRATOR_DATABASE_URL=pg_url))
    assert refused.returncode == 1
    assert "migrator backfill" in refused.stderr and "migrator contract --release 1.2.0" in refused.stderr
    assert _status_any(pg_url)["status"] == "pending"  # handed back, not running forever
    assert migrator("backfill", cwd=project, env=migrator_env(MIGRATOR_DATABASE_URL=pg_url)).returncode == 0
    assert migrator("contract", "--release", "1.2.0", cwd=project,
                    env=migrator_env(MIGRATOR_DATABASE_URL=pg_url)).returncode == 0
    assert_window_invariant(config)


def _status_any(url: str) -> dict:
    e = engine(url)
    try:
        return backfill_status(e)[0]
    finally:
        e.dispose()


def test_on_sqlite_a_file_lock_beside_the_database_is_the_proof_of_life(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    config = config_for(copy_sample(tmp_path), url)
    assert api.expand(config, "1.0.0").ok
    execute(url, USERS_SQLITE)
    assert api.expand(config, "1.1.0").ok
    execute(url, "UPDATE migrator_backfills SET status = 'running'")  # as a killed runner leaves it
    assert _status_any(url)["alive"] is False  # nobody holds its lock: the runner died
    ready = _errors(evaluate("ready", "1.1.0", url=url, config=config))
    assert "interrupted" in ready["backfill_unfinished"]

    # a live owner in another process
    backfill_id = scalar(url, "SELECT id FROM migrator_backfills WHERE name = 'users_full_name_1_1_0'")
    path = backfill_lock_path(make_url(url), backfill_id)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time\n"
        f"fd = os.open({path!r}, os.O_RDWR | os.O_CREAT)\n"
        "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert _status_any(url)["alive"] is True
        assert "is running" in _errors(evaluate("ready", "1.1.0", url=url, config=config))["backfill_unfinished"]
    finally:
        holder.kill()
        holder.wait()
    assert _status_any(url)["alive"] is False
    # the next runner hands it back and resumes it
    again = api.expand(config, "1.1.0")
    assert again.ok and any("resumed backfill users_full_name_1_1_0: finished" in n for n in again.notes)
    assert _status_any(url)["status"] == "finished"
    assert evaluate("ready", "1.1.0", url=url, config=config).passed
