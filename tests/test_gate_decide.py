"""The gate's decisions on hand-built snapshots: no database (the PostgreSQL tests of the same
verdicts are in test_gate_core.py and test_gate_cli.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from packaging.version import Version

from migrator.gate.core import decide
from migrator.gate.snapshot import Snapshot
from migrator.state import Attempt

NOW = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
CATALOG = [
    {"revision": "e100", "phase": "expand", "release": "1.0.0"},
    {"revision": "e110", "phase": "expand", "release": "1.1.0"},
    {"revision": "c120", "phase": "contract", "release": "1.2.0"},
    {"revision": "e120", "phase": "expand", "release": "1.2.0"},
    {"revision": "c130", "phase": "contract", "release": "1.3.0"},
]
PHASE = {c["revision"]: (c["phase"], c["release"]) for c in CATALOG}


def row(rev: str, status: str = "applied", action: str = "upgrade", error: str | None = None) -> Attempt:
    phase, release = PHASE[rev]
    return Attempt(rev, phase, release, action, status, error)


def snap(*rows: Attempt, backfills=(), instances=(), invalid=()) -> Snapshot:
    history = [Attempt(**{**r.__dict__, "id": i}) for i, r in enumerate(rows, 1)]
    return Snapshot(now=NOW, dialect="postgresql", history=history, backfills=list(backfills),
                    instances=list(instances), invalid_indexes=list(invalid))


def gate(kind: str, release: str, s: Snapshot, **kw):
    return decide(kind, Version(release), s, CATALOG, **kw)


def errors(result) -> set[str]:
    return {r.code for r in result.reasons if r.severity == "error"}


def warnings(result) -> set[str]:
    return {r.code for r in result.reasons if r.severity == "warning"}


def backfill(name: str, revision: str, status: str, *, rows: int = 10, alive=None, error=None) -> dict:
    return {"name": name, "revision": revision, "release": PHASE[revision][1], "status": status,
            "rows_done": rows, "rows_total_estimate": 100, "last_key": None, "error": error, "alive": alive}


ALL_EXPANDS = (row("e100"), row("e110"), row("e120"))


def test_ready_needs_every_expand_up_to_the_release_and_names_them():
    s = snap(row("e100"))
    assert gate("ready", "1.0.0", s).passed
    r = gate("ready", "1.2.0", s)
    assert errors(r) == {"expand_pending"}
    assert [x.migration for x in r.reasons] == ["e110", "e120"]
    assert r.window.max_release == Version("1.0.0") and not r.window.open_ended


def test_after_the_last_contract_the_window_is_open_ended_and_reads_forwards():
    s = snap(*ALL_EXPANDS, row("c120"), row("c130"))
    r = gate("ready", "1.3.0", s)
    assert r.passed
    w = r.window
    assert (w.min_release, w.max_release, w.open_ended) == (Version("1.3.0"), Version("1.3.0"), True)
    assert gate("ready", "1.4.0", s).passed  # no expand pending: later releases too
    assert errors(gate("ready", "1.2.0", s)) == {"contracted_past"}


def test_a_release_without_expands_is_served_once_the_expands_before_it_are_applied():
    s = snap(row("e100"), row("e110"))
    r = gate("ready", "1.1.0", s)
    assert r.passed and r.window.max_release == Version("1.1.0")
    assert gate("ready", "1.1.9", s).passed  # declared by no migration, below the pending 1.2.0
    assert errors(gate("ready", "1.2.0", s)) == {"expand_pending"}


def test_a_failed_expand_fails_its_release_and_newer_but_only_warns_older_ones():
    s = snap(row("e100"), row("e110", "failed", error="lock timeout\ndetail"))
    r = gate("ready", "1.1.0", s)
    assert errors(r) == {"migration_failed"} and "lock timeout" in r.reasons[0].message
    assert "detail" not in r.reasons[0].message
    older = gate("ready", "1.0.0", s)
    assert older.passed and warnings(older) == {"migration_failed"}


def test_a_half_applied_contract_concerns_older_releases_only():
    s = snap(*ALL_EXPANDS, row("c120", "running"))
    assert errors(gate("ready", "1.1.0", s)) == {"migration_running"}
    r = gate("ready", "1.2.0", s)
    assert r.passed and warnings(r) == {"migration_running"}


def test_a_completed_downgrade_is_a_rollback_and_a_stopped_one_leaves_the_revision_applied():
    done = snap(row("e100"), row("e110"), row("e110", "applied", "downgrade"))
    assert errors(gate("ready", "1.1.0", done)) == {"expand_pending"}
    assert gate("ready", "1.0.0", done).passed
    stopped = snap(row("e100"), row("e110"), row("e110", "failed", "downgrade"))
    r = gate("ready", "1.1.0", stopped)
    assert errors(r) == {"migration_failed"} and "downgrade" in r.reasons[0].message
    assert r.window.max_release == Version("1.1.0")  # still applied
    assert gate("rollback", "1.0.0", stopped).passed  # a half-undone newer expand only warns


def test_rollback_passes_until_a_newer_contract_is_applied():
    s = snap(*ALL_EXPANDS)
    assert all(gate("rollback", v, s).passed for v in ("1.0.0", "1.1.0", "1.2.0"))
    s = snap(*ALL_EXPANDS, row("c120"))
    assert errors(gate("rollback", "1.1.0", s)) == {"contracted_past"}
    assert gate("rollback", "1.2.0", s).passed


def test_invalid_index_fails_the_newest_started_release_and_warns_older_ones():
    ix = {"schema": "public", "index": "ix_users_full_name", "table": "users"}
    s = snap(row("e100"), row("e110"), invalid=[ix])
    r = gate("ready", "1.1.0", s)
    assert errors(r) == {"invalid_index"} and "ix_users_full_name" in r.reasons[0].message
    assert gate("ready", "1.0.0", s).passed


def test_unfinished_backfills_of_applied_revisions_block_and_name_the_command_that_resumes_them():
    s = snap(row("e100"), row("e110"), backfills=[backfill("fill", "e110", "pending")])
    r = gate("ready", "1.1.0", s)
    assert errors(r) == {"backfill_unfinished"}
    assert "migrator backfill" in r.reasons[0].message and r.backfills[0]["name"] == "fill"
    assert gate("ready", "1.0.0", s).passed  # 1.0.0 does not need it


def test_a_running_backfill_whose_runner_is_gone_reads_interrupted():
    alive = snap(row("e100"), row("e110"), backfills=[backfill("fill", "e110", "running", alive=True)])
    assert "is running" in gate("ready", "1.1.0", alive).reasons[0].message
    dead = snap(row("e100"), row("e110"), backfills=[backfill("fill", "e110", "running", alive=False)])
    msg = gate("ready", "1.1.0", dead).reasons[0].message
    assert "interrupted" in msg and "migrator backfill" in msg


def test_a_failed_backfill_says_why_and_a_contracts_backfill_is_reported_as_contract():
    s = snap(*ALL_EXPANDS, row("c120"),
             backfills=[backfill("second", "c120", "failed", error="division by zero\nCONTEXT")])
    r = gate("ready", "1.2.0", s)
    assert errors(r) == {"backfill_failed"}
    assert r.reasons[0].phase == "contract" and "division by zero" in r.reasons[0].message
    assert "CONTEXT" not in r.reasons[0].message


def test_a_backfill_of_a_rolled_back_revision_blocks_nothing():
    """The revision's rows are gone with it; re-applying it declares the backfill again."""
    s = snap(row("e100"), row("e110"), row("e110", "rolled_back", "downgrade"),
             backfills=[backfill("fill", "e110", "finished")])
    r = gate("ready", "1.0.0", s)
    assert r.passed and r.backfills == []


