"""The phase runner's Python API (the CLI is a thin layer over it).

    expand(config, release)    apply pending expand migrations with release <= R
    contract(config, release)  gate `contract R`, then apply pending contract migrations <= R
    rollback(config, release)  undo applied expand migrations of releases >= R (no contract >= R)
    status(config)             the window; applied / pending / failed per migration
    plan(config, release)      the ordered steps with their SQL; nothing applied
    deployed(config, release)  record that the rollout of a release has finished

Refusals raise :class:`RefusedError` (exit 1), broken projects :class:`UsageError` (exit 2), an
unreachable database or a busy runner lock :class:`IndeterminateError` (exit 3). A migration that
fails while applying is a ``failed`` step in the returned :class:`RunResult` (exit 1).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import sqlalchemy as sa
from packaging.version import Version

from ..backfill.run import pending_backfills, run_pending
from ..config import Config
from ..errors import IndeterminateError, MigratorError, RefusedError
from ..gate.core import evaluate
from ..gate.notify import notify
from ..releases import parse_release
from ..script import Catalog, Revision, load_catalog
from ..locks import live_backfills, runner_lock
from ..tables import backfills, ensure_tables, history
from . import deployments as deploys
from . import history as hist
from .apply import Context, apply_revision, error_text
from .db import check_reachable, make_engine
from .result import RunResult
from .status import _planned, _states, plan, status  # noqa: F401 - status and plan are API

Emit = Callable[[str, dict], None]
Progress = Callable[[], object]  # makes one backfill's progress display (migrator.backfill.progress)


def _noop(event: str, data: dict) -> None:
    return None


# -- the locked session every applying command runs in ------------------------------------------------

@contextmanager
def _session(config: Config, emit: Emit, progress: Progress | None = None) -> Iterator[Context]:
    catalog = load_catalog(config)
    engine = make_engine(config)
    try:
        check_reachable(engine, config)
        ctx = Context(config, catalog, engine, emit, progress=progress)
        with runner_lock(engine, wait=config.lock_wait,
                         on_wait=lambda: emit("lock_wait", {"wait": config.lock_wait})):
            try:
                with engine.begin() as conn:
                    ensure_tables(conn)
                    _close_interrupted(conn)
                    _adopt(conn, catalog)
            except sa.exc.DBAPIError as e:
                raise IndeterminateError(f"cannot prepare migrator's tables: {error_text(ctx, e)}") from None
            yield ctx
    finally:
        engine.dispose()


def _close_interrupted(conn) -> None:
    """Rows still ``running`` while we hold the lock belong to a runner that died; so does a
    backfill ``running`` without its process's lock (it resumes where it stopped)."""
    conn.execute(sa.update(history).where(history.c.status == "running").values(
        status="failed", finished_at=hist.now(),
        error="interrupted: the runner stopped before this attempt finished"))
    live = live_backfills(conn)
    if live is not None:
        dead = sa.update(backfills).where(backfills.c.status == "running")
        if live:
            dead = dead.where(backfills.c.id.not_in(sorted(live)))
        conn.execute(dead.values(status="pending", updated_at=hist.now(),
                                 error="interrupted: the process running it stopped; it resumes "
                                       "where it stopped"))


def _adopt(conn, catalog: Catalog) -> None:
    """Record revisions applied outside migrator (plain ``alembic upgrade``) so the history, and
    the gate reading it, know them."""
    states = hist.read_states(conn, catalog)
    found = [rev for rev in catalog.revisions
             if (known := states.get(rev.id)) is not None and known.state == "applied" and known.last is None]
    if found:  # one statement for all of them: an adopted database may hold thousands
        at, by = hist.now(), hist.who()
        conn.execute(sa.insert(history), [dict(
            revision=rev.id, phase=rev.phase, release=rev.release_text, action="upgrade",
            status="applied", checksum=rev.checksum, path=rev.path, started_at=at, finished_at=at,
            duration_ms=0.0, attempts=0, run_by=by,
            override_reason="applied outside migrator (alembic)") for rev in found])


# -- checks before applying ---------------------------------------------------------------------------

