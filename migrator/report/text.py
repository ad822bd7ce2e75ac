"""``--format text``: for people. One header line per migration with its phase, then
``path:line:col: severity rule message`` and an indented ``fix:``, then a summary line."""

from __future__ import annotations

import click

from ..model import MigrationPhase, Severity

_SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow"}
_PHASE_COLOUR = {
    MigrationPhase.EXPAND: "green",
    MigrationPhase.CONTRACT: "blue",
    MigrationPhase.MIXED: "red",
    MigrationPhase.EMPTY: "bright_black",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render(report, *, color: bool = False, **_context) -> str:
    """The text report; ANSI colour only when ``color`` (a terminal)."""

    def style(text: str, **kw) -> str:
        return click.style(text, **kw) if color else text

    lines: list[str] = []
    for m in report.migrations:
        header = [style(m.source.path, bold=True), style(m.phase.value, fg=_PHASE_COLOUR.get(m.phase))]
        if m.source.release:
            header.append(m.source.release)
        if m.source.declared_phase and m.source.declared_phase != m.phase.value:
            header.append(f"(declared {m.source.declared_phase})")
        if m.rejected:
            header.append(style("rejected", fg="red", bold=True))
        lines.append("  ".join(header))
        for f in m.findings:
            sev = style(f.severity.value, fg=_SEVERITY_COLOUR[f.severity], bold=True)
            lines.append(f"{f.loc.path}:{f.loc.line}:{f.loc.column}: {sev} {style(f.rule, bold=True)} {f.message}")
            if f.fix:
                fix_lines = f.fix.strip("\n").splitlines() or [""]
                lines.append("    fix: " + fix_lines[0])
                lines.extend("         " + fl for fl in fix_lines[1:])
    errors, warnings = report.errors, report.warnings
    summary = (
        f"{_plural(len(report.migrations), 'migration')} in {_plural(report.files, 'file')}: "
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
    )
    if errors:
        summary = style(summary, fg="red", bold=True)
    elif warnings:
        summary = style(summary, fg="yellow")
    else:
        summary = style(summary, fg="green")
    lines.append(summary)
    return "\n".join(lines) + "\n"
