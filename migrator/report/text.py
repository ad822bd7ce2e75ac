"""``--format text``: for people. One header line per migration with its phase, then
``path:line:col: severity rule message`` and an indented ``fix:``, then a summary line. On a
terminal, lines are wrapped at its width with indented continuation lines."""

from __future__ import annotations

import textwrap

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


def _wrapped(prefix: str, prefix_len: int, text: str, indent: str, width: int | None) -> list[str]:
    """``prefix`` + ``text``, wrapped at ``width`` columns (words kept whole, continuation lines
    indented) when a terminal width is given; one line otherwise. ``prefix_len`` is the
    prefix's printed width (it may hold colour codes)."""
    if not width or prefix_len + len(text) <= width:
        return [prefix + text]
    if prefix_len > width - 20:  # no room beside the prefix: the text starts on its own line
        return [prefix.rstrip()] + textwrap.wrap(text, width=width, initial_indent=indent,
                                                 subsequent_indent=indent, break_long_words=False,
                                                 break_on_hyphens=False)
    body = textwrap.wrap(text, width=width, initial_indent="x" * prefix_len, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)
    if not body:
        return [prefix + text]
    return [prefix + body[0][prefix_len:]] + body[1:]


def render(report, *, color: bool = False, width: int | None = None, **_context) -> str:
    """The text report; ANSI colour only when ``color`` (a terminal), and lines wrapped at
    ``width`` columns when given (a terminal's width), so a long finding never breaks mid-word."""

    def style(text: str, **kw) -> str:
        return click.style(text, **kw) if color else text

    lines: list[str] = []
    for m in report.migrations:
        header = [style(m.source.path, bold=True), style(m.phase.value, fg=_PHASE_COLOUR.get(m.phase))]
        if m.source.direction == "down":
            header.append("(rollback part)")
        if m.source.release:
            header.append(m.source.release)
        if m.source.declared_phase and m.source.declared_phase != m.phase.value:
            header.append(f"(declared {m.source.declared_phase})")
        if m.rejected:
            header.append(style("rejected", fg="red", bold=True))
        lines.append("  ".join(header))
        for f in m.findings:
            sev = style(f.severity.value, fg=_SEVERITY_COLOUR[f.severity], bold=True)
            where = f"{f.loc.path}:{f.loc.line}:{f.loc.column}: "
            plain = f"{where}{f.severity.value} {f.rule} "
            lines.extend(_wrapped(f"{where}{sev} {style(f.rule, bold=True)} ", len(plain),
                                  f.message, "    ", width))
            if f.fix:
                fix_lines = f.fix.strip("\n").splitlines() or [""]
                lines.extend(_wrapped("    fix: ", 9, fix_lines[0], " " * 9, width))
                for fl in fix_lines[1:]:
                    lines.extend(_wrapped(" " * 9, 9, fl, " " * 9, width))
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
