"""What runs is what was linted: while the runner applies a revision, every statement sent to
the database is classified by the linter before it executes, and one the offline rendering did
not show that is rejected or of the other phase stops the revision (PostgreSQL)."""

from __future__ import annotations

import json
import textwrap

import pytest

from migrator.runner import api
from migrator.runner.guard import inline_parameters
from tests.support.sample import (cli, columns, config_for, copy_sample, execute, history_rows,
                                  scalar)

pytestmark = pytest.mark.postgres
VERSIONS = "migrations/versions"


def _revision(project, name: str, body: str, *, phase: str = "expand", release: str = "1.3.0",
              down: str = "e120_relax_name_columns") -> None:
    head = (f"import sqlalchemy as sa\nfrom alembic import context, op\n\nrevision = {name!r}\n"
            f"down_revision = {down!r}\nphase = {phase!r}\nrelease = {release!r}\n\n\n")
    (project / VERSIONS / f"{name}.py").write_text(head + textwrap.dedent(body))


@pytest.fixture
def seeded(tmp_path, pg_url):
    """The sample project expanded to 1.2.0, with three users."""
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.2.0").ok
    execute(pg_url, "INSERT INTO users (email, full_name) VALUES ('a@x', 'A'), ('b@x', 'B'), ('c@x', 'C')")
    return project, config


def _version(pg_url) -> set[str]:
    return {r for r in (scalar(pg_url, "SELECT string_agg(version_num, ',') FROM alembic_version") or "").split(",") if r}


def test_an_as_sql_branch_hiding_a_truncate_is_refused_at_apply_time_with_the_database_unchanged(
        seeded, pg_url, capsys):
    project, config = seeded
    _revision(project, "e130_sneaky", '''\
        def upgrade():
            if op.get_context().as_sql:
                op.execute("COMMENT ON TABLE users IS 'people'")
                return
            op.add_column("users", sa.Column("nickname", sa.Text()))
            op.execute("TRUNCATE users")
        ''')
    code, out, err = cli(["expand", "-r", "1.3.0", "-d", str(project), "--database-url", pg_url,
                          "--format", "json"], capsys)
    assert code == 1, err
    step = json.loads(out)["migrations"][-1]
    assert step["revision"] == "e130_sneaky" and step["status"] == "failed"
    assert "TRUNCATE users" in step["error"] and "truncate" in step["error"]
    assert scalar(pg_url, "SELECT count(*) FROM users") == 3
    assert "nickname" not in columns(pg_url, "users")  # the revision's transaction rolled back
    assert "e130_sneaky" not in _version(pg_url)
    row = history_rows(pg_url)[-1]
    assert row["revision"] == "e130_sneaky" and row["status"] == "failed"
    assert "TRUNCATE users" in row["error"]


def test_override_lint_does_not_cover_a_statement_lint_never_saw(seeded, pg_url, capsys):
    project, config = seeded
    _revision(project, "e130_sneaky", '''\
        def upgrade():
            if context.is_offline_mode():
                op.execute("COMMENT ON TABLE users IS 'people'")
            else:
                op.execute("TRUNCATE users")
        ''')
    result = api.expand(config, "1.3.0", override_lint={"e130_sneaky": "reviewed"})
    assert not result.ok and "TRUNCATE users" in result.steps[-1].error
    assert scalar(pg_url, "SELECT count(*) FROM users") == 3


def test_a_data_migration_deleting_every_row_through_get_bind_is_stopped(seeded, pg_url):
    project, config = seeded
    _revision(project, "e130_purge", '''\
        def upgrade():
            op.add_column("users", sa.Column("nickname", sa.Text()))
            conn = op.get_bind()
            count = conn.execute(sa.text("SELECT count(*) FROM users")).scalar()
            if count:  # offline the table is empty, so lint never sees this
                conn.execute(sa.text("DELETE FROM users"))
        ''')
    result = api.expand(config, "1.3.0")
    assert not result.ok
    step = result.steps[-1]
    assert "DELETE FROM users" in step.error and "unbatched-update-delete" in step.error
    assert scalar(pg_url, "SELECT count(*) FROM users") == 3
    assert "nickname" not in columns(pg_url, "users")


def test_a_refusal_the_revision_swallows_still_stops_it(seeded, pg_url):
    project, config = seeded
    _revision(project, "e130_stubborn", '''\
        def upgrade():
            conn = op.get_bind()
            if conn.execute(sa.text("SELECT count(*) FROM users")).scalar():
                try:
                    conn.execute(sa.text("DELETE FROM users"))
                except Exception:
                    pass
            op.add_column("users", sa.Column("nickname", sa.Text()))
        ''')
    result = api.expand(config, "1.3.0")
    assert not result.ok and "DELETE FROM users" in result.steps[-1].error
    assert scalar(pg_url, "SELECT count(*) FROM users") == 3
    assert "nickname" not in columns(pg_url, "users")
    assert "e130_stubborn" not in _version(pg_url)


