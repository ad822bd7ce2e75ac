"""The readiness gate (docs/window.md): ``ready``, ``contract`` and ``rollback`` verdicts for a
release, decided from one snapshot of the database and the catalog on disk.

Every answer is a statement about the compatibility window (``migrator.window``): the deciding
functions here are pure (snapshot + catalog in, verdict out); ``evaluate`` is the one entry point
that reads the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from packaging.version import InvalidVersion, Version

from ..config import Config
from ..dberrors import REJECTED, classify, reason
from ..dburl import NO_URL, redact_text
from ..errors import UsageError
from ..releases import parse_release, release_label
from ..script import Catalog, find_project, load_catalog
from ..state import Attempt, States, catalog_entries, derive
from ..window import MigrationRecord, Window
from .snapshot import Snapshot, libpq_url, take_snapshot, take_snapshot_libpq

__all__ = ["GATES", "GateResult", "NO_CATALOG", "Reason", "catalog_entries", "decide", "evaluate",
           "states_of", "wait_for"]

GATES = ("ready", "contract", "rollback")
NO_CATALOG = object()  # pass as ``catalog`` to answer from history alone without looking on disk
PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
DOCUMENT_VERSION = 1


@dataclass
class Reason:
    code: str
    message: str
    migration: str | None = None
    phase: str | None = None
    severity: str = "error"  # "error" fails the gate; "warning" is reported and passes

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "migration": self.migration,
                "phase": self.phase, "severity": self.severity}


@dataclass
class GateResult:
    gate: str
    release: str
    verdict: str  # pass | fail | unknown
    reasons: list[Reason] = field(default_factory=list)
    window: Window | None = None
    backfills: list[dict] = field(default_factory=list)
    instances: dict[str, Any] = field(default_factory=dict)
    total_ms: float = 0.0

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    @property
    def exit_code(self) -> int:
        return {PASS: 0, FAIL: 1}.get(self.verdict, 3)

    @property
    def warnings(self) -> list[Reason]:
        return [r for r in self.reasons if r.severity == "warning"]

    def summary(self) -> str:
        errors = [r for r in self.reasons if r.severity == "error"]
        if errors:
            return errors[0].message
        if self.warnings:
            return self.warnings[0].message
        return f"release {self.release} may run against this schema"

    def as_dict(self) -> dict:
        w = self.window
        return {
            "version": DOCUMENT_VERSION,
            "gate": self.gate,
            "release": self.release,
            "verdict": self.verdict,
            "result": self.verdict,
            "reasons": [r.as_dict() for r in self.reasons],
            "window": w.as_dict() if w else {"min_release": None, "max_release": None,
                                               "first_pending_expand": None},
            "pending": {
                "expand": [_record_dict(r) for r in (w.pending_expand if w else [])],
                "contract": [_record_dict(r) for r in (w.pending_contract if w else [])],
            },
            "backfills": [_jsonable(b) for b in self.backfills],
            "instances": self.instances,
            "timings": {"total_ms": round(self.total_ms, 3)},
        }


def _record_dict(r: MigrationRecord) -> dict:
    return {"revision": r.revision, "release": str(r.release), "state": r.state}


def _jsonable(d: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}


# -- the catalog on disk ---------------------------------------------------------------------

def load_catalog_if_any(config: Config | None) -> Catalog | None:
    """The catalog of the configured Alembic project, or None when no project is configured
    here (the gate then answers from the history table alone, with a warning). Reading it
    imports neither Alembic nor any revision (see :mod:`migrator.script`)."""
    if config is None:
        return None
    project = find_project(config, required=False)
    return None if project is None else load_catalog(config, project)


# -- deciding --------------------------------------------------------------------------------

def states_of(snap: Snapshot, catalog: Any = None) -> States:
    """Every revision's state and the window (:func:`migrator.state.derive`, as the runner reads them)."""
    return derive(catalog, snap.history, snap.version_heads)


