"""The gate's verdicts for history states, on a real PostgreSQL database."""

from __future__ import annotations

import pytest

from migrator.config import Config
from migrator.errors import UsageError
from migrator.gate.core import NO_CATALOG, evaluate
from tests.test_gate_support import add_backfill, add_deployment, add_history, codes, execute

CATALOG = [
    {"revision": "e100", "phase": "expand", "release": "1.0.0"},
    {"revision": "e110", "phase": "expand", "release": "1.1.0"},
    {"revision": "c120", "phase": "contract", "release": "1.2.0"},
    {"revision": "e120", "phase": "expand", "release": "1.2.0"},
]


def gate(kind, release, url, catalog=CATALOG, **kw):
    return evaluate(kind, release, url=url, catalog=catalog, **kw)


def test_fresh_database_without_catalog_passes_with_a_warning_that_nothing_is_known(pg_url):
    r = evaluate("ready", "1.0.0", url=pg_url, catalog=NO_CATALOG)
    assert r.verdict == "pass" and r.exit_code == 0
    assert [w.code for w in r.warnings] == ["no_catalog"]


def test_ready_needs_every_expand_up_to_the_release(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"))
    assert gate("ready", "1.0.0", pg_url).verdict == "pass"
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and r.exit_code == 1
    assert codes(r) == {"expand_pending"}
    assert [x.migration for x in r.reasons] == ["e110"]
    doc = r.as_dict()
    assert doc["window"]["max_release"] == "1.0.0"
    assert [p["revision"] for p in doc["pending"]["expand"]] == ["e110", "e120"]
    assert [p["revision"] for p in doc["pending"]["contract"]] == ["c120"]
    add_history(pg_url, ("e110", "expand", "1.1.0", "applied"))
    assert gate("ready", "1.1.0", pg_url).verdict == "pass"


def test_applied_contract_excludes_older_releases_from_ready_and_rollback(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("e120", "expand", "1.2.0", "applied"), ("c120", "contract", "1.2.0", "applied"))
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"contracted_past"}
    assert r.reasons[0].migration == "c120" and r.reasons[0].phase == "contract"
    assert gate("rollback", "1.1.0", pg_url).verdict == "fail"
    assert gate("rollback", "1.2.0", pg_url).verdict == "pass"
    assert gate("ready", "1.2.0", pg_url).verdict == "pass"


def test_rollback_passes_while_no_contract_of_a_newer_release_is_applied(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("e120", "expand", "1.2.0", "applied"))
    for v in ("1.0.0", "1.1.0", "1.2.0"):
        assert gate("rollback", v, pg_url).verdict == "pass", v


def test_a_running_or_failed_migration_fails_ready_for_its_release_and_newer(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"),
                ("e110", "expand", "1.1.0", "failed", "upgrade",
                 "lock timeout on postgresql://app:hunter2@db/app\nmore lines"))
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"migration_failed"}
    assert "lock timeout" in r.reasons[0].message and "hunter2" not in r.reasons[0].message
    add_history(pg_url, ("e110", "expand", "1.1.0", "running"))
    r = gate("ready", "1.2.0", pg_url, catalog=CATALOG[:3])
    assert codes(r) == {"migration_running"}


def test_the_next_releases_expand_in_progress_does_not_make_the_running_release_unready(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "running"))
    r = gate("ready", "1.0.0", pg_url)
    assert r.verdict == "pass" and [w.code for w in r.warnings] == ["migration_running"]


def test_a_half_applied_contract_concerns_older_releases(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("c120", "contract", "1.2.0", "failed"))
    assert codes(gate("ready", "1.1.0", pg_url)) == {"migration_failed"}
    assert gate("ready", "1.2.0", pg_url, catalog=CATALOG[:3]).verdict == "pass"


def test_a_retried_migration_counts_by_its_latest_attempt(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"),
                ("e110", "expand", "1.1.0", "failed"), ("e110", "expand", "1.1.0", "applied"))
    assert gate("ready", "1.1.0", pg_url).verdict == "pass"


def test_rollback_is_not_blocked_by_a_failed_expand_of_a_newer_release_but_is_by_a_failed_contract(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "failed"))
    r = gate("rollback", "1.0.0", pg_url)
    assert r.verdict == "pass" and [w.code for w in r.warnings] == ["migration_failed"]
    add_history(pg_url, ("c120", "contract", "1.2.0", "running"))
    r = gate("rollback", "1.0.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"migration_running"}


def test_rolled_back_expand_is_pending_again(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("e110", "expand", "1.1.0", "rolled_back", "downgrade"))
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"expand_pending"}
    assert gate("ready", "1.0.0", pg_url).verdict == "pass"


