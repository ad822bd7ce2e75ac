"""What the models check reports (plain data): one entry per comparison with its findings, as a
versioned JSON document, and as groups the lint formats (SARIF, GitHub, GitLab) render."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Finding, LintedMigration, MigrationPhase, MigrationSource, Severity

# comparison name -> the phase whose schema it reads
_PHASE = {"expand": MigrationPhase.EXPAND, "previous": MigrationPhase.EXPAND,
          "contract": MigrationPhase.CONTRACT, "live": MigrationPhase.EXPAND}


@dataclass
class Comparison:
    name: str  # "expand" | "previous" | "contract" | "live"
    models: str  # "release 1.3.0 (working tree)"
    schema: str  # "the schema after expand 1.3.0"
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None  # why the comparison was not made

    def as_dict(self) -> dict:
        return {"name": self.name, "models": self.models, "schema": self.schema,
                "skipped": self.skipped, "findings": [f.as_dict() for f in self.findings]}


@dataclass
class CheckReport:
    release: str
    models: str  # the MODULE:ATTR spec
    database: str  # "sqlite" | "postgresql"
    previous_ref: str | None = None
    previous_release: str | None = None
    comparisons: list[Comparison] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def findings(self) -> list[Finding]:
        return [f for c in self.comparisons for f in c.findings]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.WARNING)

    @property
    def files(self) -> int:
        return len({f.loc.path for f in self.findings})

    @property
    def migrations(self) -> list[LintedMigration]:
        """The comparisons as the lint formats read them: groups of findings."""
        return [LintedMigration(MigrationSource(path=f"{c.models} vs {c.schema}", kind="models"),
                                [], _PHASE.get(c.name, MigrationPhase.EXPAND), c.findings)
                for c in self.comparisons]

    def as_dict(self) -> dict:
        return {
            "version": 1,
            "check": "models",
            "release": self.release,
            "models": self.models,
            "database": self.database,
            "previous": ({"ref": self.previous_ref, "release": self.previous_release}
                         if self.previous_ref else None),
            "comparisons": [c.as_dict() for c in self.comparisons],
            "summary": {"comparisons": sum(1 for c in self.comparisons if not c.skipped),
                        "errors": self.errors, "warnings": self.warnings},
        }
