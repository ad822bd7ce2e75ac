"""Every rule name the code can emit has a rule module in migrator/rules/ (so `migrator explain NAME`,
`migrator rules` and `[tool.migrator.rules]` know it)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import migrator
from migrator.lint import catalog
from migrator.lint.engine import SOURCE_RULES

PACKAGE = Path(migrator.__file__).parent
_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)+$")
# calls whose first argument (or rule=) is the name of the rule a finding reports
_EMITTERS = {"Finding", "error", "warn_once", "finding"}


def _callee(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _rule_argument(call: ast.Call) -> ast.expr | None:
    for kw in call.keywords:
        if kw.arg in ("rule", "rule_name"):
            return kw.value
    return call.args[0] if call.args else None


def emitted_rule_names() -> dict[str, str]:
    """Rule name -> where it is emitted, for every literal rule name passed to a finding."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) in _EMITTERS:
                arg = _rule_argument(node)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


def test_the_collector_sees_the_known_emitters():
    names = emitted_rule_names()
    # one from each reader: .sql headers, Alembic import, the revision graph, decoding
    assert {"bad-migration-header", "revision-import-error", "revision-graph",
            "undecodable-file", "missing-environment-variable"} <= set(names)
    assert all(_KEBAB.match(n) for n in names), names


def test_every_emitted_rule_name_has_a_rule_module():
    missing = {n: where for n, where in emitted_rule_names().items() if catalog.get_rule(n) is None}
    assert not missing, f"emitted but not in migrator/rules/: {missing}"


def test_every_source_rule_has_a_rule_module():
    assert not {n for n in SOURCE_RULES if catalog.get_rule(n) is None}


def test_source_rules_are_engine_rules():
    for name in SOURCE_RULES:
        rule = catalog.get_rule(name)
        assert rule is None or rule.engine, name
