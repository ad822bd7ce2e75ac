"""The lint cache never answers for a revision whose rendering would now differ: a helper module
it imports changed, or an environment variable it reads. Real command line, real renderer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from migrator.lint.cache import chain_key, source_checksum
from migrator.model import Location, MigrationSource, Statement

ROOT = Path(__file__).resolve().parents[1]

REVISION = '''"""add a column"""
import os

from alembic import op

from helpers import ddl

revision = "a1"
down_revision = None
phase = "expand"
release = "1.0.0"


def upgrade():
    op.execute(ddl.STATEMENT)
    op.execute("ALTER TABLE t ADD COLUMN d " + os.environ.get("D_TYPE", "int"))


def downgrade():
    pass
'''


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n")
    (tmp_path / "migrator.toml").write_text('render_env = ["D_TYPE"]\n')
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text("")
    (versions / "a1.py").write_text(REVISION)
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "__init__.py").write_text("")
    (tmp_path / "helpers" / "ddl.py").write_text('STATEMENT = "ALTER TABLE t ADD COLUMN c int"\n')
    return tmp_path


def lint(project: Path, args: list[str], **env: str) -> list[str]:
    """The rules that fired, linting with the cache on."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_") and k != "D_TYPE"}
    environ.update(PYTHONPATH=str(ROOT), NO_COLOR="1", **env)
    proc = subprocess.run([sys.executable, "-m", "migrator", "lint", "--format", "json", *args],
                          cwd=project, env=environ, capture_output=True, text=True, timeout=120)
    assert proc.returncode in (0, 1), proc.stderr
    return sorted(f["rule"] for m in json.loads(proc.stdout)["migrations"] for f in m["findings"])


@pytest.mark.parametrize("args", [["migrations/versions"], ["migrations/versions/a1.py"], []],
                         ids=["versions-dir", "revision-file", "project"])
def test_a_changed_helper_module_is_not_answered_from_the_cache(project, args):
    assert "not-null-without-default" not in lint(project, args)
    assert "not-null-without-default" not in lint(project, args)  # warm
    (project / "helpers" / "ddl.py").write_text(
        'STATEMENT = "ALTER TABLE t ADD COLUMN c int NOT NULL"\n')
    assert "not-null-without-default" in lint(project, args)


@pytest.mark.parametrize("args", [["migrations/versions"], []], ids=["versions-dir", "project"])
def test_a_changed_environment_value_is_not_answered_from_the_cache(project, args):
    assert "not-null-without-default" not in lint(project, args, D_TYPE="int")
    assert "not-null-without-default" not in lint(project, args, D_TYPE="int")  # warm
    assert "not-null-without-default" in lint(project, args, D_TYPE="int NOT NULL")
    assert "not-null-without-default" not in lint(project, args, D_TYPE="int")


def test_the_cache_keeps_no_environment_value_in_clear(project):
    lint(project, ["migrations/versions"], D_TYPE="int /* s3cret-value */")
    stored = "".join(p.read_text(errors="replace") for p in (project / ".migrator_cache").rglob("*.json"))
    assert "D_TYPE" in stored and "s3cret-value" not in stored.replace(
        "ALTER TABLE t ADD COLUMN d int /* s3cret-value */", "")


def test_revision_keys_follow_what_rendering_produced_not_only_the_file():
    loc = Location("versions/a1.py", 15, 5)
    one = MigrationSource(path="versions/a1.py", kind="alembic", revision="a1", checksum="f" * 64,
                          text="same file")
    one.statements = [Statement("ALTER TABLE t ADD COLUMN c int", loc)]
    two = replace(one, statements=[Statement("ALTER TABLE t ADD COLUMN c int NOT NULL", loc)])
    assert source_checksum(one) != source_checksum(two)
    assert chain_key("", "prefix", one) != chain_key("", "prefix", two)
    sql = MigrationSource(path="a.sql", kind="sql", checksum="f" * 64, text="x")
    assert source_checksum(sql) == source_checksum(replace(sql, statements=[]))  # the file says it all


def test_checking_many_paths_against_as_many_roots_is_linear(tmp_path):
    """pre-commit passes every file as an argument: each is a root of the whole-run entry."""
    from migrator.lint.cache import _all_within
    from tests.support.work import growth

    d = tmp_path / "m"
    d.mkdir()
    files = [d / f"{i:05d}.sql" for i in range(1000)]
    for f in files:
        f.write_text("SELECT 1;\n")
    roots = [f.resolve() for f in files]
    assert _all_within([str(f) for f in files], roots)
    assert not _all_within([str(tmp_path / "elsewhere.sql")], roots)
    assert growth(lambda n: _all_within([str(f) for f in files[:n]], roots[:n]), 100) < 1.3
