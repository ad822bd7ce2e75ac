"""The revision graph: the one order revisions run in, and what is wrong with a graph.

Edges run from ``down_revision`` and ``depends_on`` to the revision. A reference names a
revision id, a branch label, or a unique prefix of an id (four characters at least). The order
is topological; among revisions ready at the same time the earlier release goes first, then the
expand branch before the contract branch (a contract revision follows the expand head it
depends on), then the revision id, then the path. The linter replays history and the runner
applies it in this one order.

Problems (a reference to nothing, a duplicate id, a revision that follows itself, a cycle) are
returned as data on the node that has them; every node is still ordered (those in a cycle last).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

PHASE_RANK = {"expand": 0, None: 1, "contract": 2}
NO_RELEASE = Version("0")


def release_key(release: object) -> Version:
    if isinstance(release, Version):
        return release
    try:
        return Version(str(release).strip()) if release else NO_RELEASE
    except InvalidVersion:
        return NO_RELEASE


def tie_key(release: object, phase: str | None, revision: str | None, path: str) -> tuple:
    """The one tie-break between revisions ready at the same time."""
    return (release_key(release), PHASE_RANK.get(phase, 1), revision or "", path)


@dataclass(frozen=True)
class Node:
    revision: str | None
    down_revisions: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    release: object = None
    phase: str | None = None
    path: str = ""


@dataclass(frozen=True)
class Problem:
    node: int  # index of the node that has it
    attribute: str  # the assignment to point at: revision, down_revision or depends_on
    message: str


@dataclass
class Graph:
    order: list[int]  # node indexes, parents and dependencies first
    parents: list[tuple[int, ...]]  # resolved parents of each node (down revisions, then deps)
    down: list[tuple[int, ...]]  # resolved down revisions only (branch labels follow these)
    problems: list[Problem]


def build(nodes: Sequence[Node], known_elsewhere: Iterable[str] = ()) -> Graph:
    """Resolve references and order ``nodes``. ``known_elsewhere``: revision ids that exist but
    are not among the nodes (excluded files); references to them are satisfied, not problems."""
    elsewhere = set(known_elsewhere)
    problems: list[Problem] = []
    by_id: dict[str, int] = {}
    labels: dict[str, int] = {}
    for i, n in enumerate(nodes):
        if n.revision is None:
            continue
        if n.revision in by_id:
            first = nodes[by_id[n.revision]]
            problems.append(Problem(i, "revision", f"revision id {n.revision!r} is also used by "
                                                   f"{first.path}"))
            continue
        by_id[n.revision] = i
        for label in n.branch_labels:
            labels.setdefault(label, i)
    prefixes: dict[str, list[int]] | None = None

    def resolve(ref: str) -> int | None:
        nonlocal prefixes
        if ref in by_id:
            return by_id[ref]
        if ref in labels:
            return labels[ref]
        if len(ref) < 4:
            return None
        if prefixes is None:
            prefixes = {}
        if ref not in prefixes:
            prefixes[ref] = [i for rid, i in by_id.items() if rid.startswith(ref)]
        found = prefixes[ref]
        return found[0] if len(found) == 1 else None

    parents: list[tuple[int, ...]] = []
    down: list[tuple[int, ...]] = []
    for i, n in enumerate(nodes):
        mine: list[int] = []
        mine_down: list[int] = []
        for attribute, refs in (("down_revision", n.down_revisions), ("depends_on", n.depends_on)):
            for ref in refs:
                j = resolve(ref)
                if j is None:
                    if ref not in elsewhere:
                        what = ("a revision" if attribute == "down_revision"
                                else "a revision or branch label")
                        problems.append(Problem(i, attribute, f"{attribute} {ref!r} is not {what} "
                                                              "of this project"))
                elif j == i:
                    problems.append(Problem(i, attribute, f"{attribute} {ref!r} names the revision "
                                                          "itself: a revision cannot follow itself"))
                else:
                    if j not in mine:
                        mine.append(j)
                    if attribute == "down_revision" and j not in mine_down:
                        mine_down.append(j)
        parents.append(tuple(mine))
        down.append(tuple(mine_down))

    order, stuck = _topological(nodes, parents)
    if stuck:
        names = ", ".join(nodes[i].revision or nodes[i].path for i in stuck)
        for i in stuck:
            problems.append(Problem(i, "down_revision",
                                    f"revision is part of a cycle (or follows one): {names}"))
    return Graph(order + stuck, parents, down, problems)


def _topological(nodes: Sequence[Node], parents: list[tuple[int, ...]]) -> tuple[list[int], list[int]]:
    keys = [tie_key(n.release, n.phase, n.revision, n.path) + (i,) for i, n in enumerate(nodes)]
    children: list[list[int]] = [[] for _ in nodes]
    waiting = [len(p) for p in parents]
    for i, ps in enumerate(parents):
        for j in ps:
            children[j].append(i)
    ready = [keys[i] for i in range(len(nodes)) if waiting[i] == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)[-1]
        order.append(i)
        for c in children[i]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(ready, keys[c])
    stuck = sorted((i for i in range(len(nodes)) if waiting[i] > 0), key=keys.__getitem__)
    return order, stuck
