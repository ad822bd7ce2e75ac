"""``migrator lint`` / ``rules`` / ``explain`` end to end: exit codes, formats, cache, pool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import cli, main

ROOT = Path(__file__).resolve().parents[1]
MIGRATOR = ROOT / ".venv" / "bin" / "migrator"

CREATE_USERS = "-- migrator: phase=expand release=1.0.0\nCREATE TABLE users (id bigint PRIMARY KEY, email varchar(50));\n"
ADD_COLUMN = "-- migrator: phase=expand release=1.1.0\nALTER TABLE users ADD COLUMN full_name text;\n"
BAD_INDEX = "-- migrator: phase=expand release=1.2.0\n\nCREATE INDEX idx_users_email ON users (email);\n"
HIDDEN_BODY = "-- migrator: phase=expand release=1.3.0\nDO $$ BEGIN PERFORM 1; END $$;\n"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A directory of SQL migrations; cwd is the project, the cache lives in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGRATOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    mig = tmp_path / "migrations"
    mig.mkdir()
    (mig / "001_users.sql").write_text(CREATE_USERS)
    (mig / "002_add_name.sql").write_text(ADD_COLUMN)
    return tmp_path


def run_file(path: Path) -> tuple[dict | None, dict]:
    """A cache run file: its report line, then its texts and entries."""
    report, rest = path.read_bytes().splitlines()
    return json.loads(report), json.loads(rest)


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    """The real entry point (its error mapping included), in process."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_clean_migrations_exit_0_with_phase_headers_and_summary(project, capsys):
    code, out, err = run(["lint", "migrations"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "migrations/001_users.sql  expand  1.0.0"
    assert lines[1] == "migrations/002_add_name.sql  expand  1.1.0"
    assert lines[-1] == "2 migrations in 2 files: 0 errors, 0 warnings"
    assert "\x1b[" not in out


def test_error_exits_1_and_points_at_file_line_column_with_fix(project, capsys):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    code, out, _ = run(["lint", "migrations"], capsys)
    assert code == 1
    finding = [line for line in out.splitlines() if line.startswith("migrations/003_index.sql:")]
    assert finding and finding[0].startswith("migrations/003_index.sql:3:1: error ")
    after = out.splitlines()[out.splitlines().index(finding[0]) + 1]
    assert after.startswith("    fix: ")
    assert "rejected" in out.splitlines()[out.splitlines().index(finding[0]) - 1]


def test_warnings_pass_unless_strict(project, capsys):
    (project / "migrations" / "003_do.sql").write_text(HIDDEN_BODY)
    code, out, _ = run(["lint", "migrations"], capsys)
    assert code == 0 and " warning " in out and "0 errors, 1 warning" in out
    code, _, _ = run(["lint", "--strict", "migrations"], capsys)
    assert code == 1


def test_missing_path_is_a_usage_error(project, capsys):
    code, out, err = run(["lint", "nope.sql"], capsys)
    assert code == 2 and "nope.sql" in err and "Traceback" not in err


def test_bad_flag_and_bad_format_are_usage_errors(project, capsys):
    assert run(["lint", "--format", "xml", "migrations"], capsys)[0] == 2
    assert run(["lint", "--jobs", "-3", "migrations"], capsys)[0] == 2


def test_bad_config_file_is_a_usage_error(project, capsys):
    (project / "bad.toml").write_text("[tool.migrator\n")
    code, _, err = run(["lint", "--config", "bad.toml", "migrations"], capsys)
    assert code == 2 and "bad.toml" in err
    (project / "migrator.toml").write_text('[rules]\nno-such-rule = "off"\n')
    code, _, err = run(["lint", "migrations"], capsys)
    assert code == 2 and "no-such-rule" in err


def test_config_can_turn_a_rule_off_and_flags_win(project, capsys):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    _, out, _ = run(["lint", "--format", "json", "migrations"], capsys)
    rule = json.loads(out)["migrations"][2]["findings"][0]["rule"]
    (project / "migrator.toml").write_text(f'server_version = 11\n[rules]\n{rule} = "off"\n')
    code, out, _ = run(["lint", "--format", "json", "migrations"], capsys)
    assert code == 0 and json.loads(out)["summary"]["errors"] == 0


def test_json_format_is_the_design_document_and_output_file(project, capsys):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    code, out, err = run(["lint", "--format", "json", "--output", "out/report.json", "migrations"], capsys)
    assert code == 1 and out == "" and "report written to out/report.json" in err
    doc = json.loads((project / "out" / "report.json").read_text())
    assert doc["version"] == 1
    assert doc["summary"] == {"files": 3, "migrations": 3, "errors": doc["summary"]["errors"], "warnings": 0}
    assert doc["summary"]["errors"] >= 1
    m = doc["migrations"][2]
    assert m["path"] == "migrations/003_index.sql" and m["rejected"] is True and m["release"] == "1.2.0"
    assert m["declared_phase"] == "expand" and m["phase"] in ("expand", "contract", "mixed", "empty")
    assert m["findings"][0]["line"] == 3 and m["findings"][0]["column"] == 1


@pytest.mark.parametrize("fmt", ["sarif", "github", "gitlab"])
def test_ci_formats_render_real_findings(project, capsys, fmt):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    code, out, _ = run(["lint", "--format", fmt, "migrations"], capsys)
    assert code == 1
    if fmt == "sarif":
        run0 = json.loads(out)["runs"][0]
        res = run0["results"][0]
        assert run0["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "migrations/003_index.sql"
        assert loc["region"]["startLine"] == 3
    elif fmt == "github":
        assert out.startswith("::error file=migrations/003_index.sql,line=3,col=1,title=")
    else:
        issue = json.loads(out)[0]
        assert issue["location"] == {"path": "migrations/003_index.sql", "lines": {"begin": 3}}


def test_state_from_earlier_migrations_reaches_later_ones(project, capsys):
    # Widening varchar(50) -> varchar(100) is expand only because 001 says what the type was.
    (project / "migrations" / "003_widen.sql").write_text(
        "-- migrator: phase=expand release=1.2.0\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n")
    code, out, _ = run(["lint", "--format", "json", "migrations"], capsys)
    assert code == 0, out
    code, out, _ = run(["lint", "--format", "json", "migrations/003_widen.sql"], capsys)
    assert code == 1  # alone, the old type is unknown: assume the unsafe case


def test_stdin_dash(project):
    proc = subprocess.run([str(MIGRATOR), "lint", "--format", "json", "-"], input=BAD_INDEX,
                          capture_output=True, text=True, cwd=project)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["summary"]["migrations"] == 1 and doc["summary"]["errors"] >= 1


def test_warm_cache_gives_the_same_report_and_corrupt_entries_are_ignored(project, capsys):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    (project / "migrations" / "004_do.sql").write_text(HIDDEN_BODY)
    code0, cold, _ = run(["lint", "--format", "json", "--no-cache", "migrations"], capsys)
    assert not (project / ".migrator_cache").exists()
    code1, first, _ = run(["lint", "--format", "json", "migrations"], capsys)
    entries = sorted((project / ".migrator_cache").rglob("*.json"))
    assert [e.parent.name for e in entries] == ["runs"]  # one file for the run
    assert len(run_file(entries[0])[1]["entries"]) == 4  # holding every migration
    code2, warm, _ = run(["lint", "--format", "json", "migrations"], capsys)
    assert code0 == code1 == code2 == 1 and cold == first == warm
    report, rest = run_file(entries[0])
    k1, k2 = list(rest["entries"])[:2]
    broken_entries = {**rest, "entries": {**rest["entries"], k1: {"phase": "bogus"}, k2: []}}
    broken_report = {**report, "migrations": [{"key": "nope"}]}
    for bad in [b"", b"{not json", b'{"phase": "bogus"}', b"\x00\xff", b"[]", b"[]\n[]\n",
                json.dumps(broken_report).encode() + b"\n" + json.dumps(rest).encode(),
                json.dumps(report).encode() + b"\n" + json.dumps(broken_entries).encode(),
                json.dumps(report).encode()]:
        for entry in (project / ".migrator_cache").rglob("*.json"):
            entry.write_bytes(bad)
        code3, again, err = run(["lint", "--format", "json", "migrations"], capsys)
        assert code3 == 1 and again == cold and err == "", bad
    code4, gitlab_warm, _ = run(["lint", "--format", "gitlab", "migrations"], capsys)
    code5, gitlab_cold, _ = run(["lint", "--format", "gitlab", "--no-cache", "migrations"], capsys)
    assert gitlab_warm == gitlab_cold  # fingerprints do not depend on the cache


def test_partial_hit_lints_only_the_changed_migration_with_replayed_state(project, capsys):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    code, cold, _ = run(["lint", "--format", "json", "migrations"], capsys)
    (project / "migrations" / "004_widen.sql").write_text(
        "-- migrator: phase=expand release=1.3.0\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n")
    code, out, _ = run(["lint", "--format", "json", "migrations"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["summary"]["errors"] == json.loads(cold)["summary"]["errors"]
    assert doc["migrations"][3]["findings"] == []  # the type from 001 came through the replay
    runs = sorted((project / ".migrator_cache").rglob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    assert [len(run_file(r)[1]["entries"]) for r in runs] == [3, 4]


def test_cache_misses_after_an_earlier_migration_changes(project, capsys):
    (project / "migrations" / "003_widen.sql").write_text(
        "-- migrator: phase=expand release=1.2.0\nALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n")
    assert run(["lint", "migrations"], capsys)[0] == 0
    # 001 now creates email as text: narrowing to varchar(100) rewrites -> 003 must fail.
    (project / "migrations" / "001_users.sql").write_text(CREATE_USERS.replace("varchar(50)", "text"))
    assert run(["lint", "migrations"], capsys)[0] == 1


def test_process_pool_gives_the_same_report_as_one_process(project, capsys):
    # State-dependent migrations spread over every chunk: the pool must thread the schema state.
    mig = project / "migrations"
    for i in range(3, 60):
        if i % 5 == 0:
            body = BAD_INDEX.replace("idx_users_email", f"idx_{i}")
        elif i % 7 == 0:
            body = f"-- migrator: phase=expand release=1.1.0\nCREATE TABLE t{i} (id int, v varchar(10));\n"
        elif i % 7 == 1 and i > 7:
            body = f"-- migrator: phase=expand release=1.1.0\nALTER TABLE t{i - 1} ALTER COLUMN v TYPE varchar(20);\n"
        else:
            body = ADD_COLUMN.replace("full_name", f"c{i}")
        (mig / f"{i:03d}_m.sql").write_text(body)
    _, one, _ = run(["lint", "--format", "json", "--no-cache", "--jobs", "1", "migrations"], capsys)
    _, pool, _ = run(["lint", "--format", "json", "--no-cache", "--jobs", "2", "migrations"], capsys)
    assert one == pool
    doc = json.loads(one)
    assert doc["summary"]["errors"] == 12  # 11 bad indexes; 036 widens t35, never created
    widen = {m["path"]: bool(m["findings"]) for m in doc["migrations"]
             if "ALTER COLUMN v" in (project / m["path"]).read_text()}
    assert widen == {f"migrations/{i:03d}_m.sql": i == 36 for i in (8, 22, 29, 36, 43, 57)}


def test_rules_lists_the_catalog_as_text_and_json(project, capsys):
    code, out, _ = run(["rules", "--format", "json"], capsys)
    assert code == 0
    rules = json.loads(out)["rules"]
    assert len(rules) >= 5 and all(set(r) == {"name", "severity", "summary"} for r in rules)
    code, text, _ = run(["rules"], capsys)
    assert code == 0 and all(r["name"] in text for r in rules)


def test_explain_prints_a_rule_and_suggests_close_names(project, capsys):
    _, out, _ = run(["rules", "--format", "json"], capsys)
    name = json.loads(out)["rules"][0]["name"]
    code, doc, _ = run(["explain", name], capsys)
    assert code == 0 and doc.startswith(f"# {name}") and "```sql" in doc
    code, _, err = run(["explain", name[:-1] + "x"], capsys)
    assert code == 2 and f"did you mean {name}" in err
    code, _, err = run(["explain", "zzzzzz"], capsys)
    assert code == 2 and "unknown rule 'zzzzzz'" in err


HEAVY = ("sqlglot", "alembic", "sqlalchemy", "psycopg")


@pytest.mark.parametrize("args", [["--help"], ["lint", "--help"]])
def test_help_imports_no_parser_and_no_database_library(args):
    """Help is read interactively: it loads the command line only (its time is printed by
    benchmarks/lint_bench.py, not asserted here)."""
    code = ("import sys; from migrator.cli import main\n"
            f"try:\n    main({args!r})\nexcept SystemExit: pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Usage:" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_linting_plain_sql_loads_no_alembic_renderer(tmp_path):
    (tmp_path / "001.sql").write_text("-- migrator: phase=expand release=1.0.0\nALTER TABLE t ADD COLUMN c int;\n")
    code = ("import sys; from migrator.cli import main\n"
            "try:\n    main(['lint', '--no-cache', '001.sql'])\nexcept SystemExit: pass\n"
            "print([m for m in sys.modules if m.startswith(('alembic', 'sqlalchemy', "
            "'migrator.sources.alembic_offline', 'migrator.sources.isolated', "
            "'migrator.sources.render_child'))])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "1 migration" in proc.stdout and proc.stdout.strip().splitlines()[-1] == "[]"


def test_clirunner_exit_codes(project):
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    runner = CliRunner()
    assert runner.invoke(cli, ["lint", "migrations/001_users.sql"]).exit_code == 0
    assert runner.invoke(cli, ["lint", "migrations"]).exit_code == 1


def test_an_unusable_cache_directory_is_not_fatal(project, capsys, monkeypatch):
    (project / "blocker").write_text("a file where the cache directory should be")
    monkeypatch.setenv("MIGRATOR_CACHE_DIR", "blocker")
    (project / "migrations" / "003_index.sql").write_text(BAD_INDEX)
    code, out, err = run(["lint", "--format", "json", "migrations"], capsys)
    assert code == 1 and json.loads(out)["summary"]["errors"] >= 1 and err == ""


def test_whole_run_cache_misses_when_any_file_under_the_path_changes(project, capsys):
    assert run(["lint", "migrations"], capsys)[0] == 0
    assert run(["lint", "migrations"], capsys)[0] == 0
    (project / "migrations" / "002_add_name.sql").write_text(BAD_INDEX)  # same path, new content
    code, out, _ = run(["lint", "migrations"], capsys)
    assert code == 1 and "002_add_name.sql:3:1: error" in out
    leftovers = [p for p in (project / ".migrator_cache").rglob(".tmp-*")]
    assert leftovers == []  # writes are atomic renames


REVISION = '''"""{doc}"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down}
branch_labels = None
depends_on = None
phase = "{phase}"
release = "{release}"


def upgrade():
{body}


def downgrade():
    pass
'''


def test_alembic_versions_directory_headers_findings_on_the_py_line_and_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a1_create_users.py").write_text(REVISION.format(
        doc="create users", rev="a1", down="None", phase="expand", release="1.0.0",
        body='    op.create_table("users", sa.Column("id", sa.BigInteger, primary_key=True),\n'
             '                    sa.Column("email", sa.String(50)))'))
    (versions / "b2_add_col.py").write_text(REVISION.format(
        doc="add column", rev="b2", down='"a1"', phase="expand", release="1.1.0",
        body='    op.add_column("users", sa.Column("full_name", sa.Text))\n'
             '    op.create_index("ix_users_email", "users", ["email"])'))
    code, out, _ = run(["lint", "versions"], capsys)
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == "versions/a1_create_users.py  expand  1.0.0"
    assert lines[1] == "versions/b2_add_col.py  expand  1.1.0  rejected"
    assert lines[2].startswith("versions/b2_add_col.py:15:5: error create-index-non-concurrently")
    code2, again, _ = run(["lint", "versions"], capsys)  # whole-run cache hit
    assert (code2, again) == (code, out)