def test_contract_checks_live_instances_and_warns_when_none_registered():
    s = snap(*ALL_EXPANDS)
    r = gate("contract", "1.2.0", s)
    assert errors(r) == {"deployment_unrecorded"} and "migrator deployed --release 1.2.0" in r.reasons[0].message
    s.deployments = [{"release": "1.2.0", "recorded_at": NOW}]
    r = gate("contract", "1.2.0", s)
    assert r.passed and warnings(r) == {"registry_empty"}
    assert errors(gate("contract", "1.2.0", s, require_registry=True)) == {"registry_empty"}
    seen = NOW - timedelta(seconds=5)
    inst = [{"instance_id": "web-1", "release": "1.1.0", "hostname": "h", "pid": 1,
             "started_at": seen, "last_seen": seen, "stopped_at": None},
            {"instance_id": "web-2", "release": "1.2.0", "hostname": "h", "pid": 2,
             "started_at": seen, "last_seen": seen, "stopped_at": None}]
    s = snap(*ALL_EXPANDS, instances=inst)
    r = gate("contract", "1.2.0", s)
    assert errors(r) == {"old_instance_running"} and "web-1" in r.reasons[0].message
    assert r.instances == {"registered": 2, "live": 2, "live_releases": ["1.1.0", "1.2.0"]}
    stale = [{**i, "last_seen": NOW - timedelta(seconds=600)} for i in inst]
    assert gate("contract", "1.2.0", snap(*ALL_EXPANDS, instances=stale)).passed


def test_a_history_row_with_a_release_that_is_not_a_version_is_a_warning():
    s = snap(row("e100"))
    s.history.append(Attempt("gone", "expand", "not-a-version", id=99))
    r = gate("ready", "1.0.0", s)
    assert r.passed and warnings(r) == {"bad_release"}


def test_baseline_history_orders_before_every_release():
    s = snap(row("e100"))
    s.history.insert(0, Attempt("old1", "expand", "baseline", id=0))
    r = gate("ready", "1.0.0", s)
    assert r.passed and r.window.max_release == Version("1.0.0")
    fresh = Snapshot(now=NOW, dialect="sqlite", history=[Attempt("old1", "expand", "baseline", id=1)])
    r = gate("ready", "1.0.0", fresh)
    assert errors(r) == {"expand_pending"} and str(r.window.max_release) == "baseline"
