"""The phase classifier (DESIGN section 3): which phase one operation, and one migration, is in.

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
from . import catalog
from .context import TRANSACTION_CONTROL, MigrationContext

E, C, N, U = Phase.EXPAND, Phase.CONTRACT, Phase.NEUTRAL, Phase.UNKNOWN

# The phase of each kind when nothing about the operation changes it.
_BASE = {
    "create_table": E, "create_table_as": E, "drop_table": C, "rename_table": C,
    "add_column": E, "drop_column": C, "rename_column": C, "alter_column_type": E,
    "set_not_null": C, "drop_not_null": E, "set_default": E, "drop_default": C,
    "add_constraint": C, "validate_constraint": N, "drop_constraint": C, "rename_constraint": N,
    "set_logged": N, "set_unlogged": N, "set_tablespace": N, "alter_table_other": N,
    "create_index": E, "drop_index": C, "reindex": N, "rename_index": N,
    "create_object": E, "drop_object": C, "alter_object": N, "rename_object": C,
    "alter_type_add_value": E, "alter_sequence": N,
    "drop_schema": C, "drop_database": C, "create_database": E,
    "vacuum": N, "vacuum_full": N, "analyze": N, "cluster": N, "lock_table": N,
    "refresh_materialized_view": N,
    "insert": N, "update": N, "delete": N, "truncate": N, "select": N, "copy": N,
    "grant": E, "revoke": C, "comment": N, "set_session": N,
    "begin": N, "commit": N, "rollback": N, "savepoint": N,
    "do_block": U, "unparsed": U,
}

# Renaming these does not change what an application's SQL refers to.
NEUTRAL_RENAMES = frozenset({"index", "trigger", "policy", "constraint", "rule", "statistics"})


# ALTER TABLE actions the parser recognized without modelling them, which no release can
# observe and which take only a brief lock (reason text starts with one of these).
_HARMLESS_ALTER_TABLE = ("ALTER TABLE ... SET", "SET (", "RESET", "OWNER", "ENABLE", "DISABLE",
                         "REPLICA IDENTITY", "CLUSTER ON", "SET WITHOUT CLUSTER",
                         "ALTER CONSTRAINT", "ALTER COLUMN SET STATISTICS",
                         "ALTER COLUMN SET STORAGE", "ALTER COLUMN SET COMPRESSION",
                         "ALTER COLUMN SET (", "ALTER COLUMN RESET", "FORCE", "NO FORCE")
# Not here: SET ACCESS METHOD rewrites the whole table under an ACCESS EXCLUSIVE lock.


def unchecked_alter_table(op: Operation) -> bool:
    """An ALTER TABLE action the linter does not model (and so cannot vouch for)."""
    if op.kind != "alter_table_other":
        return False
    reason = (op.reason or "").upper()
    return not reason.startswith(_HARMLESS_ALTER_TABLE)


def base_phase(op: Operation, ctx: MigrationContext) -> Phase:
    """The phase of ``op`` ignoring rejections."""
    kind = op.kind
    if kind == "alter_table_other":
        return U if unchecked_alter_table(op) else N
    phase = _BASE.get(kind, U)
    if kind == "add_constraint":
        # A constraint on a new table or on columns added earlier in this migration cannot make
        # the old release's writes fail (it leaves them NULL or default): expand.
        return E if (op.table_created_here or ctx.columns_created_here(op)) else C
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
    for rule in catalog.rules_for(op.kind):
        findings.extend(run_rule(rule, rule.check, (op, ctx), op.loc))
    if any(f.severity is Severity.ERROR for f in findings):
        return Phase.REJECTED, findings
    return base_phase(op, ctx), findings


def operation_phase(op: Operation, ctx: MigrationContext) -> Phase:
    return evaluate(op, ctx)[0]


def run_rule(rule: catalog.Rule, fn, args: tuple, loc) -> list[Finding]:
    """A rule's findings; a rule that fails is a warning at ``loc``, never a crash and never
    a silent pass."""
    try:
        return to_findings(rule, fn(*args), None, loc=loc)
    except Exception as e:  # noqa: BLE001 - a bug in one rule must not stop the lint
        return [Finding(rule.name, Severity.WARNING, loc,
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
        seen.add(Phase(p))
    if not count:
        return MigrationPhase.EMPTY
    if E in seen and C in seen:
        return MigrationPhase.MIXED
    if E in seen:
        return MigrationPhase.EXPAND
    if C in seen:
        return MigrationPhase.CONTRACT
    return MigrationPhase.CONTRACT if declared == "contract" else MigrationPhase.EXPAND
