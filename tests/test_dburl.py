"""Database URLs in every spelling libpq and SQLAlchemy accept: parsed once, malformed ones refused
with one line (exit 2), and their passwords never shown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from migrator.dberrors import REJECTED, UNREACHABLE, classify
from migrator.dburl import normalize_url, redact, redact_text
from migrator.errors import UsageError
from tests.support.faults import SAMPLE


@pytest.mark.parametrize("given, user, password, host, db", [
    ("postgresql://user:p@ss@host/db", "user", "p@ss", "host", "db"),
    ("postgres://u:a/b@c@h:5433/db?sslmode=require", "u", "a/b@c", "h", "db"),
    ("postgresql://u:p%40s@h/db", "u", "p@s", "h", "db"),
    ("host=h port=5433 dbname=db user=u password='a b\\' c'", "u", "a b' c", "h", "db"),
    ("postgresql+psycopg://u:pw@h/db", "u", "pw", "h", "db"),
])
def test_every_spelling_parses_with_the_last_at_separating_the_host(given, user, password, host, db):
    url = normalize_url(given)
    assert (url.username, url.password, url.host, url.database) == (user, password, host, db)
    assert password not in redact(url) and password not in redact_text(given)


@pytest.mark.parametrize("given, reason", [
    ("postgresql://app:hunter2@db:notaport/app", "port must be a number"),
    ("host=db port=x5 dbname=app password=hunter2", "port must be a number"),
    ("mysqlish://app:hunter2@db/app", "unknown scheme"),
    ("postgresql://app:hunter2@db/app?sslmode=sometimes", "sslmode must be one of"),
    ("postgresql://app:hunter2@db/app?options=-c%20foo", "options must be settings"),
    ("just some words", "expected postgresql://"),
])
def test_a_malformed_url_is_a_usage_error_with_one_line_and_no_password(given, reason):
    with pytest.raises(UsageError) as e:
        normalize_url(given)
    assert reason in e.value.render() and "hunter2" not in e.value.render()
    assert len(e.value.render().splitlines()) == 1


@pytest.mark.parametrize("text", [
    "postgresql://app:hunter2@db/app",
    "postgresql://app:hun@ter2@db/app",
    "postgresql://app@db/app?sslmode=require&password=hunter2",
    "host=db password=hunter2 dbname=app",
    "host=db password='hunter2 with spaces' dbname=app",
    "PGPASSWORD=hunter2 migrator status",
])
def test_redact_text_removes_every_credential_form(text):
    assert "hunter2" not in redact_text(text) and "ter2" not in redact_text(text)


def test_a_password_seen_while_parsing_is_redacted_in_any_later_text():
    normalize_url("postgresql://app:odd%20pw%21x@db/app")
    assert "odd pw!x" not in redact_text("server said: odd pw!x is wrong")
    assert "odd%20pw%21x" not in redact_text("echo odd%20pw%21x")


def test_a_plain_word_password_does_not_mangle_longer_words():
    normalize_url("postgresql://postgres:postgres@db/app")
    assert redact_text("postgresql://postgres:postgres@db/app") == "postgresql://***:***@db/app"


def test_connection_failures_are_classified_by_the_sqlstate_their_message_carries():
    import psycopg

    def err(text):
        return psycopg.OperationalError(text)

    assert classify(err('connection failed: FATAL:  password authentication failed for user "x"')) == REJECTED
    assert classify(err('connection failed: FATAL:  database "nope" does not exist')) == REJECTED
    assert classify(err('connection failed: FATAL:  role "nope" does not exist')) == REJECTED
    assert classify(err('connection is bad: invalid sslmode value: "bogus"')) == REJECTED
    assert classify(err("connection failed: Connection refused")) == UNREACHABLE
    assert classify(err("FATAL:  the database system is starting up")) == UNREACHABLE


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_") and k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "migrator", *args], env=env, capture_output=True,
                          text=True, timeout=120, cwd=SAMPLE)


@pytest.mark.parametrize("url, reason", [
    ("postgresql://app:hunter2@127.0.0.1:notaport/app", "port must be a number"),
    ("mysqlish://app:hunter2@127.0.0.1/app", "unknown scheme"),
    ("postgresql://app:hunter2@127.0.0.1/app?sslmode=sometimes", "sslmode must be one of"),
    ("postgresql://app:hunter2@127.0.0.1/app?options=-c%20foo", "options must be settings"),
], ids=["port", "scheme", "sslmode", "options"])
@pytest.mark.parametrize("command", [["status"], ["gate", "ready", "-r", "1.0.0"], ["instances"],
                                     ["backfill", "--status"]], ids=["status", "gate", "instances", "backfill"])
def test_a_malformed_url_is_exit_2_with_one_line_in_every_command(url, reason, command):
    r = _cli(*command, "--database-url", url)
    assert r.returncode == 2, r.stdout + r.stderr
    assert reason in r.stderr and "hunter2" not in r.stdout + r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr


@pytest.mark.postgres
def test_options_the_server_refuses_are_exit_2_not_unreachable(pg_url):
    url = pg_url + "?options=-c%20lock_timeout%3Dsoon"
    for command in (["status"], ["gate", "ready", "-r", "1.0.0"]):
        r = _cli(*command, "--database-url", url)
        assert r.returncode == 2, r.stdout + r.stderr
        assert "lock_timeout" in r.stderr and "Traceback" not in r.stderr
