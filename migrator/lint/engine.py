"""The lint engine: sources in, a :class:`~migrator.model.LintReport` out.

Per migration, in three steps:

1. :func:`parse_source` -- every statement parsed once into operations. A pure function of the
   source and the server version: safe to cache by ``source.checksum`` and to run in a process
   pool.
2. :func:`lint_parsed` -- the context pass, the operation rules and the classifier, then the
   migration rules (phase, mixed, mismatch), the source's own diagnostics, configured
   severities and suppressions. It reads the :class:`SchemaState` left by the earlier
   migrations and advances it (in place) to this migration's state-out.
3. :func:`lint_sources` -- steps 1 and 2 for every source, in migration order.

State must be computed sequentially (:mod:`migrator.lint.cache` keys its entries on what a
migration's result depends on).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..errors import UsageError
from ..model import (Finding, LintedMigration, LintReport, Location, MigrationPhase,
                     MigrationSource, Operation, Phase, Severity)
from . import catalog
from .classify import base_phase, evaluate, migration_phase, run_rule
from .context import TRANSACTION_CONTROL, MigrationContext
from .state import SchemaState
from .suppress import apply_suppressions, might_suppress


@dataclass
class MigrationView:
    """What a migration rule (``check_migration``) sees."""

    source: MigrationSource
    operations: list[Operation]
    phases: list[Phase]  # per operation: final phase (rejected/unknown included)
    base_phases: list[Phase]  # per operation: the phase ignoring rejections
    phase: MigrationPhase
    server_version: int

    @property
    def declared(self) -> str | None:
        d = (self.source.declared_phase or "").strip().lower()
        return d or None

    def first(self, phase: Phase) -> Operation | None:
        for op, p in zip(self.operations, self.phases):
            if p is phase and op.kind not in TRANSACTION_CONTROL:
                return op
        return None


def _unparsed(stmt, reason: str) -> Operation:
    return Operation(kind="unparsed", loc=stmt.loc, sql=stmt.sql, in_transaction=stmt.in_transaction,
                     reason=reason)


def parse_source(source: MigrationSource, server_version: int = 15) -> list[Operation]:
    """Every statement of ``source`` parsed once. Never raises: what the parser cannot
    handle becomes an ``unparsed`` operation with the reason."""
    from ..sql.parse import parse_statement

    ops: list[Operation] = []
    for stmt in source.statements:
        try:
            parsed = parse_statement(stmt, server_version)
        except Exception as e:  # noqa: BLE001 - a parser bug must not hide the statement
            parsed = [_unparsed(stmt, f"the parser failed: {type(e).__name__}: {e}")]
        for op in parsed:
            op.in_transaction = stmt.in_transaction
            if stmt.previous_type and op.kind == "alter_column_type":
                op.previous_type = stmt.previous_type
        ops.extend(parsed)
    return ops


_REJECTED = Phase.REJECTED

# Rules the sources report as diagnostics (migrator.sources); configurable like catalog rules.
SOURCE_RULES = frozenset({
    "bad-migration-header", "hidden-data-migration", "missing-environment-variable",
    "missing-phase-tag", "revision-import-error", "revision-render-error", "revision-graph",
    "undecodable-file",
})


def check_rule_config(config: Config) -> None:
    """Raise UsageError for an unknown rule name or severity in ``config.rules``."""
    for name, value in (config.rules or {}).items():
        if catalog.get_rule(name) is None and name not in SOURCE_RULES:
            raise UsageError(f"[tool.migrator.rules]: unknown rule {name!r} (see `migrator rules`)")
        if str(value).lower() not in ("error", "warning", "off"):
            raise UsageError(f"[tool.migrator.rules]: {name} = {value!r}: use \"error\", \"warning\" or \"off\"")


def _configured(findings: list[Finding], config: Config) -> list[Finding]:
    out = []
    for f in findings:
        setting = str((config.rules or {}).get(f.rule, "")).lower()
        if setting == "off":
            continue
        if setting in ("error", "warning"):
            f = Finding(f.rule, Severity(setting), f.loc, f.message, f.fix)
        out.append(f)
    return out


def lint_parsed(source: MigrationSource, ops: list[Operation], state: SchemaState,
                config: Config) -> LintedMigration:
    """Lint one parsed migration. ``state`` is read and advanced to this migration's state-out."""
    rollback = source.direction == "down"
    for op in ops:
        op.rollback = rollback
    ctx = MigrationContext(state=state, server_version=config.server_version, operations=ops,
                           transaction_assumed=not source.transaction_declared,
                           functions=configured_functions(config))
    findings: list[Finding] = []
    phases: list[Phase] = []
    bases: list[Phase] = []
    for op in ops:
        ctx.before(op)
        phase, op_findings = evaluate(op, ctx)
        # evaluate's phase is the base phase unless a rule rejected the operation
        base = base_phase(op, ctx) if phase is _REJECTED else phase
        op.phase = phase
        phases.append(phase)
        bases.append(base)
        findings.extend(op_findings)
        ctx.after(op)
    hidden = catalog.get_rule("hidden-body")
    for stmt in source.statements:
        if stmt.note:
            findings.append(Finding(hidden.name, hidden.severity, stmt.loc, stmt.note, hidden.fix))
    phase = migration_phase(
        [p for op, p in zip(ops, phases) if op.kind not in TRANSACTION_CONTROL],
        source.declared_phase,
    )
    view = MigrationView(source, ops, phases, bases, phase, config.server_version)
    # A rollback part has no phase of its own to declare or to mix: the phase rules are about
    # forward steps. Its operations are still checked for locks and data loss above.
    for rule in () if rollback else catalog.migration_rules():
        findings.extend(run_rule(rule, rule.check_migration, (view,), _migration_loc(source, ops)))
    findings.extend(_diagnostics(source))
    if might_suppress(source.text):
        spans = {}
        if source.kind in ("sql", "stdin"):  # Alembic statements sit on one .py line each
            spans = {(st.loc.line, st.loc.column): st.loc.line + st.sql.count("\n")
                     for st in source.statements}
        findings = apply_suppressions(findings, source.text, source.path,
                                      known_rules={r.name for r in catalog.all_rules()}, spans=spans)
    findings = _configured(findings, config)
    findings.sort(key=lambda f: (f.loc.path, f.loc.line, f.loc.column, f.rule))
    return LintedMigration(source=source, operations=ops, phase=phase, findings=findings)


