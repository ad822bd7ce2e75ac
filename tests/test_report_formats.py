"""Each output format checked against what its consumer requires (DESIGN section 6)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from migrator.model import (
    Finding, LintedMigration, LintReport, Location, MigrationPhase, MigrationSource, Operation,
    Severity,
)
from migrator.report import FORMATS, render
from migrator.report.github import MAX_PER_LEVEL, escape_data, escape_property
from migrator.report.rulemeta import RuleMeta

RULES = [
    RuleMeta("require-concurrent-index", "error", "Create indexes concurrently",
             "A plain CREATE INDEX blocks writes.", "CREATE INDEX CONCURRENTLY ...;", "# doc"),
    RuleMeta("mixed-phase", "error", "Split expand and contract", "Old code breaks."),
]


def _migration(root: Path, name: str, sqls: list[str], rule="require-concurrent-index",
               severity=Severity.ERROR, phase=MigrationPhase.EXPAND, prefix_lines=0) -> LintedMigration:
    path = str(root / name)
    text = "\n" * prefix_lines + "\n".join(sqls) + "\n"
    src = MigrationSource(path=path, text=text, release="1.1.0", declared_phase="expand")
    ops, findings = [], []
    for i, sql in enumerate(sqls):
        loc = Location(path, prefix_lines + i + 1, 1)
        ops.append(Operation(kind="create_index", loc=loc, sql=sql))
        findings.append(Finding(rule, severity, loc, f"finding on {sql[:20]}", "use CONCURRENTLY"))
    return LintedMigration(src, ops, phase, findings)


def _report(root: Path, **kw) -> LintReport:
    return LintReport([_migration(root, "versions/a.sql", ["CREATE INDEX i ON t (a);", "CREATE INDEX j ON t (b);"], **kw)], files=1)


def test_every_format_renders_an_empty_report(tmp_path):
    empty = LintReport([], files=0)
    for fmt in FORMATS:
        out = render(empty, fmt, root=tmp_path, rules=RULES)
        assert out.endswith("\n")
    assert json.loads(render(empty, "gitlab", root=tmp_path)) == []
    assert json.loads(render(empty, "sarif", root=tmp_path, rules=RULES))["runs"][0]["results"] == []


def test_json_is_exactly_the_design_document(tmp_path):
    report = _report(tmp_path)
    doc = json.loads(render(report, "json"))
    assert doc == report.as_dict()
    assert set(doc) == {"version", "migrations", "summary"}
    assert doc["summary"] == {"files": 1, "migrations": 1, "errors": 2, "warnings": 0}
    m = doc["migrations"][0]
    assert set(m) == {"path", "revision", "release", "declared_phase", "phase", "rejected", "findings"}
    assert set(m["findings"][0]) == {"rule", "severity", "path", "line", "column", "message", "fix"}


def test_text_has_header_with_phase_findings_with_fix_and_summary(tmp_path):
    out = render(_report(tmp_path), "text", color=False)
    lines = out.splitlines()
    assert lines[0].startswith(str(tmp_path / "versions/a.sql") + "  expand  1.1.0")
    assert re.match(r".*/versions/a\.sql:1:1: error require-concurrent-index finding on", lines[1])
    assert lines[2] == "    fix: use CONCURRENTLY"
    assert lines[-1] == "1 migration in 1 file: 2 errors, 0 warnings"
    assert "\x1b[" not in out
    assert "\x1b[" in render(_report(tmp_path), "text", color=True)


def test_sarif_has_what_github_code_scanning_reads(tmp_path):
    report = _report(tmp_path)
    report.migrations[0].findings.append(
        Finding("parse-error", Severity.WARNING, Location(str(tmp_path / "versions/a.sql"), 2, 7), "cannot parse"))
    doc = json.loads(render(report, "sarif", root=tmp_path, rules=RULES))
    assert doc["$schema"].endswith("sarif-2.1.0.json") and doc["version"] == "2.1.0"
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "migrator" and driver["informationUri"].startswith("https://")
    assert re.match(r"\d+\.\d+", driver["version"])
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["require-concurrent-index", "mixed-phase", "parse-error"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert rule["name"]
    assert len(run["results"]) == 3
    for res in run["results"]:
        assert driver["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] in ("error", "warning")
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"] == {"uri": "versions/a.sql", "uriBaseId": "%SRCROOT%"}
        assert loc["region"]["startLine"] >= 1 and loc["region"]["startColumn"] >= 1
        assert res["partialFingerprints"]
    assert run["results"][2]["level"] == "warning"
    assert run["results"][2]["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 7}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_sarif_uri_is_relative_to_the_git_top_level(tmp_path, monkeypatch):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    sub = tmp_path / "db"
    (sub / "versions").mkdir(parents=True)
    monkeypatch.chdir(sub)
    report = LintReport([_migration(Path("."), "versions/a.sql", ["CREATE INDEX i ON t (a);"])], files=1)
    doc = json.loads(render(report, "sarif", rules=RULES))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "db/versions/a.sql"


def test_github_annotation_syntax_and_escaping(tmp_path):
    report = _report(tmp_path)
    f = report.migrations[0].findings[0]
    f.message = "100% bad\nreally, truly: bad"
    lines = render(report, "github", root=tmp_path).splitlines()
    assert lines[0] == (
        "::error file=versions/a.sql,line=1,col=1,title=require-concurrent-index::"
        "100%25 bad%0Areally, truly: bad%0Afix: use CONCURRENTLY"
    )
    assert escape_property("a,b:c%\n") == "a%2Cb%3Ac%25%0A"
    assert escape_data("a,b:c\r") == "a,b:c%0D"
    assert not any(line.startswith("::notice") for line in lines)


def test_github_caps_each_level_at_ten_most_severe_first_then_one_notice(tmp_path):
    warn = _migration(tmp_path, "w.sql", [f"CREATE INDEX w{i} ON t (a);" for i in range(12)],
                      severity=Severity.WARNING)
    err = _migration(tmp_path, "e.sql", [f"CREATE INDEX e{i} ON t (a);" for i in range(13)])
    lines = render(LintReport([warn, err], files=2), "github", root=tmp_path).splitlines()
    commands = [line for line in lines if line.startswith("::")]
    levels = [c.split(" ", 1)[0].split("::")[1] for c in commands]
    assert levels == ["error"] * MAX_PER_LEVEL + ["warning"] * MAX_PER_LEVEL + ["notice"]
    assert commands[-1].startswith("::notice::5 more findings") and "3 errors, 2 warnings" in commands[-1]


def test_gitlab_code_quality_fields_and_severity(tmp_path):
    report = _report(tmp_path)
    report.migrations[0].findings[1].severity = Severity.WARNING
    issues = json.loads(render(report, "gitlab", root=tmp_path))
    assert len(issues) == 2
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["location"]["path"] == "versions/a.sql"
        assert isinstance(issue["location"]["lines"]["begin"], int)
        assert issue["severity"] in ("info", "minor", "major", "critical", "blocker")
    assert [i["severity"] for i in issues] == ["critical", "minor"]


def test_gitlab_fingerprints_are_stable_unique_and_survive_moved_lines(tmp_path):
    sqls = ["CREATE INDEX i ON t (a);", "CREATE INDEX i ON t (a);", "CREATE INDEX j ON t (b);"]
    first = json.loads(render(LintReport([_migration(tmp_path, "a.sql", sqls)], 1), "gitlab", root=tmp_path))
    again = json.loads(render(LintReport([_migration(tmp_path, "a.sql", sqls)], 1), "gitlab", root=tmp_path))
    moved = json.loads(render(LintReport([_migration(tmp_path, "a.sql", sqls, prefix_lines=5)], 1),
                              "gitlab", root=tmp_path))
    prints = [i["fingerprint"] for i in first]
    assert prints == [i["fingerprint"] for i in again]
    assert len(set(prints)) == 3  # identical statements still get distinct fingerprints
    assert prints == [i["fingerprint"] for i in moved]
    assert [i["location"]["lines"]["begin"] for i in moved] == [6, 7, 8]
    other_file = json.loads(render(LintReport([_migration(tmp_path, "b.sql", sqls)], 1), "gitlab", root=tmp_path))
    assert not set(prints) & {i["fingerprint"] for i in other_file}


def test_the_json_formats_write_the_same_text_with_or_without_the_fast_encoder(tmp_path, monkeypatch):
    """orjson (installed where it has wheels) and the standard library's encoder give the same
    text: indented, and on one line for a large report; non-ASCII and control characters, and in
    --format json a file name that is not UTF-8 (a lone surrogate: orjson refuses it, the
    fallback writes it)."""
    import migrator.report.json as json_format

    plain = LintReport([
        _migration(tmp_path, "versions/caf\u00e9 \u2028.sql", ["CREATE INDEX i ON t (a);"]),
        _migration(tmp_path, "versions/b.sql", ["CREATE INDEX j ON t (\x01\u2603);"]),
    ], files=2)
    odd = LintReport([_migration(tmp_path, "versions/b\udce9.sql", ["CREATE INDEX k ON t (c);"])], files=1)

    def texts() -> list[str]:
        out = [render(plain, fmt, root=tmp_path, rules=RULES) for fmt in ("json", "sarif", "gitlab")]
        out.append(render(odd, "json"))
        monkeypatch.setattr(json_format, "PRETTY_UP_TO", 0)  # one line
        out += [render(plain, "json"), render(odd, "json")]
        monkeypatch.setattr(json_format, "PRETTY_UP_TO", 200)
        return out

    fast = texts()
    monkeypatch.setattr(json_format, "orjson", None)
    assert texts() == fast
    assert json.loads(fast[0]) == plain.as_dict() and fast[0].startswith('{\n  "version": 1,')
    assert json.loads(fast[-2]) == plain.as_dict() and "\n" not in fast[-2].rstrip("\n")
    assert json.loads(fast[-1]) == odd.as_dict()


@pytest.mark.parametrize("fmt", ["sarif", "gitlab"])
def test_a_file_name_that_is_not_utf8_gets_a_fingerprint_in_every_format(tmp_path, fmt):
    """A lone surrogate (the undecodable byte of a file name) must not stop the report: the
    fingerprint hashes the name's original bytes."""
    odd = LintReport([_migration(tmp_path, "versions/b\udce9.sql", ["CREATE INDEX k ON t (c);"])], files=1)
    other = LintReport([_migration(tmp_path, "versions/b\udcea.sql", ["CREATE INDEX k ON t (c);"])], files=1)
    text = render(odd, fmt, root=tmp_path, rules=RULES)
    again = render(other, fmt, root=tmp_path, rules=RULES)
    assert text != again  # different bytes, different fingerprints
    assert json.loads(text)
