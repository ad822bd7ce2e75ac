"""A release typo must never drop columns: `contract` refuses a release no revision declares and
nobody recorded as deployed; with no instance registry it needs `migrator deployed` first;
`expand` of an unknown release is a no-op that says so."""

from __future__ import annotations

import json

import pytest

from migrator.errors import RefusedError
from migrator.gate.core import evaluate
from migrator.gate.registry import register_instance
from migrator.runner import api
from tests.support.sample import cli, columns, config_for, copy_sample, history_rows, scalar


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app.db'}"
    return request.getfixturevalue("pg_url")


def _at_1_2_0(tmp_path, url):
    project = copy_sample(tmp_path)
    config = config_for(project, url)
    assert api.expand(config, "1.2.0").ok  # E = 1.2.0; contract 1.2.0 and 1.3.0 pending
    return project, config


def test_a_mistyped_contract_release_drops_nothing_and_exits_1(tmp_path, db_url, capsys):
    project, config = _at_1_2_0(tmp_path, db_url)
    api.deployed(config, "1.2.0")  # even with a deployment recorded, 1.30.0 is not known
    before = columns(db_url, "users")
    code, out, err = cli(["contract", "--release", "1.30.0", "-d", str(project), "--database-url", db_url],
                         capsys)
    assert code == 1, (out, err)
    assert "release 1.30.0 is unknown" in err and "Did you mean 1.3.0?" in err
    assert "migrator deployed --release 1.30.0" in err and "--release-unknown-ok" in err
    assert "Traceback" not in err
    assert columns(db_url, "users") == before and "first_name" in before
    assert not any(r["phase"] == "contract" for r in history_rows(db_url))


def test_a_mistyped_release_is_refused_even_with_nothing_pending_and_in_json(tmp_path, sqlite_url, capsys):
    project, config = _at_1_2_0(tmp_path, sqlite_url)
    code, out, _ = cli(["contract", "-r", "9.9.9", "-d", str(project), "--database-url", sqlite_url,
                        "--format", "json", "--dry-run"], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["exit_code"] == 1 and "9.9.9 is unknown" in doc["error"]


def test_without_a_registry_contract_needs_the_deployment_recorded(tmp_path, db_url, capsys):
    project, config = _at_1_2_0(tmp_path, db_url)
    with pytest.raises(RefusedError) as e:
        api.contract(config, "1.2.0")
    assert "migrator deployed --release 1.2.0" in e.value.message
    assert "first_name" in columns(db_url, "users")
    assert evaluate("contract", "1.2.0", url=db_url, config=config).verdict == "fail"

    code, out, _ = cli(["deployed", "--release", "1.2.0", "-d", str(project), "--database-url", db_url,
                        "--note", "pipeline 42"], capsys)
    assert code == 0 and "recorded: release 1.2.0 deployed" in out
    gate = evaluate("contract", "1.2.0", url=db_url, config=config)
    assert gate.verdict == "pass" and [r.code for r in gate.warnings] == ["registry_empty"]
    assert "latest recorded deployment is release 1.2.0" in gate.warnings[0].message
    r = api.contract(config, "1.2.0")
    assert r.ok and [s.revision for s in r.steps] == ["c120_full_name_check", "c121_validate_full_name_check"]
    # 1.3.0 is declared by c130 but not deployed yet: its contract waits for the record
    with pytest.raises(RefusedError, match="latest recorded deployment is release 1.2.0"):
        api.contract(config, "1.3.0")
    assert "first_name" in columns(db_url, "users")
    assert scalar(db_url, "SELECT note FROM migrator_deployments") == "pipeline 42"


def test_a_recorded_rollback_of_the_code_blocks_the_contract_again(tmp_path, sqlite_url):
    _, config = _at_1_2_0(tmp_path, sqlite_url)
    api.deployed(config, "1.2.0")
    api.deployed(config, "1.1.0")  # the code went back to 1.1.0 (blue-green switch back)
    with pytest.raises(RefusedError, match="latest recorded deployment is release 1.1.0"):
        api.contract(config, "1.2.0")


def test_a_release_recorded_as_deployed_or_reported_by_an_instance_is_known(tmp_path, sqlite_url):
    _, config = _at_1_2_0(tmp_path, sqlite_url)
    api.deployed(config, "1.2.1", note="a bugfix release without migrations")
    r = api.contract(config, "1.2.1")  # known from the record; applies the 1.2.0 contract
    assert r.ok and [s.revision for s in r.steps] == ["c120_full_name_check", "c121_validate_full_name_check"]
    handle = register_instance(sqlite_url, "1.2.2", instance_id="pod-a")
    try:
        assert api.contract(config, "1.2.2").steps == []  # known from the registry, nothing pending
    finally:
        handle.stop()


def test_release_unknown_ok_contracts_up_to_an_undeclared_release(tmp_path, sqlite_url):
    _, config = _at_1_2_0(tmp_path, sqlite_url)
    handle = register_instance(sqlite_url, "1.3.0", instance_id="pod-new")
    try:
        with pytest.raises(RefusedError, match="1.2.5 is unknown"):
            api.contract(config, "1.2.5")
        r = api.contract(config, "1.2.5", release_unknown_ok=True)
    finally:
        handle.stop()
    assert r.ok and [s.revision for s in r.steps] == ["c120_full_name_check", "c121_validate_full_name_check"]
    assert any("--release-unknown-ok" in n for n in r.notes)


def test_expand_of_an_unknown_release_is_a_no_op_that_says_so(tmp_path, db_url, capsys):
    project, _ = _at_1_2_0(tmp_path, db_url)
    code, out, _ = cli(["expand", "--release", "1.30.0", "-d", str(project), "--database-url", db_url],
                       capsys)
    assert code == 0 and "nothing to do" in out
    assert "no revision declares release 1.30.0" in out and "newest release the catalog declares is 1.3.0" in out


def test_deployed_is_refused_for_a_release_the_schema_does_not_support(tmp_path, sqlite_url, capsys):
    project = copy_sample(tmp_path)
    config = config_for(project, sqlite_url)
    assert api.expand(config, "1.0.0").ok
    code, _, err = cli(["deployed", "-r", "1.1.0", "-d", str(project), "--database-url", sqlite_url], capsys)
    assert code == 1 and "expand migrations of release 1.1.0 <= 1.1.0 are not applied" in err
    assert scalar(sqlite_url, "SELECT count(*) FROM migrator_deployments") == 0
    code, _, err = cli(["deployed", "-r", "1.x", "-d", str(project), "--database-url", sqlite_url], capsys)
    assert code == 2 and "Traceback" not in err


def test_plan_of_an_unknown_release_says_no_revision_declares_it(tmp_path, capsys):
    project = copy_sample(tmp_path)
    code, out, _ = cli(["plan", "--release", "1.30.0", "-d", str(project), "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 0 and any("no revision declares release 1.30.0" in n and "1.3.0" in n for n in doc["notes"])
    code, out, _ = cli(["plan", "--release", "1.3.0", "-d", str(project), "--format", "json"], capsys)
    assert not any("no revision declares" in n for n in json.loads(out)["notes"])