def _half_applied_reason(h: Attempt, severity: str = "error") -> Reason:
    command = (f"`migrator {h.phase} --release {h.release}`" if h.action == "upgrade"
               else f"`migrator rollback --release {h.release}`")
    if h.status == "running":
        msg = (f"{h.phase} migration {h.revision} (release {h.release}) is running or was interrupted "
               f"during {h.action} (if no runner is running, {command} finishes it)")
        return Reason("migration_running", msg, h.revision, h.phase, severity)
    detail = f": {redact_text(h.error.strip().splitlines()[0])}" if h.error and h.error.strip() else ""
    msg = (f"{h.phase} migration {h.revision} (release {h.release}) failed during {h.action}{detail} "
           f"(fix the cause, then run {command} again)")
    return Reason("migration_failed", msg, h.revision, h.phase, severity)


def _contracted_past(states: States, v: Version) -> list[Reason]:
    if states.window.not_contracted_past(v):
        return []
    return [Reason("contracted_past",
                   f"contract migration {r.revision} of release {r.release} is applied: code of release {v} "
                   f"may use what it removed (run release {r.release} or newer)", r.revision, "contract")
            for r in sorted(states.revisions, key=lambda r: r.release)
            if r.phase == "contract" and r.state == "applied" and r.release > v]


def concerns(v: Version, phase: str, release: str | Version) -> bool:
    """Whether the state of a migration matters to code of release V: an expand it needs
    (release <= V) or a contract that removes what it may use (release > V). A failed or running
    migration that does not concern V is reported as a warning: a release that is running must
    not be declared unready (and its pods taken out of service) because the next release's
    expand is in progress or failed."""
    rv = release_label(release)
    if rv is None:
        return True
    return rv <= v if phase == "expand" else rv > v


def _newest_touched_expand(states: States):
    touched = [r.release for r in states.revisions if r.phase == "expand" and r.state != "pending"]
    return max(touched, default=None)


def decide_ready(v: Version, snap: Snapshot, states: States) -> list[Reason]:
    window = states.window
    reasons: list[Reason] = []
    for r in window.pending_expand:
        if r.release <= v and r.state in ("pending", "rolled_back"):
            reasons.append(Reason("expand_pending", f"expand migration {r.revision} of release {r.release} "
                                  f"is not applied: release {v} needs it (run `migrator expand --release {v}`)",
                                  r.revision, "expand"))
    reasons += _contracted_past(states, v)
    reasons += [_half_applied_reason(h, "error" if concerns(v, h.phase, h.release) else "warning")
                for h in states.half_applied()]
    # An INVALID index cannot be traced to its migration: it concerns the newest release whose
    # expand has been started (and any later one); older releases, which may be serving right now
    # while the next expand builds an index CONCURRENTLY, get a warning.
    newest = _newest_touched_expand(states)
    ix_severity = "error" if newest is None or v >= newest else "warning"
    for ix in snap.invalid_indexes:
        reasons.append(Reason("invalid_index",
                              f"index {ix['schema']}.{ix['index']} on {ix['table']} is INVALID (a failed or "
                              "unfinished CREATE INDEX CONCURRENTLY): drop it and create it again",
                              severity=ix_severity))
    reasons += [_backfill_reason(b, v, states) for b in needed_backfills(snap, states, v)
                if b["status"] != "finished"]
    if not window.supports(v) and not any(r.severity == "error" for r in reasons):
        reasons.append(Reason("outside_window", f"release {v} is outside the compatibility window "
                              f"({window.span()})"))
    return reasons


def needed_backfills(snap: Snapshot, states: States, v: Version) -> list[dict]:
    """The declared backfills release V depends on: those of the applied revisions of releases
    <= V (a backfill whose revision is rolled back or not applied fills nothing V reads; one
    whose revision is unknown counts)."""
    out = []
    for b in snap.backfills:
        rev = states.get(b["revision"])
        if rev is not None and rev.state != "applied":
            continue
        release = release_label(b["release"])
        if release is None or release <= v:
            out.append(b)
    return out


