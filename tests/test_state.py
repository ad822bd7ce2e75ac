"""migrator.state.derive: per-revision states and the window from history rows, Alembic's version
table and the catalog (pure; the property test in test_state_property.py walks random sequences)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from packaging.version import Version

from migrator.errors import UsageError
from migrator.releases import BASELINE
from migrator.state import Attempt, derive


@dataclass(frozen=True)
class Rev:
    id: str
    phase: str
    release: Version
    parents: tuple[str, ...] = ()
    is_baseline: bool = False

    @property
    def release_text(self) -> str:
        return str(self.release)


class Catalog:
    def __init__(self, *revs: Rev):
        self.revisions = list(revs)
        self.by_id = {r.id: r for r in revs}

    def ancestors(self, rid: str) -> set[str]:
        out, stack = set(), list(self.by_id[rid].parents) if rid in self.by_id else []
        while stack:
            r = stack.pop()
            if r not in out:
                out.add(r)
                stack.extend(self.by_id[r].parents)
        return out


CAT = Catalog(Rev("e1", "expand", Version("1.0")), Rev("e2", "expand", Version("1.1"), ("e1",)),
              Rev("c2", "contract", Version("1.1"), ("e2",)))


def a(rev, status="applied", action="upgrade", release=None, **kw) -> Attempt:
    phase = "contract" if rev.startswith("c") else "expand"
    return Attempt(rev, phase, release or {"e1": "1.0"}.get(rev, "1.1"), action, status, **kw)


def test_alembic_decides_what_is_applied_and_the_history_adds_failures_and_rollbacks():
    rows = [a("e1", id=1), a("e2", "failed", id=2)]
    s = derive(CAT, rows, ["e1"])
    assert [s.state(r) for r in ("e1", "e2", "c2")] == ["applied", "failed", "pending"]
    # plain `alembic upgrade heads`: applied though the history never saw it
    s = derive(CAT, rows, ["c2"])
    assert s.applied() == {"e1", "e2", "c2"} and s.half_applied() == []
    # plain `alembic downgrade`: the history still says applied, Alembic does not
    s = derive(CAT, [a("e1", id=1), a("e2", id=2)], ["e1"])
    assert s.state("e2") == "pending"
    s = derive(CAT, [a("e1", id=1), a("e2", id=2), a("e2", "rolled_back", "downgrade", id=3)], ["e1"])
    assert s.state("e2") == "rolled_back"


def test_without_alembics_table_the_latest_attempt_decides():
    rows = [a("e1", id=1), a("e2", id=2), a("e2", "running", "downgrade", id=3)]
    s = derive(CAT, rows, None)
    assert s.state("e2") == "applied" and [h.id for h in s.half_applied()] == [3]
    assert s.state("c2") == "pending"


def test_the_checksum_applied_is_the_latest_successful_upgrade():
    rows = [a("e1", checksum="old", id=1), a("e1", "failed", checksum="new", id=2)]
    r = derive(CAT, rows, ["e1"]).get("e1")
    assert r.applied_by.checksum == "old" and r.last.status == "failed" and r.state == "applied"


def test_revisions_gone_from_disk_keep_what_the_history_says():
    """The schema is at e9, newer than the code on disk (rolled back): Alembic's table cannot be
    read against this catalog, so the history says what is applied."""
    rows = [a("e1", id=1), a("e2", id=2), a("e9", release="1.9", id=3), a("e8", release="not a version", id=4)]
    s = derive(CAT, rows, ["e9"])
    assert s.state("e1") == s.state("e2") == "applied"
    gone = s.get("e9")
    assert gone is not None and not gone.on_disk and gone.state == "applied" and gone.release == Version("1.9")
    assert s.get("e8") is None and s.problems and "not a version" in s.problems[0]
    assert s.window.max_release == Version("1.9") and s.window.open_ended


def test_a_baseline_orders_before_every_version_and_serves_nothing_newer():
    cat = Catalog(Rev("b0", "expand", Version("0"), is_baseline=True),
                  Rev("e1", "expand", Version("1.0"), ("b0",)))
    s = derive(cat, [], ["b0"])
    assert s.get("b0").release is BASELINE
    w = s.window
    assert str(w.max_release) == "baseline" and w.first_pending_expand == Version("1.0")
    assert w.supports(Version("0.9")) and not w.supports(Version("1.0"))
    assert derive(cat, [], ["e1"]).window.open_ended


def test_a_catalog_release_that_is_not_a_version_is_a_usage_error():
    with pytest.raises(UsageError, match="not a version"):
        derive([{"revision": "x", "phase": "expand", "release": "next"}], [], None)
