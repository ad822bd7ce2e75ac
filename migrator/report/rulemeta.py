"""Rule facts for the formats that describe rules (SARIF): from the catalog when the rule is
in it, else a minimal entry (source diagnostics such as an unparsable statement)."""

from __future__ import annotations

from dataclasses import dataclass


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


def from_module(rule) -> RuleMeta:
    """A RuleMeta from a catalog rule module (NAME, SEVERITY, SUMMARY, WHY, FIX_SQL, ...)."""
    name = rule.NAME
    summary = str(getattr(rule, "SUMMARY", "") or name)
    why = str(getattr(rule, "WHY", "") or "")
    fix = str(getattr(rule, "FIX_SQL", "") or "")
    markdown = ""
    try:
        from ..lint.catalog import render_doc

        markdown = render_doc(rule)
    except Exception:  # noqa: BLE001 - a doc that cannot render must not break a report
        markdown = ""
    if not markdown:
        markdown = f"**{name}**: {summary}\n\n{why}\n\n" + (f"```sql\n{fix}\n```\n" if fix else "")
    return RuleMeta(name, _value(getattr(rule, "SEVERITY", "error")) or "error", summary, why, fix, markdown)


def catalog_meta() -> list[RuleMeta]:
    """Every rule of the catalog; empty when the catalog cannot be loaded."""
    try:
        from ..lint.catalog import all_rules
    except ImportError:
        return []
    return [from_module(r) for r in all_rules()]


def fallback(name: str, severity: str, message: str) -> RuleMeta:
    return RuleMeta(name, severity, message, markdown=f"**{name}**: {message}")
