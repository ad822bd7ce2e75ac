"""A revision applied again after a rollback runs its backfills again: the downgrade took the
rows they filled, and the gate never passes while a declared backfill of an applied revision has
not run against the rows it has now. The sample project on real PostgreSQL."""

from __future__ import annotations

from alembic import command

from migrator.dburl import normalize_url
from migrator.gate.core import evaluate
from migrator.runner import api
from migrator.runner.alembic_run import alembic_config
from migrator.script import load_catalog
from tests.support.sample import config_for, copy_sample, execute, scalar
from tests.support.window import assert_window_invariant

USERS = ("INSERT INTO users (id, first_name, last_name, email) VALUES "
         "(1, 'Ada', 'Lovelace', 'ada@example.com'), (2, 'Alan', 'Turing', 'alan@example.com')")


def _backfill(url: str) -> tuple[str, int] | None:
    row = scalar(url, "SELECT status || ' ' || rows_done FROM migrator_backfills "
                      "WHERE name = 'users_full_name_1_1_0'")
    return None if row is None else (row.split()[0], int(row.split()[1]))


def _empty_full_names(url: str) -> int:
    return scalar(url, "SELECT count(*) FROM users WHERE full_name IS NULL")


def test_expand_rollback_expand_runs_the_backfill_again_and_the_gate_waits_for_it(tmp_path, pg_url):
    config = config_for(copy_sample(tmp_path), pg_url)
    assert api.expand(config, "1.0.0").ok
    execute(pg_url, USERS)

    first = api.expand(config, "1.1.0")
    assert first.ok and first.steps[0].backfills[0]["status"] == "finished"
    assert _empty_full_names(pg_url) == 0 and _backfill(pg_url) == ("finished", 2)
    assert evaluate("ready", "1.1.0", url=pg_url, config=config).passed
    assert_window_invariant(config)

    assert api.rollback(config, "1.1.0").ok
    assert _backfill(pg_url) is None  # the downgrade undid what the upgrade declared
    assert not evaluate("ready", "1.1.0", url=pg_url, config=config).passed
    assert evaluate("ready", "1.0.0", url=pg_url, config=config).passed
    assert_window_invariant(config)
    execute(pg_url, "INSERT INTO users (id, first_name, last_name, email) "
                    "VALUES (3, 'Grace', 'Hopper', 'grace@example.com')")

    again = api.expand(config, "1.1.0")
    assert again.ok
    assert [b["status"] for b in again.steps[0].backfills] == ["finished"]  # not already_finished
    assert _empty_full_names(pg_url) == 0
    assert scalar(pg_url, "SELECT full_name FROM users WHERE id = 3") == "Grace Hopper"
    assert _backfill(pg_url) == ("finished", 3)
    assert evaluate("ready", "1.1.0", url=pg_url, config=config).passed
    assert_window_invariant(config)


def test_a_plain_alembic_downgrade_then_expand_starts_the_backfill_over(tmp_path, pg_url):
    """The finished row outlives a downgrade done outside migrator; applying the revision again
    declares the backfill anew, and until it has run the gate says so."""
    project = copy_sample(tmp_path)
    config = config_for(project, pg_url)
    assert api.expand(config, "1.0.0").ok
    execute(pg_url, USERS)
    assert api.expand(config, "1.1.0").ok
    alembic_cfg = alembic_config(load_catalog(config), normalize_url(pg_url).render_as_string(hide_password=False))
    command.downgrade(alembic_cfg, "e100_create_tables")
    assert _backfill(pg_url) == ("finished", 2)  # stale: its rows are gone

    # the gate no longer counts it: its revision is not applied
    r = evaluate("ready", "1.0.0", url=pg_url, config=config)
    assert r.passed and r.backfills == []
    assert_window_invariant(config)

    again = api.expand(config, "1.1.0")
    assert again.ok and again.steps[0].revision == "e110_add_full_name"
    assert [b["status"] for b in again.steps[0].backfills] == ["finished"]  # not already_finished
    assert _empty_full_names(pg_url) == 0 and _backfill(pg_url) == ("finished", 2)
    assert evaluate("ready", "1.1.0", url=pg_url, config=config).passed
    assert_window_invariant(config)
