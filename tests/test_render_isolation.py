"""Alembic revisions render in isolated child processes: what revision code does (print, exit,
crash, loop, read the environment, open sockets) can neither corrupt nor suppress the report,
and never passes for a clean result."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from migrator.config import Config
from migrator.model import Severity
from migrator.sources.discover import load_sources
from migrator.sources.isolated import render_environment

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = FIXTURES / "alembic_hostile"
SHAPES = FIXTURES / "alembic_realshapes"


def _lint(args: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "migrator", "lint", *args], cwd=cwd,
                          capture_output=True, text=True, env=full_env, timeout=600)


@pytest.fixture(scope="module")
def hostile_json():
    proc = _lint(["--format", "json", "--no-cache", "versions"], HOSTILE)
    return proc


@pytest.fixture(scope="module")
def hostile(hostile_json):
    doc = json.loads(hostile_json.stdout)  # the report is valid JSON whatever revisions wrote
    return {Path(m["path"]).name: m for m in doc["migrations"]}


def _errors(m: dict) -> list[dict]:
    return [f for f in m["findings"] if f["severity"] == "error"]


def test_the_json_report_is_one_valid_document_and_the_run_fails(hostile_json, hostile):
    assert hostile_json.returncode == 1, hostile_json.stderr
    assert hostile_json.stdout.lstrip().startswith('{\n  "version": 1')
    assert len(hostile) == 10  # every revision answered, none lost with its renderer


def test_os_exit_is_an_error_on_its_line_and_the_run_goes_on(hostile):
    [err] = _errors(hostile["h01_exit.py"])
    assert err["rule"] == "revision-render-error" and err["line"] == 16
    assert "os._exit(0)" in err["message"]
    assert hostile["h09_after.py"]["findings"] == []


def test_writing_to_file_descriptor_1_at_import_is_an_error_and_never_reaches_the_report(hostile):
    [err] = _errors(hostile["h02_fd1_at_import.py"])
    assert "file descriptor 1" in err["message"] and "33 bytes" in err["message"]


def test_an_endless_loop_is_stopped_on_its_line_within_the_budget(hostile):
    [err] = _errors(hostile["h03_endless.py"])
    assert err["line"] in (16, 17) and "render_timeout" in err["message"]


def test_100_mb_of_printed_output_is_an_error_and_nothing_breaks(hostile):
    [err] = _errors(hostile["h04_huge_output.py"])
    assert "output budget" in err["message"] and err["line"] == 17


def test_100_mb_straight_to_file_descriptor_1_is_an_error(hostile):
    messages = [f["message"] for f in _errors(hostile["h08_fd1_huge.py"])]
    assert any("104857600 bytes" in m and "file descriptor 1" in m for m in messages)
    assert any("output budget" in m for m in messages)


def test_a_renderer_that_crashes_is_an_error_never_a_clean_result(hostile):
    [err] = _errors(hostile["h05_segfault.py"])
    assert "SIGSEGV" in err["message"] and "ended" in err["message"]
    assert err["line"] == 14  # def upgrade()


def test_a_revision_that_ignores_the_stop_is_killed_and_the_next_still_renders(hostile):
    [err] = _errors(hostile["h06_swallows_stop.py"])
    assert "killed" in err["message"]
    assert hostile["h07_statements.py"]["findings"]  # rendered by a fresh renderer


def test_endless_statements_hit_the_statement_budget(hostile):
    [err] = _errors(hostile["h07_statements.py"])
    assert "500 statements" in err["message"] and err["line"] == 17


def test_running_out_of_memory_is_an_error_on_its_line(hostile):
    [err] = _errors(hostile["h10_memory.py"])
    assert "out of memory" in err["message"] and err["line"] == 16


def test_the_sarif_report_is_valid_with_every_hostile_revision(hostile):
    proc = _lint(["--format", "sarif", "--no-cache", "versions"], HOSTILE)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 1 and doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    files = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].split("/")[-1]
             for r in results if r["level"] == "error"}
    assert {"h01_exit.py", "h02_fd1_at_import.py", "h03_endless.py", "h04_huge_output.py",
            "h05_segfault.py", "h06_swallows_stop.py", "h07_statements.py",
            "h08_fd1_huge.py", "h10_memory.py"} <= files


# -- environment and network -------------------------------------------------------------------

def _revision(d: Path, name: str, body: str, head: str = "") -> None:
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_text(
        "import os\nimport socket\nfrom alembic import op\n" + head
        + f"revision = '{name[:-3]}'\ndown_revision = None\nphase = 'expand'\nrelease = '1.0.0'\n\n\n"
        "def upgrade():\n" + body)


class _Listener:
    """A local TCP and Unix-socket server recording whatever reaches it."""

    def __init__(self, tmp_path: Path):
        self.received: list[bytes] = []
        self.tcp = socket.socket()
        self.tcp.bind(("127.0.0.1", 0))
        self.tcp.listen()
        self.tcp.settimeout(0.2)
        self.port = self.tcp.getsockname()[1]
        self.path = str(tmp_path / "leak.sock")
        self.unix = socket.socket(socket.AF_UNIX)
        self.unix.bind(self.path)
        self.unix.listen()
        self.unix.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            for server in (self.tcp, self.unix):
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(1)
                    try:
                        self.received.append(conn.recv(4096))
                    except OSError:
                        self.received.append(b"<connected>")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)
        self.tcp.close()
        self.unix.close()


def test_a_revision_sending_a_secret_to_a_local_socket_gets_nothing_and_is_told_why(tmp_path):
    listener = _Listener(tmp_path)
    try:
        v = tmp_path / "versions"
        _revision(v, "leak.py",
                  "    secret = os.environ.get('LEAK_SECRET', 'unset').encode()\n"
                  "    for family, address in ((socket.AF_INET, ('127.0.0.1', int(os.environ['LEAK_PORT']))),\n"
                  "                            (socket.AF_UNIX, os.environ['LEAK_PATH'])):\n"
                  "        try:\n"
                  "            s = socket.socket(family)\n"
                  "            s.connect(address)\n"
                  "            s.sendall(secret)\n"
                  "        except OSError:\n"
                  "            pass\n"
                  "    op.execute(\"COMMENT ON TABLE t IS 'sent'\")\n")
        # the port and path are given to revisions by render_env; the secret is not
        proc = _lint(["--format", "json", "--no-cache", "versions"], tmp_path, env={
            "LEAK_SECRET": "hunter2",
            "MIGRATOR_RENDER_ENV": f"LEAK_PORT={listener.port},LEAK_PATH={listener.path}"})
    finally:
        listener.close()
    assert listener.received == []
    [m] = json.loads(proc.stdout)["migrations"]
    errors = [f for f in m["findings"] if f["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["line"] == 15  # socket.socket(family), once
    assert "network" in errors[0]["message"] and "got nothing" in errors[0]["message"]
    assert "hunter2" not in proc.stdout + proc.stderr


def test_revisions_see_only_the_render_env_variables(tmp_path, monkeypatch):
    v = tmp_path / "versions"
    _revision(v, "env.py", "    names = ','.join(sorted(k for k in os.environ if not k.startswith('LC_')))\n"
                           "    op.execute(f\"COMMENT ON TABLE t IS '{names}'\")\n")
    monkeypatch.setenv("PASSED_THROUGH", "yes")
    monkeypatch.setenv("NOT_PASSED", "secret")
    config = Config(root=tmp_path, render_env=["PASSED_THROUGH", "GIVEN=1", "UNSET_HERE"])
    [src] = load_sources([str(v)], config)
    assert src.statements[0].sql == "COMMENT ON TABLE t IS 'GIVEN,PASSED_THROUGH'"


def test_render_env_entries_are_names_or_name_value_pairs():
    assert render_environment(["A", "B=2", "C"], {"A": "1", "X": "9"}) == {"A": "1", "B": "2"}
    from migrator.errors import UsageError

    with pytest.raises(UsageError, match="render_env"):
        render_environment(["not a name"], {})


# -- real shapes of data migrations --------------------------------------------------------------

def test_real_data_migration_shapes_render_without_errors_and_loops_over_results_end(tmp_path):
    shutil.copytree(SHAPES, tmp_path / "proj")
    sources = {Path(s.path).name: s for s in load_sources([str(tmp_path / "proj")],
                                                           Config(root=tmp_path))}
    assert len(sources) == 7
    for name, src in sources.items():
        assert not [d for d in src.diagnostics if d.severity is Severity.ERROR], name
    orm_loop = sources["r01_orm_dedupe_loop.py"]
    # the `while True: ... if q.count() == 0: break` loop ended: what follows it rendered
    assert orm_loop.statements[-1].sql.startswith("ALTER TABLE document_uri ADD CONSTRAINT")
    assert [(d.rule, d.loc.line) for d in orm_loop.diagnostics] == [("hidden-data-migration", 20)]
    fetch = sources["r02_fetchall.py"]
    assert {d.loc.line for d in fetch.diagnostics if d.rule == "hidden-data-migration"} == {13, 16}
    # count(*) on an empty database is 0: the `if total:` branch is not taken
    assert [st.sql for st in fetch.statements][-1] == "ALTER TABLE orders ADD COLUMN note TEXT"
    assert "big" not in " ".join(st.sql for st in fetch.statements)
    assert sources["r04_batched_rowcount.py"].statements[-1].sql.startswith("COMMENT ON COLUMN")
    assert sources["r05_max_id_batches.py"].statements[-1].sql.startswith("CREATE INDEX")
    assert sources["r03_helpers_and_settings.py"].statements[-1].sql == (
        "COMMENT ON TABLE orders IS 'orders placed'")


def test_what_a_revision_read_is_reported_for_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("SHOP_TENANT_SCHEMA", raising=False)
    shutil.copytree(SHAPES, tmp_path / "proj")
    proj = (tmp_path / "proj").resolve()
    sources = {Path(s.path).name: s for s in load_sources([str(proj)], Config(root=tmp_path))}
    helpers = sources["r03_helpers_and_settings.py"]
    assert set(helpers.read_files) == {str(proj / "shopapp" / "__init__.py"),
                                       str(proj / "shopapp" / "migration_helpers.py"),
                                       str(proj / "shopapp" / "settings.py")}
    assert helpers.read_env == ("SHOP_TENANT_SCHEMA",)
    assert set(sources["r01_orm_dedupe_loop.py"].read_files) == {
        str(proj / "shopapp" / "__init__.py"), str(proj / "shopapp" / "models.py")}
    assert sources["r04_batched_rowcount.py"].read_files == ()


def test_a_warm_cache_sees_a_changed_helper_or_environment_value(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s\nprepend_sys_path = lib\n")
    (tmp_path / "pyproject.toml").write_text('[tool.migrator]\nrender_env = ["DANGER"]\n')
    helper = tmp_path / "lib" / "helper.py"
    helper.write_text("SQL = \"COMMENT ON TABLE t IS 'a'\"\n")
    v = tmp_path / "versions"
    _revision(v, "r1.py", "    op.execute(SQL)\n    if os.environ.get('DANGER'):\n"
                          "        op.execute('TRUNCATE t')\n", head="from helper import SQL\n")
    env = {"DANGER": ""}
    assert _lint(["versions"], tmp_path, env).returncode == 0
    helper.write_text("SQL = 'TRUNCATE t'\n")  # outside the linted directory
    assert _lint(["versions"], tmp_path, env).returncode == 1
    helper.write_text("SQL = \"COMMENT ON TABLE t IS 'a'\"\n")
    assert _lint(["versions"], tmp_path, env).returncode == 0
    assert _lint(["versions"], tmp_path, {"DANGER": "1"}).returncode == 1
