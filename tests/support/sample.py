"""Helpers for the runner's tests: a private copy of the sample project, a configuration with
small retry delays, and the CLI run in-process or as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from migrator.config import load_config
from migrator.dburl import normalize_url

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_project"

FAST = dict(lock_timeout_ms=200, retry_attempts=4, retry_base_delay=0.02, retry_max_delay=0.1,
            retry_max_total=5.0, lock_wait=20.0)


def copy_sample(tmp_path: Path) -> Path:
    dest = tmp_path / "sample_project"
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("*.db", "*.lock", "__pycache__"))
    return dest


def config_for(project: Path, url: str, **overrides):
    values = {**FAST, **overrides}
    return load_config(project, environ={}).with_overrides(database_url=url, **values)


def engine(url: str) -> sa.Engine:
    return sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)


def columns(url: str, table: str) -> dict[str, bool]:
    """column name -> nullable"""
    e = engine(url)
    try:
        return {c["name"]: c["nullable"] for c in sa.inspect(e).get_columns(table)}
    finally:
        e.dispose()


def scalar(url: str, sql: str, **params):
    e = engine(url)
    try:
        with e.connect() as c:
            return c.execute(sa.text(sql), params).scalar()
    finally:
        e.dispose()


def execute(url: str, *sqls: str) -> None:
    e = engine(url)
    try:
        with e.begin() as c:
            for s in sqls:
                c.execute(sa.text(s))
    finally:
        e.dispose()


def history_rows(url: str) -> list[dict]:
    e = engine(url)
    try:
        with e.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.text(
                "SELECT * FROM migrator_history ORDER BY id"))]
    finally:
        e.dispose()


def cli_env(url: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_") and k != "DATABASE_URL"}
    if url:
        env["MIGRATOR_DATABASE_URL"] = url
    env.update({"MIGRATOR_LOCK_TIMEOUT_MS": "200", "MIGRATOR_RETRY_BASE_DELAY": "0.02",
                "MIGRATOR_RETRY_MAX_DELAY": "0.1", "MIGRATOR_RETRY_ATTEMPTS": "4"})
    env.update(extra)
    return env


def run_cli(args: list[str], *, env: dict[str, str], cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in this process; (exit code, stdout, stderr)."""
    from migrator.cli import main

    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
