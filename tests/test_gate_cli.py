"""``migrator gate`` and ``migrator instances`` on the command line: exit codes, the JSON document,
--wait, and the sample project migrated with plain Alembic."""

from __future__ import annotations

import threading
import time

import pytest

from migrator.config import Config
from tests.test_gate_support import SAMPLE, add_deployment, add_history, execute, json_out, run_cli


@pytest.fixture(autouse=True)
def _no_project_here(tmp_path, monkeypatch):
    """Run from an empty directory, so no configuration or Alembic project is picked up."""
    monkeypatch.chdir(tmp_path)
    for var in ("MIGRATOR_DATABASE_URL", "DATABASE_URL", "MIGRATOR_REQUIRE_REGISTRY"):
        monkeypatch.delenv(var, raising=False)


def test_json_document_is_versioned_and_complete(pg_url, capsys):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"))
    code, out, _ = run_cli(["gate", "ready", "--release", "1.0.0", "--database-url", pg_url,
                            "--format", "json"], capsys)
    assert code == 0
    doc = json_out(out)
    assert doc["version"] == 1 and doc["gate"] == "ready" and doc["release"] == "1.0.0"
    assert doc["verdict"] == "pass" == doc["result"]
    assert set(doc) >= {"reasons", "window", "pending", "backfills", "timings"}
    assert set(doc["window"]) >= {"min_release", "max_release"}
    assert set(doc["pending"]) == {"expand", "contract"}
    assert doc["reasons"] and set(doc["reasons"][0]) == {"code", "message", "migration", "phase", "severity"}
    assert doc["timings"]["total_ms"] > 0


def test_exit_codes_pass_fail_usage_unknown(pg_url, capsys):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("c200", "contract", "2.0.0", "applied"))
    assert run_cli(["gate", "ready", "-r", "2.0.0", "--database-url", pg_url], capsys)[0] == 0
    code, out, _ = run_cli(["gate", "ready", "-r", "1.5.0", "--database-url", pg_url], capsys)
    assert code == 1 and "FAIL" in out and "contracted_past" in out
    code, _, err = run_cli(["gate", "ready", "-r", "not-a-version", "--database-url", pg_url], capsys)
    assert code == 2 and "not a valid version" in err
    assert run_cli(["gate", "sideways", "-r", "1.0.0", "--database-url", pg_url], capsys)[0] == 2
    code, _, err = run_cli(["gate", "ready", "-r", "1.0.0"], capsys)
    assert code == 2 and "no database URL" in err
    code, out, err = run_cli(["gate", "ready", "-r", "1.0.0", "--database-url",
                              "postgresql://app:hunter2@127.0.0.1:1/app", "--format", "json"], capsys)
    assert code == 3 and json_out(out)["verdict"] == "unknown"
    assert "hunter2" not in out + err


def test_contract_require_registry_flag_turns_the_warning_into_a_fail(pg_url, capsys):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"))
    code, out, _ = run_cli(["gate", "contract", "-r", "1.0.0", "--database-url", pg_url], capsys)
    assert code == 1 and "deployment_unrecorded" in out and "migrator deployed --release 1.0.0" in out
    add_deployment(pg_url, "1.0.0")
    code, out, _ = run_cli(["gate", "contract", "-r", "1.0.0", "--database-url", pg_url], capsys)
    assert code == 0 and "registry_empty" in out
    code, out, _ = run_cli(["gate", "contract", "-r", "1.0.0", "--database-url", pg_url,
                            "--require-registry"], capsys)
    assert code == 1 and "registry_empty" in out


def test_wait_succeeds_when_a_concurrent_runner_finishes_the_expand(pg_url, capsys):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "running"))

    def finish():
        time.sleep(0.8)
        execute(pg_url, "UPDATE migrator_history SET status = 'applied' WHERE revision = 'e110'")

    t = threading.Thread(target=finish)
    t.start()
    code, out, err = run_cli(["gate", "ready", "-r", "1.1.0", "--database-url", pg_url, "--wait", "20",
                              "--interval", "0.2", "--format", "json"], capsys)
    t.join()
    assert code == 0 and json_out(out)["verdict"] == "pass"  # not exit 3: it saw the change
    assert "waiting for gate ready 1.1.0: fail" in err


def test_wait_times_out_with_exit_3(pg_url, capsys):
    add_history(pg_url, ("e110", "expand", "1.1.0", "failed"))
    code, out, err = run_cli(["gate", "ready", "-r", "1.1.0", "--database-url", pg_url, "--wait", "0.6",
                              "--interval", "0.2", "--format", "json"], capsys)
    assert code == 3
    assert err.count("waiting for gate ready 1.1.0: fail") == 1  # one line per change, not per poll
    assert "wait_timed_out" in {r["code"] for r in json_out(out)["reasons"]}


