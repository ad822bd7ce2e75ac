import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.config import Config, load_config
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


# -- ranges: one check for the file, MIGRATOR_* variables, flags and the Python API ----------------

@pytest.mark.parametrize("name, value", [("lock_timeout_ms", 0), ("lock_timeout_ms", -1),
                                         ("server_version", -5), ("retry_attempts", 0),
                                         ("statement_timeout_ms", -1), ("instance_ttl", 0),
                                         ("backfill_max_rate", 0), ("lock_wait", -3.5),
                                         ("retry_max_total", "nan"), ("backfill_target_ms", "inf")])
def test_a_numeric_setting_out_of_range_is_refused_from_every_source(tmp_path: Path, name, value):
    literal = value if isinstance(value, str) else repr(value)
    (tmp_path / "migrator.toml").write_text(f"{name} = {literal}\n")
    with pytest.raises(UsageError, match=name) as e:
        load_config(tmp_path, environ={})
    assert e.value.path and e.value.path.endswith("migrator.toml") and e.value.line == 1
    (tmp_path / "migrator.toml").write_text("")
    with pytest.raises(UsageError, match=f"MIGRATOR_{name.upper()}"):
        load_config(tmp_path, environ={f"MIGRATOR_{name.upper()}": str(value)})
    if not isinstance(value, str):
        with pytest.raises(UsageError, match=name):
            load_config(tmp_path, environ={}).with_overrides(**{name: value})
        with pytest.raises(UsageError, match=name):
            Config(**{name: value})


def test_settings_inside_their_ranges_are_accepted(tmp_path: Path):
    (tmp_path / "migrator.toml").write_text("lock_timeout_ms = 1\nstatement_timeout_ms = 0\n"
                                            "server_version = 9\nretry_base_delay = 0\n")
    cfg = load_config(tmp_path, environ={"MIGRATOR_BACKFILL_MAX_RATE": "none"})
    assert (cfg.lock_timeout_ms, cfg.statement_timeout_ms, cfg.server_version) == (1, 0, 9)
    assert cfg.backfill_max_rate is None


def test_min_batch_above_max_batch_is_refused():
    with pytest.raises(UsageError, match="backfill_min_batch"):
        Config(backfill_min_batch=500, backfill_max_batch=100)


# -- broken configuration files: exit 2 naming the file (and line), never a fallback --------------

def _lint(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    (cwd / "m.sql").write_text("CREATE TABLE t (id int);\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    return subprocess.run([sys.executable, "-m", "migrator", "lint", "--no-cache", "m.sql", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


def test_broken_pyproject_with_a_migrator_table_is_exit_2_naming_file_and_line_not_the_parent(tmp_path: Path):
    (tmp_path / "migrator.toml").write_text("server_version = 14\n")  # a parent config that must not win
    child = tmp_path / "app"
    child.mkdir()
    (child / "pyproject.toml").write_text('[project]\nname = "app"\n\n[tool.migrator]\nserver_version = = 12\n')
    r = _lint(child)
    assert r.returncode == 2, r.stdout + r.stderr
    assert re.search(r"pyproject\.toml:5: invalid TOML", r.stderr), r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_a_broken_pyproject_without_a_migrator_table_is_passed_over(tmp_path: Path):
    (tmp_path / "migrator.toml").write_text("server_version = 14\n")
    child = tmp_path / "app"
    child.mkdir()
    (child / "pyproject.toml").write_text('[project]\nname = = "app"\n')
    assert _lint(child).returncode == 0


DEEP = "rules = " + "{a = " * 500 + '"off"' + "}" * 500 + "\n"


@pytest.mark.parametrize("content, needle", [
    (b"[tool]\nmigrator = 5\n", "[tool.migrator] must be a table"),
    (b"tool = 5\n", "'tool' must be a table"),
    (b'[tool.migrator]\nexclude = [1, {a=2}]\n', "exclude must be a list of strings"),
    (b'[tool.migrator]\n' + DEEP.encode(), "nested too deeply"),
    (b'[tool.migrator]\nrules = {truncate = {a = 1}}\n', "rules"),
    (b'[tool.migrator]\nwebhooks = [1]\n', "webhooks"),
    (b'[tool.migrator]\nserver_version = 15\n# caf\xe9\n', "not valid UTF-8"),
    (b'[tool.migrator]\nlock_timeout_ms = 0\n', "lock_timeout_ms = 0 is out of range"),
    (b'[tool.migrator]\nserver_version = -5\n', "server_version = -5 is out of range"),
], ids=["tool.migrator=5", "tool=5", "exclude", "deep", "rules", "webhooks", "utf8", "lock0", "version-5"])
def test_hostile_configuration_is_exit_2_with_one_line_naming_the_file(tmp_path: Path, content, needle):
    (tmp_path / "pyproject.toml").write_bytes(content)
    r = _lint(tmp_path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "pyproject.toml" in r.stderr and needle in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_zero_lock_timeout_from_flag_and_environment_is_exit_2(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    for args, extra in ((["--lock-timeout", "0"], {}), ([], {"MIGRATOR_LOCK_TIMEOUT_MS": "0"}),
                        (["--lock-timeout", "-20"], {})):
        r = subprocess.run([sys.executable, "-m", "migrator", "status", "--database-url",
                            f"sqlite:///{tmp_path / 'x.db'}", *args], cwd=tmp_path, env={**env, **extra},
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2, (args, extra, r.stdout + r.stderr)
        assert "lock_timeout_ms" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / "x.db").exists(), "the database was touched before the check"