def test_a_rollback_that_stopped_halfway_is_reported_for_the_releases_it_concerns(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"),
                ("e110", "expand", "1.1.0", "failed", "downgrade", "lock timeout"))
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"migration_failed"}
    assert "during downgrade: lock timeout" in r.reasons[0].message
    assert r.window.max_release.public == "1.1.0"  # the revision is still applied
    assert gate("ready", "1.0.0", pg_url).verdict == "pass"


def test_history_alone_keeps_the_window_when_the_catalog_on_disk_is_older(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("c300", "contract", "3.0.0", "applied"))
    r = gate("ready", "2.0.0", pg_url, catalog=CATALOG[:1])
    assert r.verdict == "fail" and codes(r) == {"contracted_past"}


def test_an_invalid_index_left_by_a_failed_concurrent_build_fails_ready(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"))
    execute(pg_url, "CREATE TABLE t (x int)", "INSERT INTO t VALUES (1), (1)")
    with pytest.raises(Exception):
        execute(pg_url, "CREATE UNIQUE INDEX CONCURRENTLY ix_t_x ON t (x)", autocommit=True)
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"invalid_index"}
    assert "public.ix_t_x" in r.reasons[0].message
    # the release still serving while 1.1.0's expand builds its index stays ready
    r = gate("ready", "1.0.0", pg_url)
    assert r.verdict == "pass" and [w.code for w in r.warnings] == ["invalid_index"]
    execute(pg_url, "DROP INDEX ix_t_x")
    assert gate("ready", "1.1.0", pg_url).verdict == "pass"


