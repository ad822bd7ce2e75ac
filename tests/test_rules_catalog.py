"""Every rule is complete, and every example in its doc is executed: the docs cannot lie."""

from __future__ import annotations

import types

import pytest

from migrator.config import Config
from migrator.lint import catalog
from migrator.lint.engine import lint_sources
from migrator.model import Severity
from tests.cases.harness import lint_text, rule_names

RULES = catalog.all_rules()

# DESIGN section 3 "rejected in any phase", plus the migration-level and visibility rules.
REQUIRED = {
    "rename-column", "rename-table", "change-column-type", "create-index-non-concurrently",
    "drop-index-non-concurrently", "reindex-non-concurrently", "concurrently-in-transaction",
    "constraint-without-not-valid", "unique-constraint-without-index", "exclusion-constraint",
    "volatile-default", "stored-generated-column", "serial-or-identity-column",
    "not-null-without-default", "set-not-null-without-check", "truncate", "truncate-cascade",
    "unbatched-update-delete", "vacuum-full", "cluster", "lock-table", "set-logged",
    "set-tablespace", "refresh-materialized-view-non-concurrently", "drop-schema-or-database",
    "mixed-phase-migration", "phase-mismatch", "unparsed-statement", "hidden-body",
    "missing-phase", "unknown-previous-type", "suppression-without-reason", "unused-suppression",
}


def _kind(rule) -> str:
    # missing-phase is about files; every other example is linted as standard input, which
    # declares no phase and is not asked to.
    return "sql" if rule.name == "missing-phase" else "stdin"


def _examples(attr: str):
    return [pytest.param(r, i, ex, id=f"{r.name}-{attr.lower()}{i}")
            for r in RULES for i, ex in enumerate(getattr(r, attr.lower()))]


def test_catalog_covers_every_rejected_operation_of_the_design():
    assert REQUIRED <= {r.name for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_has_complete_metadata(rule):
    assert rule.severity in (Severity.ERROR, Severity.WARNING)
    for text in (rule.summary, rule.why, rule.fix, rule.fix_sql, rule.fix_alembic):
        assert text.strip()
    assert "op." in rule.fix_alembic or "phase =" in rule.fix_alembic, "the Alembic recipe shows code"
    assert rule.bad and rule.good
    assert catalog.get_rule(rule.name) is rule


def lint_example(rule, example: str, tmp_path, encoding: str = "utf-8"):
    if rule.example_kind == "models":
        # a project history in git, checked by `migrator check --models` at its last release
        from migrator.check.api import check_models
        from tests.support.models_repo import config_of, example_repo

        project, release = example_repo(tmp_path, example)
        return check_models(config_of(project), release)
    if rule.example_kind == "alembic":
        from migrator.sources.alembic_offline import render_revision
        from migrator.sources.discover import order_revisions

        path = tmp_path / "example_revision.py"
        path.write_text(example)
        # ordered as discovery orders a project: what is wrong with the graph is reported too
        return lint_sources(order_revisions([render_revision(path, "versions/example_revision.py")]),
                            Config())
    return lint_text(example, kind=_kind(rule), encoding=encoding)


@pytest.mark.parametrize("rule,index,example", _examples("BAD"))
def test_bad_example_raises_exactly_its_rule(rule, index, example, tmp_path):
    report = lint_example(rule, example, tmp_path, encoding=rule.bad_encoding)
    assert rule_names(report) == {rule.name}, [f.as_dict() for m in report.migrations for f in m.findings]
    finding = next(f for m in report.migrations for f in m.findings if f.rule == rule.name)
    assert finding.message and finding.fix and finding.loc.line >= 1
    assert finding.severity is rule.severity or rule.name == "missing-phase"
    assert finding.fix == rule.fix or rule.engine


@pytest.mark.parametrize("rule,index,example", _examples("GOOD"))
def test_good_example_raises_nothing(rule, index, example, tmp_path):
    report = lint_example(rule, example, tmp_path)
    assert rule_names(report) == set(), [f.as_dict() for m in report.migrations for f in m.findings]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_doc_shows_why_recipe_and_examples(rule):
    doc = catalog.render_doc(rule)
    assert doc.startswith(f"# {rule.name}\n")
    assert rule.why.splitlines()[0] in doc
    assert rule.fix_sql.splitlines()[0] in doc and rule.fix_alembic.splitlines()[0] in doc
    for example in rule.bad + rule.good:
        assert example.strip() in doc


def test_unknown_rule_is_none():
    assert catalog.get_rule("no-such-rule") is None


def _module(**attrs):
    base = dict(NAME="fake-rule", SEVERITY="error", SUMMARY="s", WHY="w", FIX="f", FIX_SQL="x",
                FIX_ALEMBIC="op.x()", BAD=["SELECT 1"], GOOD=["SELECT 2"], check=lambda op, ctx: ())
    base.update(attrs)
    m = types.ModuleType("migrator.rules.fake_rule")
    for k, v in base.items():
        if v is not None:
            setattr(m, k, v)
    return m


def test_a_complete_rule_module_loads():
    assert catalog._load(_module()).name == "fake-rule"


@pytest.mark.parametrize("broken", [
    {"NAME": "Fake_Rule"}, {"NAME": "other-name"}, {"SEVERITY": "fatal"}, {"WHY": ""},
    {"FIX_ALEMBIC": None}, {"BAD": []}, {"GOOD": "SELECT 1"}, {"check": None},
    {"check_migration": lambda mig: ()}, {"BAD_ENCODING": "no-such-codec"},
])
def test_an_incomplete_rule_module_is_refused(broken):
    with pytest.raises(catalog.RuleDefinitionError):
        catalog._load(_module(**broken))


def test_kind_dispatch_never_changes_an_answer():
    """A rule's KINDS only saves work: running every rule on every operation of the labeled
    cases and the rule examples finds exactly what the dispatched engine finds."""
    from migrator.lint import catalog, classify
    from migrator.lint.context import MigrationContext  # noqa: F401 - the engine builds these
    from migrator.lint.engine import parse_source  # noqa: F401
    from tests.cases.harness import lint_text, load_cases

    texts = [c.sql for c in load_cases()]
    texts += [ex for r in catalog.all_rules() if r.example_kind == "sql" for ex in (*r.bad, *r.good)]
    seen = set()
    for text in texts:
        for m in lint_text(text).migrations:
            for op in m.operations:
                for rule in catalog.operation_rules():
                    if rule.kinds is not None and op.kind not in rule.kinds:
                        seen.add(op.kind)
                        # the rule is not sent this kind: it must have nothing to say about it
                        assert not list(rule.check(op, _AnyContext())), (rule.name, op.kind, text)
    assert seen  # dispatch actually skipped something


class _AnyContext:
    """A context that says yes to everything a rule could ask, so a rule that would fire on a
    kind outside its KINDS cannot hide behind a false context answer."""

    server_version = 15

    def in_transaction(self, op):
        return True

    def holds_lock(self, *a, **k):
        return True

    def columns_created_here(self, op):
        return False

    def view_redefined(self, op):
        return True

    def __getattr__(self, name):
        class _State:
            def __getattr__(self, _):
                return lambda *a, **k: False
        return _State()
