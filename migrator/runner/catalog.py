"""The catalog: the Alembic revisions on disk, checked and tagged (DESIGN section 5).

Every revision declares ``phase`` and ``release``; the expand and contract branches have at most
one head each; each file has a checksum so an edit after it was applied is noticed. A broken
script (syntax error, import error, missing or bad tag, two heads on one branch) is a
:class:`UsageError` naming the file (exit 2). Reading the catalog needs no database.
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from packaging.version import Version

from ..config import Config
from ..errors import UsageError
from ..releases import parse_release

PHASES = ("expand", "contract")


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


@dataclass
class Catalog:
    """The revisions in apply order (parents and dependencies first)."""

    script_location: Path
    alembic_ini: Path | None
    revisions: list[Revision]
    heads: dict[str, str | None]  # phase -> head revision id (None: branch empty)
    by_id: dict[str, Revision] = field(default_factory=dict)
    script_directory: ScriptDirectory | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.by_id:
            self.by_id = {r.id: r for r in self.revisions}

    def get(self, revision: str) -> Revision | None:
        return self.by_id.get(revision)

    def of_phase(self, phase: str) -> list[Revision]:
        return [r for r in self.revisions if r.phase == phase]

    def ancestors(self, revision: str) -> set[str]:
        """Every revision that must be applied before ``revision`` (down revisions and
        dependencies, transitively)."""
        seen: set[str] = set()
        stack = list(self._parents(revision))
        while stack:
            rid = stack.pop()
            if rid in seen:
                continue
            seen.add(rid)
            stack.extend(self._parents(rid))
        return seen

    def _parents(self, revision: str) -> tuple[str, ...]:
        r = self.by_id.get(revision)
        return (r.down_revisions + r.depends_on) if r else ()

    def alembic_config(self, url: str | None = None, *, stdout=None) -> AlembicConfig:
        """An Alembic Config for this project, pointing at the absolute script location."""
        buf = stdout if stdout is not None else io.StringIO()
        if self.alembic_ini is not None:
            cfg = AlembicConfig(str(self.alembic_ini), stdout=buf)
        else:
            cfg = AlembicConfig(stdout=buf)
        cfg.set_main_option("script_location", str(self.script_location))
        if url is not None:
            cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return cfg


def checksum_file(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- locating the project -----------------------------------------------------------------------

def locate(config: Config) -> tuple[Path, Path | None]:
    """(script directory, alembic.ini or None) from the configuration.

    ``script_location`` may name the script directory itself (it holds env.py or versions/) or
    a project directory holding alembic.ini; ``alembic_ini`` names the ini file. With neither,
    alembic.ini in the configuration's root directory is used.
    """
    ini: Path | None = None
    if config.alembic_ini:
        ini = config.resolve(config.alembic_ini)
        if not ini.is_file():
            raise UsageError("alembic.ini not found", path=str(ini))
    if config.script_location:
        loc = config.resolve(config.script_location)
        if not loc.is_dir():
            raise UsageError("script location is not a directory", path=str(loc))
        if (loc / "env.py").is_file() or (loc / "versions").is_dir():
            return loc.resolve(), ini
        if (loc / "alembic.ini").is_file():
            ini = loc / "alembic.ini"
        else:
            raise UsageError("neither an Alembic script directory (env.py, versions/) nor a "
                             "project directory with alembic.ini", path=str(loc))
    if ini is None:
        candidate = config.root / "alembic.ini"
        if not candidate.is_file():
            raise UsageError(f"no Alembic project found in {config.root}: pass --script-location "
                             "(-d) or set script_location / alembic_ini in [tool.migrator]")
        ini = candidate
    ini = ini.resolve()
    cfg = AlembicConfig(str(ini))
    raw = cfg.get_main_option("script_location")
    if not raw:
        raise UsageError("no script_location in the [alembic] section", path=str(ini))
    loc = Path(raw)
    if not loc.is_absolute():
        # Alembic reads a relative script_location from the working directory; a project run
        # from elsewhere means the directory beside alembic.ini.
        loc = (ini.parent / loc) if (ini.parent / loc).is_dir() else (Path.cwd() / loc)
    if not loc.is_dir():
        raise UsageError(f"script_location {raw!r} is not a directory", path=str(ini))
    return loc.resolve(), ini


# -- loading ------------------------------------------------------------------------------------

def _version_dirs(script_location: Path, cfg: AlembicConfig) -> list[Path]:
    opt = cfg.get_main_option("version_locations")
    if not opt:
        return [script_location / "versions"]
    sep = cfg.get_main_option("version_path_separator") or " "
    seps = {"os": None, "space": " ", "newline": "\n", "colon": ":", "semicolon": ";"}
    sep = seps.get(sep, sep)
    return [Path(p.strip()) for p in (opt.split(sep) if sep else opt.split()) if p.strip()]


def _check_syntax(dirs: list[Path]) -> None:
    """Every revision script compiles, and its graph is sound (read without importing), so a
    broken project is refused naming the file and line rather than by an Alembic KeyError."""
    found: list[tuple[Path, dict[str, tuple[object, int]]]] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.rglob("*.py")):
            try:
                tree = ast.parse(f.read_bytes(), str(f))
            except SyntaxError as e:
                raise UsageError(f"syntax error in revision script: {e.msg}", path=str(f),
                                 line=e.lineno) from None
            except ValueError as e:  # e.g. null bytes
                raise UsageError(f"unreadable revision script: {e}", path=str(f)) from None
            ids = _graph_assignments(tree)
            if "revision" in ids:
                found.append((f, ids))
    _check_graph(found)


_GRAPH_NAMES = ("revision", "down_revision", "depends_on", "branch_labels")


def _graph_assignments(tree: ast.Module) -> dict[str, tuple[object, int]]:
    """Module-level literal ``revision`` / ``down_revision`` / ``depends_on`` / ``branch_labels``
    (value, line); a non-literal value is left to Alembic."""
    out: dict[str, tuple[object, int]] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
        for t in targets:
            if isinstance(t, ast.Name) and t.id in _GRAPH_NAMES:
                try:
                    out[t.id] = (ast.literal_eval(node.value), node.lineno)
                except ValueError:
                    pass
    return out


def _names(value: object) -> list[str] | None:
    """None/str/tuple/list of str as a list; anything else None (not a valid reference)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _check_graph(found: list[tuple[Path, dict[str, tuple[object, int]]]]) -> None:
    owner: dict[str, Path] = {}
    labels: set[str] = set()
    for f, ids in found:
        rev, line = ids["revision"]
        if not isinstance(rev, str) or not rev:
            raise UsageError(f"revision must be a non-empty string, got {rev!r}", path=str(f), line=line)
        if rev in owner:
            raise UsageError(f"revision id {rev!r} is also declared in {owner[rev]}", path=str(f), line=line)
        owner[rev] = f
        labels.update(_names(ids.get("branch_labels", (None, 0))[0]) or [])
    for f, ids in found:
        for name in ("down_revision", "depends_on"):
            if name not in ids:
                continue
            value, line = ids[name]
            refs = _names(value)
            if refs is None:
                raise UsageError(f"{name} must be a revision id, a tuple of them or None, got {value!r}",
                                 path=str(f), line=line)
            for ref in refs:
                if ref not in owner and not (name == "depends_on" and ref in labels) \
                        and not any(r.startswith(ref) for r in owner):
                    raise UsageError(f"{name} names {ref!r}, which no revision in the project declares",
                                     path=str(f), line=line)


