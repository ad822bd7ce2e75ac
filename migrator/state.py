"""What state each revision is in, and the compatibility window: one pure function, :func:`derive`,
from the history rows (``migrator_history``), Alembic's version table and the catalog on disk.

Every command that asks reads its answer here: ``status``, ``plan``, ``expand`` / ``contract`` /
``rollback`` (what is pending, what may be undone), the gate, ``serve`` and the instance registry.
The callers only read rows (:mod:`migrator.runner.history` through SQLAlchemy, the gate's
snapshot through psycopg); the reading of them is here, once.

The rules:

- With Alembic's version table and a catalog that knows ancestors and every head in the table,
  what is applied is what Alembic says (its heads and their ancestors, so a plain ``alembic
  upgrade heads`` counts).
  A revision Alembic does not list is ``failed`` or ``running`` when its latest attempt was an
  upgrade that failed or never finished, ``rolled_back`` when its latest attempt was a
  downgrade, else ``pending``.
- Without them (no version table, a catalog of plain facts, or one older than the schema), the
  latest attempt decides: an
  upgrade's status is the state; a downgrade that completed (recorded ``rolled_back``, or
  ``applied``: the downgrade was applied) leaves the revision ``rolled_back``, one that failed
  or never finished leaves it ``applied``, half undone.
- Revisions only the history knows (the catalog on disk is older: the code was rolled back)
  keep the phase, release and state their rows say; a release that is neither a version nor
  ``baseline`` is reported as a problem and the row skipped.
- Releases order as versions; the label ``baseline`` (an adopted project's history) orders
  before every version (:data:`migrator.releases.BASELINE`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable

from .errors import UsageError
from .releases import BASELINE, Release, release_label
from .window import MigrationRecord, Window, compute_window

APPLIED, PENDING, FAILED, RUNNING, ROLLED_BACK = "applied", "pending", "failed", "running", "rolled_back"
STATES = (APPLIED, PENDING, FAILED, RUNNING, ROLLED_BACK)


@dataclass(frozen=True)
class Attempt:
    """One row of ``migrator_history``: one attempt to apply (``upgrade``) or undo
    (``downgrade``) one revision. status: running | applied | failed | rolled_back."""

    revision: str
    phase: str
    release: str
    action: str = "upgrade"
    status: str = APPLIED
    error: str | None = None
    id: int | None = None
    checksum: str | None = None
    path: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    attempts: int = 0
    run_by: str | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class RevisionState:
    revision: str
    phase: str
    release: Release
    state: str  # applied | pending | failed | running | rolled_back
    on_disk: bool = True
    last: Attempt | None = None  # the latest attempt
    applied_by: Attempt | None = None  # the latest successful upgrade (its checksum was applied)

    @property
    def half_applied(self) -> Attempt | None:
        """The attempt that stopped halfway, when one did: an upgrade left running or failed, or
        a downgrade of a revision still applied that stopped."""
        last = self.last
        if self.state in (FAILED, RUNNING):
            return last if last is not None and last.status == self.state else Attempt(
                self.revision, self.phase, str(self.release), "upgrade", self.state)
        if (self.state == APPLIED and last is not None and last.action == "downgrade"
                and last.status in (FAILED, RUNNING)):
            return last
        return None

    def record(self) -> MigrationRecord:
        return MigrationRecord(self.revision, self.phase, self.release, self.state)


@dataclass
class States:
    """Per-revision states (catalog order, then revisions only the history knows) and the window."""

    revisions: list[RevisionState]
    window: Window
    problems: list[str] = field(default_factory=list)  # history rows that could not be read

    def __post_init__(self) -> None:
        self.by_id = {r.revision: r for r in self.revisions}

    def get(self, revision: str) -> RevisionState | None:
        return self.by_id.get(revision)

    def state(self, revision: str) -> str:
        r = self.by_id.get(revision)
        return r.state if r is not None else PENDING

    def applied(self) -> set[str]:
        return {r.revision for r in self.revisions if r.state == APPLIED}

    def records(self) -> list[MigrationRecord]:
        return [r.record() for r in self.revisions]

    def half_applied(self) -> list[Attempt]:
        return [h for h in (r.half_applied for r in self.revisions) if h is not None]


# -- the catalog, whatever shape it comes in ---------------------------------------------------

def catalog_entries(catalog: Any) -> list[tuple[str, str, Release]]:
    """(revision, phase, release) of each migration of a catalog: an object with ``revisions``
    (each with ``id``, ``phase`` and ``release`` or ``release_text``; ``is_baseline`` makes it
    :data:`~migrator.releases.BASELINE`) or a list of dicts with revision, phase and release. A
    release that cannot be read is a UsageError naming it."""
    if catalog is None:
        return []
    out = []
    for it in getattr(catalog, "revisions", catalog):
        if isinstance(it, dict):
            rev, phase, text = it["revision"], it["phase"], it["release"]
        else:
            rev, phase = it.id, it.phase
            text = getattr(it, "release_text", None) or it.release
            if getattr(it, "is_baseline", False):  # adopted history: released before any version
                text = BASELINE
        release = release_label(text)
        if release is None:
            raise UsageError(f"revision {rev}: release {str(text)!r} is not a version (expected e.g. '1.4.0')")
        out.append((str(rev), str(phase), release))
    return out


# -- the one function --------------------------------------------------------------------------

def derive(catalog: Any, attempts: Iterable[Attempt], version_heads: list[str] | None = None) -> States:
    """States of every revision and the window. ``attempts`` oldest first, holding at least each
    revision's latest attempt (and its latest successful upgrade, for ``applied_by``);
    ``version_heads`` is Alembic's version table (None: no such table)."""
    last: dict[str, Attempt] = {}
    applied_by: dict[str, Attempt] = {}
    for a in attempts:
        last[a.revision] = a
        if a.action == "upgrade" and a.status == APPLIED:
            applied_by[a.revision] = a
    entries = catalog_entries(catalog)
    alembic = _alembic_applied(catalog, version_heads, {rid for rid, _, _ in entries})
    out: list[RevisionState] = []
    for rid, phase, release in entries:
        h = last.get(rid)
        state = _history_state(h) if alembic is None else _alembic_state(rid in alembic, h)
        out.append(RevisionState(rid, phase, release, state, True, h, applied_by.get(rid)))
    known = {r.revision for r in out}
    problems = []
    for rid, h in last.items():
        if rid in known:
            continue
        release = release_label(h.release)
        if release is None:
            problems.append(f"history row of {rid} has release {h.release!r}, which is not a version")
            continue
        in_heads = version_heads is not None and rid in version_heads
        state = APPLIED if in_heads else _history_state(h)
        out.append(RevisionState(rid, h.phase, release, state, False, h, applied_by.get(rid)))
    return States(out, compute_window([r.record() for r in out]), problems)


def _alembic_applied(catalog: Any, version_heads: list[str] | None, on_disk: set[str]) -> set[str] | None:
    """What Alembic's table says is applied, or None when it cannot be read against this catalog:
    no table, no ancestry, or a head the catalog does not know (the code on disk is older than
    the schema: then the history says what is applied)."""
    ancestors: Callable[[str], Iterable[str]] | None = getattr(catalog, "ancestors", None)
    if version_heads is None or not callable(ancestors) or not set(version_heads) <= on_disk:
        return None
    applied: set[str] = set()
    for head in version_heads:
        applied.add(head)
        applied |= set(ancestors(head))
    return applied


def _alembic_state(applied: bool, h: Attempt | None) -> str:
    if applied:
        return APPLIED
    if h is None:
        return PENDING
    if h.action == "downgrade":
        return ROLLED_BACK
    return h.status if h.status in (FAILED, RUNNING, ROLLED_BACK) else PENDING


def _history_state(h: Attempt | None) -> str:
    if h is None:
        return PENDING
    if h.action == "downgrade":
        return ROLLED_BACK if h.status in (ROLLED_BACK, APPLIED) else APPLIED
    return h.status if h.status in STATES else FAILED
