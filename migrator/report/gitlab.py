"""``--format gitlab``: a GitLab Code Quality report (a JSON array of issues)."""

from __future__ import annotations

from pathlib import Path

from .fingerprint import fingerprints
from .json import encode
from .paths import relative_uri, repo_root

# GitLab severities: info, minor, major, critical, blocker.
SEVERITY = {"error": "critical", "warning": "minor"}


def build(report, *, root: Path | None = None) -> list[dict]:
    root = (root or repo_root()).resolve()

    def rel(p: str) -> str:
        return relative_uri(p, root)

    prints = fingerprints(report, rel)
    issues = []
    for m in report.migrations:
        for f in m.findings:
            description = f"{f.rule}: {f.message}" + (f" Fix: {f.fix}" if f.fix else "")
            issues.append({
                "type": "issue",
                "description": description,
                "check_name": f.rule,
                "fingerprint": prints[id(f)],
                "severity": SEVERITY[f.severity.value],
                "location": {"path": rel(f.loc.path), "lines": {"begin": max(1, f.loc.line)}},
            })
    return issues


def render(report, *, root: Path | None = None, **_context) -> str:
    return encode(build(report, root=root), indent=True) + "\n"
