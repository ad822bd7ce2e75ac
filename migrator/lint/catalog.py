"""The rule catalog: discovers the rule modules in ``migrator.rules`` (``migrator/rules/``, one
module per rule), checks that each one is complete, and renders a rule's documentation.

A rule module defines ``NAME`` (kebab-case, its module name in snake case), ``SEVERITY``
("error" | "warning"), ``SUMMARY``, ``WHY``, ``FIX`` (the recipe in one line, copied into every
finding), ``FIX_SQL``, ``FIX_ALEMBIC``, ``BAD`` and ``GOOD`` (example migrations, executed by the
tests) and exactly one of:

- ``check(op, ctx)``: per operation, yields messages (str) or :class:`~migrator.model.Finding` s;
- ``check_migration(mig)``: per migration (phases), yields the same;
- ``ENGINE = True``: the engine itself emits it (suppression bookkeeping, source notes), or a
  source reader reports it as a diagnostic (``EXAMPLE_KIND = "alembic"`` when the examples are
  revision modules rather than SQL; ``EXAMPLE_KIND = "models"`` when ``migrator check --models``
  emits it and the examples are releases' migrations and models).

``BAD_ENCODING`` (optional, default "utf-8"): the encoding the BAD examples are saved in before
they are linted (GOOD ones are always UTF-8), for rules about how a file is encoded.
"""

from __future__ import annotations

import codecs
import importlib
import pkgutil
import re
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType
from typing import Callable

from ..model import Severity

_KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_TEXT_FIELDS = ("SUMMARY", "WHY", "FIX", "FIX_SQL", "FIX_ALEMBIC")


class RuleDefinitionError(Exception):
    """A rule module is incomplete: a bug in migrator, not in the user's input."""


@dataclass(frozen=True)
class Rule:
    name: str
    severity: Severity
    summary: str
    why: str
    fix: str
    fix_sql: str
    fix_alembic: str
    bad: tuple[str, ...]
    good: tuple[str, ...]
    check: Callable | None
    check_migration: Callable | None
    engine: bool
    module: str
    # "sql" | "alembic" (BAD/GOOD are revision modules) | "models" (BAD/GOOD are releases'
    # migrations and models, checked by ``migrator check --models``)
    example_kind: str = "sql"
    kinds: frozenset[str] | None = None  # operation kinds check() looks at; None: every kind
    bad_encoding: str = "utf-8"  # the encoding BAD examples are saved in (GOOD: UTF-8)

    @property
    def scope(self) -> str:
        return "operation" if self.check else "migration" if self.check_migration else "engine"


def _load(module: ModuleType) -> Rule:
    where = module.__name__
    name = getattr(module, "NAME", None)
    if not isinstance(name, str) or not _KEBAB.match(name):
        raise RuleDefinitionError(f"{where}: NAME must be a kebab-case string")
    if name.replace("-", "_") != where.rsplit(".", 1)[1]:
        raise RuleDefinitionError(f"{where}: NAME {name!r} does not match the module name")
    sev = getattr(module, "SEVERITY", None)
    if sev not in ("error", "warning"):
        raise RuleDefinitionError(f"{where}: SEVERITY must be 'error' or 'warning'")
    for f in _TEXT_FIELDS:
        v = getattr(module, f, None)
        if not isinstance(v, str) or not v.strip():
            raise RuleDefinitionError(f"{where}: {f} must be a non-empty string")
    for f in ("BAD", "GOOD"):
        v = getattr(module, f, None)
        if not isinstance(v, (list, tuple)) or not v or not all(isinstance(x, str) and x.strip() for x in v):
            raise RuleDefinitionError(f"{where}: {f} must be a non-empty list of SQL strings")
    check = getattr(module, "check", None)
    check_migration = getattr(module, "check_migration", None)
    engine = bool(getattr(module, "ENGINE", False))
    if sum(bool(x) for x in (check, check_migration, engine)) != 1:
        raise RuleDefinitionError(f"{where}: define exactly one of check, check_migration, ENGINE = True")
    example_kind = getattr(module, "EXAMPLE_KIND", "sql")
    if example_kind not in ("sql", "alembic", "models"):
        raise RuleDefinitionError(f"{where}: EXAMPLE_KIND must be 'sql', 'alembic' or 'models'")
    bad_encoding = getattr(module, "BAD_ENCODING", "utf-8")
    try:
        codecs.lookup(bad_encoding)
    except (LookupError, TypeError):
        raise RuleDefinitionError(f"{where}: BAD_ENCODING must name a text encoding") from None
    return Rule(
        name=name, severity=Severity(sev), summary=module.SUMMARY.strip(), why=module.WHY.strip(),
        fix=module.FIX.strip(), fix_sql=module.FIX_SQL.strip(), fix_alembic=module.FIX_ALEMBIC.strip(),
        bad=tuple(module.BAD), good=tuple(module.GOOD), check=check,
        check_migration=check_migration, engine=engine, module=where, example_kind=example_kind,
        kinds=_kinds(module, where), bad_encoding=bad_encoding,
    )