def _diagnostics(source: MigrationSource) -> list[Finding]:
    """The source's own findings, each with its rule's fix."""
    out = []
    for f in source.diagnostics:
        if not f.fix:
            rule = catalog.get_rule(f.rule)
            if rule is not None:
                f = Finding(f.rule, f.severity, f.loc, f.message, rule.fix)
        out.append(f)
    return out


def _migration_loc(source: MigrationSource, ops: list[Operation]) -> Location:
    if ops:
        return ops[0].loc
    if source.statements:
        return source.statements[0].loc
    return Location(source.path, 1, 1)


def lint_migration(source: MigrationSource, state: SchemaState, config: Config, *,
                   operations: list[Operation] | None = None) -> LintedMigration:
    """Lint one migration (parsing it unless ``operations`` are given, e.g. from a parse pool);
    ``state`` is advanced to its state-out."""
    if operations is None:
        operations = parse_source(source, config.server_version)
    return lint_parsed(source, operations, state, config)


def lint_paths(paths: list[str], config: Config, **kwargs) -> LintReport:
    """Find, load and lint migrations (``migrator.lint_paths``); see :mod:`migrator.lint.parallel`."""
    from .parallel import lint_paths as _lint_paths

    return _lint_paths(paths, config, **kwargs)


def lint_sources(sources: list[MigrationSource], config: Config,
                 state: SchemaState | None = None) -> LintReport:
    """Lint migrations given in migration order, carrying the schema state from one to the next."""
    check_rule_config(config)
    state = SchemaState() if state is None else state
    linted = [lint_migration(s, state, config) for s in sources]
    return LintReport(migrations=linted, files=len({s.path for s in sources}))


def configured_functions(config: Config) -> dict[str, str]:
    """``[tool.migrator] functions``: lower-case name (schema kept when given) -> volatility."""
    return {str(k).lower(): str(v).lower() for k, v in (config.functions or {}).items()}
