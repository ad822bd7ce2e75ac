"""Webhook notifications: CloudEvents and Slack bodies delivered to a local receiver; a receiver
that hangs or fails never blocks or breaks the caller; no secret is printed."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from migrator.config import Config, load_config
from migrator.errors import UsageError
from migrator.gate.notify import flush, notify, safe_target, validate_webhooks


@contextmanager
def receiver(behaviour: str = "ok", release: threading.Event | None = None):
    """A local HTTP receiver recording (path, headers, body) of each POST; "hang" answers once
    ``release`` is set or the receiver closes."""
    got: list[tuple[str, dict, dict]] = []
    release = release or threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.path, dict(self.headers), json.loads(body)))
            if behaviour == "hang":
                release.wait(60)
            code = 500 if behaviour == "fail" else 202
            self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", got
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def test_cloudevents_structured_mode_is_the_default(capsys):
    with receiver() as (base, got):
        config = Config(webhooks=[{"url": base + "/hook"}])
        threads = notify(config, "expand.finished", release="1.2.0", revisions=["e120"], duration_ms=12.5)
        assert len(threads) == 1 and flush(5)
    (path, headers, doc), = got
    assert path == "/hook" and headers["Content-Type"] == "application/cloudevents+json"
    assert doc["specversion"] == "1.0" and doc["type"] == "dev.migrator.expand.finished"
    assert doc["id"] and doc["source"] and doc["time"].endswith("Z")
    assert doc["data"] == {"release": "1.2.0", "revisions": ["e120"], "duration_ms": 12.5}
    assert doc["subject"] == "1.2.0"


def test_slack_format_posts_text(capsys):
    with receiver() as (base, got):
        notify(Config(webhooks=[{"url": base + "/slack", "format": "slack"}]), "contract.failed",
               release="1.3.0", error="lock timeout")
        assert flush(5)
    (_, headers, doc), = got
    assert headers["Content-Type"] == "application/json" and set(doc) == {"text"}
    assert "contract failed" in doc["text"] and "1.3.0" in doc["text"] and "lock timeout" in doc["text"]


def test_event_filters_select_webhooks(capsys):
    with receiver() as (base, got):
        config = Config(webhooks=[{"url": base + "/contract", "events": ["contract.*"]},
                                  {"url": base + "/failures", "events": ["*.failed"]}])
        notify(config, "expand.started", release="1.0.0")
        notify(config, "contract.failed", release="1.0.0")
        assert flush(5)
    assert sorted(p for p, _, _ in got) == ["/contract", "/failures"]


def test_notify_returns_before_the_receiver_answers(capsys):
    answer = threading.Event()
    with receiver("hang", answer) as (base, got):
        threads = notify(Config(webhooks=[{"url": base + "/slow", "timeout": 20}]), "expand.started")
        # the receiver cannot answer before `answer` is set, nor the post time out: a caller
        # waiting for the delivery would still be inside notify()
        assert threads and all(t.is_alive() for t in threads)
        answer.set()
        assert flush(20)
        assert [p for p, _, _ in got] == ["/slow"]
    assert "no answer" not in capsys.readouterr().err


def test_a_hanging_receiver_never_blocks_the_caller_beyond_its_bound(capsys):
    with receiver("hang") as (base, got):
        config = Config(webhooks=[{"url": base.replace("http://", "http://user:tok3n@") + "/secret-path?key=k3y",
                                   "timeout": 0.5}])
        notify(config, "rollback.started", release="1.1.0")
        assert flush(5)  # the bounded join ends with the post's own timeout
        assert got and got[0][1]["Authorization"].startswith("Basic ")  # URL credentials become auth
    err = capsys.readouterr().err
    assert "no answer within 0.5s" in err
    assert "tok3n" not in err and "secret-path" not in err and "k3y" not in err


def test_failing_and_unreachable_receivers_are_logged_not_raised(capsys):
    with receiver("fail") as (base, got):
        config = Config(webhooks=[{"url": base + "/x"}, {"url": "http://127.0.0.1:1/nothing"}])
        notify(config, "backfill.failed", name="users_full_name", error="postgresql://app:hunter2@db/app")
        assert flush(5)
    err = capsys.readouterr().err
    assert "HTTP 500" in err and "http://127.0.0.1:1" in err
    assert got[0][2]["data"]["error"] == "postgresql://app:***@db/app"  # passwords never leave


def test_bad_configuration_is_a_usage_error_naming_the_entry(tmp_path):
    cfg = tmp_path / "migrator.toml"
    cfg.write_text('webhooks = [{url = "https://hooks.example/x", format = "teams"}]\n')
    config = load_config(config_file=cfg)
    with pytest.raises(UsageError) as exc:
        validate_webhooks(config.webhooks, path=str(cfg))
    assert "webhooks[1].format" in exc.value.render() and str(cfg) in exc.value.render()
    for bad in ([{"url": "ftp://x"}], [{"url": "https://x", "timeout": 0}], "https://x"):
        with pytest.raises(UsageError):
            validate_webhooks(bad)


def test_notify_with_a_bad_configuration_warns_and_returns(capsys):
    assert notify(Config(webhooks=[{"url": "nope"}]), "expand.started") == []
    assert "webhooks not sent" in capsys.readouterr().err


def test_safe_target_shows_scheme_and_host_only():
    assert safe_target("https://u:p@hooks.slack.com/services/T0/B0/XYZ?x=1") == "https://hooks.slack.com"


def test_process_exit_waits_for_a_hanging_receiver_only_up_to_its_timeout():
    import subprocess
    import sys

    from tests.test_gate_support import ROOT

    with receiver("hang") as (base, got):
        script = ("from migrator.config import Config; from migrator.gate.notify import notify; "
                  f"notify(Config(webhooks=[{{'url': '{base}/h', 'timeout': 0.5}}]), 'expand.finished')")
        # the receiver holds the post until it closes: a process waiting for the answer would
        # run into subprocess.run's timeout instead of ending on the post's own
        proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=50)
    assert proc.returncode == 0 and got  # delivered before exit, and exit was not held hostage
    assert "no answer within 0.5s" in proc.stderr


def test_the_runner_posts_phase_events(pg_url, capsys):
    from migrator.runner import api as runner
    from tests.test_gate_support import SAMPLE

    with receiver() as (base, got):
        config = load_config(config_file=SAMPLE / "migrator.toml").with_overrides(
            database_url=pg_url, webhooks=[{"url": base + "/events", "timeout": 2}])
        runner.expand(config, "1.0.0")
        assert flush(5)
    types = [doc["type"] for _, _, doc in got]
    assert types[:1] == ["dev.migrator.expand.started"] and types[-1] == "dev.migrator.expand.finished"
    assert got[-1][2]["data"]["release"] == "1.0.0"
    assert "s3cret" not in json.dumps([doc for _, _, doc in got])


def test_slack_text_lists_migrations_one_per_line():
    from migrator.gate.notify import build_slack

    text = build_slack("expand.failed", {"release": "1.1.0", "migrations": [
        {"revision": "e110", "status": "applied", "error": None},
        {"revision": "e111", "status": "failed", "error": "lock timeout"}],
        "window": {"min_release": None, "max_release": "1.0.0"}})["text"]
    lines = text.splitlines()
    assert lines[0] == ":x: migrator expand failed (release 1.1.0)"
    assert "• e110: status applied" in lines and "• e111: status failed, error lock timeout" in lines
    assert "window: max_release 1.0.0" in lines


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_so_credentials_never_reach_another_host(code, capsys):
    """A receiver answering 3xx towards another origin (another local port) gets the post; the
    other origin never sees a request, let alone the Authorization or custom headers."""
    with receiver() as (elsewhere, stolen):

        class Redirect(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                got.append(dict(self.headers))
                self.send_response(code)
                self.send_header("Location", elsewhere + "/collect")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        got: list[dict] = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            base = f"http://user:hunter2@127.0.0.1:{server.server_address[1]}"
            config = Config(webhooks=[{"url": base + "/hook", "headers": {"X-Api-Key": "k3y-zq9"}}])
            notify(config, "contract.finished", release="1.2.0")
            assert flush(10)
        finally:
            server.shutdown()
            server.server_close()
    assert len(got) == 1 and got[0].get("Authorization", "").startswith("Basic ")
    assert got[0].get("X-Api-Key") == "k3y-zq9"
    assert stolen == [], f"the redirect was followed: {stolen}"
    err = capsys.readouterr().err
    assert f"HTTP {code} redirect to {elsewhere} not followed" in err, err
    assert "hunter2" not in err and "k3y-zq9" not in err
