"""Fixtures: one real PostgreSQL server per test session (per xdist worker), a fresh database per
test; SQLite files in tmp_path for the embedded default."""

from __future__ import annotations

import os

import pytest

from tests.support.pgserver import PgServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def pg_server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A libpq URL of a fresh, empty database on the real server."""
    url = pg_server.new_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'app.db'}"
