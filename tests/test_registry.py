"""The instance registry and the application's start-up check, on a real PostgreSQL database."""

from __future__ import annotations

import time

import pytest

import migrator
from migrator.errors import MigratorError, UsageError
from migrator.gate.core import NO_CATALOG, evaluate
from migrator.gate.registry import list_instances
from tests.test_gate_support import add_history, engine_for, execute


def contract(url, release, ttl=60.0):
    return evaluate("contract", release, url=url, catalog=NO_CATALOG, ttl=ttl)


def test_contract_fails_while_an_older_release_is_alive_and_passes_once_it_expires(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"))
    old = migrator.register_instance(pg_url, "1.0.0", instance_id="web-old", heartbeat=False)
    new = migrator.register_instance(pg_url, "1.1.0", instance_id="web-new", interval=0.1)
    try:
        r = contract(pg_url, "1.1.0", ttl=60.0)
        assert r.verdict == "fail"
        assert [x.code for x in r.reasons if x.severity == "error"] == ["old_instance_running"]
        error = next(x for x in r.reasons if x.severity == "error")
        assert "web-old" in error.message and "1.0.0" in error.message
        assert r.as_dict()["instances"]["live_releases"] == ["1.0.0", "1.1.0"]
        # web-old stopped heartbeating two minutes ago (a killed pod); web-new keeps beating
        execute(pg_url, "UPDATE migrator_instances SET last_seen = last_seen - interval '2 minutes' "
                        "WHERE instance_id = 'web-old'")
        r = contract(pg_url, "1.1.0", ttl=60.0)
        assert r.verdict == "pass" and [x.code for x in r.reasons] == ["no_catalog"]
        assert r.as_dict()["instances"]["live_releases"] == ["1.1.0"]
        states = {i["instance_id"]: i["state"] for i in list_instances(pg_url, ttl=60.0)}
        assert states == {"web-old": "expired", "web-new": "live"}
    finally:
        old.stop()
        new.stop()


def test_a_clean_stop_deregisters_at_once(pg_url):
    add_history(pg_url, ("e110", "expand", "1.1.0", "applied"))
    old = migrator.register_instance(pg_url, "1.0.0", heartbeat=False)
    assert contract(pg_url, "1.1.0").verdict == "fail"
    old.stop()
    old.stop()  # idempotent
    r = contract(pg_url, "1.1.0")
    assert r.verdict == "pass" and "registry_empty" not in {x.code for x in r.reasons}


def test_a_newer_instance_does_not_block_contract(pg_url):
    add_history(pg_url, ("e110", "expand", "1.1.0", "applied"))
    with migrator.register_instance(pg_url, "1.2.0", heartbeat=False) as h:
        assert h.release == "1.2.0"
        assert contract(pg_url, "1.1.0").verdict == "pass"


def test_re_registering_the_same_id_updates_its_release(pg_url):
    a = migrator.register_instance(pg_url, "1.0.0", instance_id="pod-a", heartbeat=False)
    b = migrator.register_instance(pg_url, "v1.1.0", instance_id="pod-a", heartbeat=False)
    rows = list_instances(pg_url, ttl=60)
    assert [(r["instance_id"], r["release"], r["state"]) for r in rows] == [("pod-a", "1.1.0", "live")]
    b.stop()
    a.stop()


def test_heartbeat_recreates_a_row_that_was_removed(pg_url):
    h = migrator.register_instance(pg_url, "1.0.0", instance_id="pod-x", interval=0.1)
    try:
        execute(pg_url, "DELETE FROM migrator_instances")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not list_instances(pg_url, ttl=60):
            time.sleep(0.05)
        assert [r["instance_id"] for r in list_instances(pg_url, ttl=60)] == ["pod-x"]
    finally:
        h.stop()


def test_register_accepts_an_engine_and_rejects_a_bad_release(pg_url):
    eng = engine_for(pg_url)
    try:
        h = migrator.register_instance(eng, "2.0.0", heartbeat=False)
        h.stop()
        with pytest.raises(UsageError):
            migrator.register_instance(eng, "latest")
        with eng.connect() as c:  # the engine passed in is not disposed by stop()
            assert c.exec_driver_sql("select 1").scalar() == 1
    finally:
        eng.dispose()


def test_require_compatible_raises_outside_the_window(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("e120", "expand", "1.2.0", "running"), ("c110", "contract", "1.1.0", "applied"))
    window = migrator.require_compatible(pg_url, "1.1.0")
    assert str(window.min_release) == "1.1.0"
    with pytest.raises(migrator.IncompatibleSchemaError) as exc:
        migrator.require_compatible(pg_url, "1.0.0")
    assert isinstance(exc.value, MigratorError) and exc.value.exit_code == 1
    assert "release 1.0.0 cannot run" in exc.value.message and "contract" in exc.value.message
    with pytest.raises(migrator.IncompatibleSchemaError) as exc:
        migrator.require_compatible(pg_url, "1.2.0")
    assert "e120" in exc.value.message and "migrator expand --release 1.2.0" in exc.value.message


def test_require_compatible_on_unreachable_database_is_indeterminate():
    from migrator.errors import IndeterminateError

    with pytest.raises(IndeterminateError) as exc:
        migrator.require_compatible("postgresql://app:hunter2@127.0.0.1:1/app", "1.0.0")
    assert "hunter2" not in exc.value.render()


def test_many_instances_registering_at_once_on_a_fresh_database(pg_url):
    import threading

    handles, errors = [], []

    def start(i):
        try:
            handles.append(migrator.register_instance(pg_url, "1.0.0", instance_id=f"pod-{i}", heartbeat=False))
        except Exception as e:  # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == []
        assert sorted(r["instance_id"] for r in list_instances(pg_url, ttl=60)) == [f"pod-{i}" for i in range(6)]
    finally:
        for h in handles:
            h.stop()
