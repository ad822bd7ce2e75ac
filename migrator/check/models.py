"""Where the models come from: ``MODULE:ATTR`` imported from one source tree (the working tree, or
a release exported from git), turned into plain facts the comparison reads.

The import is isolated: the tree goes first on ``sys.path`` and the modules of its top-level
package are swapped out of ``sys.modules`` for the duration, so two releases of the same
``app.models`` can be read one after the other in one process. Every mapped column gets the
place it is declared (``file:line:column`` of the class attribute, or of the ``Column(...)``
call of a Core ``Table``), found by reading the module's syntax tree, never by guessing.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import traceback
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import registry as orm_registry

from ..errors import UsageError
from ..model import Location

# ``info={"migrator": "deprecated"}`` on a Column / mapped_column: the code stopped using it
# (GitLab's ignore_column); it may be dropped while it is still declared, provided no query
# loads it (deferred, or left out of the mapper).
DEPRECATED = "deprecated"


@dataclass
class MappedColumn:
    table: str  # the table's key in the metadata ("schema.name" or "name")
    name: str
    column: sa.Column
    loc: Location
    attribute: str  # "User.full_name", or "users.c.full_name" for a Core table
    deprecated: bool = False  # marked info={"migrator": "deprecated"}
    loaded: bool = True  # a query of the mapped class selects it (not deferred)


@dataclass
class ModelSet:
    """One release's models, as facts."""

    spec: str  # "app.models:Base"
    label: str  # "release 1.3.0 (working tree)"
    metadata: sa.MetaData
    tables: dict[str, Location] = field(default_factory=dict)  # table key -> where declared
    table_names: dict[str, str] = field(default_factory=dict)  # table key -> "User" / "users"
    columns: dict[tuple[str, str], MappedColumn] = field(default_factory=dict)

    def column(self, table: str, name: str) -> MappedColumn | None:
        return self.columns.get((table, name))

    def unused(self, table: str, name: str) -> bool:
        """Marked deprecated and never loaded: the code does not touch it."""
        c = self.columns.get((table, name))
        return bool(c and c.deprecated and not c.loaded)


def parse_spec(spec: str) -> tuple[str, str]:
    module, sep, attr = (spec or "").strip().partition(":")
    if not sep or not module.strip() or not attr.strip():
        raise UsageError(f"--models must be MODULE:ATTRIBUTE (e.g. app.models:Base), got {spec!r}")
    return module.strip(), attr.strip()


# -- importing ------------------------------------------------------------------------------------

class _TreeFinder(importlib.abc.MetaPathFinder):
    """Finds package ``top`` in ``root`` and nowhere else, ahead of every other finder (an
    editable install's finder would otherwise hand back the working tree's copy)."""

    def __init__(self, top: str, root: Path):
        self.top, self.root = top, str(root)

    def find_spec(self, name, path=None, target=None):
        if name == self.top:
            return importlib.machinery.PathFinder.find_spec(name, [self.root])
        if name.startswith(self.top + "."):
            return importlib.machinery.PathFinder.find_spec(name, path)
        return None


@contextmanager
def isolated_import(path: Path, top: str) -> Iterator[None]:
    """Package ``top`` (and its submodules) imported fresh from ``path`` only; sys.modules,
    sys.path and the import finders restored afterwards."""
    saved_path = list(sys.path)
    saved = {n: m for n, m in sys.modules.items() if n == top or n.startswith(top + ".")}
    for n in saved:
        del sys.modules[n]
    sys.path.insert(0, str(path))
    finder = _TreeFinder(top, path)
    sys.meta_path.insert(0, finder)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for n in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
            del sys.modules[n]
        sys.modules.update(saved)
        sys.path[:] = saved_path


def _import_error(spec: str, label: str, e: BaseException, root: Path) -> UsageError:
    """One line naming the models, the error, and the line of the tree that raised it."""
    path = line = None
    for frame in traceback.extract_tb(e.__traceback__):
        try:
            inside = Path(frame.filename).resolve().is_relative_to(root.resolve())
        except (OSError, ValueError):
            inside = False
        if inside:
            path, line = frame.filename, frame.lineno
    if isinstance(e, SyntaxError) and e.filename:
        path, line = e.filename, e.lineno
    return UsageError(f"cannot import the models {spec} of {label}: {type(e).__name__}: {e}",
                      path=path, line=line)


