"""Politeness: bounded lock waits retried with backoff, a rows/s ceiling, a pause between batches,
and two runners of the same backfill never both doing a batch."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import create_engine, text

import migrator.backfill.run as backfill_run
from migrator.backfill.run import backfill_status, run_backfill
from migrator.backfill.spec import BackfillSpec
from migrator.config import Config
from migrator.dburl import normalize_url
from migrator.errors import IndeterminateError
from tests.support.work import FakeClock

SPEC = BackfillSpec("users", {"n": "n + 1"}, batch_size=50, name="users.n")
QUICK_RETRY = dict(lock_timeout_ms=50, retry_base_delay=0.05, retry_max_delay=0.2)


@pytest.fixture
def users(pg_url):
    engine = create_engine(normalize_url(pg_url))
    with engine.begin() as c:
        c.execute(text("CREATE TABLE users (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)"))
        c.execute(text("INSERT INTO users (id) SELECT g FROM generate_series(1, 300) g"))
    yield pg_url, engine
    engine.dispose()


def n_counts(engine) -> tuple[int, int, int]:
    with engine.connect() as c:
        return tuple(c.execute(text("SELECT count(*) FILTER (WHERE n = 1), min(n), max(n) FROM users")).one())


def hold_row_lock(url: str, seconds: float, locked: threading.Event,
                  release: threading.Event | None = None) -> threading.Thread:
    """Lock row 120 for ``seconds``, or until ``release`` is set when one is given."""
    def hold():
        with psycopg.connect(url) as c:
            c.execute("SELECT * FROM users WHERE id = 120 FOR UPDATE")
            locked.set()
            if release is None:
                time.sleep(seconds)
            else:
                release.wait(120)
            c.rollback()

    t = threading.Thread(target=hold)
    t.start()
    return t


def test_lock_timeout_is_retried_with_backoff_until_the_lock_is_free(users):
    url, engine = users
    locked = threading.Event()
    t = hold_row_lock(url, 0.6, locked)
    locked.wait(10)
    r = run_backfill(url, SPEC, revision="r", release="1", config=Config(retry_attempts=20, **QUICK_RETRY))
    t.join()
    assert r.rows_done == 300 and n_counts(engine) == (300, 1, 1)


def test_lock_never_free_is_indeterminate_and_resumable(users):
    url, engine = users
    locked, release = threading.Event(), threading.Event()
    t = hold_row_lock(url, 0, locked, release)  # held until the backfill gave up
    locked.wait(10)
    try:
        with pytest.raises(IndeterminateError, match="lock wait timed out 3 times") as err:
            run_backfill(url, SPEC, revision="r", release="1", config=Config(retry_attempts=3, **QUICK_RETRY))
    finally:
        release.set()
    assert err.value.exit_code == 3
    [st] = backfill_status(engine)
    assert st["status"] == "running" and st["rows_done"] == 100 and st["last_key"] == [100]
    t.join()
    r = run_backfill(url, SPEC, revision="r", release="1", config=Config())
    assert r.rows_done == 300 and n_counts(engine) == (300, 1, 1)


@pytest.fixture
def clock(monkeypatch):
    """The backfill's clock, moved only by its own sleeps: the pauses it takes are exact."""
    fake = FakeClock()
    monkeypatch.setattr(backfill_run, "time", fake)
    return fake


def test_max_rate_caps_rows_per_second(users, clock):
    url, engine = users
    r = run_backfill(url, SPEC, revision="r", release="1", config=Config(backfill_max_rate=1000))
    assert r.batches == 6 and n_counts(engine) == (300, 1, 1)
    # after each batch of 50 rows it waits until 50 more rows fit under 1000 rows/s
    assert clock.sleeps == pytest.approx([0.05] * 6)


def test_pause_between_batches(users, clock):
    url, engine = users
    r = run_backfill(url, SPEC, revision="r", release="1", config=Config(backfill_pause_ms=100))
    assert r.batches == 6 and clock.sleeps == pytest.approx([0.1] * 6)


def test_no_pause_and_no_rate_means_no_sleep(users, clock):
    url, engine = users
    r = run_backfill(url, SPEC, revision="r", release="1", config=Config())
    assert r.batches == 6 and clock.sleeps == []


def test_two_runners_of_one_backfill_never_both_do_a_batch(users):
    url, engine = users
    outcomes: list[object] = []

    def runner():
        try:
            outcomes.append(run_backfill(url, SPEC, revision="r", release="1",
                                         config=Config(backfill_pause_ms=5)))
        except IndeterminateError as e:
            outcomes.append(e)

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # whichever lost a race stopped cleanly; finish whatever is left, then every row is done once
    run_backfill(url, SPEC, revision="r", release="1", config=Config())
    assert n_counts(engine) == (300, 1, 1)
    [st] = backfill_status(engine)
    assert st["status"] == "finished" and st["batches"] == 6 and st["rows_done"] == 300
