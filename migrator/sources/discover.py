"""Where migrations come from: paths on the command line (or the configured project) turned
into :class:`~migrator.model.MigrationSource` s in migration order.

A path may be a ``.sql`` file, an Alembic revision ``.py``, ``-`` (standard input), a project
directory or file (``alembic.ini``, ``pyproject.toml`` naming a ``script_location``), an Alembic
script directory (it has ``versions/``), a ``versions/`` directory, or any directory of ``.sql``
files (recursively, in natural order). ``config.exclude`` globs drop files. A path that does not
exist or cannot be read is a :class:`~migrator.errors.UsageError` naming it (exit 2).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import gc
import os
import re
import stat
import sys
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from ..config import Config
from ..errors import UsageError
from ..model import Finding, Location, MigrationSource, Severity
from ..script.project import (AlembicProject, find_ini, find_project, from_alembic_ini,
                              from_pyproject, project_in_directory, script_directory_project)
from . import warn_on_stderr
from .sql_layouts import is_down_file
from .sqlfiles import SqlFileReader, _resolved_cwd, load_sql_text

_REVISION_ASSIGNMENT = re.compile(r"^(?:down_)?revision\s*(?::[^=\n]*)?=", re.MULTILINE)
_FLYWAY = re.compile(r"^(?:([VU])(\d+(?:[._]\d+)*)|R)__", re.IGNORECASE)
_CHUNK = re.compile(r"(\d+)")
_PHASE_DIR_RANK = {"expand": 0, "contract": 2}
# errno values for which a path does not exist (pathlib's Path.exists() says False for them)
_MISSING = {errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP}


# -- ordering -----------------------------------------------------------------------------------

@lru_cache(maxsize=4096)  # directory names repeat on every file beneath them
def _part_key(part: str) -> tuple:
    return (_PHASE_DIR_RANK.get(part.lower(), 1), natural_key(part), 0)


def natural_key(name: str) -> tuple:
    """``V2__x`` before ``V10__y``; digits compare as numbers, text case-insensitively."""
    # Lower-casing first leaves the digit runs as they are (no digit has a case).
    return tuple([(0, int(chunk), "") if i & 1 else (1, 0, chunk)
                  for i, chunk in enumerate(_CHUNK.split(name.lower())) if chunk or i & 1])


_DOWN_SUFFIX = re.compile(r"\.down\.sql$", re.IGNORECASE)


def _path_key(rel: PurePosixPath) -> tuple:
    """Natural order part by part; an expand/ directory sorts before its contract/ sibling; a
    down part (diesel down.sql, x.down.sql) right after its up part."""
    return _parts_key(rel.parts)


def _parts_key(parts: tuple[str, ...] | list[str]) -> tuple:
    """:func:`_path_key` of a path's parts."""
    *dirs, name = parts or ("",)
    down = int(is_down_file(name))
    if down:
        name = "up.sql" if name.lower() == "down.sql" else _DOWN_SUFFIX.sub(".up.sql", name)
    return tuple(map(_part_key, dirs)) + (
        (_PHASE_DIR_RANK.get(name.lower(), 1), natural_key(name), down),)


def _flyway_key(name: str) -> tuple | None:
    m = _FLYWAY.match(name)
    if not m:
        return None
    if m.group(2) is None:  # R__: repeatable, after every versioned migration
        return (1, (), 0)
    # U<v>__ undoes V<v>__: right after it
    return (0, tuple(int(n) for n in re.split(r"[._]", m.group(2))), int(m.group(1).upper() == "U"))


def order_sql_files(files: list[tuple[Path, PurePosixPath]]) -> list[tuple[Path, PurePosixPath]]:
    """Flyway names (``V1_1__x.sql``, repeatable ``R__``) order by version across directories,
    as Flyway does; anything else orders by its path, naturally."""
    return _ordered(files, lambda f: f[1].parts)


def _ordered(files: list, parts_of) -> list:
    """``files`` in migration order (see :func:`order_sql_files`); ``parts_of(f)``: the parts
    of f's path relative to the directory walked."""
    parts = [parts_of(f) for f in files]
    keys = [_flyway_key(p[-1] if p else "") for p in parts]
    if files and all(k is not None for k in keys):
        order = sorted(range(len(files)), key=lambda i: (keys[i], _parts_key(parts[i])))
    else:
        order = sorted(range(len(files)), key=lambda i: _parts_key(parts[i]))
    return [files[i] for i in order]


