"""Linting many migrations fast: result cache first, then parse the misses in a process pool,
then walk every migration in order through the engine (the schema state is sequential).

Parsing (sqlglot) is the expensive, state-free part, so it is the part that runs in parallel;
rules and the schema state run in the parent, in order. Cached results are replayed into the
schema state from their stored operations, so a partially cached run parses only the files it
has not seen."""

from __future__ import annotations

import os
from pathlib import Path

from ..model import LintReport
from .cache import LintCache, chain_key, run_key, run_prefix

AUTO_PARALLEL_ABOVE = 200  # migrations to parse before a pool pays for its start-up


def _parse_chunk(args):
    """Worker: parse the statements of several sources; returns one list of operations each."""
    sources, server_version = args
    from .engine import parse_source

    return [parse_source(source, server_version) for source in sources]


def _workers(jobs: int | None, todo: int) -> int:
    cpus = os.cpu_count() or 1
    if jobs in (None, 0):
        return min(cpus, 8) if todo > AUTO_PARALLEL_ABOVE and cpus > 1 else 1
    return max(1, min(jobs, todo))


def parse_in_pool(sources: list, server_version: int, workers: int) -> list[list]:
    """Operations for each source, parsed in ``workers`` processes (order kept)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    chunks = max(workers * 4, 1)
    size = max(1, -(-len(sources) // chunks))
    batches = [(sources[i:i + size], server_version) for i in range(0, len(sources), size)]
    ctx = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        results: list[list] = []
        for part in pool.map(_parse_chunk, batches):
            results.extend(part)
    return results


def lint_many(sources: list, config, *, cache: LintCache | None = None, jobs: int | None = None) -> LintReport:
    """Lint ``sources`` in order with the result cache and, for many misses, a parse pool."""
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
    last_miss = misses[-1] if misses else -1

    parsed: dict[int, list] = {}
    workers = _workers(jobs, len(misses))
    if workers > 1:
        todo = [sources[i] for i in misses]
        for i, ops in zip(misses, parse_in_pool(todo, config.server_version, workers)):
            parsed[i] = ops

    state = SchemaState()
    for i in range(last_miss + 1):
        if results[i] is not None:
            for op in results[i].operations:  # replay: the state this migration leaves behind
                state.apply(op)
            continue
        linted = lint_migration(sources[i], state, config, operations=parsed.get(i))
        results[i] = linted
        cache.put(keys[i], linted)
    return LintReport(results, files=len({s.path for s in sources}))


def lint_paths(paths: list[str], config, *, stdin_text: str | None = None, use_cache: bool = True,
               jobs: int | None = None, diff_base: str | None = None,
               need_operations: bool = True) -> LintReport:
    """Find, load and lint migrations: what ``migrator lint`` does before rendering.

    ``need_operations=False`` lets a whole-run cache hit skip decoding operations (the text,
    json and github formats do not read them)."""
    changed = None
    if diff_base:
        from .diff import changed_files

        changed = changed_files(diff_base)
    cache = LintCache.for_config(config, enabled=use_cache)
    run = run_key(paths, config) if cache.enabled else None
    report = cache.get_run(run[0], need_operations=need_operations) if run else None
    if report is None:
        from ..sources.discover import load_sources

        sources = load_sources(paths, config, stdin_text=stdin_text)
        report = lint_many(sources, config, cache=cache, jobs=jobs)
        if run:
            cache.put_run(run[0], run[1], report)
    if changed is not None:
        from .diff import is_changed

        cwd = Path.cwd()
        report.migrations = [m for m in report.migrations if is_changed(m.source.path, changed, cwd)]
        report.files = len({m.source.path for m in report.migrations})
    return report
