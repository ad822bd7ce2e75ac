"""Linting with forked helpers: when they are used, and that they change nothing but speed.

(How much faster they are is printed by benchmarks/lint_bench.py: cold default jobs vs -j 1.)"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from migrator.cli import main
from migrator.config import load_config
from migrator.lint import parallel
from migrator.lint.cache import FORMAT
from migrator.lint.parallel import lint_paths


def machine(monkeypatch, cpus: int, load: float) -> None:
    monkeypatch.setattr(parallel, "_usable_cpus", lambda: cpus)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (load, load, load))


# ------------------------------------------------------------------ how many processes


@pytest.mark.parametrize("load", [0.0, 0.2])
def test_an_idle_second_core_gets_a_helper_for_enough_work(monkeypatch, load):
    machine(monkeypatch, 2, load)
    assert parallel._processes(None, 3.0) == 2
    assert parallel._processes(None, 0.05) == 1  # a 5-file lint: forking costs more than it saves


@pytest.mark.parametrize("load", [1.0, 3.0])
def test_a_busy_second_core_gets_no_helper(monkeypatch, load):
    machine(monkeypatch, 2, load)
    assert parallel._processes(None, 30.0) == 1


def test_one_cpu_never_forks(monkeypatch):
    machine(monkeypatch, 1, 0.0)
    assert parallel._processes(None, 30.0) == 1


def test_idle_cores_bound_the_helpers_and_each_must_pay_off(monkeypatch):
    machine(monkeypatch, 8, 0.0)
    assert parallel._processes(None, 60.0) == parallel.MAX_PROCESSES
    machine(monkeypatch, 8, 5.0)  # two CPUs idle besides this process's
    assert parallel._processes(None, 60.0) == 3
    machine(monkeypatch, 8, 0.0)
    few = parallel._processes(None, 0.5)
    assert 1 < few < parallel.MAX_PROCESSES
    assert (parallel.predicted_seconds(0.5, few) - parallel.predicted_seconds(0.5, few + 1)
            < parallel.MIN_GAIN_S)


def test_the_probe_overrides_the_load_average(monkeypatch):
    machine(monkeypatch, 2, 0.0)

    class Busy:
        def idle_cpus(self):
            return 0.1

    assert parallel._processes(None, 30.0, Busy()) == 1


def test_explicit_jobs_are_obeyed(monkeypatch):
    machine(monkeypatch, 2, 5.0)
    assert parallel._processes(4, 0.001) == 4
    assert parallel._processes(1, 30.0) == 1


def test_predicted_time_falls_with_processes_and_never_below_the_rules_pass():
    one = parallel.predicted_seconds(10.0, 1)
    two = parallel.predicted_seconds(10.0, 2)
    three = parallel.predicted_seconds(10.0, 3)
    assert one == 10.0 and three < two < one
    assert two > 10.0 / 2  # the rules pass of the second share waits for the first


class _Src:
    def __init__(self, chars: int, statements: int = 1):
        self.text = "x" * chars
        self.statements = [None] * statements


def test_segments_are_contiguous_and_sized_by_work():
    sources = [_Src(1000) for _ in range(100)]
    misses = [i for i in range(100) if i % 10 != 3]  # cached results in between
    bounds = parallel._bounds(sources, misses, 2)
    assert bounds[0] == 0 and bounds[-1] == 100 and len(bounds) == 3
    first = sum(1 for i in misses if i < bounds[1])
    share = parallel._weights(2)[0]
    assert abs(first / len(misses) - share) < 0.03
    assert parallel._bounds(sources, [5], 3) == [0, 6]  # one miss: one segment
    big = [_Src(10), _Src(1_000_000), _Src(10), _Src(10)]
    assert parallel._bounds(big, [0, 1, 2, 3], 2) == [0, 2, 4]


# ------------------------------------------------------------------ same results


def _corpus(root: Path, files: int, seed: int) -> Path:
    """Migrations whose findings depend on the schema state across many files: tables created
    early and altered late, diesel up/down pairs (a down part never advances the state),
    dbmate files with both directions, function bodies, statements outside transactions."""
    rng = random.Random(seed)
    mig = root / "migrations"
    mig.mkdir(parents=True)
    tables: list[str] = []
    for i in range(files):
        kind = rng.randrange(8) if tables else 0
        t = rng.choice(tables) if tables else ""
        if kind == 0:
            t = f"t{i}"
            tables.append(t)
            body = (f"CREATE TABLE {t} (id bigint PRIMARY KEY, v varchar(10), n int);\n"
                    f"CREATE INDEX {t}_v ON {t} (v);\n")
        elif kind == 1:
            body = f"ALTER TABLE {t} ALTER COLUMN v TYPE varchar({rng.choice([5, 20, 200])});\n"
        elif kind == 2:
            body = f"CREATE INDEX idx_{i} ON {t} (n);\n"
        elif kind == 3:
            body = f"ALTER TABLE {t} ADD COLUMN c{i} int NOT NULL;\nALTER TABLE {t} DROP COLUMN n;\n"
        elif kind == 4:
            body = (f"CREATE FUNCTION f{i}() RETURNS int AS $$\nBEGIN\n  UPDATE {t} SET n = 1;\n"
                    f"  RETURN 1;\nEND\n$$ LANGUAGE plpgsql;\nUPDATE {t} SET v = 'x';\n")
        elif kind == 5:  # diesel: the down part drops the table, the state keeps it
            d = mig / f"2024-01-01-{i:06d}_d"
            d.mkdir()
            (d / "up.sql").write_text(f"ALTER TABLE {t} ADD COLUMN d{i} text;\n")
            (d / "down.sql").write_text(f"DROP TABLE {t};\n")
            continue
        elif kind == 6:  # dbmate: both directions in one file
            body = (f"-- migrate:up\nALTER TABLE {t} ALTER COLUMN id TYPE int;\n"
                    f"-- migrate:down\nALTER TABLE {t} ALTER COLUMN id TYPE bigint;\n")
        else:
            body = f"CREATE INDEX CONCURRENTLY idx_c{i} ON {t} (v);\nDROP TABLE IF EXISTS gone{i};\n"
        (mig / f"{i:04d}_m.sql").write_text(f"-- migrator: phase=expand release=1.{i}.0\n{body}")
    return mig


def _everything(report) -> list:
    """The whole report, operations included, as plain data."""
    return [(m.as_dict(), [f.as_dict() for f in m.findings],
             [{k: str(v) for k, v in vars(op).items()} for op in m.operations])
            for m in report.migrations]


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGRATOR_CACHE_DIR", raising=False)
    return _corpus(tmp_path, 160, seed=14)


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The number of helpers each forking lint started (so a test knows it forked)."""
    started: list[int] = []
    fork = parallel._fork_helpers

    def counting(bounds, *args, **kwargs):
        started.append(len(bounds) - 2)
        return fork(bounds, *args, **kwargs)

    monkeypatch.setattr(parallel, "_fork_helpers", counting)
    return started


