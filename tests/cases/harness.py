"""Run SQL text through the real pipeline (sources' SQL reader -> splitter -> parser -> engine)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from migrator.config import Config
from migrator.lint.engine import lint_sources
from migrator.lint.context import TRANSACTION_CONTROL
from migrator.model import LintReport
from migrator.sources.sqlfiles import sql_source

CASES = Path(__file__).with_name("operations.txt")
NEXT_MIGRATION = re.compile(r"^-- next migration\n", re.MULTILINE)


def lint_text(text: str, *, kind: str = "stdin", server_version: int = 15,
              rules: dict | None = None, split=NEXT_MIGRATION,
              in_transaction: bool = True, encoding: str = "utf-8") -> LintReport:
    """Lint ``text``; the pattern ``split`` separates migrations linted in order. The cases
    describe migrations as a runner applies them, one transaction each (Alembic, Flyway).
    ``encoding``: what the files are saved in."""
    chunks = split.split(text) if isinstance(split, re.Pattern) else text.split(split)
    sources = [sql_source(chunk.encode(encoding), f"m{i}.sql", kind=kind,
                          assume_in_transaction=in_transaction) for i, chunk in enumerate(chunks)]
    return lint_sources(sources, Config(server_version=server_version, rules=rules or {}))


def rule_names(report: LintReport) -> set[str]:
    return {f.rule for m in report.migrations for f in m.findings}


def last_operation(report: LintReport):
    ops = [o for o in report.migrations[-1].operations if o.kind not in TRANSACTION_CONTROL]
    return ops[-1]


@dataclass
class Case:
    line: int
    phase: str
    server_version: int
    rules: set[str]
    sql: str

    def run(self) -> tuple[str, set[str], LintReport]:
        text = ";\n".join(s.strip() for s in self.sql.split(";")) if "$" not in self.sql else self.sql
        report = lint_text(text, server_version=self.server_version, split="--next--")
        return last_operation(report).phase.value, rule_names(report), report


def load_cases(path: Path = CASES) -> list[Case]:
    cases = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        phase, rules, sql = (p.strip() for p in raw.split(" | ", 2))
        version = 15
        if "@" in phase:
            phase, v = phase.split("@")
            version = int(v)
        names = set() if rules == "-" else {r.strip() for r in rules.split(",")}
        cases.append(Case(number, phase, version, names, sql))
    return cases
