"""Linting many migrations fast: the result cache first, then the misses in a process pool.

The schema state is sequential (migration N starts from N-1's state-out), but what advances it is
only the operations, in order (``SchemaState.apply``), and parsing is state-free. So a large run
goes in two rounds over contiguous chunks of the migrations:

1. workers parse their chunk (sqlglot: the expensive part) and send the operations back;
2. the parent walks all operations in order through ``SchemaState.apply`` (cheap) to get the
   state at each chunk's start, then workers run the rules over their chunk from that state.

Cached results are replayed into the state from their stored operations, so a partially cached
run parses only what it has not seen. Workers are forked, so sources, operations and states
reach them without pickling; only results travel back."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ..model import LintedMigration, LintReport, Severity
from ..sources import warn_on_stderr
from ..script.catalog import baseline_revisions
from .cache import LintCache, chain_key, run_key, run_prefix

# Measured on a 2-core machine (benchmarks/lint_bench.py): parsing costs about 2.5 us of CPU a
# character of SQL, and a pool adds about 40% on top (forking, sending every operation back,
# the parent's pass over the state), so a worker pays off only with a core of its own to run on
# and about a second of parsing to do.
CHARS_PER_WORKER = 400_000

# What forked workers read (set in the parent just before the pool forks).
_JOB: dict = {}


def _idle_cpus() -> int:
    """CPUs this process may use that are not already busy (1-minute load average)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        busy = 0.0
    return max(1, min(cpus, int(cpus - busy + 0.5)))


