"""The scratch schema: a throwaway database the project's migrations are replayed into, through
the runner's own ``expand`` / ``contract``, so the schema each phase leaves is the one the runner
would leave.

SQLite by default (a temporary file, no server). With a PostgreSQL URL, a database named
``migrator_check_<random>`` is created on that server and dropped afterwards: the database the
URL names is never written to.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa
from packaging.version import Version

from ..config import Config
from ..dburl import is_postgres, normalize_url, redact
from ..errors import UsageError
from ..runner import api as runner
from ..script import Catalog
from ..runner.db import check_reachable, make_engine, short_error

REASON = "migrator check --models: scratch database"


def _memory_dir() -> str | None:
    """A RAM-backed directory for the SQLite file where there is one (its commits then cost no
    disk flush), else the default temporary directory."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@contextmanager
def scratch_url(server_url: str | None) -> Iterator[str]:
    """A URL of an empty database that is removed afterwards."""
    if not server_url:
        with tempfile.TemporaryDirectory(prefix="migrator-check-", dir=_memory_dir()) as d:
            yield f"sqlite:///{Path(d) / 'scratch.db'}"
        return
    url = normalize_url(server_url)
    if not is_postgres(url):
        raise UsageError("--database-url names a PostgreSQL server to create the scratch database on "
                         f"(got {url.get_backend_name()}); without it a temporary SQLite file is used")
    admin = make_engine(Config(database_url=url.render_as_string(hide_password=False)))
    name = f"migrator_check_{secrets.token_hex(6)}"
    try:
        check_reachable(admin)
        try:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sa.exc.DBAPIError as e:
            raise UsageError(f"cannot create a scratch database on {redact(url)}: "
                             f"{short_error(e, url)} (the check needs CREATEDB there)") from None
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            _drop(admin, name)
    finally:
        admin.dispose()


def _drop(admin: sa.Engine, name: str) -> None:
    """Drop the scratch database (``WITH (FORCE)`` from PostgreSQL 13 on: a connection the
    project's env.py left open must not keep it alive)."""
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        force = " WITH (FORCE)" if conn.dialect.server_version_info >= (13,) else ""
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"{force}')


@dataclass(frozen=True)
class Plan:
    """What to replay for release V: everything up to 'after expand V', then contract V."""

    prior_contract: Version | None  # the highest release < V with contract migrations
    expand: Version | None  # the highest release <= V with expand migrations
    contract: Version | None  # the highest release <= V with contracts not in prior_contract

    @classmethod
    def of(cls, catalog: Catalog, v: Version) -> "Plan":
        contracts = [r.release for r in catalog.of_phase("contract") if r.release <= v]
        prior = max((r for r in contracts if r < v), default=None)
        expand = max((r.release for r in catalog.of_phase("expand") if r.release <= v), default=None)
        own = max((r for r in contracts if prior is None or r > prior), default=None)
        return cls(prior, expand, own)


class Replay:
    """The runner, pointed at a scratch database; each call advances its schema."""

    def __init__(self, config: Config, url: str):
        # scratch runs notify nobody, wait for no instance registry, retry nothing for long
        self.config = config.with_overrides(database_url=url, webhooks=[], require_registry=False,
                                            retry_attempts=1, lock_wait=5.0)
        self.url = url
        self.dialect = normalize_url(url).get_backend_name()

    def expand(self, release: Version, catalog: Catalog) -> None:
        self._run("expand", release, catalog)

    def contract(self, release: Version, catalog: Catalog) -> None:
        # the replay plays the deploy pipeline: release R is rolled out before its contract runs
        runner.deployed(self.config, str(release), note=REASON)
        self._run("contract", release, catalog)

    def _run(self, phase: str, release: Version, catalog: Catalog) -> None:
        override = {r.id: REASON for r in catalog.revisions}
        fn = runner.expand if phase == "expand" else runner.contract
        result = fn(self.config, str(release), override_lint=override)
        if not result.ok:
            failed = next((s for s in result.steps if s.status == "failed" or s.error), None)
            what = f"{failed.revision} ({failed.path}): {failed.error}" if failed else "a step failed"
            hint = (" (PostgreSQL-only migrations need a PostgreSQL scratch server: --database-url)"
                    if self.dialect == "sqlite" else "")
            raise UsageError(f"cannot build the scratch schema ({self.dialect}): {phase} {release} "
                             f"failed in {what}{hint}")

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        engine = make_engine(self.config)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
