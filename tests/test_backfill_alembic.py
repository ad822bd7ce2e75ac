"""Declaring a backfill inside a real Alembic revision: plain ``alembic upgrade`` runs it inline,
``alembic upgrade --sql`` writes its batch statement, and migrator's ``collecting()`` only records it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from migrator.backfill.api import collecting
from migrator.backfill.spec import BackfillSpec
from migrator.dburl import normalize_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ENV_PY = """
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
"""

REV1 = '''
"""create users"""
import sqlalchemy as sa
from alembic import op

revision = "a1"
down_revision = None
branch_labels = ("expand",)
depends_on = None
phase = "expand"
release = "1.0.0"


def upgrade():
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("first_name", sa.Text, nullable=False),
                    sa.Column("last_name", sa.Text, nullable=False))
    op.execute("INSERT INTO users (id, first_name, last_name) "
               "VALUES (1, 'Ada', 'Lovelace'), (5, 'Alan', 'Turing'), (9, 'Grace', 'Hopper')")
'''

REV2 = '''
"""add full_name and fill it"""
import sqlalchemy as sa
from alembic import op

from migrator import backfill

revision = "b2"
down_revision = "a1"
branch_labels = None
depends_on = None
phase = "expand"
release = "1.1.0"


def upgrade():
    op.add_column("users", sa.Column("full_name", sa.Text))
    backfill("users", set={"full_name": "first_name || ' ' || last_name"}, where="full_name IS NULL",
             batch_size=2)
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "versions").mkdir()
    (tmp_path / "env.py").write_text(ENV_PY)
    (tmp_path / "script.py.mako").write_text("")
    (tmp_path / "versions" / "a1_users.py").write_text(textwrap.dedent(REV1))
    (tmp_path / "versions" / "b2_full_name.py").write_text(textwrap.dedent(REV2))
    return tmp_path


def alembic_config(project, url, buffer=None) -> AlembicConfig:
    cfg = AlembicConfig(output_buffer=buffer)
    cfg.set_main_option("script_location", str(project))
    cfg.set_main_option("sqlalchemy.url", str(normalize_url(url).render_as_string(hide_password=False)))
    return cfg


@pytest.mark.parametrize("dbname", ["pg_url", "sqlite_url"])
def test_plain_alembic_upgrade_runs_the_backfill_inline(project, dbname, request):
    url = request.getfixturevalue(dbname)
    command.upgrade(alembic_config(project, url), "head")
    engine = create_engine(normalize_url(url))
    with engine.connect() as c:
        rows = c.execute(text("SELECT id, full_name FROM users ORDER BY id")).all()
        has_progress = "migrator_backfills" in c.dialect.get_table_names(c)
    engine.dispose()
    assert rows == [(1, "Ada Lovelace"), (5, "Alan Turing"), (9, "Grace Hopper")]
    assert not has_progress  # inline: no migrator bookkeeping in a plain Alembic database


def test_alembic_upgrade_sql_writes_the_batch_statement(project):
    buf = io.StringIO()
    command.upgrade(alembic_config(project, "postgresql://u@localhost/db", buf), "head", sql=True)
    out = buf.getvalue()
    assert "-- migrator backfill users(full_name): batched by key" in out
    assert ("UPDATE users SET full_name = (first_name || ' ' || last_name) WHERE id > :after_0"
            in out)
    assert "(full_name IS NULL) RETURNING 1)" in out


def test_collecting_records_declarations_without_running_them(project, sqlite_url):
    """What the phase runner does: wrap the upgrade, get the specs, run them after the commit."""
    with collecting() as specs:
        command.upgrade(alembic_config(project, sqlite_url), "head")
    assert specs == [BackfillSpec("users", {"full_name": "first_name || ' ' || last_name"},
                                  where="full_name IS NULL", batch_size=2)]
    engine = create_engine(normalize_url(sqlite_url))
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM users WHERE full_name IS NULL")).scalar() == 3
    engine.dispose()


def test_plain_alembic_command_line_works_with_a_backfill(project, sqlite_url):
    (project / "alembic.ini").write_text(
        f"[alembic]\nscript_location = {project}\nsqlalchemy.url = {sqlite_url}\n")
    p = subprocess.run([sys.executable, "-m", "alembic", "-c", str(project / "alembic.ini"),
                        "upgrade", "heads"], cwd=project, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert p.returncode == 0, p.stderr
    engine = create_engine(sqlite_url)
    with engine.connect() as c:
        assert c.execute(text("SELECT full_name FROM users WHERE id = 9")).scalar() == "Grace Hopper"
    engine.dispose()


def test_from_migrator_import_backfill_is_callable_whichever_import_came_first():
    code = ("import migrator.backfill.run\n"  # the package is imported first ...
            "from migrator import backfill\n"  # ... and still the name declares
            "from migrator.backfill.api import collecting\n"
            "with collecting() as specs:\n"
            "    spec = backfill('users', set={'a': '1'}, where='a IS NULL')\n"
            "assert specs == [spec] and spec.where == 'a IS NULL', specs\n"
            "print('ok')\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert p.returncode == 0 and p.stdout.strip() == "ok", p.stderr


@pytest.mark.parametrize("dbname", ["pg_url", "sqlite_url"])
def test_declared_backfill_is_registered_pending_in_the_revisions_own_transaction(project, dbname, request):
    """A runner killed after the DDL commits but before the first batch leaves the backfill
    visible as pending (so the gate says not ready), never silently forgotten."""
    url = request.getfixturevalue(dbname)
    with collecting(revision="r1", release="1.1.0") as specs:
        command.upgrade(alembic_config(project, url), "head")
    assert len(specs) == 1
    engine = create_engine(normalize_url(url))
    with engine.connect() as c:
        rows = c.execute(text("SELECT revision, release, status, rows_done FROM migrator_backfills")).all()
        unfilled = c.execute(text("SELECT count(*) FROM users WHERE full_name IS NULL")).scalar()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("r1", "1.1.0", "pending", 0)]
    assert unfilled == 3
