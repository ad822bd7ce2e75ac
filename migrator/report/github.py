"""``--format github``: GitHub Actions workflow commands, one annotation per finding.

GitHub shows at most 10 error and 10 warning annotations per step, so the most severe come
first, at most :data:`MAX_PER_LEVEL` per level, then one ``::notice::`` counts the rest."""

from __future__ import annotations

from pathlib import Path

from .paths import relative_uri, repo_root

MAX_PER_LEVEL = 10


def escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(s: str) -> str:
    return escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render(report, *, root: Path | None = None, **_context) -> str:
    root = (root or repo_root()).resolve()
    by_level: dict[str, list] = {"error": [], "warning": []}
    for m in report.migrations:
        for f in m.findings:
            by_level[f.severity.value].append(f)
    lines: list[str] = []
    hidden = {"error": 0, "warning": 0}
    for level in ("error", "warning"):
        findings = by_level[level]
        for f in findings[:MAX_PER_LEVEL]:
            props = ",".join([
                f"file={escape_property(relative_uri(f.loc.path, root))}",
                f"line={max(1, f.loc.line)}",
                f"col={max(1, f.loc.column)}",
                f"title={escape_property(f.rule)}",
            ])
            message = f.message + (f"\nfix: {f.fix}" if f.fix else "")
            lines.append(f"::{level} {props}::{escape_data(message)}")
        hidden[level] = max(0, len(findings) - MAX_PER_LEVEL)
    if hidden["error"] or hidden["warning"]:
        total = hidden["error"] + hidden["warning"]
        lines.append(
            f"::notice::{total} more finding{'s' if total != 1 else ''} not annotated "
            f"({hidden['error']} errors, {hidden['warning']} warnings); "
            "run migrator lint locally for the full list"
        )
    lines.append(
        f"migrator: {len(report.migrations)} migrations, {report.errors} errors, {report.warnings} warnings"
    )
    return "\n".join(lines) + "\n"
