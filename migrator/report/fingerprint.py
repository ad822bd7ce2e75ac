"""Stable identities for findings, so CI tools can tell a new finding from a moved one.

A fingerprint hashes the rule, the repo-relative path and the normalized text of the statement
the finding points at (or of its line), never the line number alone: inserting a line above a
finding keeps its fingerprint. Identical statements in one file get an occurrence counter, so
fingerprints are unique per finding within a report."""

from __future__ import annotations

import hashlib
import re

_WS = re.compile(r"\s+")


def normalize_sql(sql: str) -> str:
    return _WS.sub(" ", sql).strip().rstrip(";").strip().lower()


def statement_text(migration, finding) -> str:
    """The statement the finding points at, else the line of the source file it is on."""
    line, col = finding.loc.line, finding.loc.column
    same_line = None
    for op in migration.operations:
        if op.loc.path == finding.loc.path and op.loc.line == line:
            if op.loc.column == col:
                return op.sql
            same_line = same_line or op.sql
    if same_line is not None:
        return same_line
    text = migration.source.text or ""
    if text:
        lines = text.splitlines()
        if 1 <= line <= len(lines):
            return lines[line - 1]
    return finding.message


def fingerprints(report, relpath) -> dict[int, str]:
    """``id(finding) -> sha256 hex`` for every finding of ``report``; ``relpath(path) -> str``."""
    out: dict[int, str] = {}
    seen: dict[str, int] = {}
    for m in report.migrations:
        for f in m.findings:
            base = "\x1f".join((f.rule, relpath(f.loc.path), normalize_sql(statement_text(m, f))))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out[id(f)] = hashlib.sha256(f"{base}\x1f{n}".encode("utf-8", "surrogateescape")).hexdigest()
    return out