def test_bounded_dml_of_a_data_migration_runs_even_though_offline_saw_no_rows(seeded, pg_url):
    project, config = seeded
    _revision(project, "e130_nicknames", '''\
        def upgrade():
            op.add_column("users", sa.Column("nickname", sa.Text()))
            conn = op.get_bind()
            for row in conn.execute(sa.text("SELECT id, email FROM users")).fetchall():
                conn.execute(sa.text("UPDATE users SET nickname = :n WHERE id = :id"),
                             {"n": row.email.split("@")[0], "id": row.id})
        ''')
    result = api.expand(config, "1.3.0")
    assert result.ok, result.steps[-1].error
    assert scalar(pg_url, "SELECT string_agg(nickname, ',' ORDER BY id) FROM users") == "a,b,c"


def test_a_contract_statement_an_expand_revision_runs_only_online_is_stopped(seeded, pg_url):
    project, config = seeded
    _revision(project, "e130_drops", '''\
        def upgrade():
            op.add_column("users", sa.Column("nickname", sa.Text()))
            if not context.is_offline_mode():
                op.drop_column("users", "first_name")
        ''')
    result = api.expand(config, "1.3.0")
    assert not result.ok
    assert "a contract statement in a expand migration" in result.steps[-1].error
    assert "first_name" in columns(pg_url, "users") and "nickname" not in columns(pg_url, "users")


def test_what_the_offline_rendering_showed_runs_as_before(seeded, pg_url):
    project, config = seeded
    api.deployed(config, "1.3.0")
    result = api.contract(config, "1.3.0")
    assert result.ok, [s.error for s in result.steps]
    assert "first_name" not in columns(pg_url, "users")


def test_parameters_are_written_in_for_classification():
    assert inline_parameters("UPDATE t SET a = %(a)s WHERE id = %(id)s", {"a": "it's", "id": 3}) == (
        "UPDATE t SET a = 'it''s' WHERE id = 3")
    assert inline_parameters("DELETE FROM t WHERE id = %s AND b LIKE 'x%%'", (None,)) == (
        "DELETE FROM t WHERE id = NULL AND b LIKE 'x%'")
    assert inline_parameters("INSERT INTO t VALUES (%(v)s)", [{"v": True}, {"v": False}]) == (
        "INSERT INTO t VALUES (TRUE)")


def test_a_rollback_runs_what_its_offline_downgrade_shows_and_stops_a_hidden_truncate(seeded, pg_url):
    project, config = seeded
    _revision(project, "e130_nick", '''\
        def upgrade():
            op.add_column("users", sa.Column("nickname", sa.Text()))


        def downgrade():
            if not context.is_offline_mode():
                op.execute("TRUNCATE users")
            op.drop_column("users", "nickname")
        ''')
    assert api.expand(config, "1.3.0").ok
    result = api.rollback(config, "1.3.0")
    assert not result.ok and "TRUNCATE users" in result.steps[-1].error
    assert scalar(pg_url, "SELECT count(*) FROM users") == 3
    assert "nickname" in columns(pg_url, "users")
    # the sample's own downgrades (SET NOT NULL again, DROP INDEX) are what they show offline
    (project / VERSIONS / "e130_nick.py").unlink()
    execute(pg_url, "ALTER TABLE users DROP COLUMN nickname",
            "UPDATE alembic_version SET version_num = 'e120_relax_name_columns' "
            "WHERE version_num = 'e130_nick'")
    result = api.rollback(config, "1.1.0")
    assert result.ok, [s.error for s in result.steps]


def test_what_env_py_sends_around_the_revision_is_not_the_revision(seeded, pg_url):
    """An env.py that creates a schema before running migrations is not an expand statement in
    a contract migration."""
    project, config = seeded
    env_py = project / "migrations" / "env.py"
    env_py.write_text(env_py.read_text().replace(
        "    with context.begin_transaction():\n        context.run_migrations()\n\n\ndef run_migrations_online",
        "    connection.exec_driver_sql('CREATE SCHEMA IF NOT EXISTS audit')\n"
        "    with context.begin_transaction():\n        context.run_migrations()\n\n\ndef run_migrations_online", 1))
    assert "CREATE SCHEMA IF NOT EXISTS audit" in env_py.read_text()
    api.deployed(config, "1.3.0")
    result = api.contract(config, "1.3.0")
    assert result.ok, [s.error for s in result.steps]
    assert scalar(pg_url, "SELECT count(*) FROM pg_namespace WHERE nspname = 'audit'") == 1
