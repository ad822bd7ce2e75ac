"""The compatibility window (DESIGN section 4).

E = the highest release R such that every expand migration with release <= R is applied;
C = the highest release of any applied contract migration. Code of release V can run against the
schema iff C <= V <= E. Computed from plain records, so the runner, the gate and ``status`` agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from packaging.version import Version


@dataclass(frozen=True)
class MigrationRecord:
    revision: str
    phase: str  # "expand" | "contract"
    release: Version
    state: str  # "applied" | "pending" | "failed" | "running" | "rolled_back"


@dataclass
class Window:
    min_release: Version | None  # C: nothing older than this may run (None: no contract applied)
    max_release: Version | None  # E: highest release whose expand phase is complete (None: none)
    first_pending_expand: Version | None  # the lowest release with an expand not yet applied
    pending_expand: list[MigrationRecord] = field(default_factory=list)
    pending_contract: list[MigrationRecord] = field(default_factory=list)

    def expand_complete_for(self, v: Version) -> bool:
        return self.first_pending_expand is None or self.first_pending_expand > v

    def not_contracted_past(self, v: Version) -> bool:
        return self.min_release is None or self.min_release <= v

    def supports(self, v: Version) -> bool:
        """C <= V <= E, with E read as 'no expand migration of release <= V is pending'."""
        return self.expand_complete_for(v) and self.not_contracted_past(v)

    def as_dict(self) -> dict:
        return {
            "min_release": str(self.min_release) if self.min_release else None,
            "max_release": str(self.max_release) if self.max_release else None,
            "first_pending_expand": str(self.first_pending_expand) if self.first_pending_expand else None,
        }


def compute_window(records: list[MigrationRecord]) -> Window:
    """``records`` holds one entry per known migration (catalog on disk united with history)."""
    applied = [r for r in records if r.state == "applied"]
    not_applied_expand = sorted(
        (r for r in records if r.phase == "expand" and r.state != "applied"), key=lambda r: r.release
    )
    first_pending = not_applied_expand[0].release if not_applied_expand else None
    applied_expand = [r.release for r in applied if r.phase == "expand"]
    if first_pending is None:
        e = max(applied_expand, default=None)
    else:
        below = [v for v in applied_expand if v < first_pending]
        e = max(below, default=None)
    c = max((r.release for r in applied if r.phase == "contract"), default=None)
    pending_contract = sorted(
        (r for r in records if r.phase == "contract" and r.state != "applied"), key=lambda r: r.release
    )
    return Window(min_release=c, max_release=e, first_pending_expand=first_pending,
                  pending_expand=not_applied_expand, pending_contract=pending_contract)
