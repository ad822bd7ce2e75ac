"""A real PostgreSQL server for tests and benchmarks, found in this order (DEVELOPERS.md):

1. ``MIGRATOR_TEST_DATABASE_URL`` (an admin URL; databases are created beside it);
2. testcontainers, when a Docker daemon answers;
3. a throwaway local server from the PostgreSQL binaries (``initdb`` / ``pg_ctl``), run as the
   ``postgres`` user when we are root, with password authentication on 127.0.0.1.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

PASSWORD = "s3cret-test-pw"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_bindir() -> str | None:
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        d = out.stdout.strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    return None


def _docker_answers() -> bool:
    if not shutil.which("docker") and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        import docker  # type: ignore

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


class PgServer:
    """One server. ``admin_url`` is a libpq URL of a superuser; ``new_database()`` makes a fresh db."""

    def __init__(self) -> None:
        self.admin_url: str = ""
        self.kind = ""
        self._container = None
        self._tmp: str | None = None
        self.bindir: str | None = None
        self.datadir: str | None = None
        self.port: int | None = None
        self._as_postgres: list[str] = []

    # -- starting --------------------------------------------------------------------------
    def start(self) -> "PgServer":
        env_url = os.environ.get("MIGRATOR_TEST_DATABASE_URL")
        if env_url:
            self.kind, self.admin_url = "env", env_url
        elif _docker_answers():
            self._start_container()
        else:
            self._start_local()
        self._wait_ready()
        return self

    def _start_container(self) -> None:
        from testcontainers.postgres import PostgresContainer  # type: ignore

        c = PostgresContainer("postgres:15", password=PASSWORD, driver=None)
        c.start()
        self._container = c
        self.kind = "docker"
        self.admin_url = c.get_connection_url()

    def _start_local(self) -> None:
        self.bindir = find_bindir()
        if not self.bindir:
            raise RuntimeError(
                "no PostgreSQL found: set MIGRATOR_TEST_DATABASE_URL, start Docker, or install the "
                "PostgreSQL server binaries (Debian: apt-get install postgresql)"
            )
        self.kind = "local"
        self._tmp = tempfile.mkdtemp(prefix="migrator-pg-")
        os.chmod(self._tmp, 0o755)
        self.datadir = os.path.join(self._tmp, "data")
        self.port = _free_port()
        pwfile = os.path.join(self._tmp, "pw")
        Path(pwfile).write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", self._tmp], check=True)
            self._as_postgres = ["runuser", "-u", "postgres", "--"]
        subprocess.run(
            [*self._as_postgres, f"{self.bindir}/initdb", "-D", self.datadir, "-U", "postgres",
             "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True,
        )
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self._tmp}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\nmax_connections = 200\n"
            )
        self.admin_url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{self.port}/postgres"
        self.pg_start()

    def pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        assert self.kind == "local", "pg_ctl needs the local server"
        return subprocess.run(
            [*self._as_postgres, f"{self.bindir}/pg_ctl", "-D", self.datadir, "-w", "-t", "60",
             "-l", os.path.join(self._tmp, "log"), *args],
            check=check, capture_output=True, text=True,
        )

    def pg_start(self) -> None:
        self.pg_ctl("start")

    def pg_stop(self, mode: str = "fast") -> None:
        self.pg_ctl("stop", "-m", mode)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.pg_stop("immediate")
        time.sleep(down_seconds)
        self.pg_start()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.admin_url, connect_timeout=2) as c:
                    c.execute("select 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- databases ---------------------------------------------------------------------------
    def url_for(self, dbname: str) -> str:
        u = make_url(self.admin_url.replace("postgres://", "postgresql://", 1))
        return u.set(database=dbname).render_as_string(hide_password=False)

    def new_database(self, template: str | None = None) -> str:
        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.admin_url, autocommit=True) as c:
            if template:
                c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            else:
                c.execute(f'CREATE DATABASE "{name}"')
        return self.url_for(name)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        try:
            with psycopg.connect(self.admin_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass

    def stop(self) -> None:
        if self._container is not None:
            self._container.stop()
        if self.kind == "local" and self.datadir:
            self.pg_ctl("stop", "-m", "immediate", check=False)
            shutil.rmtree(self._tmp, ignore_errors=True)


def main() -> None:  # pragma: no cover - a developer convenience: python -m tests.support.pgserver
    s = PgServer().start()
    print(s.admin_url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        s.stop()


if __name__ == "__main__":
    main()