def _kinds(module: ModuleType, where: str) -> frozenset[str] | None:
    kinds = getattr(module, "KINDS", None)
    if kinds is None:
        return None
    from ..model import KINDS as ALL_KINDS

    unknown = set(kinds) - ALL_KINDS
    if unknown:
        raise RuleDefinitionError(f"{where}: KINDS names unknown operation kinds {sorted(unknown)}")
    return frozenset(kinds)


@lru_cache(maxsize=1)
def _catalog() -> dict[str, Rule]:
    import migrator.rules as pkg

    rules: dict[str, Rule] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        rule = _load(importlib.import_module(f"{pkg.__name__}.{info.name}"))
        rules[rule.name] = rule
    return rules


def all_rules() -> list[Rule]:
    """Every rule, sorted by name."""
    return list(_catalog().values())


def get_rule(name: str) -> Rule | None:
    return _catalog().get(name)


def operation_rules() -> list[Rule]:
    return [r for r in all_rules() if r.check]


_dispatch: tuple[object, dict[str, tuple[Rule, ...]]] = (None, {})


def rules_for(kind: str) -> tuple[Rule, ...]:
    """The operation rules that look at operations of ``kind`` (a rule's KINDS, or every kind);
    memoized per catalog."""
    global _dispatch
    rules = _catalog()
    if _dispatch[0] is not rules:
        _dispatch = (rules, {})
    table = _dispatch[1]
    found = table.get(kind)
    if found is None:
        found = table[kind] = tuple(r for r in operation_rules() if r.kinds is None or kind in r.kinds)
    return found


def migration_rules() -> list[Rule]:
    return [r for r in all_rules() if r.check_migration]


_MODELS_EXAMPLES = (
    "Each example is a project's history: `# release X expand` / `# release X contract` sections "
    "are the `upgrade()` bodies of that release's migrations, `# release X models` sections its "
    "models module (with `import sqlalchemy as sa`, `Mapped`, `mapped_column` and a declarative "
    "`Base` imported), and `migrator check --models app.models:Base --release` of the last "
    "release is run on it.")


def _models_suppressing(rule: Rule) -> str:
    return (f"Set the severity or turn it off in `[tool.migrator.rules]`: `{rule.name} = \"warning\"`. "
            "A column the code stopped using stays declared with `info={\"migrator\": "
            "\"deprecated\"}` and `deferred=True`: the check then lets migrations drop it.")


def _fence(lang: str, text: str) -> str:
    return f"```{lang}\n{text.strip()}\n```"


def _encoding_name(encoding: str) -> str:
    name = codecs.lookup(encoding).name  # "iso8859-1" for "latin-1"
    return "Latin-1" if name == "iso8859-1" else name


def render_doc(rule: Rule) -> str:
    """The rule's documentation as markdown (``migrator explain RULE``)."""
    lang = "sql" if rule.example_kind == "sql" else "python"
    parts = [
        f"# {rule.name}",
        f"**Severity:** {rule.severity.value}",
        rule.summary,
        "## Why it is dangerous",
        rule.why,
        "## Safe recipe",
        rule.fix,
        "### SQL",
        _fence("sql", rule.fix_sql),
        "### Alembic",
        _fence("python", rule.fix_alembic),
        "## Examples",
        "### Rejected" if rule.severity is Severity.ERROR else "### Flagged",
        *[_fence(lang, b) for b in rule.bad],
        "### Accepted",
        *[_fence(lang, g) for g in rule.good],
        *(["Lines `-- next migration` separate migrations that are linted together, in order."]
          if any("-- next migration" in x for x in rule.bad + rule.good) else []),
        *([f"The rejected examples are saved as {_encoding_name(rule.bad_encoding)}, the accepted "
           "ones as UTF-8."] if rule.bad_encoding != "utf-8" else []),
        *([_MODELS_EXAMPLES] if rule.example_kind == "models" else []),
        "## Suppressing",
        _models_suppressing(rule) if rule.example_kind == "models" else (
            f"Put `-- migrator: ignore[{rule.name}] <reason>` on the statement's line or the line above "
            f"it (`# migrator: ignore[{rule.name}] <reason>` in an Alembic revision). Set the severity "
            f"or turn it off in `[tool.migrator.rules]`: `{rule.name} = \"warning\"`."),
    ]
    return "\n\n".join(parts) + "\n"
