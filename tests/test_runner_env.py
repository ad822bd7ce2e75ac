"""The runner's discipline holds whatever the project's env.py does; the retry schedule is bounded;
SQLite runners serialize on a file lock."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from migrator.config import Config, load_config
from migrator.runner import api
from migrator.retry import RetryPolicy, Schedule, is_lock_timeout
from tests.support.sample import cli_env, copy_sample, history_rows, run_cli, scalar


def _generic_project(tmp_path):
    """A stock `alembic init` project (its env.py ignores config.attributes['connection'])."""
    project = tmp_path / "stock"
    project.mkdir()
    subprocess.run([sys.executable, "-m", "alembic", "init", "alembic"], cwd=project, check=True,
                   capture_output=True)
    (project / "alembic" / "versions" / "e1_probe.py").write_text(textwrap.dedent('''
        from alembic import op
        revision = "e1_probe"
        down_revision = None
        branch_labels = ("expand",)
        depends_on = None
        phase = "expand"
        release = "1.0.0"

        def upgrade():
            op.execute("CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS lt, "
                       "current_setting('statement_timeout') AS st")

        def downgrade():
            op.execute("DROP TABLE probe")
        '''))
    return project


@pytest.mark.postgres
def test_lock_timeout_holds_with_an_env_py_that_makes_its_own_engine(tmp_path, pg_url):
    project = _generic_project(tmp_path)
    env_py = (project / "alembic" / "env.py").read_text()
    assert 'attributes.get("connection"' not in env_py
    config = load_config(project, environ={}).with_overrides(
        database_url=pg_url, script_location=str(project), lock_timeout_ms=1234, statement_timeout_ms=56789)
    assert api.expand(config, "1.0.0").ok
    assert scalar(pg_url, "SELECT lt FROM probe") == "1234ms"
    assert scalar(pg_url, "SELECT st FROM probe") == "56789ms"


def test_retry_schedule_is_bounded_in_attempts_and_total_time():
    slept = []
    clock = [0.0]

    def sleep(s):
        slept.append(s)
        clock[0] += s

    sched = Schedule(RetryPolicy(attempts=5, base_delay=1.0, max_delay=4.0, max_total=100.0),
                     clock=lambda: clock[0], sleep=sleep)
    while True:
        sched.begin_attempt()
        if not sched.wait_for_next():
            break
    assert sched.attempts == 5 and len(slept) == 4
    caps = [1.0, 2.0, 4.0, 4.0]
    assert all(c / 2 <= s <= c for s, c in zip(slept, caps))

    clock[0], slept[:] = 0.0, []
    sched = Schedule(RetryPolicy(attempts=100, base_delay=1.0, max_delay=4.0, max_total=10.0),
                     clock=lambda: clock[0], sleep=sleep)
    while True:
        sched.begin_attempt()
        if not sched.wait_for_next():
            break
    assert sum(slept) <= 10.0 and sched.attempts < 100

    policy = RetryPolicy.from_config(Config(retry_attempts=3, retry_base_delay=0.1))
    assert policy.attempts == 3 and policy.base_delay == 0.1


def test_lock_not_available_is_recognised_through_sqlalchemy_wrapping():
    import psycopg
    from sqlalchemy.exc import OperationalError

    err = OperationalError("ALTER TABLE users ...", {}, psycopg.errors.LockNotAvailable("canceling statement"))
    assert is_lock_timeout(err)
    assert not is_lock_timeout(OperationalError("x", {}, psycopg.errors.UndefinedTable("nope")))


def test_concurrent_sqlite_runners_serialize_on_the_file_lock(tmp_path):
    project = copy_sample(tmp_path)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    args = ["expand", "--release", "1.1.0", "-d", str(project), "--format", "json"]
    with ThreadPoolExecutor(4) as pool:
        procs = list(pool.map(lambda _: run_cli(args, env=cli_env(url)), range(4)))
    assert [p.returncode for p in procs] == [0] * 4, [p.stderr for p in procs]
    applied = Counter(r["revision"] for r in history_rows(url) if r["status"] == "applied")
    assert applied == Counter({"e100_create_tables": 1, "e110_add_full_name": 1, "e111_index_full_name": 1})
    assert sorted(len(json.loads(p.stdout)["migrations"]) for p in procs) == [0, 0, 0, 3]
    assert (tmp_path / "app.db.migrator.lock").exists()


def test_expand_posts_started_and_finished_webhooks(tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from migrator.gate.notify import flush

    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        project = copy_sample(tmp_path)
        from tests.support.sample import config_for
        config = config_for(project, f"sqlite:///{tmp_path / 'app.db'}",
                            webhooks=[{"url": f"http://127.0.0.1:{server.server_port}/hook"}])
        assert api.expand(config, "1.0.0").ok
        assert flush(5)
    finally:
        server.shutdown()
    types = [doc["type"] for doc in received]
    assert types == ["dev.migrator.expand.started", "dev.migrator.expand.finished"]
    assert received[1]["data"]["migrations"][0]["revision"] == "e100_create_tables"
    assert received[1]["data"]["release"] == "1.0.0"
