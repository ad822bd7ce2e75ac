"""Random legal sequences of expand, contract, rollback and re-expand, and plain ``alembic upgrade
heads`` (with failures and killed runners, an adopted baseline, with and without Alembic's version
table), replayed as the runner
records them: after every step C <= E, and ``gate ready V`` passes exactly when C <= V <= E and
nothing half-applied concerns V. No database: the state function and the gate are pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from migrator.gate.core import decide
from migrator.gate.snapshot import Snapshot
from migrator.releases import BASELINE
from migrator.state import Attempt, derive
from tests.support.window import check_gate_agrees, check_window

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Rev:
    id: str
    phase: str
    release: object
    parents: tuple[str, ...]

    @property
    def release_text(self) -> str:
        return str(self.release)


class Catalog:
    """A two-branch catalog: expands in a chain, contracts in a chain, each contract depending
    on the expand head of its release (the sample project's layout)."""

    def __init__(self, revisions: list[Rev], *, with_ancestors: bool):
        self.revisions = revisions
        self.by_id = {r.id: r for r in revisions}
        if with_ancestors:
            self.ancestors = self._ancestors

    def _ancestors(self, rid: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.by_id[rid].parents) if rid in self.by_id else []
        while stack:
            r = stack.pop()
            if r not in seen:
                seen.add(r)
                stack.extend(self.by_id[r].parents)
        return seen

    def of_phase(self, phase: str) -> list[Rev]:
        return [r for r in self.revisions if r.phase == phase]


def build_catalog(baseline: int, shape: list[tuple[int, int]], with_ancestors: bool) -> Catalog:
    revs: list[Rev] = []
    expand_head = contract_head = None
    for i in range(baseline):
        rid = f"b{i}"
        revs.append(Rev(rid, "expand", BASELINE, (expand_head,) if expand_head else ()))
        expand_head = rid
    for n, (expands, contracts) in enumerate(shape):
        release = Version(f"1.{n}.0")
        for i in range(expands):
            rid = f"e{n}{i}"
            revs.append(Rev(rid, "expand", release, (expand_head,) if expand_head else ()))
            expand_head = rid
        for i in range(contracts):
            rid = f"c{n}{i}"
            parents = tuple(p for p in (contract_head, expand_head) if p)
            revs.append(Rev(rid, "contract", release, parents))
            contract_head = rid
    return Catalog(revs, with_ancestors=with_ancestors)


@dataclass
class Database:
    catalog: Catalog
    applied: set[str] = field(default_factory=set)  # what Alembic's version table implies
    attempts: list[Attempt] = field(default_factory=list)
    deployments: list[dict] = field(default_factory=list)  # `migrator deployed` records

    def record(self, rev: Rev, action: str, status: str) -> None:
        self.attempts.append(Attempt(rev.id, rev.phase, rev.release_text, action, status,
                                     id=len(self.attempts) + 1))

    def heads(self) -> list[str] | None:
        if not hasattr(self.catalog, "ancestors"):
            return None
        below = set().union(*(self.catalog.ancestors(r) for r in self.applied)) if self.applied else set()
        return sorted(self.applied - below)

    def states(self):
        return derive(self.catalog, self.attempts, self.heads())

    def snapshot(self) -> Snapshot:
        return Snapshot(now=NOW, dialect="sqlite", history=list(self.attempts), version_heads=self.heads(),
                        deployments=list(self.deployments))

    def close_interrupted(self) -> None:
        """What the next runner does first, under the lock: rows left running are failed."""
        self.attempts = [Attempt(a.revision, a.phase, a.release, a.action, "failed", "interrupted", id=a.id)
                         if a.status == "running" else a for a in self.attempts]

    def run(self, rev: Rev, action: str, fault: str | None) -> bool:
        """One revision applied (or undone); ``fault``: failed (nothing committed) or killed (the
        DDL committed, the runner died before writing the outcome)."""
        if fault == "failed":
            self.record(rev, action, "failed")
            return False
        if fault == "killed":
            self.record(rev, action, "running")
        else:
            self.record(rev, action, "applied" if action == "upgrade" else "rolled_back")
        (self.applied.add if action == "upgrade" else self.applied.discard)(rev.id)
        return fault is None

    # -- the runner's commands, with its refusals -------------------------------------------

    def forward(self, phase: str, v: Version, faults: list[str | None]) -> None:
        self.close_interrupted()
        states = self.states()
        pending = [r for r in self.catalog.of_phase(phase) if r.release <= v and states.state(r.id) != "applied"]
        if phase == "contract" and pending:
            self.deployments.append({"release": str(v), "recorded_at": NOW})  # the rollout finished
            result = decide("contract", v, self.snapshot(), self.catalog)
            mine = {r.id for r in pending}
            if any(r.severity == "error" and not (r.code in ("migration_failed", "migration_running")
                                                  and r.migration in mine) for r in result.reasons):
                return  # refused by the gate
        planned = {r.id for r in pending}
        for r in pending:
            if any(states.state(a) != "applied" and a not in planned for a in self._parents(r.id)):
                return  # refused: needs something applied first
        for r, fault in zip(pending, faults + [None] * len(pending)):
            if not self.run(r, "upgrade", fault):
                return

    def rollback(self, v: Version, faults: list[str | None]) -> None:
        self.close_interrupted()
        states = self.states()
        if any(r.phase == "contract" and r.state == "applied" and r.release >= v for r in states.revisions):
            return  # refused: a contract of a release >= v is applied
        undo = [r for r in reversed(self.catalog.of_phase("expand"))
                if r.release >= v and states.state(r.id) == "applied"]
        ids = {r.id for r in undo}
        if any(states.state(r.id) == "applied" and r.id not in ids and self._parents(r.id) & ids
               for r in self.catalog.revisions):
            return
        for r, fault in zip(undo, faults + [None] * len(undo)):
            if not self.run(r, "downgrade", fault):
                return

    def upgrade_heads(self) -> None:
        """Plain ``alembic upgrade heads`` (a development database, the Recreate strategy): every
        revision applied, nothing written to the history; only Alembic's table tells."""
        if hasattr(self.catalog, "ancestors"):
            self.applied |= {r.id for r in self.catalog.revisions}

    def _parents(self, rid: str) -> set[str]:
        if hasattr(self.catalog, "ancestors"):
            return self.catalog.ancestors(rid)
        return Catalog(self.catalog.revisions, with_ancestors=True).ancestors(rid)


FAULT = st.sampled_from([None, None, None, None, "failed", "killed"])
STEP = st.tuples(st.sampled_from(["expand", "expand", "contract", "rollback", "rollback", "heads"]),
                 st.integers(0, 4),
                 st.lists(FAULT, max_size=3))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(baseline=st.integers(0, 2),
       shape=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=4),
       with_ancestors=st.booleans(),
       steps=st.lists(STEP, max_size=12))
