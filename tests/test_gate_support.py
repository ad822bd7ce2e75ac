"""Helpers shared by the gate, registry and serve tests (this module holds no tests itself)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrator.dburl import normalize_url
from migrator.tables import backfills, deployments, ensure_tables, history

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_project"


def engine_for(url: str):
    return create_engine(normalize_url(url))


def add_history(url: str, *rows: tuple) -> None:
    """rows: (revision, phase, release, status[, action[, error]])."""
    eng = engine_for(url)
    try:
        with eng.begin() as c:
            ensure_tables(c)
            for row in rows:
                revision, phase, release, status, *rest = row
                action = rest[0] if rest else "upgrade"
                error = rest[1] if len(rest) > 1 else None
                c.execute(history.insert().values(
                    revision=revision, phase=phase, release=release, status=status, action=action,
                    error=error, started_at=datetime.now(timezone.utc)))
    finally:
        eng.dispose()


def add_deployment(url: str, release: str) -> None:
    """A `migrator deployed --release` record."""
    eng = engine_for(url)
    try:
        with eng.begin() as c:
            ensure_tables(c)
            c.execute(deployments.insert().values(release=release, recorded_at=datetime.now(timezone.utc)))
    finally:
        eng.dispose()


def add_backfill(url: str, name: str, release: str, status: str, rows_done: int = 0) -> None:
    eng = engine_for(url)
    try:
        with eng.begin() as c:
            ensure_tables(c)
            c.execute(backfills.insert().values(name=name, revision="r_" + name, release=release,
                                                table_name="users", spec="{}", status=status,
                                                rows_done=rows_done))
    finally:
        eng.dispose()


def execute(url: str, *statements: str, autocommit: bool = False) -> None:
    eng = engine_for(url)
    try:
        if autocommit:
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                for s in statements:
                    c.execute(text(s))
        else:
            with eng.begin() as c:
                for s in statements:
                    c.execute(text(s))
    finally:
        eng.dispose()


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run ``migrator ARGS`` in-process through the real entry point: (exit code, out, err)."""
    from migrator.cli import main

    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def json_out(out: str) -> dict:
    return json.loads(out)


def codes(result) -> set[str]:
    return {r.code for r in result.reasons if r.severity == "error"}
