"""The catalog: the revisions of the project on disk, checked, tagged and in apply order.

Every revision declares ``phase`` and ``release``; the expand and contract branches have at most
one head each; each file has a checksum so an edit after it was applied is noticed. A broken
project (syntax error, missing or bad tag, a reference to nothing, a duplicate id, a revision
following itself, a cycle, two heads on one branch) is a :class:`UsageError` naming the file and
line (exit 2). Reading the catalog needs no database, and imports no revision: headers are read
with ``ast`` (see :mod:`.header`) and remembered per file in the cache directory.

A **baseline** (an adopted project's released history) has its place here: ``Catalog.baseline``
names the newest baseline revision (``baseline = "REV"`` in the configuration, written by
``migrator adopt``) and ``Revision.is_baseline`` marks it and its ancestors. Baseline revisions
need no ``phase`` / ``release``: they are expand revisions of release ``baseline``, which orders
before every version. Every revision after the baseline is tagged like any other.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.version import Version

from ..config import Config
from ..errors import UsageError
from ..releases import BASELINE, BASELINE_LABEL, parse_release
from . import graph
from .header import Header
from .header_cache import HeaderCache
from .imported import imported_values
from .project import AlembicProject, find_project

PHASES = ("expand", "contract")

# Alembic formats version numbers into its UPDATE of the version table as literals
# (literal_column("'%s'")): a quote in a revision id would be SQL injection (found by test_faults).
_UNSAFE_IN_REVISION_ID = re.compile(r"['\"\\;\s\x00-\x1f]")
MAX_REVISION_ID = 32  # alembic_version.version_num is VARCHAR(32)
_REVISION_FILE = re.compile(r"(?!\.#|__init__)(.*\.py)$")  # as Alembic lists version files


@dataclass(frozen=True)
class Revision:
    """One revision file, as plain data."""

    id: str
    phase: str  # "expand" | "contract"
    release: Version
    release_text: str
    path: str
    checksum: str  # sha256 of the file's bytes
    message: str = ""
    down_revisions: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()  # own and inherited
    declared_labels: tuple[str, ...] = ()  # the file's own branch_labels
    line: int = 1  # of the ``revision = ...`` assignment
    is_baseline: bool = False  # released history adopted as a baseline (set by adoption)


@dataclass
class Catalog:
    """The revisions in apply order (parents and dependencies first)."""

    project: AlembicProject | None
    revisions: list[Revision]
    heads: dict[str, str | None] = field(default_factory=dict)  # phase -> head id (None: empty)
    baseline: str | None = None  # the newest baseline revision, when the project adopted one
    by_id: dict[str, Revision] = field(default_factory=dict, repr=False)
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _parents: list[tuple[int, ...]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self.by_id = {r.id: r for r in self.revisions}
        self._index = {r.id: i for i, r in enumerate(self.revisions)}
        self._parents = [tuple(self._index[p] for p in r.down_revisions + r.depends_on
                               if p in self._index) for r in self.revisions]

    @property
    def script_location(self) -> Path | None:
        return self.project.script_dir if self.project else None

    @property
    def baseline_revisions(self) -> set[str]:
        """The ids of the baseline revisions (empty when the project adopted none)."""
        return {r.id for r in self.revisions if r.is_baseline}

    @property
    def alembic_ini(self) -> Path | None:
        return self.project.ini_path if self.project else None

    def get(self, revision: str) -> Revision | None:
        return self.by_id.get(revision)

    def of_phase(self, phase: str) -> list[Revision]:
        return [r for r in self.revisions if r.phase == phase]

    def ancestors(self, revision: str) -> set[str]:
        """Every revision that must be applied before ``revision`` (down revisions and
        dependencies, transitively). O(ancestors); nothing is precomputed per revision."""
        start = self._index.get(revision)
        if start is None:
            return set()
        return {self.revisions[i].id for i in self._closure([start], self._parents)}

    def ancestors_of_all(self, revisions) -> set[str]:
        """The union of :meth:`ancestors` of several revisions (and not the revisions
        themselves unless one is an ancestor of another), in one walk."""
        starts = [self._index[r] for r in revisions if r in self._index]
        return {self.revisions[i].id for i in self._closure(starts, self._parents)}

    def descendants(self, revisions) -> set[str]:
        """Every revision built on any of ``revisions`` (transitively), in one walk."""
        children: list[list[int]] = [[] for _ in self.revisions]
        for i, ps in enumerate(self._parents):
            for p in ps:
                children[p].append(i)
        starts = [self._index[r] for r in revisions if r in self._index]
        return {self.revisions[i].id for i in self._closure(starts, children)}

    @staticmethod
    def _closure(starts: list[int], edges) -> set[int]:
        seen: set[int] = set()
        stack = [j for i in starts for j in edges[i]]
        while stack:
            i = stack.pop()
            if i not in seen:
                seen.add(i)
                stack.extend(edges[i])
        return seen


# -- reading the files ------------------------------------------------------------------------------

def revision_files(project: AlembicProject) -> list[Path]:
    """The version files Alembic would load: ``*.py`` in each version location (recursively
    when ``recursive_version_locations``), sorted, each once (resolved paths)."""
    out: list[Path] = []
    seen: set[str] = set()
    for d in project.version_dirs:
        if not d.is_dir():
            continue
        base = os.path.realpath(d)
        for dirpath, dirnames, names in os.walk(base):
            dirnames[:] = sorted(n for n in dirnames if n != "__pycache__") if project.recursive else []
            for name in sorted(names):
                if not _REVISION_FILE.match(name):
                    continue
                path = os.path.join(dirpath, name)
                if os.path.islink(path):
                    path = os.path.realpath(path)
                if path not in seen and os.path.isfile(path):
                    seen.add(path)
                    out.append(Path(path))
    return out


def _names(value: object, what: str, header: Header) -> tuple[str, ...]:
    """None/str/tuple/list of str as a tuple; anything else is a usage error on its line."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise UsageError(f"{what} must be a revision id, a tuple of them or None, got {value!r}",
                     path=str(header.path), line=header.line(what))


