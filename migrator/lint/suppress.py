"""Suppression comments, read from the text of the file the user wrote.

- ``-- migrator: ignore[rule-a, rule-b] reason`` (``# migrator: ...`` in a .py revision) on the
  line of a finding, on the line above it, or (in a .sql file) on any line of its statement;
- ``migrator: ignore-file[rule-a] reason`` anywhere in the file: the whole file.

A suppression needs a reason (else: ``suppression-without-reason``, an error; the suppression
still applies, so the one error replaces the findings it hid). A suppression that hides nothing
is reported as ``unused-suppression`` (a warning).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..model import Finding, Location, Severity

_PATTERN = re.compile(
    r"(?:--|#)\s*migrator:\s*(?P<kind>ignore-file|ignore)\s*\[(?P<rules>[^\]]*)\]\s*(?P<reason>[^\n]*)",
    re.IGNORECASE,
)

NOT_SUPPRESSIBLE = frozenset({"suppression-without-reason", "unused-suppression"})


@dataclass
class Suppression:
    line: int
    column: int
    rules: tuple[str, ...]
    reason: str
    file_level: bool
    used: set[str] = field(default_factory=set)

    def covers(self, finding: Finding, last_line: int | None = None) -> bool:
        """On the finding's first line, the line above it, or (``last_line``: where the
        statement ends) any line of the statement."""
        if finding.rule not in self.rules or finding.rule in NOT_SUPPRESSIBLE:
            return False
        if self.file_level:
            return True
        return finding.loc.line - 1 <= self.line <= max(finding.loc.line, last_line or 0)


def might_suppress(text: str) -> bool:
    """The text holds a suppression comment (else apply_suppressions changes nothing)."""
    return _PATTERN.search(text) is not None


def parse_suppressions(text: str) -> list[Suppression]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in _PATTERN.finditer(line):
            rules = tuple(r.strip().lower() for r in m.group("rules").split(",") if r.strip())
            reason = m.group("reason").strip().rstrip("*/").strip()
            out.append(Suppression(lineno, m.start() + 1, rules, reason, m.group("kind").lower() == "ignore-file"))
    return out


def apply_suppressions(findings: list[Finding], text: str, path: str,
                       known_rules: set[str] | None = None,
                       spans: dict[tuple[int, int], int] | None = None) -> list[Finding]:
    """The findings left after the file's suppressions, plus the suppression findings.

    ``spans`` maps a statement's (line, column) to its last line, so a comment on any line of
    a multi-line statement applies to it."""
    sups = parse_suppressions(text)
    if not sups:
        return findings
    spans = spans or {}
    kept: list[Finding] = []
    for f in findings:
        last = spans.get((f.loc.line, f.loc.column))
        hit = next((s for s in sups if f.loc.path == path and s.covers(f, last)), None)
        if hit is None:
            kept.append(f)
        else:
            hit.used.add(f.rule)
    for s in sups:
        loc = Location(path, s.line, s.column)
        what = "ignore-file" if s.file_level else "ignore"
        if not s.reason:
            kept.append(Finding(
                "suppression-without-reason", Severity.ERROR, loc,
                f"`migrator: {what}[{', '.join(s.rules)}]` gives no reason: say why the danger "
                "does not apply here, so the next reader can judge it",
                f"write the reason after the bracket: `migrator: {what}[{', '.join(s.rules)}] <reason>`",
            ))
        for r in s.rules:
            if r in s.used:
                continue
            unknown = known_rules is not None and r not in known_rules
            kept.append(Finding(
                "unused-suppression", Severity.WARNING, loc,
                f"`{r}` is not a rule" if unknown else
                f"the suppression of `{r}` hides nothing: no `{r}` finding "
                + ("in this file" if s.file_level else "on this line or the next"),
                "remove it (or fix the rule name)",
            ))
    return kept
