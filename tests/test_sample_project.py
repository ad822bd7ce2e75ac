"""The sample project itself: it lints clean, plain Alembic still drives it (development
databases, Recreate deploys), and its models describe the schema its migrations end in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command

from migrator.config import load_config
from migrator.runner import api
from migrator.runner.alembic_run import alembic_config
from migrator.script import load_catalog
from tests.support.sample import cli, columns, copy_sample, execute, history_rows, scalar


def test_sample_project_lints_clean_and_each_migration_is_in_its_declared_phase(capsys):
    from tests.support.sample import SAMPLE

    code, out, err = cli(["lint", str(SAMPLE), "--format", "json"], capsys)
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["summary"]["errors"] == 0 and doc["summary"]["migrations"] == 7
    for m in doc["migrations"]:
        assert m["phase"] == m["declared_phase"], m
        assert not m["rejected"]


def _alembic(project, *args):
    return subprocess.run([sys.executable, "-m", "alembic", "-c", str(project / "alembic.ini"), *args],
                          capture_output=True, text=True, cwd=project, timeout=120)


def test_plain_alembic_upgrade_heads_still_works_and_migrator_adopts_it(tmp_path, capsys):
    project = copy_sample(tmp_path)
    url = f"sqlite:///{project / 'app.db'}"  # alembic.ini's default URL
    p = _alembic(project, "upgrade", "e100_create_tables")
    assert p.returncode == 0, p.stderr
    execute(url, "INSERT INTO users (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'a@x')")
    p = _alembic(project, "upgrade", "heads")
    assert p.returncode == 0, p.stderr
    # the backfill ran inline under plain alembic, before the column became NOT NULL
    assert scalar(url, "SELECT full_name FROM users") == "Ada Lovelace"
    assert set(columns(url, "users")) == {"id", "full_name", "email"}

    config = load_config(project, environ={}).with_overrides(database_url=url)
    status = api.status(config)
    assert {m.state for m in status.migrations} == {"applied"}
    assert api.expand(config, "1.3.0").steps == [] and api.contract(config, "1.3.0").steps == []
    adopted = [r for r in history_rows(url) if r["status"] == "applied"]
    assert len(adopted) == 7 and all("outside migrator" in r["override_reason"] for r in adopted)

    p = _alembic(project, "downgrade", "base")
    assert p.returncode == 0, p.stderr
    assert not sa.inspect(sa.create_engine(url)).has_table("users")


@pytest.mark.postgres
def test_plain_alembic_api_upgrade_heads_on_postgres(tmp_path, pg_url):
    project = copy_sample(tmp_path)
    catalog = load_catalog(load_config(project, environ={}))
    cfg = alembic_config(catalog, pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    command.upgrade(cfg, "e100_create_tables")
    execute(pg_url, "INSERT INTO users (first_name, last_name, email) VALUES ('Ada', 'Lovelace', 'a@x')")
    command.upgrade(cfg, "heads")
    assert scalar(pg_url, "SELECT full_name FROM users") == "Ada Lovelace"
    cols = columns(pg_url, "users")
    assert set(cols) == {"id", "full_name", "email"} and cols["full_name"] is False
    assert scalar(pg_url, "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_users_full_name'::regclass")


def test_models_describe_the_schema_the_migrations_end_in(tmp_path):
    project = copy_sample(tmp_path)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    config = load_config(project, environ={}).with_overrides(database_url=url)
    assert api.expand(config, "1.3.0").ok
    api.deployed(config, "1.3.0")
    assert api.contract(config, "1.3.0").ok
    # Another test in this process may have imported a different project's ``app`` package
    # (the runner imports revisions, and revisions import their app): read this copy's models.
    stale = {name: mod for name, mod in sys.modules.items() if name == "app" or name.startswith("app.")}
    for name in stale:
        del sys.modules[name]
    sys.path.insert(0, str(project))
    try:
        from app.models import Base
    finally:
        sys.path.remove(str(project))
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]
        sys.modules.update(stale)
    for table in Base.metadata.sorted_tables:
        db = columns(url, table.name)
        assert set(db) == {c.name for c in table.columns}, table.name
        assert {c.name: c.nullable for c in table.columns} == db, table.name