def _check_drift(ctx: Context, accept: dict[str, str]) -> list[str]:
    """Refuse revision files edited after they were applied, unless accepted (recorded)."""
    notes = []
    with ctx.engine.begin() as conn:
        states = _states(conn, ctx.catalog)
        drifted = []
        for rev in ctx.catalog.revisions:
            known = states.get(rev.id)
            row = known.applied_by if known is not None else None
            if known is None or known.state != "applied" or row is None or not row.checksum:
                continue
            if row.checksum != rev.checksum:
                drifted.append((rev, row))
        refused = [(rev, row) for rev, row in drifted if rev.id not in accept]
        if refused:
            lines = [f"  {rev.id} ({rev.path}): checksum {row.checksum[:12]} when applied, "
                     f"{rev.checksum[:12]} now" for rev, row in refused]
            raise RefusedError(
                "revision file(s) changed after they were applied (checksum drift):\n" + "\n".join(lines)
                + "\nrestore the applied version, or accept the edit with --accept-drift REV --reason '...'")
        for rev, row in drifted:
            reason = accept[rev.id]
            row_id = hist.record_start(conn, rev, override_reason=f"checksum drift accepted: {reason}")
            conn.execute(sa.update(history).where(history.c.id == row_id).values(
                status="applied", finished_at=hist.now(), duration_ms=0.0, attempts=0))
            notes.append(f"checksum drift of {rev.id} accepted: {reason}")
    for rid in accept:
        if rid not in {rev.id for rev, _ in drifted}:
            notes.append(f"--accept-drift {rid}: no drift found, nothing recorded")
    return notes


def _lint(ctx: Context, pending: list[Revision], override: dict[str, str]) -> list[str]:
    """Lint the pending migrations (in the context of every migration before them); a rejected
    one is refused unless overridden. Baseline revisions (released history) are never refused."""
    pending = [r for r in pending if not r.is_baseline]
    if not pending:
        return []
    from ..lint.parallel import lint_paths

    try:
        # the linter's cache: a project linted before (the pipeline's `migrator lint`, or the
        # previous run) is not rendered again
        report = lint_paths([str(ctx.catalog.script_location)], ctx.config, include_baseline=True)
    except MigratorError:
        raise
    except Exception as e:  # noqa: BLE001 - a linter crash must not pass for a clean lint
        if all(rev.id in override for rev in pending):
            return [f"linter failed ({type(e).__name__}: {e}); every pending migration is "
                    "overridden: " + "; ".join(f"{r.id}: {override[r.id]}" for r in pending)]
        raise MigratorError(f"the linter failed ({type(e).__name__}: {e}), so the pending "
                            "migrations were not checked; nothing applied (apply anyway with "
                            "--override-lint REV --reason '...' for each)") from None
    by_rev = {m.source.revision: m for m in report.migrations if m.source.revision}
    ctx.linted.update(by_rev)  # what the statements sent while applying are checked against
    refused, notes = [], []
    for rev in pending:
        linted = by_rev.get(rev.id)
        if linted is None or not linted.rejected:
            continue
        if rev.id in override:
            notes.append(f"lint override for {rev.id}: {override[rev.id]}")
            continue
        errors = [f for f in linted.findings if getattr(f.severity, "value", f.severity) == "error"]
        shown = "\n".join(f"    {f.loc.path}:{f.loc.line}:{f.loc.column}: {f.rule}: {f.message}"
                          for f in errors[:5])
        refused.append(f"  {rev.id} ({rev.phase} {rev.release_text}) is rejected by the linter:\n{shown}")
    if refused:
        raise RefusedError("\n".join(["refusing to apply rejected migration(s):", *refused,
                                      "fix them, or apply anyway with --override-lint REV --reason '...'"]))
    return notes


def _pending(ctx: Context, phase: str, release: Version, *, check_order: bool = True) -> list[Revision]:
    """The migrations of ``phase`` with release <= R not applied yet, in apply order; each must
    find everything it builds on applied or planned before it."""
    with ctx.engine.connect() as conn:
        states = _states(conn, ctx.catalog)
    pending = [r for r in ctx.catalog.of_phase(phase) if r.release <= release and states.state(r.id) != "applied"]
    if not check_order:
        return pending
    planned = {r.id for r in pending}
    for r in pending:
        missing = [a for a in sorted(ctx.catalog.ancestors(r.id))
                   if states.state(a) != "applied" and a not in planned]
        if missing:
            m = ctx.catalog.get(missing[0])
            raise RefusedError(f"{r.id} ({r.phase} {r.release_text}) needs {missing[0]} ({m.phase} "
                               f"{m.release_text}) applied first", path=r.path)
    return pending


def _window(ctx: Context):
    with ctx.engine.connect() as conn:
        return _states(conn, ctx.catalog).window


def _apply_all(ctx: Context, result: RunResult, revs: list[Revision], action: str,
               overrides: dict[str, str]) -> None:
    for rev in revs:
        reason = overrides.get(rev.id)
        step = apply_revision(ctx, rev, action=action,
                              override_reason=f"lint override: {reason}" if reason else None)
        result.steps.append(step)
        if step.status == "failed" or step.error:
            break


def _notify(config: Config, event: str, result: RunResult) -> None:
    """Webhooks (``[tool.migrator] webhooks``): never fails or blocks the run."""
    if not config.webhooks:
        return
    doc = result.as_dict()
    try:
        notify(config, event, release=result.release, migrations=[
            {k: m[k] for k in ("revision", "phase", "release", "status", "attempts", "duration_ms", "error")}
            for m in doc["migrations"]], summary=doc["summary"], window=doc["window"])
    except Exception:  # noqa: BLE001 - a notification must never change the run's outcome
        pass


