"""The compatibility window: which application releases can run against the schema.

C = the highest release of any applied contract migration (nothing older may run: what it uses
may be gone). E = the highest release the schema serves: every expand migration of a release
<= E is applied. A release that has no expand migrations of its own is served once every expand
before it is applied; when no expand migration is pending at all the window is open-ended (every
release from C up). Code of release V can run iff C <= V and V is served, which for the releases
the migrations declare reads C <= V <= E. Releases no migration declares that fall between E and
the first pending expand are served too (nothing of theirs can be missing).

C <= E holds after every legal sequence of expand, contract and rollback: a contract of R runs
only once every expand <= R is applied, and a rollback to R is refused while a contract >= R is
applied. Computed from plain records (:func:`migrator.state.derive` makes them), so ``status``,
the runner, the gate and ``serve`` show the same window.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .releases import Release


@dataclass(frozen=True)
class MigrationRecord:
    revision: str
    phase: str  # "expand" | "contract"
    release: Release
    state: str  # "applied" | "pending" | "failed" | "running" | "rolled_back"


@dataclass
class Window:
    min_release: Release | None  # C: nothing older may run (None: no contract applied)
    max_release: Release | None  # E: the highest declared release served (None: none is)
    first_pending_expand: Release | None  # the lowest release with an expand not applied
    pending_expand: list[MigrationRecord] = field(default_factory=list)
    pending_contract: list[MigrationRecord] = field(default_factory=list)

    @property
    def open_ended(self) -> bool:
        """No expand migration is pending: every release from C up is served."""
        return self.first_pending_expand is None

    @property
    def empty(self) -> bool:
        """No release can run (a contract applied past a pending expand: never after a legal
        sequence, but a revision added later with an old release can do it)."""
        fp, c = self.first_pending_expand, self.min_release
        return fp is not None and c is not None and c >= fp

    def expand_complete_for(self, v: Release) -> bool:
        return self.first_pending_expand is None or self.first_pending_expand > v

    def not_contracted_past(self, v: Release) -> bool:
        return self.min_release is None or self.min_release <= v

    def supports(self, v: Release) -> bool:
        """C <= V, and no expand migration of a release <= V is pending."""
        return self.expand_complete_for(v) and self.not_contracted_past(v)

    def span(self) -> str:
        """The window in words: ``releases 1.1.0 .. 1.2.0 (expand of 1.3.0 pending)``."""
        low = str(self.min_release) if self.min_release is not None else "any"
        if self.open_ended:
            return f"releases {low} .. any later (no expand pending)"
        high = str(self.max_release) if self.max_release is not None else "none"
        if self.empty:
            return (f"empty: contract of {self.min_release} applied, expand of "
                    f"{self.first_pending_expand} pending")
        return f"releases {low} .. {high} (expand of {self.first_pending_expand} pending)"

    def as_dict(self) -> dict:
        return {
            "min_release": _text(self.min_release),
            "max_release": _text(self.max_release),
            "first_pending_expand": _text(self.first_pending_expand),
            "open_ended": self.open_ended,
        }


def _text(v: Release | None) -> str | None:
    return None if v is None else str(v)


def compute_window(records: list[MigrationRecord]) -> Window:
    """``records`` holds one entry per known migration (catalog on disk united with history)."""
    not_applied_expand = sorted((r for r in records if r.phase == "expand" and r.state != "applied"),
                                key=lambda r: r.release)
    first_pending = not_applied_expand[0].release if not_applied_expand else None
    served = [r.release for r in records if first_pending is None or r.release < first_pending]
    c = max((r.release for r in records if r.phase == "contract" and r.state == "applied"), default=None)
    pending_contract = sorted((r for r in records if r.phase == "contract" and r.state != "applied"),
                              key=lambda r: r.release)
    return Window(min_release=c, max_release=max(served, default=None), first_pending_expand=first_pending,
                  pending_expand=not_applied_expand, pending_contract=pending_contract)