def _workers(jobs: int | None, todo: int, chars: int = 0) -> int:
    """``--jobs`` when given; else a pool only when it is faster than one process: at least two
    workers, each with an idle core besides the parent's and ``CHARS_PER_WORKER`` of SQL to
    parse. So on two cores the default is one process."""
    if jobs not in (None, 0):
        return max(1, min(jobs, todo))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = min(8, cpus - 1, _idle_cpus() - 1, chars // CHARS_PER_WORKER, todo)
    return n if n >= 2 else 1


def _parse_chunk(indices: list[int]) -> list[tuple[int, list]]:
    from .engine import parse_source

    sources, version = _JOB["sources"], _JOB["config"].server_version
    return [(i, parse_source(sources[i], version)) for i in indices]


def _lint_chunk(task: tuple[int, int, dict]) -> list[tuple[int, list, object, list]]:
    """Worker: lint migrations start..stop-1 from ``state_in``. The parent already holds the
    operations, so only what the linter changed on them travels back (field, value per op)."""
    from .engine import lint_migration
    from .state import SchemaState

    start, stop, state_in = task
    sources, ops, hits, config = _JOB["sources"], _JOB["ops"], _JOB["hits"], _JOB["config"]
    state = SchemaState.from_dict(state_in)
    out = []
    for i in range(start, stop):
        if hits[i] is not None:
            for op in hits[i].operations:
                state.apply(op)
            continue
        before = [dict(vars(op)) for op in ops[i]]
        linted = lint_migration(sources[i], state, config, operations=ops[i])
        if linted.operations is ops[i] and len(ops[i]) == len(before):
            changes = [[(k, v) for k, v in vars(op).items() if before[j].get(k, _MISSING) is not v]
                       for j, op in enumerate(ops[i])]
            out.append((i, None, changes, linted.phase, linted.findings))
        else:  # the engine replaced the list: send it whole
            out.append((i, linted.operations, None, linted.phase, linted.findings))
    return out


_MISSING = object()


def _pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def _chunks(indices: list[int], parts: int) -> list[list[int]]:
    size = max(1, -(-len(indices) // parts))
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def _lint_in_pool(sources: list, results: list, misses: list[int], config, workers: int) -> None:
    """Fill ``results[i]`` for every miss, in two forked rounds (module docstring)."""
    from .state import SchemaState

    _JOB.clear()
    _JOB.update(sources=sources, config=config)
    ops: list = [None] * len(sources)
    try:
        with _pool(workers) as pool:
            for part in pool.map(_parse_chunk, _chunks(misses, workers * 4)):
                for i, parsed in part:
                    ops[i] = parsed
        # The state each chunk starts from; chunks are contiguous ranges ending at the last miss.
        bounds = [c[0] for c in _chunks(misses, workers * 2)] + [misses[-1] + 1]
        tasks, state, at = [], SchemaState(), 0
        for start, stop in zip(bounds, bounds[1:]):
            for i in range(at, start):
                for op in (results[i].operations if results[i] is not None else ops[i]):
                    state.apply(op)
            at = start
            tasks.append((start, stop, state.to_dict()))
        _JOB.update(ops=ops, hits=list(results))
        with _pool(workers) as pool:
            for part in pool.map(_lint_chunk, tasks):
                for i, operations, changes, phase, findings in part:
                    if operations is None:
                        operations = ops[i]
                        for op, changed in zip(operations, changes):
                            for name, value in changed:
                                setattr(op, name, value)
                    results[i] = LintedMigration(sources[i], operations, phase, findings)
    finally:
        _JOB.clear()


def lint_many(sources: list, config, *, cache: LintCache | None = None, jobs: int | None = None) -> LintReport:
    """Lint ``sources`` in order with the result cache and, for many misses, a process pool."""
    from .engine import check_rule_config, lint_migration
    from .state import SchemaState

    check_rule_config(config)
    cache = cache or LintCache(None)
    n = len(sources)
    results: list = [None] * n
    keys: list[str] = [""] * n
    if cache.enabled:
        prefix = run_prefix(config)
        previous = ""
        for i, source in enumerate(sources):
            previous = keys[i] = chain_key(previous, prefix, source)
            results[i] = cache.get(previous, source)
    misses = [i for i in range(n) if results[i] is None]
    workers = _workers(jobs, len(misses), sum(len(sources[i].text) for i in misses)) if misses else 1
    if misses and workers > 1 and hasattr(os, "fork"):
        _lint_in_pool(sources, results, misses, config, workers)
    else:
        state = SchemaState()
        for i in range(misses[-1] + 1 if misses else 0):
            if results[i] is not None:
                for op in results[i].operations:  # replay: the state this migration leaves behind
                    state.apply(op)
                continue
            results[i] = lint_migration(sources[i], state, config)
    for i in misses:
        cache.put(keys[i], results[i])
    cache.run_keys = keys
    return LintReport(results, files=len({s.path for s in sources}))


def lint_paths(paths: list[str], config, *, stdin_text: str | None = None, use_cache: bool = True,
               jobs: int | None = None, diff_base: str | None = None,
               need_operations: bool = True, warn=None, include_baseline: bool = False,
               progress=None) -> LintReport:
    """Find, load and lint migrations: what ``migrator lint`` does before rendering.

    ``need_operations=False`` lets a whole-run cache hit skip decoding operations (the text,
    json and github formats do not read them). Files that cannot be linted (FIFOs, devices,
    broken links) are skipped and passed to ``warn(path, why)``, by default a warning on stderr.
    The revisions of an adopted baseline are linted (the schema state they leave is what later
    revisions are judged against) but left out of the report unless ``include_baseline``;
    ``report.baseline_hidden`` counts them. ``progress(rendered, total)`` hears how rendering
    Alembic revisions goes (a whole-run cache hit renders nothing)."""
    warn = warn or warn_on_stderr
    skipped: list[tuple[str, str]] = []

    def note(path: str, why: str) -> None:
        skipped.append((path, why))
        warn(path, why)

    changed = None
    if diff_base:
        from .diff import changed_files

        changed = changed_files(diff_base)
    cache = LintCache.for_config(config, enabled=use_cache)
    run = run_key(paths, config) if cache.enabled else None

    def render_env() -> dict[str, str]:  # what revision code sees (only render_env passes)
        from ..sources.isolated import render_environment

        return render_environment(config.render_env or [])

    report = cache.get_run(run[0], need_operations=need_operations, warn=warn,
                           render_env=render_env) if run else None
    if report is None:  # the renderer and the parser are loaded only now (a hit needs neither)
        from ..sources.discover import load_sources

        sources = load_sources(paths, config, stdin_text=stdin_text, warn=note, progress=progress)
        report = lint_many(sources, config, cache=cache, jobs=jobs)
        if cache.enabled:
            cache.put_run(run[0] if run else None, run[1] if run else [], report,
                          cache.run_keys, skipped, render_env=render_env() if run else None)
    if changed is not None:
        from .diff import is_changed

        cwd = Path.cwd()
        report.migrations = [m for m in report.migrations if is_changed(m.source.path, changed, cwd)]
        report.files = len({m.source.path for m in report.migrations})
    released = baseline_revisions(config) if config.baseline else set()
    if released and not include_baseline:
        kept = [m for m in report.migrations if m.source.revision not in released]
        report.baseline_hidden = len(report.migrations) - len(kept)
        if report.baseline_hidden:
            report.migrations = kept
            report.files = len({m.source.path for m in kept})
    if released:
        _untagged_after_baseline_is_an_error(report, released)
    return report


def _untagged_after_baseline_is_an_error(report: LintReport, released: set[str]) -> None:
    """Once a baseline is adopted, only its revisions may go untagged: a later revision without
    a phase cannot be placed by the runner, so its warning becomes an error naming the file."""
    for m in report.migrations:
        if m.source.revision is None or m.source.revision in released:
            continue
        m.findings = [
            replace(f, severity=Severity.ERROR,
                    message=f"{f.message} (revisions after the adopted baseline must be tagged)")
            if f.rule == "missing-phase-tag" and f.severity is Severity.WARNING else f
            for f in m.findings
        ]
