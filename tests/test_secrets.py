"""No password in any output, whatever its characters and whichever way it is given: userinfo
(raw, with ``@``, ``/``, ``?``, ``#`` inside, or percent-encoded), ``password=`` in the query
string, a libpq keyword/value string, or ``PGPASSWORD``. Generated passwords against a real
PostgreSQL server (wrong password) and a closed port (unreachable), through the real command line;
then a role whose real password is hostile, through a whole expand with a webhook receiver."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import psycopg.conninfo
from psycopg import sql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.faults import SAMPLE, copy_sample, migrator_env

pytestmark = [pytest.mark.postgres]

HOSTILE = "@:/?#&=%'\" \\;+$!*()[]{}<>|`~,"
LETTERS = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
COMMANDS = [["status"], ["expand", "--release", "1.1.0", "--format", "json"],
            ["gate", "ready", "--release", "1.0.0", "--format", "json"], ["instances"]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port(server) -> int:
    return psycopg.conninfo.conninfo_to_dict(server.admin_url)["port"] and \
        int(psycopg.conninfo.conninfo_to_dict(server.admin_url)["port"])


def _spellings(password: str) -> set[str]:
    """Every way the password could show up in output."""
    return {password, quote(password, safe=""), quote(password), quote(password).replace("%20", "+"),
            password.replace("\\", "\\\\").replace("'", "\\'"), json.dumps(password)[1:-1]}


def _tails(password: str) -> set[str]:
    """Runs of 6 characters of the password: a tail leaked after a raw '@' is caught too."""
    return {password[i:i + 6] for i in range(len(password) - 5)}


def _forms(password: str, user: str, host: str, port: int, db: str) -> dict[str, tuple[str, dict]]:
    """(URL given on the command line, extra environment) for each spelling libpq and SQLAlchemy accept."""
    kv = password.replace("\\", "\\\\").replace("'", "\\'")
    return {
        "userinfo-raw": (f"postgresql://{user}:{password}@{host}:{port}/{db}", {}),
        "userinfo-encoded": (f"postgresql://{user}:{quote(password, safe='')}@{host}:{port}/{db}", {}),
        "query": (f"postgresql://{user}@{host}:{port}/{db}?password={quote(password, safe='')}", {}),
        "keywords": (f"host={host} port={port} dbname={db} user={user} password='{kv}'", {}),
        "PGPASSWORD": (f"postgresql://{user}@{host}:{port}/{db}", {"PGPASSWORD": password}),
    }


def _run(args: list[str], env: dict, cwd: Path = SAMPLE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _assert_no_leak(password: str, text: str, what: str) -> None:
    for form in _spellings(password):
        assert form not in text, f"{what}: the password leaked as {form!r}:\n{text[-1500:]}"
    for tail in _tails(password):
        assert tail not in text, f"{what}: part of the password leaked ({tail!r}):\n{text[-1500:]}"


passwords = st.text(alphabet=LETTERS + HOSTILE, min_size=10, max_size=24).filter(
    lambda p: sum(c in HOSTILE for c in p) >= 3 and sum(c in LETTERS for c in p) >= 4
    and p.strip() == p)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(password=passwords, form=st.sampled_from(["userinfo-raw", "userinfo-encoded", "query", "keywords", "PGPASSWORD"]),
       reachable=st.booleans())
def test_no_output_contains_a_generated_password(pg_server, password, form, reachable):
    db = pg_server.url_for("postgres").rsplit("/", 1)[1]
    port = _port(pg_server) if reachable else _free_port()
    url, extra = _forms(password, "postgres", "127.0.0.1", port, db)[form]
    for command in COMMANDS:
        r = _run([*command, "--database-url", url], migrator_env(**extra))
        out = r.stdout + r.stderr
        where = f"{form} {'wrong password' if reachable else 'unreachable'}: {' '.join(command)}"
        assert r.returncode == (2 if reachable else 3), f"{where}: exit {r.returncode}\n{out[-1500:]}"
        assert "Traceback" not in out, f"{where}:\n{out[-1500:]}"
        _assert_no_leak(password, out, where)


# -- a role whose real password is hostile: every output, history row and webhook ------------------

REAL = "p@ss:w/o?r#d&x=1 'q\"\\%zz"  # a raw % followed by hex would be a URL escape


@pytest.fixture
def hostile_role(pg_server):
    url = pg_server.new_database()
    db = url.rsplit("/", 1)[1]
    role = f"r_{db}"
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(role), sql.Literal(REAL)))
        c.execute(f'ALTER DATABASE "{db}" OWNER TO "{role}"')
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f'GRANT ALL ON SCHEMA public TO "{role}"')
    yield role, db
    pg_server.drop_database(url)
    with psycopg.connect(pg_server.admin_url, autocommit=True) as c:
        c.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def webhook_receiver():
    got: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            got.append(repr(dict(self.headers)).encode() + self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", got
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("form", ["userinfo-raw", "userinfo-encoded", "query", "keywords", "PGPASSWORD"])
def test_a_hostile_real_password_works_and_appears_nowhere(pg_server, hostile_role, webhook_receiver,
                                                           tmp_path, form):
    role, db = hostile_role
    hook, got = webhook_receiver
    project = copy_sample(tmp_path)
    (project / "migrator.toml").write_text(f'alembic_ini = "alembic.ini"\nwebhooks = [{{url = "{hook}"}}]\n')
    url, extra = _forms(REAL, role, "127.0.0.1", _port(pg_server), db)[form]
    env = migrator_env(**extra)
    outputs = []
    for command in (["expand", "--release", "1.1.0"], ["status"], ["status", "--format", "json"],
                    ["gate", "ready", "--release", "1.1.0", "--format", "json"], ["instances"],
                    ["backfill", "--status"], ["contract", "--release", "9.9.9", "--format", "json"]):
        r = _run([*command, "--database-url", url], env, cwd=project)
        outputs.append(r.stdout + r.stderr)
        if command[0] in ("expand", "status", "gate"):
            assert r.returncode == 0, f"{form} {command}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    bad = _run(["status", "--database-url", url.replace(db, "no_such_db_zq")], env, cwd=project)
    assert bad.returncode == 2, bad.stderr
    outputs.append(bad.stdout + bad.stderr)
    admin = pg_server.url_for(db)
    with psycopg.connect(admin) as c:
        rows = c.execute("SELECT row_to_json(h)::text FROM migrator_history h").fetchall()
        rows += c.execute("SELECT row_to_json(b)::text FROM migrator_backfills b").fetchall()
    assert rows
    for text, what in [*((o, "output") for o in outputs), *((r[0], "history row") for r in rows),
                       *((g.decode(errors="replace"), "webhook") for g in got)]:
        _assert_no_leak(REAL, text, f"{form} {what}")
