"""Running backfills against real databases (PostgreSQL and SQLite): every row filled exactly
once, keys walked in order over gaps and composite keys, bad names refused before any write."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text

import migrator.backfill.run as backfill_run
from migrator.backfill.run import backfill_status, pending_backfills, run_backfill
from migrator.backfill.spec import BackfillSpec
from migrator.config import Config
from migrator.dburl import normalize_url
from migrator.errors import RefusedError, UsageError
from tests.support.work import FakeClock

CFG = Config(backfill_min_batch=10, backfill_max_batch=200)


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request):
    url = request.getfixturevalue("pg_url" if request.param == "postgresql" else "sqlite_url")
    engine = create_engine(normalize_url(url))
    yield url, engine
    engine.dispose()


def make_users(engine, n: int, *, gaps: bool = False) -> None:
    with engine.begin() as c:
        c.execute(text("CREATE TABLE users (id integer PRIMARY KEY, first_name text NOT NULL, "
                       "last_name text NOT NULL, full_name text, n integer NOT NULL DEFAULT 0)"))
        ids = [i * 7 + (i % 3) for i in range(1, n + 1)] if gaps else list(range(1, n + 1))
        c.execute(text("INSERT INTO users (id, first_name, last_name) VALUES (:id, :f, :l)"),
                  [{"id": i, "f": f"f{i}", "l": f"l{i}"} for i in ids])


FILL = BackfillSpec("users", {"full_name": "first_name || ' ' || last_name", "n": "n + 1"},
                    where="full_name IS NULL")


def counts(engine) -> dict:
    with engine.connect() as c:
        return dict(c.execute(text(
            "SELECT count(*) AS total, sum(CASE WHEN n = 1 THEN 1 ELSE 0 END) AS once, "
            "sum(CASE WHEN full_name = first_name || ' ' || last_name THEN 1 ELSE 0 END) AS ok, "
            "max(n) AS max_n FROM users")).mappings().one())


def test_every_row_is_filled_exactly_once(db):
    url, engine = db
    make_users(engine, 1234, gaps=True)
    r = run_backfill(url, FILL, revision="r1", release="1.0.0", config=CFG)
    assert r.status == "finished"
    assert r.rows_done == r.rows_scanned == 1234
    assert r.batches >= 1234 // CFG.backfill_max_batch
    assert counts(engine) == {"total": 1234, "once": 1234, "ok": 1234, "max_n": 1}
    [st] = backfill_status(engine)
    assert st["status"] == "finished" and st["rows_done"] == 1234 and st["percent"] == 100.0
    assert st["last_key"] == [1234 * 7 + 1234 % 3]
    assert pending_backfills(engine) == []


def test_rerunning_a_finished_backfill_does_nothing(db):
    url, engine = db
    make_users(engine, 50)
    run_backfill(url, FILL, revision="r1", release="1.0.0", config=CFG)
    with engine.begin() as c:  # a row the new code path wrote differently must stay untouched
        c.execute(text("UPDATE users SET full_name = 'kept' WHERE id = 3"))
    again = run_backfill(url, FILL, revision="r1", release="1.0.0", config=CFG)
    assert again.status == "already_finished"
    assert counts(engine)["max_n"] == 1
    with engine.connect() as c:
        assert c.execute(text("SELECT full_name FROM users WHERE id = 3")).scalar() == "kept"


def test_rows_not_matching_where_are_walked_but_not_updated(db):
    url, engine = db
    make_users(engine, 300)
    with engine.begin() as c:
        c.execute(text("UPDATE users SET full_name = 'already' WHERE id <= 250"))
    r = run_backfill(url, FILL, revision="r1", release="1.0.0",
                     config=Config(backfill_min_batch=10, backfill_max_batch=10))
    assert r.rows_scanned == 300 and r.rows_done == 50
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM users WHERE full_name = 'already'")).scalar() == 250
        assert c.execute(text("SELECT count(*) FROM users WHERE n = 1")).scalar() == 50


def test_composite_key_walks_every_row_once(db):
    url, engine = db
    with engine.begin() as c:
        c.execute(text("CREATE TABLE memberships (tenant_id integer NOT NULL, user_id integer NOT NULL, "
                       "role text, label text, n integer NOT NULL DEFAULT 0, "
                       "PRIMARY KEY (tenant_id, user_id))"))
        c.execute(text("INSERT INTO memberships (tenant_id, user_id, role) VALUES (:t, :u, 'member')"),
                  [{"t": t, "u": u} for t in range(1, 8) for u in range(1, 60, 3)])
    spec = BackfillSpec("memberships", {"label": "role || '@' || tenant_id", "n": "n + 1"},
                        batch_size=17)
    r = run_backfill(url, spec, revision="r2", release="1.0.0", config=CFG)
    with engine.connect() as c:
        rows = c.execute(text("SELECT n, label, tenant_id FROM memberships")).all()
    assert len(rows) == 7 * 20 and all(n == 1 for n, _, _ in rows)
    assert all(label == f"member@{t}" for _, label, t in rows)
    assert r.last_key == [7, 58] and r.batches == -(-140 // 17)


def test_explicit_unique_key_on_a_table_without_primary_key(db):
    url, engine = db
    with engine.begin() as c:
        c.execute(text("CREATE TABLE events (code text NOT NULL, v integer)"))
        c.execute(text("CREATE UNIQUE INDEX events_code ON events (code)"))
        c.execute(text("INSERT INTO events (code) VALUES (:c)"), [{"c": f"c{i:03d}"} for i in range(40)])
    with pytest.raises(UsageError, match="no primary key"):
        run_backfill(url, BackfillSpec("events", {"v": "1"}), revision="r", release="1", config=CFG)
    r = run_backfill(url, BackfillSpec("events", {"v": "1"}, key=["code"], batch_size=7),
                     revision="r", release="1", config=CFG)
    assert r.rows_done == 40 and r.last_key == ["c039"]


def test_concurrent_inserts_during_the_backfill_are_neither_lost_nor_done_twice(pg_url):
    """New code writes full_name itself (n stays 0); old-shaped rows inserted ahead of the walk are
    filled; every row ends filled, none twice."""
    engine = create_engine(normalize_url(pg_url))
    make_users(engine, 3000, gaps=True)
    stop = threading.Event()
    inserted = []

    def writer():  # alternately into the key gaps (ahead of and behind the walk) and past the end
        i = 0
        with engine.connect() as c:
            while not stop.is_set():
                i += 1
                new_code = i % 4 < 2
                i_key = 7 * (i // 2) + 5 if i % 2 else 100000 + i
                c.execute(text("INSERT INTO users (id, first_name, last_name, full_name, n) "
                               "VALUES (:id, 'a', 'b', :full, :n)"),
                          {"id": i_key, "full": "a b" if new_code else None, "n": 1 if new_code else 0})
                c.commit()
                inserted.append(i_key)
                time.sleep(0.002)

    t = threading.Thread(target=writer)
    t.start()
    try:
        time.sleep(0.05)
        r = run_backfill(pg_url, FILL, revision="r1", release="1.0.0",
                         config=Config(backfill_min_batch=50, backfill_max_batch=50, backfill_pause_ms=5))
    finally:
        stop.set()
        t.join()
    # the walk ran past the writer's last row or stopped before some: a second pass finishes
    run_backfill(pg_url, BackfillSpec("users", FILL.set, where=FILL.where, name="second pass"),
                 revision="r1", release="1.0.0", config=CFG)
    got = counts(engine)
    assert got["total"] == 3000 + len(inserted)
    assert got["once"] == got["total"] and got["ok"] == got["total"] and got["max_n"] == 1
    assert r.rows_done >= 3000
    assert r.last_key[0] < max(inserted)  # the walk stopped at the end it saw when it started
    assert len([i for i in inserted if i < 100000]) > 5  # the writer did insert into the gaps
    engine.dispose()


def test_missing_table_is_a_clear_error_and_nothing_is_written(db):
    url, engine = db
    make_users(engine, 10)
    with pytest.raises(UsageError, match="table 'users; DROP TABLE users' does not exist"):
        run_backfill(url, BackfillSpec("users; DROP TABLE users", {"full_name": "'x'"}),
                     revision="r", release="1", config=CFG)
    assert counts(engine)["total"] == 10
    assert backfill_status(engine) == []


def test_missing_column_is_a_clear_error_and_nothing_is_written(db):
    url, engine = db
    make_users(engine, 10)
    with pytest.raises(UsageError, match="no column.*'fullname'"):
        run_backfill(url, BackfillSpec("users", {"fullname": "'x'", "n": "n + 1"}),
                     revision="r", release="1", config=CFG)
    assert counts(engine)["max_n"] == 0
    assert backfill_status(engine) == []


def test_bad_expression_fails_the_first_batch_and_writes_nothing(db):
    url, engine = db
    make_users(engine, 10)
    with pytest.raises(UsageError, match="check the set= / where= SQL"):
        run_backfill(url, BackfillSpec("users", {"n": "n + 1", "full_name": "no_such_column"}),
                     revision="r", release="1", config=CFG)
    assert counts(engine)["max_n"] == 0
    [st] = backfill_status(engine)
    assert st["status"] == "failed" and st["rows_done"] == 0 and st["error"]


def test_data_error_in_a_batch_is_refused_and_keeps_progress(pg_url):
    engine = create_engine(normalize_url(pg_url))
    make_users(engine, 100)
    spec = BackfillSpec("users", {"n": "n + 1", "full_name": "(100 / (60 - id))::text"},
                        batch_size=20)
    with pytest.raises(RefusedError, match="division by zero"):
        run_backfill(pg_url, spec, revision="r", release="1", config=CFG)
    [st] = pending_backfills(engine)
    assert st["status"] == "failed" and st["rows_done"] == 40 and st["last_key"] == [40]
    engine.dispose()


def test_postgres_casts_in_the_expression_survive_binding(pg_url):
    engine = create_engine(normalize_url(pg_url))
    make_users(engine, 5)
    run_backfill(pg_url, BackfillSpec("users", {"full_name": "'id:' || id::text"}),
                 revision="r", release="1", config=CFG)
    with engine.connect() as c:
        assert c.execute(text("SELECT full_name FROM users WHERE id = 4")).scalar() == "id:4"
    engine.dispose()


@pytest.fixture
def row_cost(monkeypatch):
    """Batches cost a set time per row on the backfill's clock (a busy machine cannot change
    what the sizing sees): ``row_cost(seconds)`` sets it (powers of two keep the sums exact)."""
    clock = FakeClock()
    cost = {"s": 0.0}

    class TimedBatcher(backfill_run.Batcher):
        def run(self, conn, last, size, stop):
            new_last, walked, changed = super().run(conn, last, size, stop)
            clock.advance(walked * cost["s"])
            return new_last, walked, changed

    monkeypatch.setattr(backfill_run, "time", clock)
    monkeypatch.setattr(backfill_run, "Batcher", TimedBatcher)
    return lambda seconds: cost.update(s=seconds)


def test_batch_size_adapts_towards_the_target_duration(db, row_cost):
    url, engine = db
    make_users(engine, 400)
    row_cost(2 ** -10)  # 0.98 ms a row
    cfg = Config(backfill_target_ms=20, backfill_min_batch=5, backfill_max_batch=100)
    r = run_backfill(url, BackfillSpec("users", {"n": "n + 1"}), revision="r", release="1", config=cfg)
    assert r.rows_done == 400 and counts(engine)["max_n"] == 1
    # the first batch (the upper bound, 100 rows) took 98 ms: the rest are sized for 20 ms
    assert r.batch_ms == [100 * 1000 / 1024] + [20 * 1000 / 1024] * 15
    assert backfill_status(engine)[0]["batch_size"] == 20


def test_one_slow_batch_shrinks_the_next_and_growth_waits(db, row_cost, monkeypatch):
    url, engine = db
    make_users(engine, 1000)
    sizes = []
    real = backfill_run.next_batch_size

    def spy(size, ms, walked, costs, target, lo, hi):
        out = real(size, ms, walked, costs, target, lo, hi)
        sizes.append(out)
        row_cost(2 ** -7 if len(sizes) == 2 else 2 ** -14)  # the third batch is slow
        return out

    monkeypatch.setattr(backfill_run, "next_batch_size", spy)
    row_cost(2 ** -14)  # 0.06 ms a row
    cfg = Config(backfill_target_ms=20, backfill_min_batch=2, backfill_max_batch=200)
    run_backfill(url, BackfillSpec("users", {"n": "n + 1"}), revision="r", release="1", config=cfg)
    assert counts(engine)["once"] == 1000
    # 0.06 ms a row: 200 (capped); one batch at 7.8 ms a row: 2 at once; growth waits until
    # the slow batch is out of the last five, then is x4 a step
    assert sizes[:8] == [200, 200, 2, 2, 2, 2, 2, 8]


def test_fast_batches_grow_up_to_the_maximum(db, row_cost):
    url, engine = db
    make_users(engine, 13000)
    cfg = Config(backfill_target_ms=1000, backfill_min_batch=10, backfill_max_batch=5000)
    r = run_backfill(url, BackfillSpec("users", {"n": "n + 1"}), revision="r", release="1", config=cfg)
    # 1000 (the start), then at most x4 per step, capped: 4000, 5000, and the 3000 left over
    assert r.batches == 4 and backfill_status(engine)[0]["batch_size"] == 5000
    assert counts(engine)["once"] == 13000


def test_uuid_key_in_a_schema_with_a_mixed_case_table_resumes_from_its_saved_key(pg_url):
    engine = create_engine(normalize_url(pg_url))
    with engine.begin() as c:
        c.execute(text('CREATE SCHEMA app'))
        c.execute(text('CREATE TABLE app."Accounts" (id uuid PRIMARY KEY, "Name" text, n integer NOT NULL DEFAULT 0)'))
        c.execute(text('INSERT INTO app."Accounts" (id) SELECT gen_random_uuid() FROM generate_series(1, 250)'))
    spec = BackfillSpec("Accounts", {"Name": "'acct-' || left(id::text, 8)", "n": "n + 1"},
                        schema="app", batch_size=40, name="accounts")
    cfg = Config(retry_attempts=1)
    # stop after the third batch by making the fourth fail, then resume from the saved uuid
    with engine.begin() as c:
        ids = [r[0] for r in c.execute(text('SELECT id FROM app."Accounts" ORDER BY id'))]
        c.execute(text(f'ALTER TABLE app."Accounts" ADD CONSTRAINT no_fourth '
                       f"CHECK (n = 0 OR id < '{ids[120]}')"))
    with pytest.raises(RefusedError, match="no_fourth"):
        run_backfill(pg_url, spec, revision="r", release="1", config=cfg)
    [st] = backfill_status(engine)
    assert st["status"] == "failed" and st["rows_done"] == 120 and st["last_key"] == [str(ids[119])]
    with engine.begin() as c:
        c.execute(text('ALTER TABLE app."Accounts" DROP CONSTRAINT no_fourth'))
    r = run_backfill(pg_url, spec, revision="r", release="1", config=cfg)
    assert r.rows_done == 250 and r.batches == 7
    with engine.connect() as c:
        assert c.execute(text('SELECT count(*) FROM app."Accounts" WHERE n = 1 AND "Name" LIKE \'acct-%\'')).scalar() == 250
    engine.dispose()