def test_window_invariant_and_gate_agree_after_any_legal_sequence(baseline, shape, with_ancestors, steps):
    catalog = build_catalog(baseline, shape, with_ancestors)
    db = Database(catalog)
    known = sorted({r.release for r in catalog.revisions if r.release != BASELINE})
    probes = [Version("0.9.0"), *known, *(Version(f"{v}.5") for v in known)]
    for kind, n, faults in [("check", 0, [])] + steps:
        v = Version(f"1.{n}.0")
        if kind == "rollback":
            db.rollback(v, faults)
        elif kind == "heads":
            db.upgrade_heads()
        elif kind != "check":
            db.forward(kind, v, faults)
        states = db.states()
        w = states.window
        check_window(w)
        clean = not states.half_applied()
        snap = db.snapshot()
        for probe in probes:
            result = decide("ready", probe, snap, catalog)
            check_gate_agrees(w, probe, result, known=probe in known)
            if clean:
                assert result.passed == w.supports(probe), (probe, w.as_dict(), result.reasons)
            back = decide("rollback", probe, snap, catalog)
            if clean:
                contracted = any(r.phase == "contract" and r.state == "applied" and r.release > probe
                                 for r in states.revisions)
                assert back.passed == (not contracted)


def test_a_completed_downgrade_row_reads_rolled_back_with_or_without_alembics_table():
    """The runner and the gate disagreed on a downgrade row with status ``applied``."""
    catalog = build_catalog(0, [(1, 0)], with_ancestors=True)
    rows = [Attempt("e00", "expand", "1.0.0", "upgrade", "applied", id=1),
            Attempt("e00", "expand", "1.0.0", "downgrade", "applied", id=2)]
    assert derive(catalog, rows, []).state("e00") == "rolled_back"
    assert derive(catalog, rows, None).state("e00") == "rolled_back"
    assert derive(None, rows, None).state("e00") == "rolled_back"  # the revision is gone from disk
    failed = rows[:1] + [Attempt("e00", "expand", "1.0.0", "downgrade", "failed", id=2)]
    for heads in (["e00"], None):
        s = derive(catalog, failed, heads)
        assert s.state("e00") == "applied" and [h.id for h in s.half_applied()] == [2]
