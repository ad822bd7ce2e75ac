from pathlib import Path

import pytest

from migrator.config import load_config
from migrator.errors import UsageError


def test_pyproject_table_then_environment_then_flags(tmp_path: Path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.migrator]\nserver_version = 12\nlock-timeout-ms = 500\nrules = {truncate = "off"}\n'
    )
    cfg = load_config(tmp_path, environ={"MIGRATOR_LOCK_TIMEOUT_MS": "750"})
    assert cfg.server_version == 12
    assert cfg.lock_timeout_ms == 750
    assert cfg.rules == {"truncate": "off"}
    assert cfg.root == tmp_path.resolve()
    assert cfg.with_overrides(server_version=14, lock_timeout_ms=None).server_version == 14


def test_migrator_toml_and_database_url_fallbacks(tmp_path: Path):
    (tmp_path / "migrator.toml").write_text('script_location = "migrations"\n')
    cfg = load_config(tmp_path, environ={"DATABASE_URL": "postgres://u:p@h/db"})
    assert cfg.script_location == "migrations" and cfg.database_url == "postgres://u:p@h/db"
    cfg = load_config(tmp_path, environ={"DATABASE_URL": "a", "MIGRATOR_DATABASE_URL": "b"})
    assert cfg.database_url == "b"


def test_unknown_key_and_wrong_type_are_usage_errors_naming_the_file(tmp_path: Path):
    (tmp_path / "migrator.toml").write_text("no_such_key = 1\n")
    with pytest.raises(UsageError, match="no_such_key"):
        load_config(tmp_path, environ={})
    (tmp_path / "migrator.toml").write_text('server_version = "fifteen"\n')
    with pytest.raises(UsageError, match="server_version"):
        load_config(tmp_path, environ={})
    (tmp_path / "migrator.toml").write_text("server_version = \n")
    with pytest.raises(UsageError, match="migrator.toml"):
        load_config(tmp_path, environ={})