# -- the commands -------------------------------------------------------------------------------------

def expand(config: Config, release: str, *, accept_drift: dict[str, str] | None = None,
           override_lint: dict[str, str] | None = None, dry_run: bool = False,
           on_event: Emit | None = None, progress: Progress | None = None) -> RunResult:
    """``progress``: makes the display of each backfill the run performs (None: silent)."""
    return _forward("expand", config, release, accept_drift or {}, override_lint or {}, dry_run,
                    on_event or _noop, progress=progress)


def contract(config: Config, release: str, *, accept_drift: dict[str, str] | None = None,
             override_lint: dict[str, str] | None = None, dry_run: bool = False,
             on_event: Emit | None = None, release_unknown_ok: bool = False,
             progress: Progress | None = None) -> RunResult:
    """Refused for a release no revision declares and nobody recorded as deployed (a typo would
    apply every contract up to it) unless ``release_unknown_ok``."""
    return _forward("contract", config, release, accept_drift or {}, override_lint or {}, dry_run,
                    on_event or _noop, release_unknown_ok=release_unknown_ok, progress=progress)


def _forward(phase: str, config: Config, release: str, accept: dict[str, str],
             override: dict[str, str], dry_run: bool, emit: Emit, *,
             release_unknown_ok: bool = False, progress: Progress | None = None) -> RunResult:
    v = parse_release(release)
    result = RunResult(phase, str(v), dry_run=dry_run)
    with _session(config, emit, progress) as ctx:
        result.notes += _check_release_known(ctx, phase, v, release_unknown_ok)
        result.notes += _check_drift(ctx, accept)
        if phase == "contract" and not dry_run:
            # a contract killed during its own backfill left it unfinished: the gate below
            # would refuse on it, so finish it first (as a rerun of expand does)
            result.notes += _resume_backfills(ctx, phase, v)
        if phase == "contract" and _pending(ctx, phase, v, check_order=False):
            mine = [r for r in ctx.catalog.of_phase(phase) if r.release <= v]
            result.notes += _contract_gate(ctx, v, mine)
        pending = _pending(ctx, phase, v)
        ctx.scripts.import_revisions(pending)  # a module that cannot import: refused up front
        result.notes += _lint(ctx, pending, override)
        if dry_run:
            result.steps = _planned(pending)
            result.notes += [f"would resume backfill {b['name']} ({b['status']}, {b['rows_done']} rows done)"
                             for b in _unfinished_backfills(ctx, phase, v)]
        else:
            if pending:
                _notify(config, f"{phase}.started", result)
                _apply_all(ctx, result, pending, "upgrade", override)
            if result.ok:
                result.notes += _resume_backfills(ctx, phase, v)
        result.window = _window(ctx)
    if result.steps and not dry_run:
        _notify(config, f"{phase}.{'finished' if result.ok else 'failed'}", result)
    return result


def _check_release_known(ctx: Context, phase: str, v: Version, unknown_ok: bool) -> list[str]:
    """A release no revision declares: expand is a no-op for it (said so); contract is refused
    unless the release was recorded as deployed or reported by an instance, or ``unknown_ok``."""
    declared = {r.release for r in ctx.catalog.revisions}
    if v in declared:
        return []
    if phase == "expand":
        return [deploys.undeclared_note(v, declared, "expand applies the pending expand migrations")]
    with ctx.engine.connect() as conn:
        recorded = {d.release for d in deploys.recorded(conn)}
        registered = deploys.registered_releases(conn)
    refusal = deploys.unknown_release_message(v, declared, recorded, registered)
    if refusal is None:
        return []
    if not unknown_ok:
        raise RefusedError(refusal)
    return [f"release {v} is unknown to the catalog and to the record of deployments; "
            "contracting anyway (--release-unknown-ok)"]


def deployed(config: Config, release: str, *, note: str | None = None) -> dict:
    """Record that the rollout of ``release`` has finished (``migrator_deployments``). Refused
    when the schema does not support that release (its expand is pending, or a newer contract
    is applied): the record would let a contract run under code that cannot work."""
    v = parse_release(release)
    catalog = load_catalog(config)
    engine = make_engine(config)
    try:
        check_reachable(engine, config)
        with engine.begin() as conn:
            ensure_tables(conn)
            window = _states(conn, catalog).window
            if not window.expand_complete_for(v):
                raise RefusedError(
                    f"release {v} cannot be recorded as deployed: expand migrations of release "
                    f"{window.first_pending_expand} <= {v} are not applied (run `migrator expand "
                    f"--release {v}` before deploying it)")
            if not window.not_contracted_past(v):
                raise RefusedError(
                    f"release {v} cannot be recorded as deployed: contract migrations of release "
                    f"{window.min_release} are applied, so the schema no longer supports {v}")
            d = deploys.record(conn, release.strip(), note)
    finally:
        engine.dispose()
    notes = []
    if v not in {r.release for r in catalog.revisions}:
        notes.append(f"no revision declares release {v} (a release without schema changes)")
    return {"version": 1, "command": "deployed", "ok": True, **d.as_dict(), "notes": notes,
            "window": window.as_dict()}


