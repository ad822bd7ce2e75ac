"""The order Alembic revisions run in: topological by ``down_revision`` and ``depends_on``.

Among revisions that are ready at the same time the earlier release goes first, then the
expand branch before the contract branch (DESIGN section 5: a contract revision follows the
expand head it depends on), then the path. Unknown parents, duplicate ids and cycles are error
diagnostics on the revision that has them; every revision is still returned.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from ..model import Finding, Location, MigrationSource, Severity
from .alembic_offline import assignment_line

_PHASE_RANK = {"expand": 0, None: 1, "contract": 2}
_NO_RELEASE = Version("0")


def _release(src: MigrationSource) -> Version:
    try:
        return Version(src.release) if src.release else _NO_RELEASE
    except InvalidVersion:
        return _NO_RELEASE


def _key(src: MigrationSource, index: int) -> tuple:
    return (_release(src), _PHASE_RANK.get(src.declared_phase, 1), src.path, index)


def _error(src: MigrationSource, message: str, attribute: str = "revision") -> None:
    line = assignment_line(src.text, attribute) if src.text else 1
    src.diagnostics.append(
        Finding("revision-graph", Severity.ERROR, Location(src.path, line, 1), message)
    )


def order_revisions(sources: list[MigrationSource],
                    known_elsewhere: Iterable[str] = ()) -> list[MigrationSource]:
    """Sources in run order. ``known_elsewhere``: revision ids that exist but are not in
    ``sources`` (excluded files); edges to them are satisfied, not errors."""
    elsewhere = set(known_elsewhere)
    by_id: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, src in enumerate(sources):
        if src.revision is None:
            continue
        if src.revision in by_id:
            first = sources[by_id[src.revision]]
            _error(src, f"revision id {src.revision!r} is also used by {first.path}")
            continue
        by_id[src.revision] = i
        for label in src.branch_labels:
            labels.setdefault(label, i)

    def resolve(ref: str) -> int | None:
        if ref in by_id:
            return by_id[ref]
        if ref in labels:
            return labels[ref]
        matches = [i for rid, i in by_id.items() if rid.startswith(ref)] if len(ref) >= 4 else []
        return matches[0] if len(matches) == 1 else None

    parents: list[set[int]] = [set() for _ in sources]
    for i, src in enumerate(sources):
        for ref in src.down_revisions:
            j = resolve(ref)
            if j is None:
                if ref not in elsewhere:
                    _error(src, f"down_revision {ref!r} is not a revision in this directory",
                           "down_revision")
            elif j != i:
                parents[i].add(j)
        for ref in src.depends_on:
            j = resolve(ref)
            if j is None:
                if ref not in elsewhere:
                    _error(src, f"depends_on {ref!r} is not a revision or branch label here",
                           "depends_on")
            elif j != i:
                parents[i].add(j)

    children: list[list[int]] = [[] for _ in sources]
    waiting = [len(p) for p in parents]
    for i, ps in enumerate(parents):
        for j in ps:
            children[j].append(i)
    ready = [(_key(src, i), i) for i, src in enumerate(sources) if waiting[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        _, i = heapq.heappop(ready)
        order.append(i)
        for c in children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, (_key(sources[c], c), c))

    if len(order) < len(sources):
        stuck = sorted((i for i in range(len(sources)) if waiting[i] > 0),
                       key=lambda i: _key(sources[i], i))
        names = ", ".join(sources[i].revision or sources[i].path for i in stuck)
        for i in stuck:
            _error(sources[i], f"revision is part of a cycle (or follows one): {names}",
                   "down_revision")
        order.extend(stuck)
    return [sources[i] for i in order]
