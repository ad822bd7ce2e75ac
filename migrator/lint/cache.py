"""A content-hash cache of lint results, one JSON file per migration result.

The key of migration N is a hash of: the cache format, a stamp of the linter's code (rule set,
parser), the lint-relevant configuration, migration N's checksum and the key of migration N-1.
Chaining keys this way names the schema state migration N starts from (state-in is a function of
the earlier migrations, in order) without serializing that state for every file. An entry holds
the migration's phase, operations and findings; on a partial hit the schema state is rebuilt by
replaying the cached operations, so nothing is parsed twice.

Entries are written once per run, in one file (see :class:`LintCache`). A missing, unreadable
or corrupt entry is a miss, never an error; writes go to a temporary file renamed into place,
so a reader never sees half a file. Encoding and decoding pause the cyclic garbage collector:
they allocate many objects and free none, and its passes over the heap the parse left behind
were most of their cost."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import hashlib
import json
import os
import stat
from pathlib import Path

try:  # a fast JSON codec where it has wheels (a dependency there); the standard library's elsewhere
    import orjson
except ImportError:  # pragma: no cover - platforms without orjson wheels
    orjson = None

from ..model import (
    ColumnSpec, ConstraintSpec, Finding, LintedMigration, Location, MigrationPhase, Operation,
    Phase, Severity,
)

FORMAT = 4  # 2: one file per run holding its migrations' entries; 3: the report first in it; 4: operations as lists
_SUBDIR = f"lint-v{FORMAT}"
KEEP_RUNS = 8  # whole-run entries kept (one per distinct input tree and configuration)


def _dumps(value) -> bytes:
    """Compact JSON in UTF-8 (one line: a newline in a string is escaped)."""
    if orjson is not None:
        try:
            return orjson.dumps(value)
        except TypeError:  # a lone surrogate, an int beyond 64 bits: the slow way
            pass
    return json.dumps(value, separators=(",", ":")).encode("ascii")


def _loads(data: bytes):
    if orjson is not None:
        try:
            return orjson.loads(data)
        except ValueError:  # e.g. an escaped lone surrogate, which json reads
            pass
    return json.loads(data)


@contextlib.contextmanager
def paused_gc():
    """No cyclic garbage collection inside (for code that allocates and frees nothing cyclic)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# ------------------------------------------------------------------ keys