def _unfinished_backfills(ctx: Context, phase: str, v: Version) -> list[dict]:
    """Backfills of this phase's applied revisions of release <= v that a killed or interrupted
    run left unfinished (those of a revision not applied fill nothing anyone reads)."""
    with ctx.engine.connect() as conn:
        if not conn.dialect.has_table(conn, backfills.name):
            return []
        states = _states(conn, ctx.catalog)
        mine = {r.id for r in ctx.catalog.of_phase(phase) if r.release <= v and states.state(r.id) == "applied"}
        return [b for b in pending_backfills(conn) if b["revision"] in mine]


def _resume_backfills(ctx: Context, phase: str, v: Version) -> list[str]:
    """Resume what an earlier run left unfinished, so rerunning the phase after an exit 3 (or a
    killed runner) completes it instead of leaving the gate closed."""
    todo = _unfinished_backfills(ctx, phase, v)
    if not todo:
        return []
    ctx.emit("backfill", {"revision": ", ".join(sorted({b["revision"] for b in todo})),
                          "table": ", ".join(sorted({b["table"] for b in todo}))})
    done = run_pending(ctx.engine, config=ctx.config, names=[b["name"] for b in todo],
                       progress_factory=ctx.progress)
    return [f"resumed backfill {r.name}: {r.status}, {r.rows_done} rows" for r in done]


def _contract_gate(ctx: Context, v: Version, pending: list[Revision]) -> list[str]:
    """The gate's contract check (docs/window.md). Failures of the very migrations this run
    is about to retry do not block it."""
    result = evaluate("contract", v, engine=ctx.engine, config=ctx.config, catalog=ctx.catalog)
    if result.verdict == "unknown":
        raise IndeterminateError(f"contract {v}: the gate could not answer: {result.summary()}")
    mine = {r.id for r in pending}
    blocking = [r for r in result.reasons if r.severity == "error"
                and not (r.code in ("migration_failed", "migration_running") and r.migration in mine)]
    if blocking:
        lines = "\n".join(f"  - {r.message}" for r in blocking)
        raise RefusedError(f"contract {v} refused by the gate:\n{lines}\n"
                           f"once that is done, run `migrator contract --release {v}` again")
    return [f"gate: {r.message}" for r in result.reasons if r.severity == "warning"]


def rollback(config: Config, release: str, *, dry_run: bool = False,
             on_event: Emit | None = None) -> RunResult:
    """Undo the applied expand migrations of releases >= R, newest first; refused once a contract
    migration of a release >= R is applied (the old code's columns are gone)."""
    v = parse_release(release)
    emit = on_event or _noop
    result = RunResult("rollback", str(v), dry_run=dry_run)
    with _session(config, emit) as ctx:
        with ctx.engine.connect() as conn:
            states = _states(conn, ctx.catalog)
        contracted = sorted((r for r in states.revisions if r.phase == "contract" and r.state == "applied"
                             and r.release >= v), key=lambda r: r.release)
        if contracted:
            names = ", ".join(f"{r.revision} ({r.release})" for r in contracted)
            raise RefusedError(f"rollback to before {v} refused: contract migration(s) of release >= {v} "
                               f"are applied: {names}. They removed what older code needs; the "
                               "schema cannot go back past them (roll the code forward instead)")
        undo = [r for r in reversed(ctx.catalog.of_phase("expand"))
                if r.release >= v and states.state(r.id) == "applied"]
        ids = {r.id for r in undo}
        built_on_undone = ctx.catalog.descendants(ids)
        for r in ctx.catalog.revisions:
            if states.state(r.id) == "applied" and r.id not in ids and r.id in built_on_undone:
                dep = sorted(ctx.catalog.ancestors(r.id) & ids)[0]
                raise RefusedError(f"rollback refused: applied {r.phase} migration {r.id} (release "
                                   f"{r.release_text}) depends on {dep}, which would be undone")
        ctx.scripts.import_revisions(undo)
        if dry_run:
            result.steps = _planned(undo, "downgrade")
        else:
            _apply_all(ctx, result, undo, "downgrade", {})
        result.window = _window(ctx)
    if result.steps and not dry_run:
        _notify(config, f"rollback.{'finished' if result.ok else 'failed'}", result)
    return result