def test_instances_command_lists_live_and_stopped(pg_url, capsys):
    import migrator

    live = migrator.register_instance(pg_url, "1.0.0", instance_id="web-1", heartbeat=False)
    gone = migrator.register_instance(pg_url, "0.9.0", instance_id="web-0", heartbeat=False)
    gone.stop()
    try:
        code, out, _ = run_cli(["instances", "--database-url", pg_url], capsys)
        assert code == 0
        lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
        assert lines["web-1"][1:3] == ["1.0.0", "live"] and lines["web-0"][1:3] == ["0.9.0", "stopped"]
        code, out, _ = run_cli(["instances", "--database-url", pg_url, "--format", "json", "--live"], capsys)
        assert [i["instance_id"] for i in json_out(out)["instances"]] == ["web-1"]
    finally:
        live.stop()


# -- the sample project, migrated with plain Alembic (Recreate strategy / development) ---------

def _alembic_upgrade(url: str, target: str) -> None:
    from alembic import command

    from migrator.dburl import normalize_url
    from migrator.runner.alembic_run import alembic_config
    from migrator.script import load_catalog

    catalog = load_catalog(Config(root=SAMPLE, alembic_ini="alembic.ini"))
    sa_url = normalize_url(url).render_as_string(hide_password=False)
    command.upgrade(alembic_config(catalog, sa_url), target)


def test_sample_project_step_by_step_with_plain_alembic(pg_url, capsys):
    args = ["--database-url", pg_url, "--config", str(SAMPLE / "migrator.toml"), "--format", "json"]

    def gate(kind, release):
        code, out, _ = run_cli(["gate", kind, "-r", release, *args], capsys)
        doc = json_out(out)
        return code, {r["code"] for r in doc["reasons"] if r["severity"] == "error"}, doc

    code, errors, doc = gate("ready", "1.0.0")
    assert code == 1 and errors == {"expand_pending"}
    assert "no_catalog" not in {r["code"] for r in doc["reasons"]}

    _alembic_upgrade(pg_url, "e100_create_tables")
    assert gate("ready", "1.0.0")[0] == 0
    code, errors, doc = gate("ready", "1.1.0")
    assert code == 1 and errors == {"expand_pending"}
    assert {p["revision"] for p in doc["pending"]["expand"]} >= {"e110_add_full_name", "e111_index_full_name"}

    _alembic_upgrade(pg_url, "e111_index_full_name")
    assert "expand_pending" not in gate("ready", "1.1.0")[1]
    assert gate("rollback", "1.0.0")[0] == 0

    _alembic_upgrade(pg_url, "heads")  # everything, contracts included (c130 drops the old columns)
    code, errors, doc = gate("ready", "1.2.0")
    assert code == 1 and "contracted_past" in errors
    # the window reads forwards (C <= E) and the gate agrees with it (issue: it read C=1.3.0, E=1.2.0)
    assert doc["window"]["min_release"] == "1.3.0" and doc["window"]["max_release"] == "1.3.0"
    assert doc["window"]["open_ended"] is True
    code, errors, doc = gate("ready", "1.3.0")
    assert code == 0 and errors == set()
    assert gate("rollback", "1.2.0")[0] == 1
    assert gate("rollback", "1.3.0")[0] == 0


def test_bad_webhook_configuration_is_a_usage_error_naming_the_file(pg_url, tmp_path, capsys):
    cfg = tmp_path / "migrator.toml"
    cfg.write_text('webhooks = [{url = "https://hooks.example/x", timeout = "soon"}]\n')
    code, _, err = run_cli(["gate", "ready", "-r", "1.0.0", "--database-url", pg_url, "--config", str(cfg)], capsys)
    assert code == 2 and str(cfg) in err and "webhooks[1].timeout" in err


def test_malformed_database_url_is_a_usage_error(capsys):
    for url in ("postgresql://app:hunter2@db:notaport/app", "postgresql://app:hunter2@db/app?bogus=1"):
        code, _, err = run_cli(["gate", "ready", "-r", "1.0.0", "--database-url", url], capsys)
        assert code == 2 and "cannot read database URL" in err and "hunter2" not in err


def test_serve_on_a_port_in_use_is_a_usage_error(pg_url, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = run_cli(["serve", "--port", str(port), "--database-url", pg_url], capsys)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def test_script_location_flag_brings_the_catalog(pg_url, capsys):
    code, out, _ = run_cli(["gate", "ready", "-r", "1.0.0", "--database-url", pg_url, "-d", str(SAMPLE),
                            "--format", "json"], capsys)
    doc = json_out(out)
    assert code == 1 and {r["code"] for r in doc["reasons"]} == {"expand_pending"}
    assert doc["pending"]["expand"][0]["revision"] == "e100_create_tables"
    code, _, err = run_cli(["gate", "ready", "-r", "1.0.0", "--database-url", pg_url, "-d", "nowhere"], capsys)
    assert code == 2 and "nowhere" in err