@functools.cache
def code_stamp() -> str:
    """Names the linter's code: the migrator version and every module's size and mtime (the rule
    modules are the package's too: migrator/rules/). Once a process: the code it runs is what
    it imported, whatever changes on disk later."""
    import migrator

    h = hashlib.sha256(str(FORMAT).encode())
    for root in [Path(migrator.__file__).parent]:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                if name.endswith((".py", ".md")):
                    st = os.stat(os.path.join(dirpath, name))
                    h.update(f"{dirpath}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def config_digest(config) -> str:
    """The part of the configuration a lint result depends on."""
    relevant = {
        "server_version": config.server_version,
        "rules": dict(sorted((config.rules or {}).items())),
        "script_location": config.script_location,
        "alembic_ini": config.alembic_ini,
        "functions": dict(sorted((config.functions or {}).items())),
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def run_prefix(config) -> str:
    return hashlib.sha256(f"{code_stamp()}\0{config_digest(config)}".encode()).hexdigest()


def source_checksum(source) -> str:
    """The source's own checksum, else a hash of what the linter reads from it.

    An Alembic revision's file is not all its result depends on: what it renders can change
    with a helper module it imports or an environment variable it reads. So it is keyed by what
    rendering produced (its statements and diagnostics), which covers whatever the rendering
    read."""
    if source.checksum and source.kind != "alembic":
        # one file may hold an up and a down part, each judged in a transaction mode
        return (f"{source.checksum}:{source.direction}:{source.transaction}:"
                f"{int(source.transaction_declared)}")
    h = hashlib.sha256()
    for part in (source.path, source.kind, source.release or "", source.declared_phase or "",
                 source.revision or "", source.checksum or "", source.text,
                 f"{source.direction}:{source.transaction}:{int(source.transaction_declared)}",
                 "\0".join(source.down_revisions or ()), "\0".join(source.depends_on or ()),
                 "\0".join(source.branch_labels or ())):
        h.update(part.encode("utf-8", "surrogatepass") + b"\0")
    for st in source.statements:
        h.update(f"{st.loc.line}:{st.loc.column}:{st.in_transaction}:{st.note}\0{st.sql}\0".encode(
            "utf-8", "surrogatepass"))
    for d in source.diagnostics:
        h.update(json.dumps(d.as_dict(), sort_keys=True).encode())
    return h.hexdigest()


def chain_key(previous: str, prefix: str, source) -> str:
    """Key of one migration's result given the key of the migration before it ('' for the first)."""
    return hashlib.sha256(f"{prefix}\0{previous}\0{source.path}\0{source_checksum(source)}".encode("utf-8", "surrogatepass")).hexdigest()


# ------------------------------------------------------------------ encoding

def _loc(d) -> Location:
    return Location(str(d[0]), int(d[1]), int(d[2]))


# Operations are stored as lists of their fields' values, in the dataclass's order (the code
# stamp in every key changes with the model): building a list of values is half the cost of a
# dict of the fields that differ from their defaults, and the C encoders do the rest.
_OP_FIELDS = tuple(f.name for f in dataclasses.fields(Operation))
_COLUMN_FIELDS = tuple(f.name for f in dataclasses.fields(ColumnSpec))
_CONSTRAINT_FIELDS = tuple(f.name for f in dataclasses.fields(ConstraintSpec))
_KIND, _LOC, _COLUMNS, _CONSTRAINT, _PHASE = (
    _OP_FIELDS.index(n) for n in ("kind", "loc", "columns", "constraint", "phase"))


def encode_operation(op: Operation) -> list:
    """The operation's field values as JSON-ready data (shallow: it is serialized at once)."""
    d = op.__dict__
    v = list(map(d.__getitem__, _OP_FIELDS))
    v[_KIND] = str(op.kind)
    loc = op.loc
    v[_LOC] = [loc.path, loc.line, loc.column]
    if op.columns:
        v[_COLUMNS] = [list(map(c.__dict__.__getitem__, _COLUMN_FIELDS)) for c in op.columns]
    if op.constraint is not None:
        v[_CONSTRAINT] = list(map(op.constraint.__dict__.__getitem__, _CONSTRAINT_FIELDS))
    if op.phase is not None:
        v[_PHASE] = op.phase.value
    return v


def decode_operation(v: list) -> Operation:
    if len(v) != len(_OP_FIELDS):
        raise ValueError("an operation of another shape")
    v = list(v)
    v[_LOC] = _loc(v[_LOC])
    v[_COLUMNS] = [ColumnSpec(*c) for c in v[_COLUMNS]]
    if v[_CONSTRAINT] is not None:
        v[_CONSTRAINT] = ConstraintSpec(*v[_CONSTRAINT])
    if v[_PHASE] is not None:
        v[_PHASE] = Phase(v[_PHASE])
    return Operation(*v)


def encode(linted: LintedMigration) -> dict:
    return {
        "phase": linted.phase.value,
        "operations": [encode_operation(op) for op in linted.operations],
        "findings": [
            [f.rule, f.severity.value, [f.loc.path, f.loc.line, f.loc.column], f.message, f.fix]
            for f in linted.findings
        ],
    }


_SEVERITIES = {s.value: s for s in Severity}
_PHASES = {p.value: p for p in MigrationPhase}


def decode(entry: dict, source) -> LintedMigration:
    """The result ``encode`` stored (a bogus value raises: the caller treats it as a miss)."""
    findings = [Finding(r, _SEVERITIES[s], _loc(loc), m, fx) for r, s, loc, m, fx in entry["findings"]]
    ops = [decode_operation(o) for o in entry["operations"]]
    return LintedMigration(source, ops, _PHASES[entry["phase"]], findings)


# ------------------------------------------------------------------ storage

class LintCache:
    """Result entries under ``directory``; ``LintCache(None)`` is a cache that never hits.

    A run's results are written as one file (``runs/<name>.json``) of two JSON lines: first
    the run's report, when it has a :func:`run_key` (else null), without operations or source
    texts (phases, findings, where each migration came from), so that a warm run that needs
    no operations decodes only that line; then ``{"texts": [...], "entries": {...}}``: the
    sources' texts for the report (the formats that need them), and the entry of every
    migration the run linted or found, by chained key. One file
    per run rather than per migration keeps the run that writes the cache about as cheap as a
    cold one; the ``KEEP_RUNS`` newest files are kept, and a migration's entry is looked up
    across them (loaded on the first lookup)."""

    def __init__(self, directory: Path | None):
        self.directory = Path(directory) / _SUBDIR if directory is not None else None
        self.hits = 0
        self.misses = 0
        self._stored: dict[str, dict] | None = None  # key -> entry, from the files kept
        self._run: dict[str, dict] = {}  # key -> entry of each migration of this run
        self.run_keys: list[str] = []  # the chained key of each migration, in order

    @classmethod
    def for_config(cls, config, enabled: bool = True) -> "LintCache":
        return cls(config.resolve(config.cache_dir) if enabled and config.cache_dir else None)

    @property
    def enabled(self) -> bool:
        return self.directory is not None

    def _runs(self) -> Path:
        return self.directory / "runs"

    # --- one migration's result, under its chained key ---------------------------------------

    def _entries(self) -> dict[str, dict]:
        if self._stored is None:
            self._stored = {}
            try:
                files = sorted(self._runs().glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
            except OSError:
                files = []
            with paused_gc():
                for path in files:  # oldest first: a newer entry of the same key wins
                    try:
                        data = path.read_bytes()
                        entries = _loads(data[data.index(b"\n") + 1:]).get("entries")
                    except Exception:  # noqa: BLE001 - unreadable or corrupt: nothing from it
                        continue
                    if isinstance(entries, dict):
                        self._stored.update(entries)
        return self._stored

    def get(self, key: str, source) -> LintedMigration | None:
        """The result stored under ``key`` for ``source``; None when missing or corrupt."""
        if self.directory is None:
            return None
        entry = self._entries().get(key)
        try:
            linted = decode(entry, source)
        except Exception:  # noqa: BLE001 - missing or corrupt: recompute
            self.misses += 1
            return None
        self.hits += 1
        self._run[key] = entry
        return linted

    def put(self, key: str, linted: LintedMigration) -> None:
        """Keep ``linted`` as this run's result under ``key`` (written by :meth:`save`)."""
        if self.directory is not None:
            self._run[key] = encode(linted)

    def put_entry(self, key: str, entry: dict) -> None:
        """Keep a result already encoded by :func:`encode` (e.g. by a forked helper)."""
        if self.directory is not None:
            self._run[key] = entry

    def save(self, keys: list[str] | None = None, name: str | None = None, report: dict | None = None,
             texts: list[str] | None = None) -> None:
        """Write this run's entries as one file, named ``name`` (a run key) or after its keys;
        ``report`` and ``texts``: the whole report's (see the class)."""
        if self.directory is None or not (self._run or report):
            return
        if name is None:
            name = hashlib.sha256("\0".join(keys or sorted(self._run)).encode()).hexdigest()
        path = self._runs() / f"{name}.json"
        self._write(path, report, {"texts": texts or [], "entries": self._run})
        self._prune(path.parent, KEEP_RUNS)

    # --- a whole run, under :func:`run_key` ---------------------------------------------------

    def get_run(self, key: str, *, need_operations: bool = True, warn=None, render_env=dict):
        """The whole report stored under ``key``, or None when missing or corrupt, or when a
        file or environment value its Alembic revisions read has changed since (``render_env()``
        gives the environment revisions render with now). The files the run skipped are passed
        to ``warn(path, why)`` again, as the run that stored it did. Without
        ``need_operations`` the migrations come without operations or source texts, and only
        the report at the head of the file is decoded."""
        from ..model import LintReport, MigrationSource

        if self.directory is None:
            return None
        try:
            with open(self._runs() / f"{key}.json", "rb") as fh:
                data = fh.read()
            head = data.index(b"\n")
            with paused_gc():
                report, texts, entries = _loads(data[:head]), None, None
                if need_operations:
                    rest = _loads(data[head + 1:])
                    texts, entries = rest["texts"], rest["entries"]
                migrations = []
                for n, item in enumerate(report["migrations"]):
                    meta = item["source"]
                    if entries is not None:
                        source = MigrationSource(**meta, text=texts[n])
                        migrations.append(decode(entries[item["key"]], source))
                    else:
                        source = MigrationSource(**meta)
                        migrations.append(decode({**item, "operations": []}, source))
            skipped = [(str(path), str(why)) for path, why in report.get("skipped", [])]
            if not _still_true(report.get("reads") or {}, render_env):
                return None
            files = int(report["files"])
        except Exception:  # noqa: BLE001 - missing or corrupt: lint for real
            return None
        if warn is not None:
            for path, why in skipped:
                warn(path, why)
        return LintReport(migrations, files=files)

    def put_run(self, key: str | None, roots: list[str], report, keys: list[str], skipped=(),
                render_env=dict) -> None:
        """Write this run's entries, with ``report`` as the result of the whole run under
        ``key`` when every migration in it came from under ``roots`` (else the key would not
        cover everything the report depends on). ``keys``: the chained key of each migration
        of the report. ``skipped``: (path, why) of the files discovery skipped, warned about
        again on a hit. What Alembic revisions read while rendering (project modules anywhere,
        environment variables: ``render_env()`` gives the values they saw, asked only when some
        revision read one) is recorded with digests, and a hit is only taken while those are
        unchanged."""
        if self.directory is None:
            return
        if key is None or not _all_within([m.source.path for m in report.migrations], roots):
            self.save(keys)
            return
        with paused_gc():  # encoding makes no cycles (a full collection after a lint cost ~40 ms here)
            migrations = []
            for m, k in zip(report.migrations, keys):
                entry = self._run.get(k) or encode(m)
                migrations.append({"source": _encode_source(m.source), "key": k,
                                   "phase": entry["phase"], "findings": entry["findings"]})
            self.save(keys, key, {"files": report.files, "skipped": [list(s) for s in skipped],
                                  "reads": _reads(report, render_env), "migrations": migrations},
                      [m.source.text for m in report.migrations])

    @staticmethod
    def _prune(directory: Path, keep: int) -> None:
        """Keep the ``keep`` most recently written entries of ``directory``."""
        try:
            entries = sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in entries[keep:]:
                old.unlink(missing_ok=True)
        except OSError:
            pass

    # --- writing ------------------------------------------------------------------------------

    def _drop_other_formats(self) -> None:
        """Entries of other cache formats can never hit again: removed when this one starts."""
        import shutil

        try:
            with os.scandir(self.directory.parent) as it:
                old = [e.path for e in it if e.name.startswith("lint-v") and e.name != _SUBDIR
                       and e.name[6:].isdigit() and e.is_dir(follow_symlinks=False)]
        except OSError:
            return
        for directory in old:
            shutil.rmtree(directory, ignore_errors=True)

    def _write(self, path: Path, *lines) -> None:
        """``lines`` as JSON lines, atomically: a temporary file renamed into place. A failure
        disables the cache."""
        if self.directory is None:
            return
        try:
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True, exist_ok=True)
                ignore = self.directory.parent / ".gitignore"
                if not ignore.exists():
                    ignore.write_text("# created by migrator\n*\n", encoding="utf-8")
                self._drop_other_formats()
            with paused_gc():
                data = b"\n".join(_dumps(line) for line in lines) + b"\n"
            import tempfile  # (with shutil) only runs that write: not imported on the warm path

            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            # A read-only or full disk makes the cache useless, not the lint wrong.
            self.directory = None


# ------------------------------------------------------------------ whole runs
#
# When nothing under the paths given has changed, the whole report is one cache entry: the key
# hashes the content of every file under those paths (and the full configuration), so a warm
# run reads the files once, hashes them and loads one entry, skipping discovery, Alembic
# rendering, parsing and the rules.

_SKIP_DIRS = {"__pycache__", "node_modules"}
_BIG = 8 * 1024 * 1024
_MAX_FILES = 20000  # a tree larger than this is not worth hashing on every run


class _TooBig(Exception):
    pass


class _Resolver:
    """Real paths of many files in few directories: each directory is resolved once (a file's
    own symbolic link is followed when its content is read, so its directory is what counts)."""

    def __init__(self) -> None:
        self.dirs: dict[str, str] = {}

    def file(self, path: str) -> str:
        """``path`` with its directory's real path (the name itself is kept, even a link)."""
        head, tail = os.path.split(path)  # the directory as written: resolved once
        if tail in ("", ".", ".."):
            return os.path.realpath(path)
        real = self.dirs.get(head)
        if real is None:
            real = self.dirs[head] = os.path.realpath(head or os.curdir)
        return os.path.join(real, tail)


def _tree_roots(paths: list[str], config) -> list[str] | None:
    """What a run over ``paths`` reads, as real paths: files named (``.sql``, ``.py``) and
    directories; None when it may read more (standard input, a configuration file)."""
    if not paths:  # the configured project: everything under the configuration's directory
        return [os.path.realpath(config.root)]
    roots = []
    resolve = _Resolver()
    for p in paths:
        if p == "-":
            return None
        if p.lower().endswith((".sql", ".py")):
            roots.append(resolve.file(p))  # a directory so named is resolved when hashed
            continue
        if os.path.isfile(p):
            return None  # alembic.ini / pyproject.toml may point anywhere
        roots.append(os.path.realpath(p))
    return roots or None


def _hash_file(h, path: str, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block: its name is enough
        h.update(f"N\0{path}\0{st.st_mode}\0".encode("utf-8", "surrogatepass"))
        return
    if st.st_size > _BIG:
        h.update(f"F\0{path}\0{st.st_size}:{st.st_mtime_ns}\0".encode("utf-8", "surrogatepass"))
        return
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        h.update(f"E\0{path}\0".encode("utf-8", "surrogatepass"))
        return
    try:
        chunks = []
        while True:  # a file may grow while read: read to its end
            chunk = os.read(fd, max(st.st_size + 1, 65536))
            if not chunk:
                break
            chunks.append(chunk)
    except OSError:
        h.update(f"E\0{path}\0".encode("utf-8", "surrogatepass"))
        return
    finally:
        os.close(fd)
    h.update(f"F\0{path}\0{sum(map(len, chunks))}\0".encode("utf-8", "surrogatepass"))
    for chunk in chunks:
        h.update(chunk)


def _tree_digest(roots: list[str], skip: str | None) -> tuple[list[str], str]:
    """(the roots, a root named like a file but a directory resolved, a digest of the content
    of every file under them). Plain strings and one stat a file: a warm run's cost is
    mostly this, for every file given."""
    h = hashlib.sha256()
    final = []
    count = 0
    for root in roots:
        try:
            st = os.stat(root)
        except OSError:
            final.append(root)
            h.update(f"R\0{root}\0E\0".encode("utf-8", "surrogatepass"))
            continue
        if not stat.S_ISDIR(st.st_mode):
            final.append(root)
            h.update(f"R\0{root}\0".encode("utf-8", "surrogatepass"))
            _hash_file(h, root, st)
            count += 1
            continue
        root = os.path.realpath(root)
        final.append(root)
        h.update(f"R\0{root}\0".encode("utf-8", "surrogatepass"))
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS
                                 and (skip is None or os.path.join(dirpath, d) != skip))
            files.extend(os.path.join(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
            if count + len(files) > _MAX_FILES:
                raise _TooBig
        count += len(files)
        for f in files:
            try:
                st = os.stat(f)
            except OSError:
                h.update(f"E\0{f}\0".encode("utf-8", "surrogatepass"))
                continue
            _hash_file(h, f, st)
    return final, h.hexdigest()


def _full_config_digest(config) -> str:
    data = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)
            if f.name not in ("database_url", "database_url_source", "webhooks")}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def run_key(paths: list[str], config) -> tuple[str, list[str]] | None:
    """Key of a whole run over ``paths`` and the real paths it covers, or None when a
    whole-run entry cannot be trusted."""
    roots = _tree_roots(paths, config)
    if roots is None:
        return None
    skip = os.path.realpath(config.resolve(config.cache_dir)) if config.cache_dir else None
    try:
        roots, tree = _tree_digest(roots, skip)
    except _TooBig:
        return None
    blob = "\0".join([code_stamp(), _full_config_digest(config), os.getcwd(), *roots, tree])
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest(), roots


def _encode_source(s) -> dict:
    """Where a migration came from, as the report shows it (its text is kept apart)."""
    return {"path": s.path, "revision": s.revision, "release": s.release,
            "declared_phase": s.declared_phase, "kind": s.kind, "checksum": s.checksum,
            "transaction": s.transaction, "transaction_declared": s.transaction_declared,
            "transaction_reason": s.transaction_reason, "direction": s.direction}


def _all_within(paths: list[str], roots: list[str]) -> bool:
    """Whether every path is one of ``roots`` or under one: a set lookup per ancestor, so the
    cost is linear in the paths (pre-commit passes thousands of files as roots)."""
    inside = {os.fspath(r) for r in roots}
    resolve = _Resolver()
    for path in set(paths):
        p = resolve.file(path)
        if p in inside:
            continue
        if os.path.isdir(p) and os.path.realpath(p) in inside:
            continue
        parent = os.path.dirname(p)
        while parent not in inside:
            up = os.path.dirname(parent)
            if up == parent:
                return False
            parent = up
    return True


def _digest_file(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _digest_value(value: str | None) -> str | None:
    """Environment values are stored hashed: a cache directory must not hold secrets."""
    return None if value is None else hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _reads(report, render_env) -> dict:
    """What the report's Alembic revisions read while rendering, as digests (``render_env()``:
    the environment they rendered with, called only when one read a variable)."""
    files = sorted({f for m in report.migrations for f in m.source.read_files})
    names = sorted({n for m in report.migrations for n in m.source.read_env})
    env = (render_env() or {}) if names else {}
    return {"files": {f: _digest_file(f) for f in files},
            "env": {n: _digest_value(env.get(n)) for n in names}}


def _still_true(reads: dict, render_env) -> bool:
    """Whether the files and environment values a stored run read are unchanged."""
    for path, digest in (reads.get("files") or {}).items():
        if _digest_file(path) != digest:
            return False
    names = reads.get("env") or {}
    if names:
        env = render_env()
        for name, digest in names.items():
            if _digest_value(env.get(name)) != digest:
                return False
    return True

