"""What the runner refuses and how it says so: checksum drift, broken revision scripts (exit 2,
the file named), rejected migrations (exit 1 unless overridden), an unreachable database
(exit 3, no password shown)."""

from __future__ import annotations

import re
import json
import textwrap

import pytest

from migrator.errors import RefusedError, UsageError
from migrator.runner import api
from migrator.script import load_catalog
from tests.support.sample import (cli, config_for, copy_sample, history_rows, run_cli, cli_env,
                                  columns)

VERSIONS = "migrations/versions"


def test_revision_edited_after_it_was_applied_is_refused_by_name_unless_accepted(tmp_path, sqlite_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, sqlite_url)
    assert api.expand(config, "1.1.0").ok
    f = project / VERSIONS / "e110_add_full_name.py"
    f.write_text(f.read_text() + "\n# edited after it was applied\n")

    code, out, err = cli(["expand", "-r", "1.2.0", "-d", str(project), "--database-url", sqlite_url], capsys)
    assert code == 1
    assert "e110_add_full_name" in err and "checksum" in err
    assert "first_name" in columns(sqlite_url, "users") and columns(sqlite_url, "users")["first_name"] is False

    code, out, err = cli(["expand", "-r", "1.2.0", "-d", str(project), "--database-url", sqlite_url,
                          "--accept-drift", "e110_add_full_name"], capsys)
    assert code == 2 and "--reason" in err  # an acceptance must say why

    code, out, err = cli(["expand", "-r", "1.2.0", "-d", str(project), "--database-url", sqlite_url,
                          "--accept-drift", "e110_add_full_name", "--reason", "comment only"], capsys)
    assert code == 0, err
    assert "checksum drift of e110_add_full_name accepted: comment only" in out
    accepted = [r for r in history_rows(sqlite_url) if r["override_reason"]
                and "drift" in r["override_reason"]]
    assert len(accepted) == 1 and accepted[0]["revision"] == "e110_add_full_name"
    # accepted once is enough
    assert api.expand(config, "1.2.0").ok


def _write(project, name, body):
    path = project / VERSIONS / name
    path.write_text(textwrap.dedent(body))
    return path


