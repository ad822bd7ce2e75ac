"""The gate after each step of the sample project driven by the phase runner, with application
instances registering as a rolling deploy would."""

from __future__ import annotations

import time

import pytest

import migrator
from migrator.config import load_config
from migrator.errors import RefusedError
from migrator.gate.core import evaluate
from tests.support.window import assert_window_invariant
from tests.test_gate_support import SAMPLE


def test_release_by_release_with_registered_instances(pg_url):
    from migrator.runner import api as runner

    config = load_config(config_file=SAMPLE / "migrator.toml").with_overrides(database_url=pg_url, instance_ttl=1.0)

    def gate(kind, release):
        r = evaluate(kind, release, config=config)
        return r.verdict, {x.code for x in r.reasons if x.severity == "error"}

    assert gate("ready", "1.0.0") == ("fail", {"expand_pending"})
    runner.expand(config, "1.0.0")
    assert_window_invariant(config)
    assert gate("ready", "1.0.0") == ("pass", set())
    assert gate("ready", "1.1.0") == ("fail", {"expand_pending"})
    with pytest.raises(migrator.IncompatibleSchemaError):  # with the catalog, 1.1.0's expand is known
        migrator.require_compatible(pg_url, "1.1.0", catalog=_catalog(config))
    old = migrator.register_instance(pg_url, "1.0.0", instance_id="web-1.0.0", interval=0.1)
    try:
        runner.expand(config, "1.1.0")
        assert_window_invariant(config)
        assert gate("ready", "1.1.0") == ("pass", set())
        assert gate("ready", "1.0.0") == ("pass", set())  # the old release keeps serving
        assert gate("rollback", "1.0.0") == ("pass", set())
        runner.expand(config, "1.2.0")
        assert_window_invariant(config)
        assert gate("rollback", "1.1.0") == ("pass", set())
        runner.rollback(config, "1.2.0")  # 1.2.0 is abandoned before its contract: undo its expand
        assert_window_invariant(config)
        assert gate("ready", "1.2.0") == ("fail", {"expand_pending"})
        assert gate("ready", "1.1.0") == ("pass", set())
        runner.expand(config, "1.2.0")
        assert_window_invariant(config)
        assert gate("ready", "1.2.0") == ("pass", set())
        assert gate("contract", "1.2.0") == ("fail", {"old_instance_running"})
        with pytest.raises(RefusedError) as exc:
            runner.contract(config, "1.2.0")
            assert_window_invariant(config)
        assert "web-1.0.0" in exc.value.message
        assert_window_invariant(config)
    finally:
        old.stop()
    new = migrator.register_instance(pg_url, "1.2.0", instance_id="web-1.2.0", interval=0.1)
    try:
        assert gate("contract", "1.2.0") == ("pass", set())
        runner.contract(config, "1.2.0")
        assert_window_invariant(config)
        assert gate("ready", "1.2.0") == ("pass", set())
        assert gate("ready", "1.1.0") == ("fail", {"contracted_past"})
        assert gate("rollback", "1.1.0") == ("fail", {"contracted_past"})
        assert gate("rollback", "1.2.0") == ("pass", set())
        with pytest.raises(migrator.IncompatibleSchemaError):
            migrator.require_compatible(pg_url, "1.1.0")
        assert str(migrator.require_compatible(pg_url, "1.2.0").min_release) == "1.2.0"
        assert gate("contract", "1.3.0") == ("fail", {"old_instance_running"})
    finally:
        new.stop()
    newest = migrator.register_instance(pg_url, "1.3.0", instance_id="web-1.3.0", heartbeat=False)
    try:
        runner.contract(config, "1.3.0")
        assert_window_invariant(config)
        assert gate("ready", "1.3.0") == ("pass", set())
        assert gate("ready", "1.2.0") == ("fail", {"contracted_past"})
        assert gate("rollback", "1.2.0") == ("fail", {"contracted_past"})
    finally:
        newest.stop()


def _catalog(config):
    from migrator.script import load_catalog

    return load_catalog(config)


def test_gate_wait_passes_when_a_concurrent_runner_finishes_the_expand(pg_url, tmp_path, monkeypatch, capsys):
    import threading

    from migrator.runner import api as runner
    from tests.test_gate_support import json_out, run_cli

    config = load_config(config_file=SAMPLE / "migrator.toml").with_overrides(database_url=pg_url)
    runner.expand(config, "1.0.0")
    errors = []

    def expand_later():
        try:
            time.sleep(0.5)
            runner.expand(config, "1.1.0")
        except Exception as e:  # noqa: BLE001 - asserted below
            errors.append(e)

    t = threading.Thread(target=expand_later)
    t.start()
    code, out, err = run_cli(["gate", "ready", "-r", "1.1.0", "--database-url", pg_url, "-d", str(SAMPLE),
                              "--wait", "60", "--interval", "0.2", "--format", "json"], capsys)
    t.join()
    assert errors == []
    assert code == 0 and json_out(out)["verdict"] == "pass"
    assert "expand migration e110_add_full_name of release 1.1.0 is not applied" in err