def _file_in_traceback(exc: BaseException, dirs: list[Path]) -> tuple[str | None, int | None]:
    """The revision file (and line) an import-time exception came from."""
    roots = [str(d.resolve()) for d in dirs]
    found: tuple[str | None, int | None] = (None, None)
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        fname = frame.f_code.co_filename
        if any(fname.startswith(r) for r in roots):
            found = (fname, lineno)
    return found


# Alembic formats version numbers into its UPDATE of the version table as literals
# (literal_column("'%s'")): a quote in a revision id would be SQL injection (found by test_faults).
_UNSAFE_IN_REVISION_ID = re.compile(r"['\"\\;\s\x00-\x1f]")


def load_catalog(config: Config) -> Catalog:
    """Load and check the revisions of the configured Alembic project (no database needed)."""
    script_location, ini = locate(config)
    probe = Catalog(script_location, ini, [], {})
    cfg = probe.alembic_config()
    dirs = _version_dirs(script_location, cfg)
    _check_syntax(dirs)
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            script_dir = ScriptDirectory.from_config(cfg)
            scripts = list(script_dir.walk_revisions())
    except CommandError as e:
        raise UsageError(f"cannot read the revisions: {e}", path=str(script_location)) from None
    except Exception as e:  # noqa: BLE001 - a revision failed to import: name its file
        path, line = _file_in_traceback(e, dirs)
        raise UsageError(f"cannot import revision script: {type(e).__name__}: {e}",
                         path=path or str(script_location), line=line) from None

    revisions: dict[str, Revision] = {}
    for s in scripts:
        path = str(Path(s.path).resolve())
        module = s.module
        phase = getattr(module, "phase", None)
        if phase is None:
            raise UsageError("missing `phase = \"expand\"` or `phase = \"contract\"` in revision "
                             f"{s.revision}", path=path)
        if phase not in PHASES:
            raise UsageError(f"phase must be \"expand\" or \"contract\", got {phase!r} in revision "
                             f"{s.revision}", path=path)
        if not hasattr(module, "release"):
            raise UsageError(f"missing `release = \"X.Y.Z\"` in revision {s.revision}", path=path)
        release = parse_release(module.release, path=path)
        if _UNSAFE_IN_REVISION_ID.search(s.revision):
            raise UsageError(f"revision id {s.revision!r} contains a quote, backslash, semicolon, space "
                             "or control character (Alembic writes revision ids into SQL unquoted)",
                             path=path)
        revisions[s.revision] = Revision(
            id=s.revision, phase=phase, release=release, release_text=str(module.release).strip(),
            path=path, checksum=checksum_file(path), message=(s.doc or "").strip(),
            down_revisions=tuple(s._versioned_down_revisions),
            depends_on=tuple(s._resolved_dependencies),
            branch_labels=tuple(sorted(s.branch_labels or ())),
        )
    for r in revisions.values():
        for label in PHASES:
            if label in r.branch_labels and r.phase != label:
                raise UsageError(f"revision {r.id} declares phase {r.phase!r} but sits on the "
                                 f"{label!r} branch", path=r.path)

    ordered = _apply_order(revisions)
    ancestors = _ancestor_sets(ordered, revisions)
    heads: dict[str, str | None] = {p: None for p in PHASES}
    for phase in PHASES:
        # a head of a phase: no other revision of the same phase builds on it, even indirectly
        members = [r.id for r in ordered if r.phase == phase]
        covered = {a for m in members for a in ancestors[m]}
        tips = sorted(m for m in members if m not in covered)
        if len(tips) > 1:
            files = ", ".join(Path(revisions[t].path).name for t in tips)
            raise UsageError(f"two heads on the {phase} branch: {', '.join(tips)} ({files}); "
                             "merge them or rebase one onto the other",
                             path=revisions[tips[-1]].path)
        heads[phase] = tips[0] if tips else None

    for phase in PHASES:
        last: Revision | None = None
        for r in ordered:
            if r.phase != phase:
                continue
            if last is not None and r.release < last.release:
                raise UsageError(f"revision {r.id} (release {r.release}) comes after {last.id} "
                                 f"(release {last.release}) on the {phase} branch: releases must "
                                 "not go down along a branch", path=r.path)
            last = r
    return Catalog(script_location, ini, ordered, heads, script_directory=script_dir)


def _ancestor_sets(ordered: list[Revision], revisions: dict[str, Revision]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for r in ordered:  # parents come first
        acc: set[str] = set()
        for p in r.down_revisions + r.depends_on:
            if p in revisions:
                acc.add(p)
                acc |= out.get(p, set())
        out[r.id] = acc
    return out


def _apply_order(revisions: dict[str, Revision]) -> list[Revision]:
    """Parents and dependencies first; ties by (release, expand before contract, id)."""
    import heapq

    def key(r: Revision):
        return (r.release, PHASES.index(r.phase), r.id)

    parents = {rid: {p for p in r.down_revisions + r.depends_on if p in revisions}
               for rid, r in revisions.items()}
    children: dict[str, set[str]] = {rid: set() for rid in revisions}
    for rid, ps in parents.items():
        for p in ps:
            children[p].add(rid)
    waiting = {rid: len(ps) for rid, ps in parents.items()}
    heap = [(key(revisions[rid]), rid) for rid, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    out: list[Revision] = []
    while heap:
        _, rid = heapq.heappop(heap)
        out.append(revisions[rid])
        for c in children[rid]:
            waiting[c] -= 1
            if waiting[c] == 0:
                heapq.heappush(heap, (key(revisions[c]), c))
    return out