def _backfill_reason(b: dict, v: Version, states: States) -> Reason:
    rev = states.get(b["revision"])
    phase = rev.phase if rev is not None else "expand"
    done = f"after {b['rows_done'] or 0} rows"
    if b["status"] == "failed":
        error = redact_text(b["error"].strip().splitlines()[0]) if (b.get("error") or "").strip() else ""
        return Reason("backfill_failed", f"backfill {b['name']} (release {b['release']}) failed {done}"
                      + (f": {error}" if error else "") + f"; release {v} needs it finished: fix the cause, "
                      "then run `migrator backfill` to resume it", b["revision"], phase)
    if b["status"] == "running" and b.get("alive") is not False:
        return Reason("backfill_unfinished", f"backfill {b['name']} (release {b['release']}) is running, "
                      f"{done}: release {v} needs it finished", b["revision"], phase)
    state = "was interrupted (no process runs it)" if b["status"] == "running" else "is pending"
    return Reason("backfill_unfinished", f"backfill {b['name']} (release {b['release']}) {state} {done}: "
                  f"release {v} needs it finished; run `migrator backfill` (or rerun `migrator {phase} "
                  f"--release {b['release']}`) to resume it", b["revision"], phase)


def live_instances(snap: Snapshot, ttl: float) -> list[dict]:
    cutoff = snap.now - timedelta(seconds=ttl)
    return [i for i in snap.instances if i["stopped_at"] is None and i["last_seen"] >= cutoff]


def decide_contract(v: Version, snap: Snapshot, ttl: float, require_registry: bool) -> list[Reason]:
    if not snap.instances:
        if require_registry:
            return [Reason("registry_empty", "no application instance has ever registered, so whether an "
                           f"older release than {v} still runs cannot be checked (--require-registry)")]
        return [_deployment_reason(v, snap.deployments)]
    old: dict[str, list[str]] = {}
    for inst in live_instances(snap, ttl):
        try:
            older = Version(inst["release"]) < v
        except InvalidVersion:
            older = True
        if older:
            old.setdefault(inst["release"], []).append(inst["instance_id"])
    reasons = []
    for release, ids in sorted(old.items()):
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        reasons.append(Reason("old_instance_running",
                              f"{len(ids)} live instance(s) run release {release}, older than {v}: {shown} "
                              f"(finish rolling out release {v}, or wait until they stop reporting)"))
    return reasons


def _deployment_reason(v: Version, deployments: list[dict]) -> Reason:
    """With no instance registry, the record of deployments says what runs: the latest recorded
    deployment must be V or newer (a later record of an older release is a rollback of the code)."""
    latest = deployments[-1] if deployments else None
    try:
        latest_v = Version(str(latest["release"]).strip()) if latest else None
    except InvalidVersion:
        latest_v = None
    if latest_v is not None and latest_v >= v:
        when = latest["recorded_at"]
        when = when.isoformat(timespec="seconds") if hasattr(when, "isoformat") else str(when)
        return Reason("registry_empty", "no application instance has ever registered; the latest recorded "
                      f"deployment is release {latest['release']} ({when}), so no release older than {v} "
                      "runs on the pipeline's word", severity="warning")
    seen = f"the latest recorded deployment is release {latest['release']}" if latest else \
        "no deployment is recorded"
    return Reason("deployment_unrecorded",
                  f"no application instance has ever registered and {seen}: nothing says release {v} "
                  f"is rolled out. After its rollout finishes, run `migrator deployed --release {v}` "
                  "(or have the application call migrator.register_instance)")


def decide_rollback(v: Version, states: States) -> list[Reason]:
    """The schema still supports V: no contract newer than V applied, and nothing half-applied
    that concerns V (a half-applied expand of a newer release only adds: it is a warning and
    does not block switching back to V)."""
    reasons = _contracted_past(states, v)
    for h in states.half_applied():
        reasons.append(_half_applied_reason(h, "error" if concerns(v, h.phase, h.release) else "warning"))
    return reasons


def decide(kind: str, v: Version, snap: Snapshot, catalog: Any, *, ttl: float = 60.0,
           require_registry: bool = False, catalog_known: bool = True) -> GateResult:
    """The verdict of one gate from a snapshot (pure: no I/O)."""
    states = states_of(snap, catalog)
    window = states.window
    reasons = [Reason("bad_release", p, severity="warning") for p in states.problems]
    if not catalog_known and kind != "rollback":
        reasons.append(Reason("no_catalog", "no migration catalog here (no Alembic project configured): "
                              "pending migrations are unknown, answering from the history table alone",
                              severity="warning"))
    instances_doc: dict[str, Any] = {}
    if kind == "rollback":
        reasons += decide_rollback(v, states)
    else:
        reasons += decide_ready(v, snap, states)
    if kind == "contract":
        reasons += decide_contract(v, snap, ttl, require_registry)
        live = live_instances(snap, ttl)
        instances_doc = {"registered": len(snap.instances), "live": len(live),
                         "live_releases": sorted({i["release"] for i in live})}
    verdict = FAIL if any(r.severity == "error" for r in reasons) else PASS
    needed = needed_backfills(snap, states, v)
    return GateResult(kind, str(v), verdict, reasons, window, needed, instances_doc)


