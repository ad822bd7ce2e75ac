"""The sample project walked release by release through the runner, on PostgreSQL and SQLite,
with the compatibility window checked after every step."""

from __future__ import annotations

import re
import json

import pytest
from packaging.version import Version

from migrator.errors import RefusedError
from migrator.runner import api
from tests.support.sample import (cli, columns, config_for, copy_sample, execute, history_rows,
                                  scalar)
from tests.support.window import assert_window_invariant

V = Version


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("pg_url")


def window_of(config):
    return assert_window_invariant(config)


def test_sample_project_walks_its_releases_with_the_window_after_each_step(tmp_path, db_url):
    project = copy_sample(tmp_path)
    config = config_for(project, db_url)

    r = api.expand(config, "1.0.0")
    assert r.ok and [s.revision for s in r.steps] == ["e100_create_tables"]
    w = window_of(config)
    assert w.supports(V("1.0.0")) and not w.supports(V("1.1.0"))
    # release 1.0.0 writes users the old way
    execute(db_url, "INSERT INTO users (id, first_name, last_name, email) VALUES "
                    "(1, 'Ada', 'Lovelace', 'ada@example.com'), (2, 'Alan', 'Turing', 'alan@example.com')")

    r = api.expand(config, "1.1.0")
    assert r.ok and [s.revision for s in r.steps] == ["e110_add_full_name", "e111_index_full_name"]
    assert r.steps[0].backfills and r.steps[0].backfills[0]["status"] == "finished"
    assert scalar(db_url, "SELECT full_name FROM users WHERE id = 1") == "Ada Lovelace"
    w = window_of(config)
    assert w.supports(V("1.0.0")) and w.supports(V("1.1.0")) and not w.supports(V("1.2.0"))
    # the old release keeps inserting rows without full_name while 1.1.0 rolls out
    execute(db_url, "INSERT INTO users (id, first_name, last_name, email) VALUES "
                    "(3, 'Grace', 'Hopper', 'grace@example.com')")

    r = api.expand(config, "1.2.0")
    assert r.ok and [s.revision for s in r.steps] == ["e120_relax_name_columns"]
    assert columns(db_url, "users")["first_name"] is True
    w = window_of(config)
    assert w.supports(V("1.0.0")) and w.supports(V("1.2.0"))

    api.deployed(config, "1.2.0")  # the pipeline records the rollout (no instance registry here)
    r = api.contract(config, "1.2.0")
    assert r.ok, r.steps
    assert [s.revision for s in r.steps] == ["c120_full_name_check", "c121_validate_full_name_check"]
    # the second backfill pass caught the row the old release wrote
    assert scalar(db_url, "SELECT full_name FROM users WHERE id = 3") == "Grace Hopper"
    w = window_of(config)
    assert not w.supports(V("1.1.0")) and w.supports(V("1.2.0")) and w.supports(V("1.3.0"))

    api.deployed(config, "1.3.0")
    r = api.contract(config, "1.3.0")
    assert r.ok and [s.revision for s in r.steps] == ["c130_drop_name_columns"]
    cols = columns(db_url, "users")
    assert set(cols) == {"id", "full_name", "email"} and cols["full_name"] is False
    w = window_of(config)
    assert w.min_release == V("1.3.0") and not w.supports(V("1.2.0")) and w.supports(V("1.3.0"))

    rows = history_rows(db_url)
    assert [row["revision"] for row in rows if row["status"] == "applied"] == [
        "e100_create_tables", "e110_add_full_name", "e111_index_full_name", "e120_relax_name_columns",
        "c120_full_name_check", "c121_validate_full_name_check", "c130_drop_name_columns"]
    assert all(row["checksum"] and row["run_by"] and row["finished_at"] for row in rows)
    assert {row["release"] for row in rows} == {"1.0.0", "1.1.0", "1.2.0", "1.3.0"}

    # nothing left: a second run applies nothing
    assert api.expand(config, "1.3.0").steps == [] and api.contract(config, "1.3.0").steps == []


