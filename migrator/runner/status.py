"""The read-only commands of the phase runner: ``status`` (the window; applied / pending /
failed per migration) and ``plan`` (the ordered steps for a release with their SQL). They read
the catalog and the history and never load Alembic's runtime, the gate or the backfill, so they
start fast (``migrator.runner.api`` re-exports both)."""

from __future__ import annotations

from pathlib import Path

from ..config import Config, find_database_url
from ..errors import MigratorError, UsageError
from ..model import Severity
from ..releases import parse_release
from ..script import Catalog, Revision, load_catalog
from ..state import States
from . import history as hist
from .deployments import undeclared_note
from .db import check_reachable, given_url, make_engine
from .result import MigrationStatus, RunResult, Status, StepResult


def _states(conn, catalog: Catalog) -> States:
    return hist.read_states(conn, catalog)


def _planned(revs: list[Revision], action: str = "upgrade") -> list[StepResult]:
    return [StepResult(r.id, r.phase, r.release_text, action, "planned", path=r.path,
                       message=r.message.splitlines()[0] if r.message else "") for r in revs]


def status(config: Config) -> Status:
    catalog = load_catalog(config)
    engine = make_engine(config)
    try:
        check_reachable(engine, config)
        with engine.connect() as conn:
            states = _states(conn, catalog)
    finally:
        engine.dispose()
    out = []
    for r in states.revisions:
        rev = catalog.get(r.revision)
        row, lrow = r.applied_by, r.last
        out.append(MigrationStatus(
            r.revision, r.phase, rev.release_text if rev else str(r.release), r.state,
            path=rev.path if rev else (lrow.path if lrow else None), on_disk=rev is not None,
            drift=bool(rev and row and row.checksum and r.state == "applied" and row.checksum != rev.checksum),
            applied_at=row.finished_at.isoformat() if (row and row.finished_at and r.state == "applied") else None,
            error=lrow.error if (lrow and r.state == "failed") else None,
        ))
    return Status(states.window, out, given_url(config), notes=list(states.problems))


def plan(config: Config, release: str, *, phase: str = "all") -> RunResult:
    """The ordered steps for release R (pending expand, then pending contract) with their SQL as
    PostgreSQL would run it; nothing is applied. Without a database URL every migration counts
    as pending."""
    v = parse_release(release)
    if phase not in ("all", "expand", "contract"):
        raise UsageError(f"--phase must be expand, contract or all, got {phase!r}")
    catalog = load_catalog(config)
    result = RunResult("plan", str(v), dry_run=True)
    note = undeclared_note(v, {r.release for r in catalog.revisions}, "the plan holds the pending migrations")
    if note:
        result.notes.append(note)
    states: States | None = None
    try:
        find_database_url(config)
        has_url = True
    except UsageError:
        has_url = False
    if has_url:
        engine = make_engine(config)
        try:
            check_reachable(engine, config)
            with engine.connect() as conn:
                states = _states(conn, catalog)
                result.window = states.window
        finally:
            engine.dispose()
    else:
        result.notes.append("no database URL: every migration counts as pending")
    phases = ("expand", "contract") if phase == "all" else (phase,)
    for ph in phases:
        revs = [r for r in catalog.of_phase(ph) if r.release <= v
                and (states is None or states.state(r.id) != "applied")]
        for step in _planned(revs):
            step.sql = _render_sql(catalog, catalog.get(step.revision), config)
            result.steps.append(step)
    _lint_verdicts(catalog, config, result)
    return result


def _lint_verdicts(catalog: Catalog, config: Config, result: RunResult) -> None:
    """Give each planned step the verdict the runner's lint check will reach before applying it
    (same linter, same whole-project context, same cache), so the plan never lists a step as
    if it would run while `expand` is going to refuse it."""
    if not result.steps:
        return
    from ..lint.parallel import lint_paths  # the linter is loaded only when there is a plan

    try:
        report = lint_paths([str(catalog.script_location)], config, include_baseline=True)
    except MigratorError as e:
        for step in result.steps:
            step.lint = {"verdict": "not linted", "errors": [str(e)], "warnings": 0}
        return
    by_rev = {m.source.revision: m for m in report.migrations if m.source.revision}
    for step in result.steps:
        rev = catalog.get(step.revision)
        linted = by_rev.get(step.revision)
        if rev is not None and rev.is_baseline:
            step.lint = {"verdict": "baseline", "errors": [], "warnings": 0}
            continue
        if linted is None:
            step.lint = {"verdict": "not linted", "errors": [], "warnings": 0}
            continue
        errors = [f"{f.loc.path}:{f.loc.line}:{f.loc.column}: {f.rule}: {f.message}"
                  for f in linted.findings if f.severity is Severity.ERROR]
        warnings = sum(1 for f in linted.findings if f.severity is Severity.WARNING)
        verdict = "rejected" if errors else ("warnings" if warnings else "clean")
        step.lint = {"verdict": verdict, "errors": errors, "warnings": warnings}


def _render_sql(catalog: Catalog, rev: Revision, config: Config) -> list[str]:
    from ..sources.isolated import RenderSettings, render_one_isolated

    src = render_one_isolated(Path(rev.path), rev.path, ini_path=catalog.alembic_ini,
                              settings=RenderSettings.from_config(config))
    out = []
    for st in src.statements:
        sql = st.sql.strip().rstrip(";")
        if not st.in_transaction:
            sql = "-- outside a transaction (autocommit_block)\n" + sql
        out.append(sql + ";")
    for d in src.diagnostics:
        out.append(f"-- {d.loc.path}:{d.loc.line}: {d.message}")
    return out
