"""Applying (or undoing) one revision: through the project's env.py, in its own transaction, with
a short lock_timeout and the retry schedule, INVALID indexes repaired, declared backfills run after
the commit, every attempt recorded in the history."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from ..backfill.api import collecting
from ..backfill.run import run_backfill
from ..config import Config
from ..dberrors import root_cause
from ..dburl import redact_text
from ..store import INVALID_INDEXES
from ..script import Catalog, Revision
from .alembic_run import Scripts, alembic_config
from .db import url_for_alembic
from .guard import StatementGuard
from .history import forget_backfills, now, record_finish, record_start
from .result import StepResult
from ..retry import RetryPolicy, Schedule, is_lock_timeout


@dataclass
class Context:
    """What every step of one run shares."""

    config: Config
    catalog: Catalog
    engine: sa.Engine
    emit: Callable[[str, dict], None] = field(default=lambda event, data: None)
    _scripts: Scripts | None = field(default=None, repr=False)
    # revision id -> what the lint before applying saw of it (LintedMigration)
    linted: dict = field(default_factory=dict)
    # makes the progress display of one backfill (migrator.backfill.progress); None: silent
    progress: Callable[[], object] | None = None

    @property
    def scripts(self) -> Scripts:
        """The project's Alembic scripts, built once per run from the catalog."""
        if self._scripts is None:
            cfg = alembic_config(self.catalog, url_for_alembic(self.engine.url), stdout=io.StringIO())
            self._scripts = Scripts(self.catalog, cfg)
        return self._scripts

    @property
    def postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def secrets(self) -> tuple[str, ...]:
        pw = self.engine.url.password
        return (str(pw),) if pw else ()


def error_text(ctx: Context, e: BaseException) -> str:
    """The database's own error (not a follow-up such as PendingRollbackError), redacted."""
    orig = root_cause(e)
    text = f"{type(orig).__name__}: {orig}".strip()
    return redact_text(text, ctx.secrets())


# -- tables a revision touches, and INVALID indexes on them ------------------------------------------

def touched_tables(ctx: Context, rev: Revision) -> set[str] | None:
    """Tables the revision's upgrade names, from the operations the lint before applying parsed;
    None when it cannot be told (then nothing is dropped before the run, and only indexes that
    turned INVALID during it fail the step)."""
    linted = ctx.linted.get(rev.id)
    if linted is None:
        return None
    return {op.table for op in linted.operations if op.table}


def invalid_indexes(ctx: Context, tables: set[str] | None) -> list[tuple[str, str, str]]:
    with ctx.engine.connect() as conn:
        found = [(r.schema, r.index, r.table) for r in conn.execute(sa.text(INVALID_INDEXES))]
    return [f for f in found if tables is None or f[2] in tables]


