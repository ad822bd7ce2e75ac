"""Adopting migrator on an existing Alembic project: a baseline of released history, then the
phase runner and the gate on the revisions written after it, with plain Alembic still working."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.support.existing_project import REVISIONS, rev_id, write_project
from tests.support.sample import cli, columns, execute, scalar

LAST = rev_id(REVISIONS)


def sa_url(libpq: str) -> str:
    return libpq.replace("postgresql://", "postgresql+psycopg://", 1)


def alembic(project: Path, *args: str) -> subprocess.CompletedProcess:
    """Plain Alembic, as the team runs it."""
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=project, capture_output=True,
                          text=True, timeout=300)


def set_ini_url(project: Path, url: str) -> None:
    ini = project / "alembic.ini"
    ini.write_text(re.sub(r"^sqlalchemy\.url = .*$", f"sqlalchemy.url = {sa_url(url)}",
                          ini.read_text(), count=1, flags=re.M))


def add_body(path: Path, upgrade: str, downgrade: str) -> None:
    text = path.read_text()
    text = re.sub(r"def upgrade\(\).*", f"def upgrade():\n    {upgrade}\n\n\ndef downgrade():\n    {downgrade}\n",
                  text, flags=re.S)
    path.write_text(text)


def revision(project: Path, capsys, phase: str, release: str, message: str, rev: str,
             upgrade: str, downgrade: str) -> dict:
    code, out, err = cli(["revision", "--phase", phase, "--release", release, "-m", message,
                          "--rev-id", rev, "--format", "json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    add_body(Path(info["path"]), upgrade, downgrade)
    return info


def lint_json(capsys, *extra: str) -> tuple[int, dict, str]:
    code, out, err = cli(["lint", "migrations", "--format", "json", *extra], capsys)
    return code, json.loads(out), err


def gate(capsys, kind: str, release: str) -> tuple[int, dict]:
    code, out, _ = cli(["gate", kind, "--release", release, "--format", "json"], capsys)
    return code, json.loads(out)


@pytest.fixture
def shop(tmp_path, pg_url, monkeypatch):
    """The existing project, its database already at head through plain `alembic upgrade head`."""
    project = write_project(tmp_path / "shop", sa_url(pg_url))
    r = alembic(project, "upgrade", "head")
    assert r.returncode == 0, r.stderr[-2000:]
    monkeypatch.chdir(project)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATOR_DATABASE_URL", pg_url)
    return project


@pytest.mark.postgres
def test_an_existing_project_adopts_a_baseline_and_walks_two_releases(shop, pg_url, pg_server, capsys):
    project = shop
    execute(pg_url, "INSERT INTO accounts (id, display_name, email) VALUES (1, 'ada', 'ada@example.com')")

    # before adopting: every runner command stops at the first untagged revision, naming it
    code, _, err = cli(["status"], capsys)
    assert code == 2 and f"{rev_id(1)}_create_accounts.py" in err
    # `init` on the existing project points at adoption, instead of one hint per revision
    code, out, _ = cli(["init", "-d", str(project)], capsys)
    assert code == 0 and "migrator adopt" in out and len(out.splitlines()) < 10

    code, out, err = cli(["adopt"], capsys)
    assert code == 0, err
    assert f'baseline = "{LAST}"' in out and f"{REVISIONS} of the project's {REVISIONS} revisions" in out
    assert "alembic upgrade heads" in out and "Makefile:2:" in out and "deploy.sh:3:" in out
    assert tomllib.loads((project / "pyproject.toml").read_text())["tool"]["migrator"]["baseline"] == LAST
    code, out, _ = cli(["adopt"], capsys)
    assert code == 0 and "already recorded" in out

    # lint reads the baseline for the schema state and reports none of it
    code, doc, err = lint_json(capsys)
    assert code == 0 and doc["migrations"] == [] and f"{REVISIONS} revision(s) of the baseline" in err
    code, doc, _ = lint_json(capsys, "--include-baseline")
    assert len(doc["migrations"]) == REVISIONS and doc["summary"]["errors"] > 0  # old habits, released

    # release 3.5.0: a new column, and the contract of a column the code stopped using
    e350 = revision(project, capsys, "expand", "3.5.0", "accounts nickname", "e350",
                    'op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))',
                    'op.drop_column("accounts", "nickname")')
    assert e350["down_revision"] == LAST and e350["branch_label"] == "expand"
    c350 = revision(project, capsys, "contract", "3.5.0", "drop projects c009", "c350",
                    'op.drop_column("projects", "c009")',
                    'op.add_column("projects", sa.Column("c009", sa.Text(), nullable=True))')
    assert c350["depends_on"] == "e350" and c350["branch_label"] == "contract"
    code, doc, _ = lint_json(capsys)
    assert code == 0 and [m["revision"] for m in doc["migrations"]] == ["e350", "c350"]
    assert [m["phase"] for m in doc["migrations"]] == ["expand", "contract"]

    # a later revision without tags is still an error naming its file
    stray = project / "migrations" / "versions" / "zz_untagged.py"
    stray.write_text('revision = "zz01"\ndown_revision = "e350"\n\ndef upgrade():\n    pass\n')
    code, _, err = cli(["expand", "--release", "3.5.0"], capsys)
    assert code == 2 and "zz_untagged.py" in err and "not part of the baseline" in err
    stray.unlink()

    code, out, err = cli(["expand", "--release", "3.5.0"], capsys)
    assert code == 0, out + err
    assert "nickname" in columns(pg_url, "accounts")
    history = {r: (p, rel) for r, p, rel in _history(pg_url)}
    assert history[rev_id(1)] == ("expand", "baseline") and history[LAST] == ("expand", "baseline")
    assert history["e350"] == ("expand", "3.5.0")
    assert gate(capsys, "ready", "3.5.0")[0] == 0
    code, doc = gate(capsys, "contract", "3.5.0")
    assert code == 1 and {r["code"] for r in doc["reasons"]} == {"deployment_unrecorded"}
    assert cli(["deployed", "--release", "3.5.0"], capsys)[0] == 0
    assert gate(capsys, "contract", "3.5.0")[0] == 0
    code, out, err = cli(["contract", "--release", "3.5.0"], capsys)
    assert code == 0, out + err
    assert "c009" not in columns(pg_url, "projects")

    # release 3.6.0
    revision(project, capsys, "expand", "3.6.0", "tags table", "e360",
             'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))',
             'op.drop_table("tags")')
    revision(project, capsys, "contract", "3.6.0", "drop invoices c010", "c360",
             'op.drop_column("invoices", "c010")',
             'op.add_column("invoices", sa.Column("c010", sa.Text(), nullable=True))')
    code, doc, _ = lint_json(capsys)
    assert code == 0 and [m["revision"] for m in doc["migrations"]] == ["e350", "c350", "e360", "c360"]
    assert cli(["expand", "--release", "3.6.0"], capsys)[0] == 0
    assert gate(capsys, "ready", "3.6.0")[0] == 0 and gate(capsys, "rollback", "3.5.0")[0] == 0
    assert cli(["deployed", "--release", "3.6.0"], capsys)[0] == 0
    assert cli(["contract", "--release", "3.6.0"], capsys)[0] == 0
    assert gate(capsys, "rollback", "3.5.0")[0] == 1
    assert "c010" not in columns(pg_url, "invoices")
    code, out, _ = cli(["status"], capsys)
    assert f"release baseline: {REVISIONS} revisions of adopted history, all applied" in out
    assert "C=3.6.0" in out

    # plain Alembic still builds a database: `upgrade heads` (and `upgrade head` is what changes)
    fresh = pg_server.new_database()
    try:
        set_ini_url(project, fresh)
        r = alembic(project, "upgrade", "head")
        assert r.returncode != 0 and "Multiple head revisions" in r.stdout + r.stderr
        r = alembic(project, "upgrade", "heads")
        assert r.returncode == 0, r.stderr[-2000:]
        assert set(columns(fresh, "tags")) == {"id", "name"} and "c010" not in columns(fresh, "invoices")
        code, out, _ = cli(["status", "--database-url", fresh], capsys)
        assert code == 0 and "C=3.6.0" in out
    finally:
        pg_server.drop_database(fresh)


def _history(url: str) -> list[tuple[str, str, str]]:
    from tests.support.sample import engine
    import sqlalchemy as sa

    e = engine(url)
    try:
        with e.connect() as c:
            return [tuple(r) for r in c.execute(sa.text(
                "SELECT revision, phase, release FROM migrator_history ORDER BY id"))]
    finally:
        e.dispose()


@pytest.mark.postgres
def test_a_new_database_gets_the_baseline_from_expand_without_any_override(tmp_path, pg_url, capsys,
                                                                          monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    monkeypatch.chdir(project)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("MIGRATOR_DATABASE_URL", pg_url)
    assert cli(["adopt"], capsys)[0] == 0
    revision(project, capsys, "expand", "1.0.0", "nickname", "e100",
             'op.add_column("accounts", sa.Column("nickname", sa.Text(), nullable=True))',
             'op.drop_column("accounts", "nickname")')
    # the baseline holds revisions the linter rejects (plain CREATE INDEX on existing tables):
    # released history is applied as it is
    code, out, err = cli(["expand", "--release", "1.0.0", "--format", "json"], capsys)
    assert code == 0, out + err
    doc = json.loads(out)
    steps = doc["migrations"]
    assert len(steps) == REVISIONS + 1 and all(s["status"] == "applied" for s in steps)
    assert steps[0]["release"] == "baseline" and steps[-1]["revision"] == "e100"
    assert not any(s["override_reason"] for s in steps)
    assert scalar(pg_url, "SELECT version_num FROM alembic_version") == "e100"
    assert "nickname" in columns(pg_url, "accounts")


def test_adopt_at_an_earlier_revision_names_the_first_untagged_one_after_it_and_writes_nothing(tmp_path,
                                                                                           capsys, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    monkeypatch.chdir(project)
    before = (project / "pyproject.toml").read_text()
    code, _, err = cli(["adopt", "--at", rev_id(100)], capsys)
    assert code == 2 and f"{rev_id(101)}_" in err and "not part of the baseline" in err
    assert (project / "pyproject.toml").read_text() == before
    code, _, err = cli(["adopt", "--at", "nope"], capsys)
    assert code == 2 and "--at 'nope' names no revision" in err


def test_adopt_refuses_a_project_with_several_heads_and_says_how_to_merge(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    (project / "migrations" / "versions" / "side.py").write_text(
        f'revision = "side01"\ndown_revision = "{rev_id(50)}"\n\ndef upgrade():\n    pass\n')
    monkeypatch.chdir(project)
    code, _, err = cli(["adopt"], capsys)
    assert code == 2 and "2 heads" in err and "alembic merge heads" in err and "--at" in err


def test_adopt_writes_migrator_toml_when_the_project_has_no_pyproject(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    (project / "pyproject.toml").unlink()
    monkeypatch.chdir(project)
    code, out, err = cli(["adopt", "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["baseline"] == LAST and doc["config_file"].endswith("migrator.toml") and doc["changed"]
    data = tomllib.loads((project / "migrator.toml").read_text())
    assert data["baseline"] == LAST and data["alembic_ini"] == "alembic.ini"
    assert "phase" in (project / "migrations" / "script.py.mako").read_text()


def test_a_baseline_naming_no_revision_is_a_configuration_error(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    (project / "migrator.toml").write_text('baseline = "ffff0000"\n')
    monkeypatch.chdir(project)
    code, _, err = cli(["plan", "--release", "1.0.0"], capsys)
    assert code == 2 and "migrator.toml" in err and "'ffff0000' names no revision" in err


def test_adopt_writes_into_tool_migrator_of_a_migrator_toml_that_uses_it(tmp_path, capsys, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    (project / "migrator.toml").write_text("[tool.migrator]\nlock_timeout_ms = 1500\n")
    monkeypatch.chdir(project)
    assert cli(["adopt"], capsys)[0] == 0
    from migrator.config import load_config

    config = load_config(project, environ={})
    assert config.baseline == LAST and config.lock_timeout_ms == 1500


def test_an_untagged_revision_after_the_baseline_is_a_lint_error_naming_its_file(tmp_path, capsys,
                                                                              monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    monkeypatch.chdir(project)
    code, _, err = cli(["adopt"], capsys)
    assert code == 0, err
    late = project / "migrations" / "versions" / "zz_untagged_after_baseline.py"
    late.write_text(
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        f'revision = "zz_late"\ndown_revision = "{LAST}"\n\n\n'
        "def upgrade():\n    op.add_column(\"accounts\", sa.Column(\"memo\", sa.Text(), nullable=True))\n\n\n"
        "def downgrade():\n    op.drop_column(\"accounts\", \"memo\")\n")
    code, doc, _ = lint_json(capsys)
    assert code == 1
    [late_doc] = [m for m in doc["migrations"] if m["revision"] == "zz_late"]
    [finding] = [f for f in late_doc["findings"] if f["rule"] == "missing-phase-tag"]
    assert finding["severity"] == "error" and finding["path"].endswith("zz_untagged_after_baseline.py")
    # the baseline's own untagged revisions stay quiet, even when shown
    code, doc, _ = lint_json(capsys, "--include-baseline")
    baseline_tag_findings = [f for m in doc["migrations"] if m["revision"] != "zz_late"
                             for f in m["findings"] if f["rule"] == "missing-phase-tag"
                             and f["severity"] == "error"]
    assert baseline_tag_findings == []
