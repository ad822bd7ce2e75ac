"""The catalog as the gate needs it (revision, phase, release, parents), cached on disk.

Loading the catalog imports Alembic and every revision module: a quarter of a second a pipeline
pays on every ``gate`` call, and more while it polls. The gate needs only plain facts, so they
are kept in ``<cache_dir>/gate-catalog.json``, keyed by the names, sizes and modification times
of the revision files and alembic.ini; any change, or a layout this module does not read
(``version_locations``), means a full load through ``migrator.runner.catalog``.
"""

from __future__ import annotations

import configparser
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from ..config import Config

CACHE_FILE = "gate-catalog.json"
FORMAT = 1


@dataclass(frozen=True)
class CachedRevision:
    id: str
    phase: str
    release: Version
    down_revisions: tuple[str, ...]
    depends_on: tuple[str, ...]


class CachedCatalog:
    """The part of ``runner.catalog.Catalog`` the gate reads: ``revisions`` and ``ancestors``."""

    def __init__(self, revisions: list[CachedRevision]):
        self.revisions = revisions
        self.by_id = {r.id: r for r in revisions}

    def ancestors(self, revision: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self._parents(revision))
        while stack:
            rid = stack.pop()
            if rid not in seen:
                seen.add(rid)
                stack.extend(self._parents(rid))
        return seen

    def _parents(self, revision: str) -> tuple[str, ...]:
        r = self.by_id.get(revision)
        return (r.down_revisions + r.depends_on) if r else ()


def _script_dir(config: Config) -> tuple[Path, Path | None] | None:
    """(script directory, alembic.ini) for the plain layouts; None when unsure."""
    ini = config.resolve(config.alembic_ini) if config.alembic_ini else None
    if config.script_location:
        loc = config.resolve(config.script_location)
        if (loc / "env.py").is_file() or (loc / "versions").is_dir():
            return loc, ini
        if not (loc / "alembic.ini").is_file():
            return None
        ini = loc / "alembic.ini"
    if ini is None:
        ini = config.root / "alembic.ini"
    if not ini.is_file():
        return None
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent.resolve())})
    try:
        parser.read(ini, encoding="utf-8")
        if parser.has_option("alembic", "version_locations"):
            return None
        raw = parser.get("alembic", "script_location")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    loc = Path(raw)
    if not loc.is_absolute():
        loc = (ini.parent / loc) if (ini.parent / loc).is_dir() else (Path.cwd() / loc)
    return (loc, ini) if loc.is_dir() else None


def _fingerprint(script_dir: Path, ini: Path | None) -> str:
    h = hashlib.sha256(f"{FORMAT}\0{script_dir.resolve()}\0".encode())
    files = sorted((script_dir / "versions").rglob("*.py")) if (script_dir / "versions").is_dir() else []
    for f in ([ini] if ini else []) + files:
        st = f.stat()
        h.update(f"{f}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _cache_path(config: Config) -> Path:
    return config.resolve(config.cache_dir) / CACHE_FILE


def load_gate_catalog(config: Config):
    """A CachedCatalog when the cache is current, else the full catalog (and the cache is
    refreshed, best effort)."""
    located = _script_dir(config)
    key = None
    if located is not None:
        try:
            key = _fingerprint(*located)
            doc = json.loads(_cache_path(config).read_text(encoding="utf-8"))
            if doc.get("key") == key:
                return CachedCatalog([
                    CachedRevision(r["id"], r["phase"], Version(r["release"]), tuple(r["down_revisions"]),
                                   tuple(r["depends_on"])) for r in doc["revisions"]])
        except (OSError, ValueError, KeyError, TypeError):
            pass
    from ..runner.catalog import load_catalog  # Alembic and the revision modules: only on a miss

    catalog = load_catalog(config)
    if key is not None:
        _store(config, key, catalog)
    return catalog


def _store(config: Config, key: str, catalog) -> None:
    doc = {"key": key, "revisions": [
        {"id": r.id, "phase": r.phase, "release": str(r.release), "down_revisions": list(r.down_revisions),
         "depends_on": list(r.depends_on)} for r in catalog.revisions]}
    path = _cache_path(config)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only image: no cache, the full load each time
