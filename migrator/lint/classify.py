"""The phase classifier (docs/phases.md): which phase one operation, and one migration, is in.

One taxonomy, two halves that cannot disagree:

- :func:`base_phase` says what an operation *would* be if it were allowed: expand (adds),
  contract (removes or tightens), neutral (unobservable), unknown (could not be seen);
- the rules in ``migrator.rules`` decide rejections. :func:`operation_phase` is ``rejected``
  exactly when an error rule (at its catalog severity) fires on the operation, so a rule and
  the classifier never tell different stories.
"""

from __future__ import annotations

from typing import Iterable

from ..model import Finding, MigrationPhase, Operation, Phase, Severity
from ..pgfacts import NEUTRAL_RENAMES
from ..rules._helpers import unchecked_alter_table
from . import catalog
from .context import TRANSACTION_CONTROL, MigrationContext

E, C, N, U = Phase.EXPAND, Phase.CONTRACT, Phase.NEUTRAL, Phase.UNKNOWN
_REJECTED = Phase.REJECTED
# Enum member access (Severity.ERROR) is a descriptor call: bound once for the per-operation loop.
_ERROR, _WARNING = Severity.ERROR, Severity.WARNING

# The phase of each kind when nothing about the operation changes it.
_BASE = {
    "create_table": E, "create_table_as": E, "drop_table": C, "rename_table": C,
    "add_column": E, "drop_column": C, "rename_column": C, "alter_column_type": E,
    "set_not_null": C, "drop_not_null": E, "set_default": E, "drop_default": C,
    "add_constraint": C, "validate_constraint": N, "drop_constraint": C, "rename_constraint": N,
    "set_logged": N, "set_unlogged": N, "set_tablespace": N, "alter_table_other": N,
    "alter_identity": N,
    # a new generation expression changes what every row holds (and rewrites it); dropping it
    # leaves the running release's inserts without the value; a new parent shows this table's
    # rows in the parent's queries, leaving it removes them
    "set_generated_expression": C, "drop_generated_expression": C, "inherit": E, "no_inherit": C,
    # attaching shows the partition's rows through the parent (adds); detaching removes them
    # from the running release's queries; a disabled trigger or a row-level security switch
    # changes what the running release relies on or sees.
    "attach_partition": E, "detach_partition": C, "enable_trigger": E, "disable_trigger": C,
    "row_security": C,
    "create_index": E, "drop_index": C, "reindex": N, "rename_index": N,
    "create_object": E, "drop_object": C, "alter_object": N, "rename_object": C,
    "alter_type_add_value": E, "alter_sequence": N,
    # a domain constraint tightens every column of the domain; validating it changes nothing
    # any release can observe (its scan is judged by a rule)
    "add_domain_constraint": C, "validate_domain_constraint": N,
    "drop_schema": C, "drop_database": C, "create_database": E,
    "vacuum": N, "vacuum_full": N, "analyze": N, "cluster": N, "lock_table": N,
    "refresh_materialized_view": N,
    "insert": N, "update": N, "delete": N, "truncate": N, "select": N, "copy": N,
    "grant": E, "revoke": C, "comment": N, "set_session": N,
    "begin": N, "commit": N, "rollback": N, "savepoint": N,
    "do_block": U, "unparsed": U,
}

# Identity actions on an existing column: a brief ACCESS EXCLUSIVE lock, no rewrite, no scan.
# BY DEFAULT only supplies a value when the insert gives none (like SET DEFAULT); ALWAYS makes
# an insert that gives a value fail, and DROP IDENTITY removes the value inserts rely on: both
# tighten what the old release may write. Sequence options (RESTART, SET INCREMENT) are neutral.
_IDENTITY = {"by default": E, "always": C, "drop": C, "options": N}


def domain_of(op: Operation) -> str | None:
    """The domain an ALTER DOMAIN operation changes (constraint actions name the constraint)."""
    return op.value if op.kind in ("drop_constraint", "rename_constraint") else op.name