def test_contract_refused_while_the_expand_phase_is_incomplete(tmp_path, db_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, db_url)
    api.expand(config, "1.1.0")
    with pytest.raises(RefusedError) as e:
        api.contract(config, "1.2.0")
    assert "1.2.0" in str(e.value) and "e120_relax_name_columns" in str(e.value)
    code, out, err = cli(["contract", "--release", "1.2.0", "-d", str(project), "--database-url", db_url,
                          "--format", "json"], capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and "e120_relax_name_columns" in doc["error"]
    assert not any(r["phase"] == "contract" for r in history_rows(db_url))


def test_rollback_undoes_expand_and_is_refused_after_a_contract(tmp_path, db_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, db_url)
    api.expand(config, "1.2.0")
    r = api.rollback(config, "1.1.0")
    assert r.ok
    assert [s.revision for s in r.steps] == ["e120_relax_name_columns", "e111_index_full_name",
                                             "e110_add_full_name"]
    assert all(s.status == "rolled_back" for s in r.steps)
    assert "full_name" not in columns(db_url, "users")
    w = window_of(config)
    assert w.supports(V("1.0.0")) and not w.supports(V("1.1.0"))
    assert [row["status"] for row in history_rows(db_url)][-3:] == ["rolled_back"] * 3

    api.expand(config, "1.2.0")
    api.deployed(config, "1.2.0")
    assert api.contract(config, "1.2.0").ok
    code, out, err = cli(["rollback", "--release", "1.2.0", "-d", str(project), "--database-url", db_url],
                         capsys)
    assert code == 1
    assert "c120_full_name_check" in err and "contract" in err
    assert columns(db_url, "users")["first_name"] is True  # nothing undone
    # rolling back a newer release than any contract applied is still allowed
    assert api.rollback(config, "1.3.0").steps == []


def test_dry_run_applies_nothing_and_plan_shows_the_sql(tmp_path, db_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, db_url)
    r = api.expand(config, "1.1.0", dry_run=True)
    assert [s.status for s in r.steps] == ["planned"] * 3
    assert scalar(db_url, "SELECT count(*) FROM migrator_history") == 0
    code, out, _ = cli(["plan", "--release", "1.3.0", "-d", str(project), "--database-url", db_url,
                        "--sql"], capsys)
    assert code == 0
    assert "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_users_full_name" in out
    assert out.index("e120_relax_name_columns") < out.index("c120_full_name_check")
    assert "ALTER TABLE users DROP COLUMN first_name" in out


def test_cli_text_output_has_one_line_per_migration_and_a_summary(tmp_path, db_url, capsys):
    project = copy_sample(tmp_path)
    code, out, err = cli(["expand", "-r", "1.1.0", "-d", str(project), "--database-url", db_url], capsys)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.strip().startswith("applied")]
    assert len(lines) == 3 and "e110_add_full_name" in lines[1] and "1.1.0" in lines[1]
    assert "1 attempt" in lines[0]
    assert "expand 1.1.0: 3 applied, 0 failed" in out
    code, out, err = cli(["status", "-d", str(project), "--database-url", db_url, "--format", "json"], capsys)
    doc = json.loads(out)
    assert doc["releases"]["1.1.0"]["applied"] == ["e110_add_full_name", "e111_index_full_name"]
    assert doc["window"]["max_release"] == "1.1.0"
    assert "s3cret" not in out