def test_helpers_give_exactly_the_report_of_one_process(corpus, forks):
    config = load_config(config_file=None)
    one = lint_paths([str(corpus)], config, use_cache=False, jobs=1)
    assert sum(bool(m.findings) for m in one.migrations) > 40  # state-dependent findings exist
    assert any(m.source.direction == "down" for m in one.migrations)
    assert forks == []
    for jobs in (2, 3, 5):
        forked = lint_paths([str(corpus)], config, use_cache=False, jobs=jobs)
        assert _everything(forked) == _everything(one), jobs
    assert forks == [1, 2, 4]


def test_cli_json_is_byte_identical_with_helpers(corpus, capsys, forks):
    outs = []
    for jobs in ("1", "2"):
        with pytest.raises(SystemExit):
            main(["lint", "--format", "json", "--no-cache", "--jobs", jobs, "migrations"])
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and json.loads(outs[0])["summary"]["errors"] > 10
    assert forks == [1]


def test_helpers_with_a_partly_warm_cache_store_the_same_entries(corpus, tmp_path, monkeypatch, forks):
    """Cached results between the misses are replayed into the state, in every segment; what
    the helpers encode for the cache is what one process would have stored."""
    config = load_config(config_file=None)
    stores = []
    for jobs in (1, 2):
        cache = tmp_path / f"cache{jobs}"
        monkeypatch.setenv("MIGRATOR_CACHE_DIR", str(cache))
        config = load_config(config_file=None)
        lint_paths([str(corpus)], config, jobs=1)  # everything cached
        for name in ("0040_m.sql", "0090_m.sql", "0130_m.sql"):  # misses from here on
            path = corpus / name
            if path.exists():
                path.write_text(path.read_text() + "-- touched\n")
        report = lint_paths([str(corpus)], config, jobs=jobs)
        runs = sorted((cache / f"lint-v{FORMAT}" / "runs").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        stores.append((_everything(report), json.loads(runs[-1].read_bytes().splitlines()[1])["entries"]))
        for name in ("0040_m.sql", "0090_m.sql", "0130_m.sql"):
            path = corpus / name
            if path.exists():
                path.write_text(path.read_text().replace("-- touched\n", ""))
    assert forks == [1]
    assert stores[0][0] == stores[1][0]
    assert stores[0][1] == stores[1][1]


def test_without_operations_wanted_helpers_send_only_findings(corpus, forks):
    config = load_config(config_file=None)
    one = lint_paths([str(corpus)], config, use_cache=False, jobs=1, need_operations=False)
    forked = lint_paths([str(corpus)], config, use_cache=False, jobs=2, need_operations=False)
    assert [m.as_dict() for m in forked.migrations] == [m.as_dict() for m in one.migrations]
    assert any(not m.operations for m in forked.migrations)  # the helper's share came without
    assert forks == [1]


def test_a_helper_that_dies_costs_time_not_results(corpus, monkeypatch):
    config = load_config(config_file=None)
    one = lint_paths([str(corpus)], config, use_cache=False, jobs=1)

    def crash(*args, **kwargs):
        raise RuntimeError("helper crashed")

    monkeypatch.setattr(parallel, "_helper", crash)  # the forked child inherits it
    forked = lint_paths([str(corpus)], config, use_cache=False, jobs=3)
    assert _everything(forked) == _everything(one)


def test_no_helpers_while_other_threads_run(monkeypatch):
    """An application linting from a thread pool must not fork: a lock another thread holds
    would be copied held."""
    import threading

    machine(monkeypatch, 8, 0.0)
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert parallel._processes(3, 30.0) == 1
        assert parallel._processes(None, 30.0) == 1
    finally:
        stop.set()
        worker.join()
    assert parallel._processes(3, 30.0) == 3


STAT = """cpu  {u} 0 {s} {i} 0 0 0 0 0 0
cpu0 {u0} 0 {s0} {i0} 0 0 0 0 0 0
cpu1 {u1} 0 {s1} {i1} 0 0 0 0 0 0
intr 12345
"""


def test_idle_cpus_come_from_the_ticks_of_the_cpus_this_process_may_use(monkeypatch):
    before = STAT.format(u=200, s=0, i=200, u0=100, s0=0, i0=100, u1=100, s1=0, i1=100)
    # 1 s later: cpu0 busy all along (this process), cpu1 idle 80% of it
    after = STAT.format(u=320, s=0, i=280, u0=200, s0=0, i0=100, u1=120, s1=0, i1=180)
    texts = iter([before, after])
    real = parallel._idle_ticks
    monkeypatch.setattr(parallel, "_idle_ticks", lambda cpus, stat=None: real(cpus, next(texts)))
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_IMPORTED", (float("-inf"), None))  # measure from the probe
    probe = parallel.IdleProbe()
    assert probe.idle_cpus() == pytest.approx(0.8)
    assert real({1}, after) == (180, 300)
    assert real(None, "cpu0 x y\n") is None  # odd text: no figure, no error


def test_a_window_too_short_to_measure_falls_back_to_the_load_average(monkeypatch):
    stat = STAT.format(u=1, s=0, i=1, u0=1, s0=0, i0=1, u1=0, s1=0, i1=0)
    real = parallel._idle_ticks
    monkeypatch.setattr(parallel, "_idle_ticks", lambda cpus, text=None: real(cpus, stat))
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_IMPORTED", (float("-inf"), None))
    assert parallel.IdleProbe().idle_cpus() is None
    machine(monkeypatch, 2, 1.5)
    assert parallel._idle_cpus(parallel.IdleProbe()) == 0.0  # 2 CPUs - this one - load 1.5


def test_a_probe_made_soon_after_the_import_measures_from_the_import(monkeypatch):
    """A command line run: the window spans imports, hashing and reading (not only the read)."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(parallel, "_idle_ticks", lambda cpus, stat=None: (180, 300))
    monkeypatch.setattr(parallel, "_IMPORTED", (parallel.time.monotonic(), (100, 200)))
    assert parallel.IdleProbe().idle_cpus() == pytest.approx(1.6)  # 2 CPUs x 80 idle / 100
    monkeypatch.setattr(parallel, "_IMPORTED", (parallel.time.monotonic() - 60, (100, 200)))
    assert parallel.IdleProbe().idle_cpus() is None  # an old import: measured from now (no ticks yet)
