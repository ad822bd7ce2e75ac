"""``migrator serve``: status codes, bodies and media types of the probe and decision endpoints,
the cache, bad requests, and a database that goes away under a running server."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager

import pytest

from migrator.config import Config
from migrator.gate.connect import make_engine
from migrator.gate.server import GateService, make_server
from tests.support.pgserver import PgServer
from tests.support.work import FakeClock
from tests.test_gate_support import ROOT, add_history, execute


@contextmanager
def running_server(url: str, *, cache_ttl: float = 0.0, catalog=None, default_release=None):
    engine = make_engine(url, read_only=True, connect_timeout=2, statement_timeout_ms=3000)
    service = GateService(engine, Config(), catalog, cache_ttl=cache_ttl, default_release=default_release)
    server = make_server(service, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        engine.dispose()


def get(port: int, path: str, method: str = "GET", headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        doc = json.loads(body) if body else None
        return resp.status, resp.getheader("Content-Type"), doc, resp
    finally:
        conn.close()


@pytest.fixture
def ready_db(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "running"))
    return pg_url


def test_probe_is_200_on_pass_and_503_on_fail_with_health_json(ready_db):
    with running_server(ready_db) as port:
        status, ctype, doc, _ = get(port, "/healthz/schema?release=1.0.0")
        assert status == 200 and ctype == "application/health+json"
        assert doc["status"] == "warn" and doc["verdict"] == "pass"  # warn: 1.1.0's expand is running
        assert doc["checks"]["migrator:ready"][0]["observedValue"] == "pass"
        status, ctype, doc, _ = get(port, "/healthz/schema?release=1.1.0")
        assert status == 503 and ctype == "application/health+json"
        assert doc["status"] == "fail" and doc["verdict"] == "fail"
        assert "e110" in doc["output"]
        status, _, doc, _ = get(port, "/healthz/schema?release=1.0.0&gate=contract")
        # the contract gate: no instance registered and no rollout of 1.0.0 recorded
        assert status == 503 and doc["gate"] == "contract" and "migrator deployed" in doc["output"]


def test_probe_status_is_pass_without_warnings(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"))
    with running_server(pg_url, catalog=[{"revision": "e100", "phase": "expand", "release": "1.0.0"}]) as port:
        status, _, doc, _ = get(port, "/healthz/schema?release=1.0.0")
        assert status == 200 and doc["status"] == "pass" and "output" not in doc


def test_decision_mode_is_always_200_with_the_verdict_in_result(ready_db):
    with running_server(ready_db) as port:
        for release, verdict in (("1.0.0", "pass"), ("1.1.0", "fail")):
            status, ctype, doc, _ = get(port, f"/v1/gate/ready?release={release}")
            assert status == 200 and ctype == "application/json"
            assert doc["result"] == doc["verdict"] == verdict and doc["version"] == 1
        status, _, doc, _ = get(port, "/v1/gate/rollback?release=1.0.0")
        assert status == 200 and doc["gate"] == "rollback" and doc["result"] == "pass"


def test_bad_requests_get_4xx(ready_db):
    with running_server(ready_db) as port:
        assert get(port, "/v1/gate/ready?release=banana")[0] == 400
        assert get(port, "/v1/gate/ready")[0] == 400
        status, _, doc, _ = get(port, "/v1/gate/deploy?release=1.0.0")
        assert status == 404 and "unknown gate" in doc["error"]
        assert get(port, "/nothing-here")[0] == 404
        for method in ("POST", "PUT", "DELETE", "HEAD"):
            status, _, _, resp = get(port, "/v1/gate/ready?release=1.0.0", method=method)
            assert status == 405 and resp.getheader("Allow") == "GET"
        assert get(port, "/v1/gate/ready?release=1.0.0&pad=" + "x" * 10000)[0] == 414
        assert get(port, "/livez", headers={f"X-Pad-{i}": "y" * 900 for i in range(30)})[0] == 431
        assert get(port, "/livez")[0] == 200  # and the server still answers


def test_probe_uses_the_default_release(ready_db):
    with running_server(ready_db, default_release="1.0.0") as port:
        status, _, doc, _ = get(port, "/healthz/schema")
        assert status == 200 and doc["release"] == "1.0.0"


def test_answers_come_from_a_short_cache_and_keep_alive_works(ready_db, monkeypatch):
    import migrator.gate.server as server_mod

    clock = FakeClock()  # the cache's clock: ages are exact whatever the machine's load
    monkeypatch.setattr(server_mod, "time", clock)
    with running_server(ready_db, cache_ttl=0.5) as port:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/v1/gate/ready?release=1.1.0")
            first = json.loads(conn.getresponse().read())
            execute(ready_db, "UPDATE migrator_history SET status = 'applied' WHERE revision = 'e110'")
            clock.advance(0.2)
            conn.request("GET", "/v1/gate/ready?release=1.1.0")  # same connection (HTTP/1.1)
            second = json.loads(conn.getresponse().read())
            assert first["result"] == second["result"] == "fail"
            assert (first["cache_age_ms"], second["cache_age_ms"]) == (0, 200)
            clock.advance(0.4)
            conn.request("GET", "/v1/gate/ready?release=1.1.0")
            third = json.loads(conn.getresponse().read())
            assert third["result"] == "pass" and third["cache_age_ms"] == 0
        finally:
            conn.close()


def test_database_going_away_gives_unknown_and_503_then_recovers():
    server = PgServer().start()  # a dedicated server: this test stops it
    try:
        if server.kind != "local":
            pytest.fail("this test needs the local PostgreSQL binaries to stop and start a server")
        url = server.new_database()
        add_history(url, ("e100", "expand", "1.0.0", "applied"))
        with running_server(url) as port:
            assert get(port, "/healthz/schema?release=1.0.0")[0] == 200
            server.pg_stop("immediate")
            status, ctype, doc, _ = get(port, "/healthz/schema?release=1.0.0")  # bounded: 10 s
            assert status == 503 and ctype == "application/health+json" and doc["verdict"] == "unknown"
            assert "s3cret" not in json.dumps(doc)
            status, _, doc, _ = get(port, "/v1/gate/ready?release=1.0.0")
            assert status == 200 and doc["result"] == "unknown"
            assert doc["reasons"][0]["code"] == "database_unreachable"
            server.pg_start()
            server._wait_ready()
            status, _, doc, _ = get(port, "/healthz/schema?release=1.0.0")
            assert status == 200 and doc["verdict"] == "pass"
    finally:
        server.stop()


def test_serve_command_binds_answers_and_stops_on_sigterm(ready_db, tmp_path):
    env = {**os.environ, "MIGRATOR_DATABASE_URL": ready_db, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "serve", "--port", "0", "--cache-ttl", "1"],
                            cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        assert "s3cret" not in line
        port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
        assert get(port, "/livez")[0] == 200
        assert get(port, "/healthz/schema?release=1.0.0")[0] == 200
        assert get(port, "/healthz/schema?release=1.1.0")[0] == 503
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_concurrent_requests_share_one_evaluation_even_without_cache(ready_db, monkeypatch):
    import migrator.gate.server as server_mod

    calls = []
    real = server_mod.evaluate

    def counting(*a, **kw):
        calls.append(1)
        time.sleep(0.2)  # a slow database
        return real(*a, **kw)

    monkeypatch.setattr(server_mod, "evaluate", counting)
    with running_server(ready_db, cache_ttl=0.0) as port:
        results = []
        threads = [threading.Thread(target=lambda: results.append(get(port, "/v1/gate/ready?release=1.0.0")[0]))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [200] * 8
        assert len(calls) <= 3  # one in flight when they arrive, one started after: not eight


def test_an_internal_error_is_a_500_and_the_server_keeps_serving(ready_db, monkeypatch, capsys):
    import migrator.gate.server as server_mod

    def broken(*a, **kw):
        raise RuntimeError("bug with postgresql://app:hunter2@db/app")

    with running_server(ready_db) as port:
        monkeypatch.setattr(server_mod, "evaluate", broken)
        status, _, doc, _ = get(port, "/v1/gate/ready?release=1.0.0")
        assert status == 500 and "internal error" in doc["error"] and "hunter2" not in json.dumps(doc)
        monkeypatch.undo()
        assert get(port, "/v1/gate/ready?release=1.0.0")[0] == 200
    err = capsys.readouterr().err
    assert "RuntimeError" in err and "hunter2" not in err


def test_connections_beyond_the_cap_get_503_and_idle_ones_are_closed(pg_url):
    engine = make_engine(pg_url, read_only=True, connect_timeout=2, statement_timeout_ms=3000)
    service = GateService(engine, Config(), None, cache_ttl=0.0)
    server = make_server(service, "127.0.0.1", 0, max_connections=20, idle_timeout=1.0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    port = server.server_address[1]
    import socket

    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(20)]
    try:
        extra = socket.create_connection(("127.0.0.1", port), timeout=10)
        extra.sendall(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = extra.recv(65536)
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert extra.recv(65536) == b"", "the refused connection stays open"
        extra.close()
        # the server closes connections that never send a request (here after 1 s)
        for s in idle:
            assert s.recv(1) == b""
        status, _, doc, _ = get(port, "/livez")
        assert status == 200 and doc["status"] == "pass"
    finally:
        for s in idle:
            s.close()
        server.shutdown()
        server.server_close()
        engine.dispose()
