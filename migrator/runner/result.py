"""What a run tells the user: plain data, printed as text or JSON by the CLI."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ..window import Window

DOCUMENT_VERSION = 1


@dataclass
class StepResult:
    revision: str
    phase: str
    release: str
    action: str  # upgrade | downgrade
    status: str  # applied | rolled_back | failed | planned
    path: str = ""
    message: str = ""
    duration_ms: float = 0.0
    attempts: int = 0
    error: str | None = None
    override_reason: str | None = None
    repaired: list[str] = field(default_factory=list)  # INVALID indexes dropped before retrying
    backfills: list[dict] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)  # plan only
    # plan only: the linter's verdict on this step, as `expand`/`contract` will judge it before
    # applying ({"verdict": "clean" | "warnings" | "rejected" | "baseline" | "not linted",
    # "errors": ["path:line:col: rule: message", ...], "warnings": N})
    lint: dict | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunResult:
    command: str  # expand | contract | rollback | plan
    release: str
    steps: list[StepResult] = field(default_factory=list)
    window: Window | None = None
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not any(s.status == "failed" or s.error for s in self.steps)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def as_dict(self) -> dict:
        done = [s for s in self.steps if s.status in ("applied", "rolled_back")]
        return {
            "version": DOCUMENT_VERSION,
            "command": self.command,
            "release": self.release,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "error": self.error,
            "migrations": [s.as_dict() for s in self.steps],
            "notes": list(self.notes),
            "summary": {
                "planned": sum(1 for s in self.steps if s.status == "planned"),
                "applied": sum(1 for s in done if s.action == "upgrade"),
                "rolled_back": sum(1 for s in done if s.action == "downgrade"),
                # a step whose revision applied but whose backfill failed counts as failed too
                "failed": sum(1 for s in self.steps if s.status == "failed" or s.error),
                "duration_ms": round(sum(s.duration_ms for s in self.steps), 1),
            },
            "window": self.window.as_dict() if self.window else None,
        }


@dataclass
class MigrationStatus:
    revision: str
    phase: str
    release: str
    state: str  # applied | pending | failed | running | rolled_back
    path: str | None = None
    on_disk: bool = True
    drift: bool = False  # the file changed since it was applied
    applied_at: str | None = None
    error: str | None = None


@dataclass
class Status:
    window: Window
    migrations: list[MigrationStatus]
    database: str  # redacted URL
    notes: list[str] = field(default_factory=list)

    def releases(self) -> dict[str, dict[str, list[str]]]:
        """release -> state -> revisions."""
        out: dict[str, dict[str, list[str]]] = {}
        for m in self.migrations:
            out.setdefault(m.release, {}).setdefault(m.state, []).append(m.revision)
        return out

    def as_dict(self) -> dict:
        return {
            "version": DOCUMENT_VERSION,
            "database": self.database,
            "window": self.window.as_dict(),
            "migrations": [asdict(m) for m in self.migrations],
            "releases": self.releases(),
            "notes": list(self.notes),
        }
