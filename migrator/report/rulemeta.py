"""Rule facts for the formats that describe rules (SARIF): from the catalog when the rule is
in it, else a minimal entry (source diagnostics such as an unparsable statement)."""

from __future__ import annotations

from dataclasses import dataclass

from ..lint.catalog import all_rules, render_doc


@dataclass(frozen=True)
class RuleMeta:
    name: str
    severity: str  # "error" | "warning"
    summary: str
    why: str = ""
    fix: str = ""
    markdown: str = ""


def _value(v) -> str:
    return str(getattr(v, "value", v) or "")


def from_rule(rule) -> RuleMeta:
    """A RuleMeta from a catalog :class:`~migrator.lint.catalog.Rule`."""
    markdown = ""
    try:
        markdown = render_doc(rule)
    except Exception:  # noqa: BLE001 - a doc that cannot render must not break a report
        markdown = ""
    fix = "\n\n".join(p for p in (rule.fix, rule.fix_sql) if p)
    if not markdown:
        markdown = f"**{rule.name}**: {rule.summary}\n\n{rule.why}\n\n{rule.fix}\n"
    return RuleMeta(rule.name, _value(rule.severity) or "error", rule.summary, rule.why, fix, markdown)


def catalog_meta() -> list[RuleMeta]:
    """Every rule of the catalog; empty when the catalog cannot be loaded."""
    return [from_rule(r) for r in all_rules()]


def fallback(name: str, severity: str, message: str) -> RuleMeta:
    return RuleMeta(name, severity, message, markdown=f"**{name}**: {message}")