def _revision(header: Header, *, baseline: bool = False, after: str | None = None) -> Revision:
    """One checked revision from its header. A baseline revision needs no tags: it is an expand
    revision of release ``baseline`` whatever it says. ``after``: the baseline this revision
    follows, named when its tags are missing."""
    values = header.values
    path, where = str(header.path), header.line("revision")
    if "revision" not in values:
        raise UsageError("not an Alembic revision: the module sets no `revision = \"...\"` "
                         "(Alembic loads every .py file of a versions directory: move helper "
                         "modules elsewhere)",
                         path=path)
    rid = values["revision"]
    if not isinstance(rid, str) or not rid:
        raise UsageError(f"revision must be a non-empty string, got {rid!r}", path=path, line=where)
    if _UNSAFE_IN_REVISION_ID.search(rid):
        raise UsageError(f"revision id {rid!r} contains a quote, backslash, semicolon, space "
                         "or control character (Alembic writes revision ids into SQL unquoted)",
                         path=path, line=where)
    if len(rid) > MAX_REVISION_ID:
        raise UsageError(f"revision id {rid[:40]!r}... is {len(rid)} characters long: Alembic's "
                         f"version table holds at most {MAX_REVISION_ID}", path=path, line=where)
    if baseline:
        return Revision(
            id=rid, phase="expand", release=BASELINE, release_text=BASELINE_LABEL, path=path,
            checksum=header.checksum, message=header.doc.strip(),
            down_revisions=_names(values.get("down_revision"), "down_revision", header),
            depends_on=_names(values.get("depends_on"), "depends_on", header),
            branch_labels=_names(values.get("branch_labels"), "branch_labels", header),
            declared_labels=_names(values.get("branch_labels"), "branch_labels", header),
            line=where, is_baseline=True)
    later = f" (it is not part of the baseline {after}: revisions after it are tagged)" if after else ""
    phase = values.get("phase")
    if phase is None:
        raise UsageError(f"missing `phase = \"expand\"` or `phase = \"contract\"` in revision {rid}{later}",
                         path=path, line=header.line("phase"))
    if phase not in PHASES:
        raise UsageError(f"phase must be \"expand\" or \"contract\", got {phase!r} in revision {rid}",
                         path=path, line=header.line("phase"))
    if "release" not in values:
        raise UsageError(f"missing `release = \"X.Y.Z\"` in revision {rid}{later}", path=path, line=where)
    release = parse_release(values["release"], path=f"{path}:{header.line('release')}")
    return Revision(
        id=rid, phase=phase, release=release, release_text=str(values["release"]).strip(),
        path=path, checksum=header.checksum, message=header.doc.strip(),
        down_revisions=_names(values.get("down_revision"), "down_revision", header),
        depends_on=_names(values.get("depends_on"), "depends_on", header),
        branch_labels=_names(values.get("branch_labels"), "branch_labels", header),
        declared_labels=_names(values.get("branch_labels"), "branch_labels", header),
        line=where)


def read_headers(project: AlembicProject, config: Config) -> list[Header]:
    cache = HeaderCache.open(config.resolve(config.cache_dir))
    headers = []
    for f in revision_files(project):
        header = cache.read(f)
        if not header.literal:
            header.values.update(imported_values(header, project))
        headers.append(header)
    cache.save()
    return headers


# -- the graph ------------------------------------------------------------------------------------

def _ordered(revisions: list[Revision], lines: dict[tuple[str, str], int]
             ) -> tuple[list[Revision], list[tuple[int, ...]]]:
    """Revisions in the graph's order, branch labels inherited; the first problem of the graph
    is a UsageError on the line of the assignment that causes it."""
    nodes = [graph.Node(r.id, r.down_revisions, r.depends_on, r.branch_labels, r.release, r.phase,
                        r.path) for r in revisions]
    g = graph.build(nodes)
    if g.problems:
        # the first problem in file order: the one a reader meets first
        p = min(g.problems, key=lambda p: (revisions[p.node].path, p.attribute))
        r = revisions[p.node]
        line = lines.get((r.path, p.attribute), r.line)
        raise UsageError(f"{p.message} (revision {r.id})", path=r.path, line=line)
    # branch labels are inherited along down_revision (as Alembic does)
    labels = [set(r.branch_labels) for r in revisions]
    for i in g.order:
        for p in g.down[i]:
            labels[i] |= labels[p]
    position = {i: k for k, i in enumerate(g.order)}
    ordered = []
    for i in g.order:
        r = revisions[i]
        if labels[i] != set(r.branch_labels):
            r = replace(r, branch_labels=tuple(sorted(labels[i])))
        ordered.append(r)
    parents = [tuple(position[p] for p in g.parents[i]) for i in g.order]
    return ordered, parents