BROKEN = {
    "syntax": ("e130_broken.py", '''
        revision = "e130_broken"
        down_revision = "e120_relax_name_columns"
        phase = "expand"
        release = "1.3.0"
        def upgrade(:
            pass
        ''', "syntax error"),
    "missing_phase": ("e130_nophase.py", '''
        revision = "e130_nophase"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        release = "1.3.0"
        def upgrade():
            pass
        ''', "phase"),
    "bad_release": ("e130_badrelease.py", '''
        revision = "e130_badrelease"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        phase = "expand"
        release = "one point three"
        def upgrade():
            pass
        ''', "release"),
    "two_heads": ("e121_second_head.py", '''
        revision = "e121_second_head"
        down_revision = "e111_index_full_name"
        branch_labels = None
        depends_on = None
        phase = "expand"
        release = "1.2.0"
        def upgrade():
            pass
        ''', "two heads on the expand branch"),
    "import_error": ("e130_import.py", '''
        import no_such_module_here
        revision = "e130_import"
        down_revision = "e120_relax_name_columns"
        phase = "expand"
        release = "1.3.0"
        ''', "no_such_module_here"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_revision_script_exits_2_naming_the_file(tmp_path, sqlite_url, capsys, case):
    project = copy_sample(tmp_path)
    name, body, words = BROKEN[case]
    path = _write(project, name, body)
    with pytest.raises(UsageError) as e:  # the catalog refuses it, or the import before applying
        api.expand(config_for(project, sqlite_url), "1.3.0")
    assert words in str(e.value)
    code, out, err = cli(["expand", "-r", "1.3.0", "-d", str(project), "--database-url", sqlite_url], capsys)
    assert code == 2
    assert name in err and words in err
    assert "Traceback" not in err
    assert str(path) in err or name in err


def test_rejected_migration_is_refused_unless_overridden_and_the_override_is_recorded(tmp_path, sqlite_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, sqlite_url)
    assert api.expand(config, "1.2.0").ok
    _write(project, "e130_email_index.py", '''
        from alembic import op

        revision = "e130_email_index"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        phase = "expand"
        release = "1.3.0"

        def upgrade():
            op.create_index("ix_users_email_plain", "users", ["email"])

        def downgrade():
            op.drop_index("ix_users_email_plain", table_name="users")
        ''')
    with pytest.raises(RefusedError) as e:
        api.expand(config, "1.3.0")
    assert "e130_email_index" in str(e.value) and "e130_email_index.py:" in str(e.value)
    code, out, err = cli(["expand", "-r", "1.3.0", "-d", str(project), "--database-url", sqlite_url,
                          "--override-lint", "e130_email_index", "--reason", "tiny table, off-hours",
                          "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["migrations"][0]["override_reason"] == "lint override: tiny table, off-hours"
    assert history_rows(sqlite_url)[-1]["override_reason"] == "lint override: tiny table, off-hours"


def test_unreachable_database_exits_3_without_showing_the_password(tmp_path):
    project = copy_sample(tmp_path)
    url = "postgresql://migrator:hunter2-secret@127.0.0.1:1/app"
    p = run_cli(["expand", "-r", "1.0.0", "-d", str(project), "--database-url", url], env=cli_env())
    assert p.returncode == 3
    assert "hunter2-secret" not in p.stdout + p.stderr
    assert "cannot connect" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.postgres
def test_wrong_password_exits_2_redacted(tmp_path, pg_url, capsys):
    project = copy_sample(tmp_path)
    bad = pg_url.replace("s3cret-test-pw", "not-the-password-xyz")
    for command in (["expand", "-r", "1.0.0"], ["status"]):
        code, out, err = cli([*command, "-d", str(project), "--database-url", bad], capsys)
        assert code == 2, err  # permanent: a pipeline retrying on 3 would loop
        assert "not-the-password-xyz" not in out + err and "s3cret" not in out + err


def test_no_database_url_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATOR_DATABASE_URL", raising=False)
    project = copy_sample(tmp_path)
    ini = project / "alembic.ini"  # no sqlalchemy.url either: nowhere to find a database
    ini.write_text(re.sub(r"^sqlalchemy\.url\s*=.*\n", "", ini.read_text(), flags=re.M))
    code, out, err = cli(["expand", "-r", "1.0.0", "-d", str(project)], capsys)
    assert code == 2 and "database URL" in err
    code, out, err = cli(["expand", "-r", "not-a-version", "-d", str(project), "--database-url",
                          f"sqlite:///{tmp_path}/x.db"], capsys)
    assert code == 2 and "not-a-version" in err


def test_an_attempt_left_running_by_a_dead_runner_is_closed_and_the_revision_applied_again(tmp_path, sqlite_url):
    from migrator.runner import history as hist
    from migrator.tables import ensure_tables
    from tests.support.sample import engine

    project = copy_sample(tmp_path)
    config = config_for(project, sqlite_url)
    assert api.expand(config, "1.0.0").ok
    catalog = load_catalog(config)
    e = engine(sqlite_url)
    with e.begin() as c:  # a runner killed while applying e110: its row says running
        ensure_tables(c)
        hist.record_start(c, catalog.get("e110_add_full_name"))
    e.dispose()
    r = api.expand(config, "1.1.0")
    assert r.ok and [s.revision for s in r.steps] == ["e110_add_full_name", "e111_index_full_name"]
    rows = [row for row in history_rows(sqlite_url) if row["revision"] == "e110_add_full_name"]
    assert [row["status"] for row in rows] == ["failed", "applied"]
    assert "interrupted" in rows[0]["error"]


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_a_failing_migration_is_rolled_back_whole_and_recorded_failed(tmp_path, request, dialect):
    url = f"sqlite:///{tmp_path / 'app.db'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
    project = copy_sample(tmp_path)
    config = config_for(project, url)
    assert api.expand(config, "1.2.0").ok
    _write(project, "e130_half.py", '''
        from alembic import op
        import sqlalchemy as sa

        revision = "e130_half"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        phase = "expand"
        release = "1.3.0"

        def upgrade():
            op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))
            op.execute("INSERT INTO no_such_table VALUES (1)")
        ''')
    r = api.expand(config, "1.3.0")
    assert not r.ok and r.exit_code == 1
    assert r.steps[0].status == "failed" and "no_such_table" in r.steps[0].error
    from tests.support.sample import engine
    e = engine(url)
    import sqlalchemy as sa
    assert not sa.inspect(e).has_table("audit")
    e.dispose()
    last = history_rows(url)[-1]
    assert (last["revision"], last["status"]) == ("e130_half", "failed") and "no_such_table" in last["error"]
    assert api.status(config).window.first_pending_expand is not None