def test_unfinished_backfill_blocks_its_release_and_later_ones_only(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"))
    add_backfill(pg_url, "users_full_name", "1.1.0", "running", rows_done=500)
    assert gate("ready", "1.0.0", pg_url).verdict == "pass"
    r = gate("ready", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"backfill_unfinished"}
    assert "500 rows" in r.reasons[0].message
    assert [b["name"] for b in r.as_dict()["backfills"]] == ["users_full_name"]
    execute(pg_url, "UPDATE migrator_backfills SET status = 'failed'")
    assert codes(gate("ready", "1.1.0", pg_url)) == {"backfill_failed"}
    execute(pg_url, "UPDATE migrator_backfills SET status = 'finished'")
    assert gate("ready", "1.1.0", pg_url).verdict == "pass"


def test_contract_without_any_registered_instance_needs_a_recorded_deployment(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"))
    r = gate("contract", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"deployment_unrecorded"}
    assert "migrator deployed --release 1.1.0" in r.reasons[0].message
    add_deployment(pg_url, "1.0.0")
    r = gate("contract", "1.1.0", pg_url)
    assert r.verdict == "fail" and "latest recorded deployment is release 1.0.0" in r.reasons[0].message
    add_deployment(pg_url, "1.1.0")
    r = gate("contract", "1.1.0", pg_url)
    assert r.verdict == "pass" and [w.code for w in r.warnings] == ["registry_empty"]
    assert "latest recorded deployment is release 1.1.0" in r.warnings[0].message
    r = gate("contract", "1.1.0", pg_url, require_registry=True)
    assert r.verdict == "fail" and codes(r) == {"registry_empty"}
    r = gate("contract", "1.1.0", pg_url, config=Config(require_registry=True))
    assert r.verdict == "fail"


def test_contract_reads_a_later_record_of_an_older_release_as_a_rollback_of_the_code(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "applied"))
    add_deployment(pg_url, "1.1.0")
    add_deployment(pg_url, "1.0.0")
    r = gate("contract", "1.1.0", pg_url)
    assert r.verdict == "fail" and codes(r) == {"deployment_unrecorded"}
    assert gate("contract", "1.0.0", pg_url).verdict == "pass"


def test_contract_includes_ready(pg_url):
    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"))
    r = gate("contract", "1.1.0", pg_url)
    assert r.verdict == "fail" and "expand_pending" in codes(r)


def test_unreachable_database_gives_unknown_without_the_password(pg_server):
    r = evaluate("ready", "1.0.0", url="postgresql://app:hunter2@127.0.0.1:1/app", catalog=NO_CATALOG)
    assert r.verdict == "unknown" and r.exit_code == 3
    assert codes(r) == {"database_unreachable"}
    assert "hunter2" not in str(r.as_dict())


def test_bad_gate_kind_or_release_is_a_usage_error(pg_url):
    with pytest.raises(UsageError):
        evaluate("deploy", "1.0.0", url=pg_url)
    with pytest.raises(UsageError):
        evaluate("ready", "one", url=pg_url)


def test_the_gate_reads_in_a_read_only_transaction_and_creates_nothing(pg_url):
    r = evaluate("contract", "1.0.0", url=pg_url, catalog=NO_CATALOG)
    assert r.verdict == "fail" and {x.code for x in r.reasons} == {"no_catalog", "deployment_unrecorded"}
    from tests.test_gate_support import engine_for
    from sqlalchemy import inspect

    eng = engine_for(pg_url)
    try:
        with eng.connect() as c:
            assert inspect(c).get_table_names() == []
    finally:
        eng.dispose()
    from migrator.gate.connect import make_engine
    from sqlalchemy import text

    ro = make_engine(pg_url, read_only=True)
    try:
        with ro.connect() as c:
            assert c.execute(text("SHOW transaction_read_only")).scalar() == "on"
    finally:
        ro.dispose()


def test_psycopg_and_sqlalchemy_snapshots_agree(pg_url):
    import migrator
    from migrator.gate.snapshot import libpq_url, take_snapshot, take_snapshot_libpq
    from tests.test_gate_support import engine_for

    add_history(pg_url, ("e100", "expand", "1.0.0", "applied"), ("e110", "expand", "1.1.0", "failed", "upgrade", "x"))
    add_backfill(pg_url, "b", "1.1.0", "running", 3)
    h = migrator.register_instance(pg_url, "1.0.0", instance_id="i", heartbeat=False)
    eng = engine_for(pg_url)
    try:
        a = take_snapshot_libpq(libpq_url(pg_url))
        b = take_snapshot(eng)
        for part in ("tables", "history", "backfills", "instances", "version_heads", "invalid_indexes"):
            assert getattr(a, part) == getattr(b, part), part
        assert a.instances[0]["last_seen"].tzinfo is not None
    finally:
        eng.dispose()
        h.stop()


def test_table_names_match_the_shared_tables():
    from migrator.gate import snapshot
    from migrator import tables

    assert (snapshot.HISTORY, snapshot.BACKFILLS, snapshot.INSTANCES) == \
        (tables.history.name, tables.backfills.name, tables.instances.name)


def test_the_gate_works_on_sqlite(sqlite_url):
    import migrator

    add_history(sqlite_url, ("e100", "expand", "1.0.0", "applied"), ("c110", "contract", "1.1.0", "applied"))
    assert gate("ready", "1.1.0", sqlite_url, catalog=CATALOG[:1]).verdict == "pass"
    assert codes(gate("rollback", "1.0.0", sqlite_url)) == {"contracted_past"}
    h = migrator.register_instance(sqlite_url, "1.0.0", heartbeat=False)
    try:
        r = gate("contract", "1.1.0", sqlite_url, catalog=CATALOG[:1])
        assert r.verdict == "fail" and codes(r) == {"old_instance_running"}
    finally:
        h.stop()
    assert gate("contract", "1.1.0", sqlite_url, catalog=CATALOG[:1]).verdict == "pass"


def test_a_search_path_in_the_url_is_kept_on_both_paths(pg_url):
    from migrator.gate.connect import make_engine

    execute(pg_url, "CREATE SCHEMA app")
    url = pg_url + "?options=-csearch_path%3Dapp"
    add_history(url, ("e100", "expand", "1.0.0", "applied"), ("c200", "contract", "2.0.0", "applied"))
    assert codes(gate("ready", "1.0.0", url)) == {"contracted_past"}  # psycopg path sees app.migrator_history
    eng = make_engine(url, read_only=True)
    try:
        assert codes(evaluate("ready", "1.0.0", engine=eng, catalog=CATALOG)) == {"contracted_past"}
    finally:
        eng.dispose()
    assert codes(gate("ready", "1.0.0", pg_url)) == {"expand_pending"}  # public has no history: e100 pending
