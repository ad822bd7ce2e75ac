"""Alembic driven from the catalog: one Config and one ScriptDirectory per run, whose revision
map is built from the catalog's headers, so a run imports only the revisions it applies (and
env.py), not every module of the project (Alembic's ScriptDirectory imports them all on each
command: seconds per revision in a project of thousands).

``upgrade`` / ``downgrade`` are Alembic's ``command.upgrade`` / ``command.downgrade`` on that
ScriptDirectory: the project's env.py runs as it would under ``alembic upgrade``.
"""

from __future__ import annotations

import contextlib
import io
import traceback
import types
from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.runtime.environment import EnvironmentContext
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionMap
from alembic.util import load_python_file

from ..errors import UsageError
from ..script import Catalog, Revision


def alembic_config(catalog: Catalog, url: str | None = None, *, stdout=None) -> AlembicConfig:
    """An Alembic Config for the catalog's project, pointing at the absolute script location."""
    buf = stdout if stdout is not None else io.StringIO()
    project = catalog.project
    ini = project.ini_path if project else None
    toml = project.toml_path if (project and ini is None) else None
    cfg = AlembicConfig(str(ini) if ini else None, toml_file=str(toml) if toml else None, stdout=buf)
    if catalog.script_location is not None:
        cfg.set_main_option("script_location", str(catalog.script_location))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class _LazyModule(types.ModuleType):
    """A revision module whose header the catalog read: Alembic's revision map needs only that;
    the code is imported when Alembic first asks for anything else (``upgrade``)."""

    def __init__(self, rev: Revision):
        super().__init__(f"_migrator_lazy_{rev.id}", rev.message or None)
        self.revision = rev.id
        self.down_revision = (rev.down_revisions[0] if len(rev.down_revisions) == 1
                              else rev.down_revisions or None)
        self.branch_labels = rev.declared_labels or None  # own, not inherited
        self.depends_on = rev.depends_on or None
        self._migrator_path = Path(rev.path)
        self._migrator_real = None

    def _migrator_load(self) -> types.ModuleType:
        if self._migrator_real is None:
            path = self._migrator_path
            self._migrator_real = load_python_file(path.parent, path.name)
        return self._migrator_real

    def __getattr__(self, name: str):
        if name.startswith("_migrator_"):
            raise AttributeError(name)
        return getattr(self._migrator_load(), name)


class _RevisionMap(RevisionMap):
    """Alembic's revision map, with its ``_normalize_depends_on`` done by index: Alembic walks
    every ancestor of every revision that has dependencies (quadratic: seconds at a few thousand
    revisions); the answer is the same when only the few revisions that declare the same
    dependency are checked for being an ancestor."""

    def _normalize_depends_on(self, revisions, map_) -> None:
        declared: dict[str, list] = {}
        for rev in revisions:
            for dep in rev._resolved_dependencies:
                declared.setdefault(dep, []).append(rev)
        for rev in revisions:
            deps = set(rev._resolved_dependencies)
            for dep in rev._resolved_dependencies:
                others = [o for o in declared[dep] if o is not rev]
                if others and any(_is_down_ancestor(o, rev, map_) for o in others):
                    deps.discard(dep)  # an ancestor already depends on it (as Alembic drops it)
            rev._normalized_resolved_dependencies = tuple(deps)


def _is_down_ancestor(candidate, rev, map_) -> bool:
    """Whether ``candidate`` is reached from ``rev`` along down revisions (not dependencies)."""
    seen: set[str] = set()
    stack = list(rev._versioned_down_revisions)
    while stack:
        rid = stack.pop()
        if rid in seen:
            continue
        seen.add(rid)
        node = map_.get(rid)
        if node is None:
            continue
        if node is candidate:
            return True
        stack.extend(node._versioned_down_revisions)
    return False


class Scripts:
    """The project's ScriptDirectory for one run, built once from the catalog."""

    def __init__(self, catalog: Catalog, cfg: AlembicConfig):
        self.catalog = catalog
        self.cfg = cfg
        with contextlib.redirect_stdout(io.StringIO()):
            self.directory = ScriptDirectory.from_config(cfg)
        self.modules = {r.id: _LazyModule(r) for r in catalog.revisions}
        scripts = [Script(self.modules[r.id], r.id, r.path) for r in catalog.revisions]
        self.directory.revision_map = _RevisionMap(lambda: iter(scripts))

    def import_revisions(self, revisions: list[Revision]) -> None:
        """Import the revisions about to run, so a module that cannot be imported is refused
        (naming the file and line) before anything is applied."""
        for rev in revisions:
            module = self.modules[rev.id]
            try:
                with contextlib.redirect_stdout(io.StringIO()), \
                        contextlib.redirect_stderr(io.StringIO()):
                    module._migrator_load()
            except BaseException as e:  # noqa: BLE001 - anything at import time, even SystemExit
                if isinstance(e, KeyboardInterrupt):
                    raise
                line = None
                for frame in traceback.extract_tb(e.__traceback__):
                    if Path(frame.filename).resolve() == Path(rev.path):
                        line = frame.lineno
                raise UsageError(f"cannot import revision script: {type(e).__name__}: {e}",
                                 path=rev.path, line=line) from None

    def run(self, target: str, *, downgrade: bool = False) -> None:
        """``alembic upgrade target`` (or ``downgrade``) through the project's env.py."""
        directory = self.directory

        def step(rev, context):
            if downgrade:
                return directory._downgrade_revs(target, rev)
            return directory._upgrade_revs(target, rev)

        with EnvironmentContext(self.cfg, directory, fn=step, as_sql=False,
                                starting_rev=None, destination_rev=target):
            directory.run_env()


__all__ = ["Scripts", "alembic_config"]