def _alembic():
    """The Alembic side: reading revision headers and rendering revisions in child processes.
    Imported on the first revision a path holds, so linting plain .sql files never loads it
    (it is most of this package's start-up cost)."""
    from . import alembic_offline, isolated

    return alembic_offline, isolated


def order_revisions(sources: list[MigrationSource],
                    known_elsewhere: list[str] = ()) -> list[MigrationSource]:
    """Rendered revisions in the order the runner applies them (:mod:`migrator.script.graph`:
    one order, one tie-break); what is wrong with the graph is an error on the revision and
    line that causes it (``revision-graph``). Every revision is still returned."""
    from ..script import graph  # Alembic revisions only: .sql files are ordered by name

    nodes = [graph.Node(s.revision, tuple(s.down_revisions), tuple(s.depends_on),
                        tuple(s.branch_labels), s.release, s.declared_phase, s.path)
             for s in sources]
    g = graph.build(nodes, known_elsewhere)
    for p in g.problems:
        src = sources[p.node]
        line = _alembic()[0].assignment_line(src.text, p.attribute) if src.text else 1
        src.diagnostics.append(Finding("revision-graph", Severity.ERROR,
                                       Location(src.path, line, 1), p.message))
    return [sources[i] for i in g.order]


# -- excludes and display paths -----------------------------------------------------------------

class _Excluder:
    def __init__(self, config: Config):
        self.patterns = [p.strip().rstrip("/") for p in (config.exclude or []) if p.strip()]
        root = str(Path(config.root).resolve())
        self._root_prefix = root if root.endswith(os.sep) else root + os.sep
        self._root = root

    def __call__(self, resolved: str | Path, display: str) -> bool:
        """Whether a config.exclude glob matches the file, by the name it was given or by its
        path below the configured root (``resolved``: its real path)."""
        if not self.patterns:
            return False
        candidates = {PurePosixPath(display.replace(os.sep, "/")).as_posix()}
        real = os.fspath(resolved)
        if real == self._root:
            candidates.add(".")
        elif real.startswith(self._root_prefix):
            candidates.add(real[len(self._root_prefix):].replace(os.sep, "/"))
        for rel in candidates:
            rel = rel[2:] if rel.startswith("./") else rel
            parts = rel.split("/")
            prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
            for pat in self.patterns:
                pat = pat[2:] if pat.startswith("./") else pat
                bare = pat[3:] if pat.startswith("**/") else pat
                for prefix in prefixes:  # a pattern naming a directory excludes what is in it
                    if fnmatch.fnmatchcase(prefix, pat) or fnmatch.fnmatchcase(prefix, bare):
                        return True
                if "/" not in bare and any(fnmatch.fnmatchcase(p, bare) for p in parts):
                    return True
        return False


