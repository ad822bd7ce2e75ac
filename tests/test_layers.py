"""The package imports only downward: every import of a ``migrator`` module, at module level or
inside a function, goes to a lower layer (or stays inside its own package), and no import of the
project's own modules hides behind ``except ImportError``.

The layers, lowest first. A unit is a top-level module (``migrator.config``) or a subpackage
(``migrator.lint``); units in one layer do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import migrator
import migrator.rules

LAYERS: list[list[str]] = [
    ["migrator"],  # the package itself: the public API's lazy names (strings, not imports)
    ["migrator.errors"],
    ["migrator.dburl", "migrator.releases", "migrator.pg_builtin_functions"],
    ["migrator.config", "migrator.dberrors", "migrator.window", "migrator.pgfacts", "migrator.engines",
     "migrator.store"],
    ["migrator.model", "migrator.retry", "migrator.state", "migrator.tables", "migrator.locks"],
    ["migrator.sql"],  # one parse of each statement into the operation model
    ["migrator.script"],  # the revision catalog: finding the project, the graph
    ["migrator.sources"],  # files to MigrationSources (rendering revisions offline)
    ["migrator.rules"],  # one module per rule, over the operation model
    ["migrator.lint"],  # runs the rules: engine, classifier, schema state, cache
    ["migrator.report"],  # output formats
    ["migrator.backfill"],
    ["migrator.gate"],
    ["migrator.runner"],  # applies migrations: asks the linter, the gate, the backfill
    ["migrator.check"],
    ["migrator.cli"],
    ["migrator.__main__"],
]
LAYER = {unit: i for i, layer in enumerate(LAYERS) for unit in layer}

ROOTS = {"migrator": Path(migrator.__file__).parent,
         "migrator.rules": Path(list(migrator.rules.__path__)[0])}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: name -> (file, is a package __init__)."""
    out: dict[str, tuple[Path, bool]] = {}
    for base, root in ROOTS.items():
        for f in sorted(root.rglob("*.py")):
            parts = list(f.relative_to(root).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            if is_pkg:
                parts = parts[:-1]
            if base == "migrator" and parts[:1] == ["rules"]:
                continue
            out[".".join([base, *parts])] = (f, is_pkg)
    return out


MODULES = _modules()


def _unit(module: str) -> str:
    parts = module.split(".")
    return module if len(parts) == 1 else ".".join(parts[:2])


def _imports(module: str, path: Path, is_pkg: bool):
    """(line, imported module, guarded by except ImportError) for every import of a migrator
    module in the file, wherever it sits."""
    tree = ast.parse(path.read_bytes(), str(path))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}

    def guarded(node) -> bool:
        while node in parents:
            child, node = node, parents[node]
            if isinstance(node, ast.Try) and child in node.body and any(
                    h.type is None or "ImportError" in ast.unparse(h.type)
                    or "ModuleNotFoundError" in ast.unparse(h.type) for h in node.handlers):
                return True
        return False

    package = module.split(".") if is_pkg else module.split(".")[:-1]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in MODULES]
            targets = subs or [target]
        for t in targets:
            if t == "migrator" or t.startswith("migrator."):
                yield node.lineno, t, guarded(node)


def _edges():
    for module, (path, is_pkg) in MODULES.items():
        for line, target, guard in _imports(module, path, is_pkg):
            yield module, path, line, target, guard


def test_every_unit_of_the_package_has_a_layer():
    missing = sorted({_unit(m) for m in MODULES} - set(LAYER))
    assert not missing, f"give these a layer in LAYERS: {missing}"


def test_packages_import_only_downward_even_inside_functions():
    upward = []
    for module, path, line, target, _ in _edges():
        src, dst = _unit(module), _unit(target)
        if src == dst:
            continue
        if LAYER[dst] >= LAYER[src]:
            upward.append(f"{path}:{line}: {module} imports {target} "
                          f"(layer {LAYER[src]} -> {LAYER[dst]})")
    assert not upward, "imports that do not go downward:\n" + "\n".join(upward)


def test_no_import_of_the_project_hides_behind_except_import_error():
    hidden = [f"{path}:{line}: {target}" for _, path, line, target, guard in _edges() if guard]
    assert not hidden, "except ImportError around migrator's own modules:\n" + "\n".join(hidden)


@pytest.mark.parametrize("source, expected", [
    ("from ..runner.api import expand\n", "migrator.runner.api"),
    ("def f():\n    from ..gate import core\n", "migrator.gate.core"),
    ("try:\n    from ..lint import engine\nexcept ImportError:\n    pass\n", "migrator.lint.engine"),
])
def test_the_checker_sees_relative_function_level_and_guarded_imports(tmp_path, source, expected):
    f = tmp_path / "m.py"
    f.write_text(source)
    found = list(_imports("migrator.sql.m", f, False))
    assert [t for _, t, _ in found] == [expected]
    assert found[0][2] is ("ImportError" in source)
