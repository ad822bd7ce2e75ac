"""The rules of the models check: their names per comparison, and findings built from the rule
catalog (``migrator/rules/``), so severity, fix and configured overrides come from one place."""

from __future__ import annotations

from ..lint.catalog import get_rule
from ..model import Finding, Location, Severity

# the rule for "a mapped table or column is missing", per comparison
MISSING_RULES = {
    "expand": "models-not-expanded",  # release V's models, schema after expand V
    "previous": "expand-breaks-previous-models",  # release V-1's models, schema after expand V
    "contract": "contract-breaks-models",  # release V's models, schema after contract V
    "live": "models-not-expanded",  # release V's models, the live database (gate ready --models)
}

RULES = (
    "models-not-expanded", "expand-breaks-previous-models", "contract-breaks-models",
    "model-type-mismatch", "unwritten-not-null-column", "model-server-default-missing",
)


def finding(rule_name: str, loc: Location, message: str,
            configured: dict[str, str] | None = None) -> Finding | None:
    """A finding of ``rule_name`` with the catalog's severity and fix, as ``[tool.migrator.rules]``
    adjusts it (``"off"``: None)."""
    rule = get_rule(rule_name)
    if rule is None:  # a bug in migrator: every rule named here has a module in migrator/rules/
        raise LookupError(f"rule {rule_name!r} is not in the catalog")
    level = (configured or {}).get(rule_name, rule.severity.value)
    if level == "off":
        return None
    severity = Severity(level) if level in ("error", "warning") else rule.severity
    return Finding(rule_name, severity, loc, message, rule.fix)