def load_models(spec: str, import_root: Path, *, label: str,
                display: "PathDisplay | None" = None) -> ModelSet:
    """Import ``spec`` from ``import_root`` and describe what it maps."""
    module_name, attr = parse_spec(spec)
    top = module_name.split(".")[0]
    display = display or PathDisplay()
    # what the models print goes to stderr: standard output carries the report
    with isolated_import(import_root, top), redirect_stdout(sys.stderr):
        try:
            module = importlib.import_module(module_name)
            target = module
            for part in attr.split("."):
                target = getattr(target, part)
        except AttributeError as e:
            raise UsageError(f"the models {spec} of {label}: {e}") from None
        except (Exception, SystemExit) as e:  # noqa: BLE001 - the user's code: one line, no traceback
            raise _import_error(spec, label, e, import_root) from None
        metadata, mappers = _metadata_of(target, spec)
        models = ModelSet(spec, label, metadata)
        _describe(models, mappers, display, import_root)
    return models


def _metadata_of(target, spec: str) -> tuple[sa.MetaData, list]:
    if isinstance(target, sa.MetaData):
        return target, []
    reg = getattr(target, "registry", None)
    if isinstance(target, orm_registry):
        reg = target
    metadata = getattr(target, "metadata", None)
    if metadata is None and reg is not None:
        metadata = reg.metadata
    if not isinstance(metadata, sa.MetaData):
        raise UsageError(f"{spec} is neither a declarative base, a registry nor a MetaData")
    mappers = sorted(reg.mappers, key=lambda m: m.class_.__qualname__) if isinstance(reg, orm_registry) else []
    return metadata, mappers


# -- where each thing is declared -----------------------------------------------------------------

class PathDisplay:
    """Paths as findings show them: an exported release's files under the repository's own
    names, everything else relative to the working directory where possible."""

    def __init__(self, exported_root: Path | None = None, repo_root: Path | None = None):
        self.exported_root = exported_root.resolve() if exported_root else None
        self.repo_root = repo_root.resolve() if repo_root else None

    def show(self, filename: str) -> str:
        p = Path(filename).resolve()
        if self.exported_root and self.repo_root and p.is_relative_to(self.exported_root):
            p = self.repo_root / p.relative_to(self.exported_root)
        try:
            return p.relative_to(Path.cwd().resolve()).as_posix()
        except ValueError:
            return p.as_posix()


class _Sources:
    """Module syntax trees, parsed once per file."""

    def __init__(self) -> None:
        self.trees: dict[str, ast.Module | None] = {}

    def tree(self, filename: str | None) -> ast.Module | None:
        if not filename:
            return None
        if filename not in self.trees:
            try:
                self.trees[filename] = ast.parse(Path(filename).read_text(encoding="utf-8"), filename)
            except (OSError, SyntaxError, ValueError):
                self.trees[filename] = None
        return self.trees[filename]


def _source_file(obj) -> str | None:
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    return getattr(module, "__file__", None)


def _class_node(tree: ast.Module, cls) -> ast.ClassDef | None:
    found = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == cls.__name__]
    first = getattr(cls, "__firstlineno__", None)
    for n in found:
        if first is None or n.lineno == first:
            return n
    return found[0] if found else None


def _assigned(node: ast.ClassDef, key: str) -> ast.AST | None:
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == key:
            return stmt
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == key for t in stmt.targets):
            return stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == key:
            return stmt
    return None


def _loc(filename: str, node: ast.AST, display: PathDisplay) -> Location:
    return Location(display.show(filename), getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1)


def _attribute_loc(cls, key: str, sources: _Sources, display: PathDisplay) -> Location | None:
    for klass in cls.__mro__:
        if klass is object:
            continue
        filename = _source_file(klass)
        tree = sources.tree(filename)
        node = _class_node(tree, klass) if tree else None
        if node is None:
            continue
        stmt = _assigned(node, key)
        if stmt is not None:
            return _loc(filename, stmt, display)
    return None