def drop_invalid_indexes(ctx: Context, tables: set[str] | None) -> list[str]:
    """Drop INVALID indexes (left by a failed or interrupted CREATE INDEX CONCURRENTLY) on the
    given tables, concurrently, so the revision can build them again."""
    dropped: list[str] = []
    if not tables:
        return dropped
    bad = invalid_indexes(ctx, tables)
    if not bad:
        return dropped
    prep = ctx.engine.dialect.identifier_preparer
    with ctx.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for schema, index, table in bad:
            name = f"{prep.quote(schema)}.{prep.quote(index)}"
            conn.exec_driver_sql(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            dropped.append(f"{schema}.{index}")
            ctx.emit("repaired", {"index": f"{schema}.{index}", "table": table})
    return dropped


# -- one revision --------------------------------------------------------------------------------

def downgrade_target(rev: Revision) -> str:
    """The Alembic destination that undoes exactly this revision."""
    if len(rev.down_revisions) == 1:
        return rev.down_revisions[0]
    if not rev.down_revisions:
        return f"{rev.id}@base"
    return rev.id + "-1"


def offline_operations(ctx: Context, rev: Revision, action: str) -> list:
    """What the offline rendering shows this step sending: the upgrade as the lint before
    applying parsed it, or the downgrade rendered now (isolated, like lint)."""
    if action == "upgrade":
        linted = ctx.linted.get(rev.id)
        return list(linted.operations) if linted is not None else []
    from ..lint.engine import parse_source
    from ..sources.isolated import RenderSettings, render_one_isolated

    src = render_one_isolated(Path(rev.path), rev.path, ini_path=ctx.catalog.alembic_ini,
                              settings=RenderSettings.from_config(ctx.config), function="downgrade")
    return parse_source(src, ctx.config.server_version)


def _revision_module(scripts: Scripts, rev: Revision):
    """The revision's imported module (None when it cannot be imported: Alembic says why)."""
    try:
        return scripts.modules[rev.id]._migrator_load()
    except BaseException as e:  # noqa: BLE001 - reported by the run itself
        if isinstance(e, KeyboardInterrupt):
            raise
        return None


def _run_alembic(ctx: Context, rev: Revision, action: str, guard: StatementGuard) -> list:
    """One Alembic command for one revision on a fresh connection, every statement checked by
    ``guard`` before it runs; returns declared backfills."""
    scripts = ctx.scripts
    conn = ctx.engine.connect()
    try:
        if ctx.postgres:  # also in the URL's options; set here for a pooled or proxied server
            conn.exec_driver_sql(f"SET lock_timeout = {int(ctx.config.lock_timeout_ms)}")
            if ctx.config.statement_timeout_ms:
                conn.exec_driver_sql(f"SET statement_timeout = {int(ctx.config.statement_timeout_ms)}")
        conn.commit()  # env.py must find the connection outside a transaction
        scripts.cfg.attributes["connection"] = conn
        name = "upgrade" if action == "upgrade" else "downgrade"
        module = _revision_module(scripts, rev)
        function = getattr(module, name, None) if module is not None else None
        if callable(function):
            setattr(module, name, guard.around(function))
        try:
            with guard.watching(), collecting(revision=rev.id, release=rev.release_text) as specs:
                if action == "upgrade":
                    scripts.run(rev.id)
                else:
                    scripts.run(downgrade_target(rev), downgrade=True)
        finally:
            scripts.cfg.attributes.pop("connection", None)
            if callable(function):
                setattr(module, name, function)
        if guard.refused is not None:  # the revision swallowed the refusal: nothing is kept
            if conn.in_transaction():
                conn.rollback()
            raise guard.refused
        if conn.in_transaction():
            conn.commit()
        return list(specs)
    finally:
        conn.close()


def _run_backfills(ctx: Context, rev: Revision, specs: list) -> list[dict]:
    out = []
    for spec in specs:
        ctx.emit("backfill", {"revision": rev.id, "table": getattr(spec, "table", "?")})
        res = run_backfill(ctx.engine, spec, revision=rev.id, release=rev.release_text, config=ctx.config,
                           progress=ctx.progress() if ctx.progress else None)
        out.append(_backfill_dict(res))
    return out


def _backfill_dict(res) -> dict:
    if hasattr(res, "as_dict"):
        return res.as_dict()
    from dataclasses import asdict, is_dataclass

    return asdict(res) if is_dataclass(res) else {"result": str(res)}


def apply_revision(ctx: Context, rev: Revision, *, action: str = "upgrade",
                   override_reason: str | None = None) -> StepResult:
    """Apply (``upgrade``) or undo (``downgrade``) one revision; never raises for a failure of
    the revision itself (the step says ``failed``, the history says why)."""
    started = now()
    t0 = time.perf_counter()
    with ctx.engine.begin() as c:
        row_id = record_start(c, rev, action=action, override_reason=override_reason)
    step = StepResult(rev.id, rev.phase, rev.release_text, action, "failed", path=rev.path,
                      message=rev.message.splitlines()[0] if rev.message else "",
                      override_reason=override_reason)
    schedule = Schedule(RetryPolicy.from_config(ctx.config))
    tables = touched_tables(ctx, rev) if (ctx.postgres and action == "upgrade") else set()
    guard = StatementGuard(ctx.config, rev.path, rev.phase, action,
                           offline_operations(ctx, rev, action) if ctx.postgres and not rev.is_baseline else [],
                           enabled=ctx.postgres and not rev.is_baseline)  # baseline: released history
    before = set(invalid_indexes(ctx, None)) if (ctx.postgres and action == "upgrade") else set()
    error: str | None = None
    specs: list = []
    ctx.emit("start", {"revision": rev.id, "action": action})
    while True:
        schedule.begin_attempt()
        try:
            if ctx.postgres and action == "upgrade":
                step.repaired += drop_invalid_indexes(ctx, tables)
            specs = _run_alembic(ctx, rev, action, guard)
            error = None
            break
        except Exception as e:  # noqa: BLE001 - recorded and reported, never a traceback
            if guard.refused is not None:
                error = redact_text(guard.refused.describe(), ctx.secrets())
                break
            error = error_text(ctx, e)
            if is_lock_timeout(e) and schedule.wait_for_next():
                ctx.emit("retry", {"revision": rev.id, "attempt": schedule.attempts, "error": error})
                continue
            if is_lock_timeout(e):
                error = (f"lock_timeout ({ctx.config.lock_timeout_ms} ms) hit on each of "
                         f"{schedule.attempts} attempt(s): a long transaction holds a lock this "
                         f"migration needs; {error}")
            break
    if error is None and ctx.postgres and action == "upgrade":
        left = [ix for ix in invalid_indexes(ctx, None)
                if ix not in before or (tables is not None and ix[2] in tables)]
        if left:
            error = ("INVALID index(es) left behind: " + ", ".join(f"{s}.{i} on {t}" for s, i, t in left)
                     + " (run again: migrator drops and rebuilds them)")
    step.status = ("applied" if action == "upgrade" else "rolled_back") if error is None else "failed"
    if error is None and specs:
        # the revision is committed; an unfinished backfill is the gate's business (not ready)
        # and `migrator backfill` / the next run resumes it
        try:
            step.backfills = _run_backfills(ctx, rev, specs)
        except Exception as e:  # noqa: BLE001
            step.error = "backfill failed (resumable: migrator backfill): " + redact_text(
                getattr(e, "message", None) or error_text(ctx, e), ctx.secrets())
    if error is not None:
        step.error = error
    step.attempts = schedule.attempts
    with ctx.engine.begin() as c:
        record_finish(c, row_id, status=step.status, attempts=step.attempts, started=started,
                      error=step.error)
        if step.status == "rolled_back":
            forget_backfills(c, rev.id)
    step.duration_ms = (time.perf_counter() - t0) * 1000.0
    ctx.emit("done", {"step": step})
    return step
