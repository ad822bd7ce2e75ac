"""``migrator check --models --format text``: for people. One line per comparison with its
verdict, its findings as ``path:line:col: severity rule message`` with an indented ``fix:``, then
a summary line."""

from __future__ import annotations

import click

from ..model import Severity

_SEVERITY_COLOUR = {Severity.ERROR: "red", Severity.WARNING: "yellow"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def render(report, *, color: bool = False, **_context) -> str:
    def style(text: str, **kw) -> str:
        return click.style(text, **kw) if color else text

    lines: list[str] = []
    for c in report.comparisons:
        head = f"{c.models} vs {c.schema}: "
        if c.skipped:
            lines.append(head + style(c.skipped, fg="bright_black"))
            continue
        errors = sum(1 for f in c.findings if f.severity is Severity.ERROR)
        warnings = len(c.findings) - errors
        verdict = "ok" if not c.findings else f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        lines.append(head + style(verdict, fg="red" if errors else "yellow" if warnings else "green"))
        for f in c.findings:
            sev = style(f.severity.value, fg=_SEVERITY_COLOUR[f.severity], bold=True)
            lines.append(f"  {f.loc.path}:{f.loc.line}:{f.loc.column}: {sev} {style(f.rule, bold=True)} {f.message}")
            if f.fix:
                lines.append(f"      fix: {f.fix}")
    made = sum(1 for c in report.comparisons if not c.skipped)
    summary = (f"models check of release {report.release} ({report.database} scratch schema): "
               f"{_plural(made, 'comparison')}, {_plural(report.errors, 'error')}, "
               f"{_plural(report.warnings, 'warning')}")
    colour = "red" if report.errors else "yellow" if report.warnings else "green"
    lines.append(style(summary, fg=colour, bold=bool(report.errors)))
    return "\n".join(lines) + "\n"