def _heads(ordered: list[Revision], parents: list[tuple[int, ...]]) -> dict[str, str | None]:
    """Per phase, its one head: the revision no other revision of the same phase builds on,
    even indirectly. Two heads on one branch are refused."""
    n = len(ordered)
    below: list[set[str]] = [set() for _ in range(n)]  # phases of the revisions built on i
    for i in range(n - 1, -1, -1):
        for p in parents[i]:
            below[p].add(ordered[i].phase)
            below[p] |= below[i]
    heads: dict[str, str | None] = {}
    for phase in PHASES:
        tips = sorted(r.id for i, r in enumerate(ordered) if r.phase == phase and phase not in below[i])
        if len(tips) > 1:
            by_id = {r.id: r for r in ordered}
            files = ", ".join(Path(by_id[t].path).name for t in tips)
            raise UsageError(f"two heads on the {phase} branch: {', '.join(tips)} ({files}); "
                             "merge them or rebase one onto the other", path=by_id[tips[-1]].path)
        heads[phase] = tips[0] if tips else None
    return heads


def _check_branches(ordered: list[Revision]) -> None:
    for r in ordered:
        for label in PHASES:
            if label in r.branch_labels and r.phase != label:
                raise UsageError(f"revision {r.id} declares phase {r.phase!r} but sits on the "
                                 f"{label!r} branch", path=r.path, line=r.line)
    for phase in PHASES:
        last: Revision | None = None
        for r in ordered:
            if r.phase != phase:
                continue
            if last is not None and r.release < last.release:
                raise UsageError(f"revision {r.id} (release {r.release}) comes after {last.id} "
                                 f"(release {last.release}) on the {phase} branch: releases must "
                                 "not go down along a branch", path=r.path, line=r.line)
            last = r


# -- the baseline ---------------------------------------------------------------------------------

def _parents_in_header(header: Header) -> tuple[str, ...]:
    out: list[str] = []
    for name in ("down_revision", "depends_on"):
        value = header.values.get(name)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (tuple, list)):
            out.extend(v for v in value if isinstance(v, str))
    return tuple(out)


def baseline_ids(headers: list[Header], baseline: str, *, where: str | None = None) -> set[str]:
    """The baseline revision and every revision it builds on, from the headers alone (tags are
    not needed, nor checked). A baseline that names no revision is a UsageError at ``where``."""
    by_id = {h.values["revision"]: h for h in headers if isinstance(h.values.get("revision"), str)}
    if baseline not in by_id:
        matches = [r for r in by_id if len(baseline) >= 4 and r.startswith(baseline)]
        if len(matches) != 1:
            raise UsageError(f"baseline {baseline!r} names no revision of the project (run "
                             "`migrator adopt` again, or set baseline to a revision id)", path=where)
        baseline = matches[0]
    seen: set[str] = set()
    stack = [baseline]
    while stack:
        rid = stack.pop()
        if rid in seen or rid not in by_id:
            continue  # a branch label or a missing parent: the graph check names it
        seen.add(rid)
        stack.extend(_parents_in_header(by_id[rid]))
    return seen


def _config_where(config: Config) -> str | None:
    return str(config.config_path) if config.config_path else None


def baseline_revisions(config: Config, project: AlembicProject | None = None) -> set[str]:
    """The configured baseline's revision ids (empty without a baseline or a project), read
    without checking the tags of the other revisions: the linter leaves them out of its report."""
    if not config.baseline:
        return set()
    project = project or find_project(config, required=False)
    if project is None:
        return set()
    return baseline_ids(read_headers(project, config), config.baseline, where=_config_where(config))


def load_catalog(config: Config, project: AlembicProject | None = None) -> Catalog:
    """Load and check the revisions of the configured Alembic project (no database, no
    revision imported unless its header is not literal)."""
    project = project or find_project(config)
    headers = read_headers(project, config)
    base = baseline_ids(headers, config.baseline, where=_config_where(config)) if config.baseline else set()
    revisions = [_revision(h, baseline=h.values.get("revision") in base, after=config.baseline)
                 for h in headers]
    lines = {(str(h.path), name): line for h in headers for name, line in h.lines.items()}
    ordered, parents = _ordered(revisions, lines)
    _check_branches(ordered)
    heads = _heads(ordered, parents)
    newest = next((r.id for r in reversed(ordered) if r.is_baseline), None)
    return Catalog(project, ordered, heads, baseline=newest)


__all__ = ["Catalog", "Revision", "PHASES", "baseline_ids", "baseline_revisions", "load_catalog",
           "revision_files"]
