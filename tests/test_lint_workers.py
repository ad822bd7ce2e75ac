"""How many worker processes a lint run uses: a pool only where it beats one process."""

from __future__ import annotations

import pytest

from migrator.lint import parallel


def machine(monkeypatch, cpus: int, load: float) -> None:
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(cpus)), raising=False)
    monkeypatch.setattr(parallel.os, "getloadavg", lambda: (load, load, load))


MB = 1_000_000


@pytest.mark.parametrize("load", [0.0, 1.0, 3.0])
def test_two_cores_lint_in_one_process(monkeypatch, load):
    machine(monkeypatch, 2, load)
    assert parallel._workers(None, 5000, 50 * MB) == 1


def test_idle_cores_and_enough_sql_get_a_pool(monkeypatch):
    machine(monkeypatch, 8, 0.0)
    assert parallel._workers(None, 5000, 50 * MB) == 7  # one core stays with the parent
    assert parallel._workers(None, 5000, 1 * MB) == 2  # ~2 s of parsing: two workers
    assert parallel._workers(None, 5000, parallel.CHARS_PER_WORKER) == 1


def test_busy_cores_do_not_count(monkeypatch):
    machine(monkeypatch, 8, 7.0)
    assert parallel._workers(None, 5000, 50 * MB) == 1
    machine(monkeypatch, 8, 4.0)
    assert parallel._workers(None, 5000, 50 * MB) == 3


def test_explicit_jobs_are_obeyed(monkeypatch):
    machine(monkeypatch, 2, 5.0)
    assert parallel._workers(4, 5000, 10) == 4
    assert parallel._workers(4, 3, 10) == 3
    assert parallel._workers(1, 5000, 50 * MB) == 1