def _class_loc(cls, sources: _Sources, display: PathDisplay) -> Location:
    filename = _source_file(cls)
    tree = sources.tree(filename)
    node = _class_node(tree, cls) if tree else None
    if node is None:
        return Location(display.show(filename) if filename else f"<{cls.__module__}>")
    return _loc(filename, node, display)


def _is_deprecated(column: sa.Column) -> bool:
    marker = column.info.get("migrator")
    return marker == DEPRECATED or (isinstance(marker, (list, tuple, set)) and DEPRECATED in marker)


def _describe(models: ModelSet, mappers: list, display: PathDisplay, root: Path) -> None:
    sources = _Sources()
    by_table = {t.key: t for t in models.metadata.sorted_tables}
    for mapper in mappers:
        cls = mapper.class_
        local = mapper.local_table
        if isinstance(local, sa.Table) and local.key in by_table and local.key not in models.tables:
            models.tables[local.key] = _class_loc(cls, sources, display)
            models.table_names[local.key] = cls.__name__
        for prop in mapper.column_attrs:
            for col in prop.columns:
                table = getattr(col, "table", None)
                if not isinstance(table, sa.Table) or table.key not in by_table:
                    continue
                if (table.key, col.name) in models.columns:
                    continue
                loc = _attribute_loc(cls, prop.key, sources, display) or models.tables.get(table.key) \
                    or _class_loc(cls, sources, display)
                models.columns[(table.key, col.name)] = MappedColumn(
                    table.key, col.name, col, loc, f"{cls.__name__}.{prop.key}",
                    deprecated=_is_deprecated(col), loaded=not prop.deferred)
    _describe_core(models, by_table, sources, display, root)


def _describe_core(models: ModelSet, by_table: dict[str, sa.Table], sources: _Sources,
                   display: PathDisplay, root: Path) -> None:
    """Tables and columns no mapper claims (Core ``Table(...)``, columns left out of a mapper):
    located at their ``Table(`` / ``Column(`` call in the modules of the tree."""
    calls = _table_calls(sources, root)
    for key, table in by_table.items():
        call = calls.get(table.name)
        if key not in models.tables:
            models.tables[key] = _loc(*call, display) if call else Location(f"<{models.spec}>")
            models.table_names[key] = table.name
        for col in table.columns:
            if (key, col.name) in models.columns:
                continue
            loc = models.tables[key]
            if call:
                node = _column_call(call[1], col.name)
                if node is not None:
                    loc = _loc(call[0], node, display)
            models.columns[(key, col.name)] = MappedColumn(
                key, col.name, col, loc, f"{table.name}.c.{col.name}", deprecated=_is_deprecated(col),
                loaded=True)


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _first_string(node: ast.Call) -> str | None:
    if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def _table_calls(sources: _Sources, root: Path) -> dict[str, tuple[str, ast.Call]]:
    """``Table("name", ...)`` calls in the modules imported from the tree at ``root``."""
    out: dict[str, tuple[str, ast.Call]] = {}
    for filename in _tree_files(root):
        tree = sources.tree(filename)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "Table":
                name = _first_string(node)
                if name and name not in out:
                    out[name] = (filename, node)
    return out


def _tree_files(root: Path) -> list[str]:
    """Source files of the modules imported from the tree at ``root``."""
    prefixes = tuple({str(root) + os.sep, str(root.resolve()) + os.sep})
    out = []
    for module in list(sys.modules.values()):
        filename = getattr(module, "__file__", None)
        if filename and filename.endswith(".py") and filename.startswith(prefixes):
            out.append(filename)
    return sorted(set(out))


def _column_call(table_call: ast.Call, name: str) -> ast.Call | None:
    for arg in table_call.args[1:]:
        if isinstance(arg, ast.Call) and _call_name(arg) in ("Column", "mapped_column") and _first_string(arg) == name:
            return arg
    return None