def unknown_result(kind: str, release: str, error: BaseException | str) -> GateResult:
    message = redact_text(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
    return GateResult(kind, release, UNKNOWN, [Reason("database_unreachable",
                                                      f"cannot read the database: {message}")])


def evaluate(kind: str, release: str | Version, *, engine=None, url: str | None = None,
             config: Config | None = None, catalog: Any = None, require_registry: bool | None = None,
             ttl: float | None = None) -> GateResult:
    """Answer one gate. ``engine`` (an Engine or Connection) or ``url`` (else
    ``config.database_url``); ``catalog`` is the runner's catalog (loaded from the configured
    project when None). A database that cannot be reached gives verdict ``unknown``; a bad kind
    or release raises UsageError."""
    started = time.perf_counter()
    if kind not in GATES:
        raise UsageError(f"unknown gate {kind!r}: expected one of {', '.join(GATES)}")
    v = release if isinstance(release, Version) else parse_release(release)
    config = config or Config()
    catalog_known = True
    if catalog is NO_CATALOG:
        catalog, catalog_known = None, False
    elif catalog is None:
        catalog = load_catalog_if_any(config)
        catalog_known = catalog is not None
    require = config.require_registry if require_registry is None else require_registry
    ttl = config.instance_ttl if ttl is None else ttl

    try:
        snap = _read(engine, url or config.database_url, with_instances=(kind == "contract"))
    except _Unreachable as e:
        result = unknown_result(kind, str(v), e.cause)
    else:
        result = decide(kind, v, snap, catalog, ttl=ttl, require_registry=require, catalog_known=catalog_known)
    result.total_ms = (time.perf_counter() - started) * 1000
    return result


class _Unreachable(Exception):
    def __init__(self, cause: BaseException):
        self.cause = cause


def _read(engine, url: str | None, *, with_instances: bool) -> Snapshot:
    """The snapshot through the engine given, else from the URL: straight through psycopg for
    PostgreSQL (no SQLAlchemy import: the command line's start-up time), else a SQLAlchemy
    engine made for this one read. Driver and network failures raise _Unreachable."""
    import psycopg

    if engine is None and not url:
        raise UsageError(NO_URL)
    libpq = libpq_url(url) if engine is None else None
    try:
        if libpq is not None:
            return take_snapshot_libpq(libpq, with_instances=with_instances)
        if engine is not None:
            return take_snapshot(engine, with_instances=with_instances)
        from .connect import make_engine

        bind = make_engine(url, read_only=True, statement_timeout_ms=10000, pool_size=1)
        try:
            return take_snapshot(bind, with_instances=with_instances)
        finally:
            bind.dispose()
    except (psycopg.Error, OSError) as e:
        raise _unreadable(e) from None
    except Exception as e:
        from sqlalchemy.exc import SQLAlchemyError

        if isinstance(e, SQLAlchemyError):
            raise _unreadable(e) from None
        raise


def _unreadable(e: BaseException) -> Exception:
    """A wrong password, unknown role or missing database is the user's to fix (UsageError,
    exit 2); anything else leaves the answer unknown (exit 3)."""
    if classify(e) == REJECTED:
        return UsageError(f"cannot connect to the database: {reason(e)}")
    return _Unreachable(getattr(e, "orig", None) or e)


def wait_for(kind: str, release: str | Version, *, timeout: float, interval: float = 2.0,
             on_attempt=None, **kwargs) -> tuple[GateResult, bool]:
    """Evaluate until pass or ``timeout`` seconds. Returns (last result, timed_out)."""
    deadline = time.monotonic() + timeout
    while True:
        result = evaluate(kind, release, **kwargs)
        if on_attempt is not None:
            on_attempt(result)
        if result.passed:
            return result, False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return result, True
        time.sleep(min(interval, remaining))