def base_phase(op: Operation, ctx: MigrationContext) -> Phase:
    """The phase of ``op`` ignoring rejections."""
    kind = op.kind
    if kind in ("drop_object", "create_object") and ctx.view_redefined(op):
        return N  # DROP VIEW v + CREATE VIEW v: fits either phase (recreated-view warns)
    if kind == "alter_table_other":
        return N if op.brief else U
    if kind == "alter_identity":
        identity = _IDENTITY.get(op.identity or "", U)
        return E if op.table_created_here and identity is C else identity
    phase = _BASE.get(kind, U)
    if kind == "add_constraint":
        # A constraint on a new table or on columns added earlier in this migration cannot make
        # the old release's writes fail (it leaves them NULL or default): expand. A USING INDEX
        # constraint covers the columns of its index.
        return E if (op.table_created_here or ctx.columns_created_here(op)) else C
    if kind == "drop_default" and op.table and ctx.default_drop_is_harmless(op):
        # The column is new, or this migration made it nullable first: an insert that leaves
        # it out still succeeds (it stores NULL), so nothing the old release does fails.
        return E
    if op.object_type == "domain" and phase is C and ctx.created_here("domain", domain_of(op)):
        return E  # no column uses a domain created in this migration yet
    if kind == "lock_table":
        return N
    if kind in ("create_object", "alter_object") and (op.object_type or "") == "policy":
        # A policy decides which rows the running release sees: contract, unless its table is
        # new (CREATE POLICY on a table created here).
        return E if op.table_created_here else C
    if kind == "rename_object" and ctx.renamed_object_created_here(op):
        return E  # e.g. a value of an enum created in this migration: no release uses it yet
    if kind == "create_index":
        if op.unique and not (op.table_created_here or ctx.columns_created_here(op)):
            return C  # the old release's duplicate writes now fail
        return E
    if kind == "revoke" and ctx.objects_created_here(op):
        return E  # revoking on a function/sequence/type created here: no release uses it yet
    if op.table_created_here and phase is C:
        # Removing or tightening on a table created earlier in this migration: no release
        # has used the table yet.
        return E
    if kind == "rename_object" and (op.object_type or "") in NEUTRAL_RENAMES:
        return N
    if kind in ("drop_object", "create_object") and (op.object_type or "") == "index":
        return C if kind == "drop_object" else E
    return phase


def evaluate(op: Operation, ctx: MigrationContext) -> tuple[Phase, list[Finding]]:
    """Run every operation rule on ``op``: its phase and the findings (catalog severities)."""
    findings: list[Finding] = []
    args = (op, ctx)
    for rule in catalog.rules_for(op.kind):
        found = run_rule(rule, rule.check, args, op.loc)
        if found:
            findings.extend(found)
    for f in findings:
        if f.severity is _ERROR:
            return _REJECTED, findings
    return base_phase(op, ctx), findings


def operation_phase(op: Operation, ctx: MigrationContext) -> Phase:
    return evaluate(op, ctx)[0]


def run_rule(rule: catalog.Rule, fn, args: tuple, loc) -> list[Finding]:
    """A rule's findings; a rule that fails is a warning at ``loc``, never a crash and never
    a silent pass."""
    try:
        results = fn(*args)
        if not results:  # None, or an empty list
            return []
        return to_findings(rule, results, None, loc=loc)
    except Exception as e:  # noqa: BLE001 - a bug in one rule must not stop the lint
        return [Finding(rule.name, _WARNING, loc,
                        f"internal error in rule {rule.name} ({type(e).__name__}: {e}): this was "
                        "not fully checked; please report it", rule.fix)]


def to_findings(rule: catalog.Rule, results, op: Operation | None, loc=None) -> list[Finding]:
    out = []
    for r in results or ():
        if isinstance(r, Finding):
            out.append(r)
        else:
            out.append(Finding(rule=rule.name, severity=rule.severity,
                               loc=loc if loc is not None else op.loc, message=str(r), fix=rule.fix))
    return out


def migration_phase(phases: Iterable[Phase | Operation], declared: str | None = None) -> MigrationPhase:
    """The phase of a migration from its operations' phases (or operations carrying ``phase``).

    Neutral, unknown and rejected operations do not decide it: a rejected operation is reported
    by its own rule, and counting it too would report it twice (a rename is neither purely
    expand nor contract). No operations: ``empty``; only neutral ones: the declared phase, or
    expand.
    """
    seen: set[Phase] = set()
    count = 0
    for p in phases:
        if isinstance(p, Operation):
            if p.kind in TRANSACTION_CONTROL:
                continue
            p = getattr(p, "phase", None) or U
        count += 1
        seen.add(p if type(p) is Phase else Phase(p))
    if not count:
        return MigrationPhase.EMPTY
    if E in seen and C in seen:
        return MigrationPhase.MIXED
    if E in seen:
        return MigrationPhase.EXPAND
    if C in seen:
        return MigrationPhase.CONTRACT
    return MigrationPhase.CONTRACT if declared == "contract" else MigrationPhase.EXPAND