def test_plan_needs_no_database_and_prints_json_steps_in_order(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATOR_DATABASE_URL", raising=False)
    project = copy_sample(tmp_path)
    ini = project / "alembic.ini"  # no sqlalchemy.url either: nowhere to find a database
    ini.write_text(re.sub(r"^sqlalchemy\.url\s*=.*\n", "", ini.read_text(), flags=re.M))
    code, out, err = cli(["plan", "-r", "1.2.0", "-d", str(project), "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert [m["revision"] for m in doc["migrations"]] == [
        "e100_create_tables", "e110_add_full_name", "e111_index_full_name", "e120_relax_name_columns",
        "c120_full_name_check", "c121_validate_full_name_check"]
    assert all(m["status"] == "planned" for m in doc["migrations"])
    validate = doc["migrations"][-1]["sql"]
    assert validate == ["ALTER TABLE users VALIDATE CONSTRAINT ck_users_full_name_not_null;"]
    assert doc["window"] is None and "no database URL" in doc["notes"][0]


def test_contract_with_nothing_pending_does_not_consult_the_gate(tmp_path, sqlite_url):
    from migrator.gate.registry import register_instance

    project = copy_sample(tmp_path)
    config = config_for(project, sqlite_url)
    assert api.expand(config, "1.2.0").ok
    api.deployed(config, "1.2.0")
    assert api.contract(config, "1.2.0").ok
    handle = register_instance(sqlite_url, "1.1.0", instance_id="old-pod")  # an old pod reappears
    try:
        assert api.contract(config, "1.2.0").steps == []  # nothing to do: no refusal
        with pytest.raises(RefusedError, match="old-pod"):
            api.contract(config, "1.3.0")
    finally:
        handle.stop()


def test_rerunning_expand_resumes_a_backfill_an_interrupted_run_left_unfinished(tmp_path, db_url):
    """A runner killed (or cut off by a database restart, exit 3) mid-backfill: the pipeline
    simply reruns `migrator expand`, which must finish the backfill, not report 'nothing to do'
    while the gate stays closed."""
    from migrator.gate.core import evaluate

    project = copy_sample(tmp_path)
    config = config_for(project, db_url)
    assert api.expand(config, "1.0.0").ok
    execute(db_url, "INSERT INTO users (id, first_name, last_name, email) VALUES "
                    "(1, 'Ada', 'Lovelace', 'ada@example.com'), (2, 'Alan', 'Turing', 'alan@example.com')")
    assert api.expand(config, "1.1.0").ok
    # the state a kill before the first batch commits leaves behind
    execute(db_url, "UPDATE users SET full_name = NULL",
            "UPDATE migrator_backfills SET status = 'running', last_key = NULL, rows_done = 0, "
            "rows_scanned = 0, batches = 0, finished_at = NULL")
    assert evaluate("ready", "1.1.0", url=db_url, config=config).verdict == "fail"

    r = api.expand(config, "1.1.0")
    assert r.ok and r.steps == []
    assert any(n.startswith("resumed backfill") and "finished" in n for n in r.notes), r.notes
    assert scalar(db_url, "SELECT count(*) FROM users WHERE full_name IS NULL") == 0
    assert evaluate("ready", "1.1.0", url=db_url, config=config).verdict == "pass"


def test_plan_shows_each_steps_lint_verdict_and_names_what_expand_will_refuse(tmp_path, capsys,
                                                                              monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MIGRATOR_DATABASE_URL", raising=False)
    project = copy_sample(tmp_path)
    ini = project / "alembic.ini"
    ini.write_text(re.sub(r"^sqlalchemy\.url\s*=.*\n", "", ini.read_text(), flags=re.M))
    (project / "migrations" / "versions" / "e140_truncate_orders.py").write_text(
        '"""a careless expand"""\nfrom alembic import op\n\n'
        'revision = "e140_truncate_orders"\ndown_revision = "e120_relax_name_columns"\n'
        'phase = "expand"\nrelease = "1.4.0"\n\n\n'
        'def upgrade():\n    op.execute("TRUNCATE orders")\n\n\ndef downgrade():\n    pass\n')
    code, out, err = cli(["plan", "-r", "1.4.0", "--phase", "expand", "-d", str(project),
                          "--format", "json"], capsys)
    assert code == 0, err
    verdicts = {m["revision"]: m["lint"]["verdict"] for m in json.loads(out)["migrations"]}
    assert verdicts["e140_truncate_orders"] == "rejected"
    assert verdicts["e100_create_tables"] in ("clean", "warnings")
    [step] = [m for m in json.loads(out)["migrations"] if m["revision"] == "e140_truncate_orders"]
    assert any("truncate" in e and "e140_truncate_orders.py:11" in e for e in step["lint"]["errors"]), step["lint"]
    code, out, err = cli(["plan", "-r", "1.4.0", "--phase", "expand", "-d", str(project)], capsys)
    assert code == 0, err
    assert "lint: rejected: expand will refuse it" in out