def _display(path: Path) -> str:
    """A path the user can click: relative to the working directory where possible."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(_resolved_cwd(os.getcwd())).as_posix()
    except ValueError:
        return str(resolved)


def _join(arg: str, rel: PurePosixPath | str) -> str:
    rel = rel if isinstance(rel, str) else rel.as_posix()
    base = arg.rstrip("/\\") or "/"
    return rel if base == "." else f"{base}/{rel}"


# -- walking directories ------------------------------------------------------------------------

def _not_regular(path: Path | str) -> str | None:
    """Why ``path`` cannot be read as a migration file without blocking or erroring (a FIFO
    would wait forever for a writer), or None for a regular file (symbolic links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if os.path.islink(path):
            return "a broken symbolic link"
        return f"cannot read: {e.strerror or e}"
    return _why_not_regular(mode)


def _why_not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO, not a regular file"
    if stat.S_ISSOCK(mode):
        return "a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a regular file"
    return "not a regular file"


class _Found(NamedTuple):
    """A file a walk found: its path (the walked directory joined with ``rel``), its path
    relative to that directory with / separators, and its real path when known without a
    system call (not a symbolic link: its directory's real path joined with its name), else
    None."""

    path: str
    rel: str
    real: str | None


def _walk(directory: Path | str, arg: str, suffix: str, warn=None) -> list[_Found]:
    """Regular files with ``suffix`` under ``directory`` (hidden and __pycache__ directories
    skipped). Symbolic links are followed, but each real directory is visited once, so links
    back up the tree end instead of looping; FIFOs, sockets, devices and broken links are
    reported to ``warn`` and skipped.

    Top-down and depth-first in directory-listing order, as ``os.walk`` goes (which path of a
    directory reached twice is kept depends on it). One ``scandir`` per directory: a plain file
    or directory needs no system call of its own (its type comes with the listing); a
    symbolic link, or an entry of unknown type, is stat'ed."""
    found: list[_Found] = []
    top = os.fspath(directory)

    def identity(path: str) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    visited = {identity(top)}
    # (directory path, its path relative to top with a trailing /, its real path)
    stack: list[tuple[str, str, str]] = [(top, "", os.path.realpath(top))]
    while stack:
        dirpath, relbase, real = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                entries = list(it)
        except OSError as e:
            raise UsageError(f"cannot read directory: {e.strerror or e}",
                             path=e.filename or arg) from None
        subdirs = []
        real_prefix = real if real.endswith(os.sep) else real + os.sep  # os.path.join, unrolled
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if name.startswith(".") or name == "__pycache__":
                    continue
                key = identity(entry.path)
                if key is None or key in visited:
                    continue  # a link to a directory already walked (or gone)
                visited.add(key)
                subdirs.append((entry.path, f"{relbase}{name}/",
                                os.path.realpath(entry.path) if entry.is_symlink()
                                else real_prefix + name))
            elif name.endswith(suffix) and not name.startswith("."):
                rel = relbase + name
                try:
                    plain = entry.is_file(follow_symlinks=False)
                except OSError:
                    plain = False
                if not plain:  # a link, a FIFO, a socket, a device: look at what it is
                    why = _not_regular(entry.path)
                    if why is not None:
                        if warn is not None:
                            warn(_join(arg, rel), why)
                        continue
                found.append(_Found(entry.path, rel, real_prefix + name if plain else None))
        stack.extend(reversed(subdirs))
    return found


def _regular_files(directory: Path, pattern: str) -> list[Path]:
    return [f for f in directory.glob(pattern) if _not_regular(f) is None]


def _looks_like_versions_dir(directory: Path) -> bool:
    if not _regular_files(directory, "*.py"):
        return False
    if directory.name == "versions":
        return True
    if any(directory.rglob("*.sql")):
        return False
    for f in _regular_files(directory, "*.py"):
        try:
            if _REVISION_ASSIGNMENT.search(f.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


# -- loading ------------------------------------------------------------------------------------

class _Loader:
    def __init__(self, config: Config, stdin_text: str | None, warn=warn_on_stderr):
        self.config = config
        self.warn = warn
        self.stdin_text = stdin_text
        self.excluded = _Excluder(config)
        self.seen: set[str] = set()  # real paths of the files loaded
        self.sources: list[MigrationSource] = []
        self.progress = None  # progress(rendered, total) while Alembic revisions render
        self.reader = SqlFileReader(assume_in_transaction=config.assume_in_transaction,
                                    sql_transaction=config.sql_transaction)
        self._real_dirs: dict[str, str] = {}  # directory as given -> its real path
        self.collect = gc.isenabled()  # whether the cyclic garbage collector ran before

    def _fresh(self, path: Path | str, real: str | None = None) -> str | None:
        """The real path (``real`` when the caller knows it) when not loaded yet, else None."""
        key = real if real is not None else str(Path(path).resolve())
        if key in self.seen:
            return None
        self.seen.add(key)
        return key

    def _real_path(self, path: Path | str, is_link: bool) -> str:
        """The real path of a file named on the command line: its directory's real path,
        resolved once per directory (pre-commit passes every file of a history), joined with
        its name, unless the file itself is a symbolic link."""
        if is_link:
            return os.path.realpath(path)
        path = os.fspath(path)
        cut = path.rfind(os.sep) + 1
        head = path[:cut]  # the directory as given, with its separator (os.path.split keeps
        real = self._real_dirs.get(head)  # the separators to strip: realpath does that)
        if real is None:
            real = os.path.realpath(head or os.curdir)
            real = self._real_dirs[head] = real if real.endswith(os.sep) else real + os.sep
        return real + path[cut:]

    def stdin(self) -> None:
        text = self.stdin_text if self.stdin_text is not None else sys.stdin.read()
        self.sources.append(load_sql_text(
            text, assume_in_transaction=self.config.assume_in_transaction,
            sql_transaction=self.config.sql_transaction))

    def sql_files(self, files: list[tuple[Path | str, str, str | None]]) -> None:
        """Load (path, display, real path or None) .sql files not loaded yet nor excluded."""
        for path, display, real in files:
            real = self._fresh(path, real)
            if real is not None and not self.excluded(real, display):
                self.sources.extend(self.reader.load(path, display, real))

    def revisions(self, files: list[tuple[Path, str]], script_dir: Path,
                  ini_path: Path | None, elsewhere: list[str] | None = None,
                  sys_path: list[Path] = ()) -> None:
        # Rendering runs the project's code, which may make reference cycles: the collector
        # runs (if it ran before load_sources paused it).
        with _collecting(self.collect):
            self._revisions(files, script_dir, ini_path, elsewhere, sys_path)

    def _revisions(self, files: list[tuple[Path, str]], script_dir: Path,
                   ini_path: Path | None, elsewhere: list[str] | None,
                   sys_path: list[Path]) -> None:
        keep: list[tuple[Path, str]] = []
        elsewhere = list(elsewhere or [])
        for path, display in files:
            real = self._fresh(path)
            if not real or self.excluded(real, display):
                rid = _alembic()[0].read_revision_ids(_read_text(path))
                if isinstance(rid.get("revision"), str):
                    elsewhere.append(rid["revision"])
                continue
            keep.append((path, display))
        isolated = _alembic()[1]
        rendered = isolated.render_isolated(
            keep, script_dir=script_dir, ini_path=ini_path, sys_path=sys_path,
            settings=dataclasses.replace(isolated.RenderSettings.from_config(self.config),
                                         progress=self.progress))
        self.sources.extend(order_revisions(rendered, known_elsewhere=elsewhere))

    def project(self, project: AlembicProject, arg: str | None) -> None:
        files: list[tuple[Path, str]] = []
        for vdir in project.version_dirs:
            if not vdir.is_dir():
                raise UsageError("the Alembic versions directory does not exist",
                                 path=_display(vdir))
            for found in _walk(vdir, str(vdir), ".py", self.warn):
                if _name(found.rel).startswith("_"):
                    continue
                files.append((Path(found.path), _display(Path(found.path))))
        files.sort(key=lambda f: _path_key(PurePosixPath(f[1])))
        self.revisions(files, project.script_dir, project.ini_path, sys_path=project.sys_path)

    def directory(self, directory: Path, arg: str) -> None:
        project = project_in_directory(directory)
        if project is not None:
            self.project(project, arg)
            return
        if (directory / "versions").is_dir() and (
            (directory / "env.py").is_file() or any((directory / "versions").glob("*.py"))
        ):
            self.project(script_directory_project(directory), arg)
            return
        if _looks_like_versions_dir(directory):
            files = [(Path(f.path), _join(arg, f.rel)) for f in _walk(directory, arg, ".py", self.warn)
                     if not _name(f.rel).startswith("_")]
            files.sort(key=lambda f: _path_key(PurePosixPath(f[1])))
            ini = find_ini(directory)
            self.revisions(files, directory.parent, ini, sys_path=_prepend_sys_path(ini))
            return
        ordered = _ordered(_walk(directory, arg, ".sql", self.warn), lambda f: f.rel.split("/"))
        self.sql_files([(f.path, _join(arg, f.rel), f.real) for f in ordered])

    def path(self, arg: str) -> None:
        if arg == "-":
            self.stdin()
            return
        # A name ending in .sql is used as given (pre-commit passes thousands): the system
        # calls read it as pathlib would; anything else becomes a Path.
        p = arg if _sql_name(arg) else Path(arg)
        try:  # one lstat (and a stat for a link) says whether it exists, and what it is
            mode = os.lstat(p).st_mode
            is_link = stat.S_ISLNK(mode)
            if is_link:
                mode = os.stat(p).st_mode
        except OSError as e:
            if e.errno in _MISSING:
                raise UsageError("no such file or directory", path=arg) from None
            raise UsageError(f"cannot read: {e.strerror or e}", path=arg) from None
        except ValueError:  # a NUL byte in the name
            raise UsageError("no such file or directory", path=arg) from None
        if stat.S_ISDIR(mode):
            if not os.access(p, os.R_OK | os.X_OK):
                raise UsageError("cannot read directory: permission denied", path=arg)
            self.directory(Path(p), arg)
        elif (why := _why_not_regular(mode)) is not None:  # a FIFO would wait for a writer
            self.warn(arg, why)
        elif isinstance(p, str) or p.suffix.lower() == ".sql":
            self.sql_files([(p, arg, self._real_path(p, is_link))])
        elif p.suffix.lower() == ".py":
            script_dir = p.parent.parent if p.parent.name == "versions" else p.parent
            # Its parents live beside it: known, not rendered.
            siblings = [_alembic()[0].read_revision_ids(_read_text(f)).get("revision")
                        for f in _regular_files(p.parent, "*.py") if f.resolve() != p.resolve()]
            ini = find_ini(p.parent)
            self.revisions([(p, arg)], script_dir, ini,
                           [r for r in siblings if isinstance(r, str)], _prepend_sys_path(ini))
        elif p.name == "alembic.ini" or p.suffix.lower() == ".ini":
            project = from_alembic_ini(p, arg)
            if project is None:
                raise UsageError("no script_location in the [alembic] section", path=arg)
            self.project(project, arg)
        elif p.name == "pyproject.toml":
            project = from_pyproject(p, arg)
            if project is None:
                raise UsageError("no script_location in [tool.alembic] or [tool.migrator]",
                                 path=arg)
            self.project(project, arg)
        else:
            raise UsageError("not a migration: expected a .sql file, an Alembic revision (.py), "
                             "a directory, alembic.ini, pyproject.toml or - for standard input",
                             path=arg)


def _sql_name(arg: str) -> bool:
    """Whether ``arg`` names a file with the .sql suffix (as ``Path(arg).suffix`` says it) that
    the system reads the same without pathlib's normalising."""
    name = arg[arg.rfind("/") + 1:]
    return len(name) > 4 and name[-4:].lower() == ".sql" and os.sep == "/" and "\0" not in arg


def _name(rel: str) -> str:
    return rel.rpartition("/")[2]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _prepend_sys_path(ini: Path | None) -> list[Path]:
    """prepend_sys_path of a nearby alembic.ini (best effort: a broken ini adds nothing)."""
    if ini is None:
        return []
    try:
        project = from_alembic_ini(ini)
    except UsageError:
        return []
    return project.sys_path if project else []


def load_sources(paths: list[str], config: Config, stdin_text: str | None = None,
                 warn=warn_on_stderr, progress=None) -> list[MigrationSource]:
    """Every migration the paths name, in migration order (paths in the order given).

    Files that are not regular files (FIFOs, sockets, devices, broken links) are skipped and
    passed to ``warn(path, why)``, which by default writes a warning line to stderr.
    ``progress(rendered, total)`` hears how rendering Alembic revisions goes."""
    loader = _Loader(config, stdin_text, warn)
    loader.progress = progress
    with _collecting(False):
        _load(loader, paths, config)
    return loader.sources


@contextlib.contextmanager
def _collecting(on: bool):
    """The cyclic garbage collector on (``on``) or paused inside, as it was after. Reading .sql
    files allocates some ten objects per statement and makes no reference cycles: collecting
    the young ones as they come cost 10-15% of the read, so load_sources pauses it."""
    before = gc.isenabled()
    if on:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if before:
            gc.enable()
        else:
            gc.disable()


def _load(loader: _Loader, paths: list[str], config: Config) -> None:
    if not paths:
        project = find_project(config, required=False)
        if project is None:
            raise UsageError("no migrations given: pass paths (files, directories, - for stdin), "
                             "or set script_location in [tool.migrator], or run where alembic.ini "
                             "(or pyproject.toml with [tool.alembic]) is")
        loader.project(project, None)
    for arg in paths:
        loader.path(arg)
