"""Linting many migrations fast: the result cache first, then the misses split between this
process and, where idle cores make it pay, forked helpers.

The schema state is sequential (migration N starts from N-1's state-out), but parsing, the
expensive part, is state-free. So the migrations still to lint are cut into contiguous
segments, one per process; this process takes the first, each forked helper one of the later:

1. every process parses its segment at once (helpers in parallel with this process);
2. this process lints its segment exactly as one process would (parse + rules, the state
   advanced in place), then sends its state-out to helper 1, which lints its already-parsed
   segment from that state, sends its own state-out to helper 2, and so on.

The rules pass is cheap next to parsing, so the segments are sized (from characters of SQL)
for every process to finish parsing when its predecessor's state arrives. The state a helper
starts from is the one the rules pass itself left (never a separate replay that could drift
from it). Helpers are forked, so sources and configuration reach them without pickling; only
the state (small) and the results travel, streamed in batches that this process decodes while
the helpers still work: phase and findings, and the operations or their cache entries only when
the caller needs them. A helper that fails costs time, not results: this process lints its
segment itself."""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..model import LintedMigration, LintReport, Severity
from ..sources import warn_on_stderr
from .cache import LintCache, chain_key, encode, paused_gc, run_key, run_prefix

# Measured on a 2-core machine (benchmarks/lint_bench.py's real-shaped and synthetic corpora,
# per file, CPU seconds): parsing and linting cost ~150 us a statement plus ~0.3 us a character
# of SQL, the rules pass about a quarter of what parsing costs, and each helper a fixed ~30 ms
# (fork, copy-on-write faults, pipes, its last batch) plus ~0.05 us a character to send its
# results back. A helper is forked only when the time it saves is well above that.
SECONDS_PER_STATEMENT = 150e-6
SECONDS_PER_CHAR = 0.3e-6
RULES_OVER_PARSE = 0.25
HELPER_COST_S = 0.03
SEND_SHARE = 0.05  # sending a result back costs ~5% of linting it
MIN_GAIN_S = 0.1  # below this a prediction is noise: stay in one process
MAX_PROCESSES = 8
_BATCH = 64  # migrations a helper lints between two sends


# ------------------------------------------------------------------ how many processes

def _usable_cpus() -> int:
    """CPUs this process may run on: its affinity mask, bounded by a cgroup CPU quota."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    for path, parse in (("/sys/fs/cgroup/cpu.max", lambda t: t.split()[:2]),
                        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", None)):
        try:
            with open(path, encoding="ascii") as fh:
                text = fh.read()
            if parse is not None:
                quota, period = parse(text)
            else:
                quota = text.strip()
                with open("/sys/fs/cgroup/cpu/cpu.cfs_period_us", encoding="ascii") as fh:
                    period = fh.read().strip()
            if quota not in ("max", "-1"):
                cpus = min(cpus, max(1, -(-int(quota) // int(period))))
            break
        except (OSError, ValueError):
            continue
    return max(1, cpus)


def _idle_ticks(cpus: set[int] | None, stat: str | None = None) -> tuple[int, int] | None:
    """(idle, total) clock ticks so far of the CPUs in ``cpus`` (all when None), from /proc/stat
    (or its text ``stat``); None where there is none or it reads oddly."""
    try:
        if stat is None:
            with open("/proc/stat", encoding="ascii") as fh:
                stat = fh.read()
        idle = total = 0
        for line in stat.splitlines():
            if not line.startswith("cpu") or line[3:4] == " ":
                continue
            name, *fields = line.split()
            if cpus is not None and int(name[3:]) not in cpus:
                continue
            ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
            idle += ticks[3] + ticks[4]
            total += sum(ticks)
    except (OSError, ValueError, IndexError):
        return None
    return (idle, total) if total else None


def _affinity() -> set[int] | None:
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


# The ticks when this module was imported: the command line imports it before the parser and
# before it reads anything, so a probe made soon after can measure from here (a longer window).
_IMPORTED = (time.monotonic(), _idle_ticks(_affinity()))
_EARLY_S = 5.0  # an import older than this says nothing about now


class IdleProbe:
    """How many CPUs sat idle while this process worked (from its start to :meth:`idle_cpus`):
    CPU time the other processes of the machine left unused, which a helper could take without
    slowing anyone down. The window starts when this module was imported if that was less than
    ``_EARLY_S`` ago (a command line run: imports, hashing and reading the sources), else when
    the probe is made."""

    def __init__(self) -> None:
        self.cpus = _affinity()
        at, ticks = _IMPORTED
        fresh = ticks is not None and time.monotonic() - at < _EARLY_S
        self.start = ticks if fresh else _idle_ticks(self.cpus)

    def idle_cpus(self) -> float | None:
        """Idle CPUs on average over the window, or None when it is too short to tell (< 0.1
        CPU-seconds of ticks per CPU) or /proc/stat is missing."""
        end = _idle_ticks(self.cpus)
        if self.start is None or end is None:
            return None
        idle, total = end[0] - self.start[0], end[1] - self.start[1]
        n = len(self.cpus) if self.cpus else (os.cpu_count() or 1)
        if total < 10 * n:  # ticks are 10 ms: too few to measure
            return None
        return n * idle / total


def _idle_cpus(probe: IdleProbe | None) -> float:
    """CPUs idle besides the one this process runs on: measured by ``probe`` when it can, else
    the CPUs the 1-minute load average leaves free."""
    idle = probe.idle_cpus() if probe is not None else None
    if idle is None:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):
            return 0.0
        idle = _usable_cpus() - 1 - load
    return max(0.0, min(float(_usable_cpus() - 1), idle))


def _weights(processes: int) -> list[float]:
    """Share of the SQL for each process (this one first) so that each finishes parsing when
    the state from the process before it arrives: this one parses and lints its share, helper j
    only parses while waiting, then lints (the rules cost ``RULES_OVER_PARSE`` of parsing)."""
    r = 1 + RULES_OVER_PARSE
    w = [1 / r] + [r ** (j - 1) for j in range(1, processes)]
    return [x / sum(w) for x in w]


def cost(source) -> float:
    """Predicted CPU seconds to parse and lint ``source`` in one process."""
    return len(source.statements) * SECONDS_PER_STATEMENT + len(source.text) * SECONDS_PER_CHAR


def predicted_seconds(work: float, processes: int) -> float:
    """Predicted wall time of ``work`` CPU seconds of linting (:func:`cost`) spread over
    ``processes`` processes as :func:`_weights` says, on as many idle CPUs."""
    if processes <= 1:
        return work
    w = _weights(processes)
    r = 1 + RULES_OVER_PARSE
    # the last helper finishes last: the first share's parse + rules, then each helper's rules
    # (d0 * r^(p-1), d0 = the first share's parse + rules = work * w[0])
    last = work * w[0] * r ** (processes - 1)
    return last + (processes - 1) * HELPER_COST_S + work * (1 - w[0]) * SEND_SHARE


def _processes(jobs: int | None, work: float, probe: IdleProbe | None = None) -> int:
    """``--jobs`` when given; else one process plus a helper for each idle CPU, as long as
    each helper is predicted to save ``MIN_GAIN_S`` beyond its cost (never a helper that
    would have to share a core with other work: that could only be slower). One process
    where there is no fork, or when other threads run (e.g. linting from an application)."""
    threading = sys.modules.get("threading")
    if not hasattr(os, "fork") or (threading is not None and threading.active_count() > 1):
        return 1  # forking a process that runs other threads could copy a lock held by one
    if jobs not in (None, 0):
        return max(1, jobs)
    if work < 2 * MIN_GAIN_S:
        return 1
    spare = int(_idle_cpus(probe) + 0.25)  # a helper wants ~3/4 of an idle CPU
    best = 1
    for n in range(2, min(MAX_PROCESSES, spare + 1) + 1):
        if predicted_seconds(work, best) - predicted_seconds(work, n) < MIN_GAIN_S:
            break
        best = n
    return best


def _bounds(sources: list, misses: list[int], processes: int) -> list[int]:
    """Start index of each process's segment (the first is 0), and the end (last miss + 1):
    contiguous ranges whose work to do (:func:`cost` of their misses) follows
    :func:`_weights`. Fewer segments when there are fewer misses than processes."""
    weights = _weights(processes)
    costs = {i: cost(sources[i]) for i in misses}
    total = sum(costs.values())
    bounds, done, target, share = [0], 0.0, 0.0, 0
    for i in misses:
        # a new segment starts where the work done so far reaches the current share
        while share < processes - 1 and done >= total * (target + weights[share]) and i > bounds[-1]:
            target += weights[share]
            share += 1
            bounds.append(i)
        done += costs[i]
    return bounds + [misses[-1] + 1]


# ------------------------------------------------------------------ forked helpers

def _send(fh, obj) -> None:
    import pickle  # only runs that fork need it: not imported on the warm path

    pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    fh.flush()


def _receive(fh):
    import pickle

    return pickle.load(fh)


def _replay(state, result) -> None:
    for op in result.operations:  # a cached result: the state this migration leaves behind
        state.apply(op)


def _helper(start: int, stop: int, sources: list, hits: list, config, state_in: int,
            state_out: int | None, out: int, operations: bool, entries: bool) -> None:
    """A forked helper: parse the misses of ``start..stop-1``, wait for the state from the
    process before, lint, stream results to the parent and the state-out to the next."""
    from .engine import lint_parsed, parse_source

    version = config.server_version
    parsed = {i: parse_source(sources[i], version) for i in range(start, stop) if hits[i] is None}
    with open(out, "wb") as results:
        with open(state_in, "rb") as fh:
            try:
                state = _receive(fh)
            except EOFError:  # the process before failed: the parent lints this segment
                return
        batch = []
        for i in range(start, stop):
            if hits[i] is not None:
                _replay(state, hits[i])
                continue
            linted = lint_parsed(sources[i], parsed.pop(i), state, config)
            if entries:
                with paused_gc():
                    entry = encode(linted)
            batch.append((i, linted.phase, linted.findings,
                          linted.operations if operations else None, entry if entries else None))
            if len(batch) >= _BATCH:
                _send(results, batch)
                batch = []
        if state_out is not None:
            with open(state_out, "wb") as fh:
                _send(fh, state)
        _send(results, batch)
        _send(results, None)  # the end: everything was sent


def _pipe() -> tuple[int, int]:
    """A pipe with room for a state or a few batches, so writers rarely wait (Linux: 1 MiB)."""
    r, w = os.pipe()
    try:
        import fcntl

        fcntl.fcntl(w, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except (ImportError, OSError):
        pass
    return r, w


def _fork_helpers(bounds: list[int], sources: list, hits: list, config, operations: bool,
                  entries: bool) -> tuple[list[int], list[int], int]:
    """Fork one helper per segment after the first: (pids, result pipes, state pipe of helper 1)."""
    segments = len(bounds) - 2
    state_pipes = [_pipe() for _ in range(segments)]  # [j]: into helper j+1
    result_pipes = [_pipe() for _ in range(segments)]
    pids: list[int] = []
    for sys_stream in (sys.stdout, sys.stderr):
        try:
            sys_stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
    for j in range(segments):
        pid = os.fork()
        if pid == 0:  # the helper: keep only its own pipe ends, never return
            code = 1
            try:
                keep = {state_pipes[j][0], result_pipes[j][1]}
                if j + 1 < segments:
                    keep.add(state_pipes[j + 1][1])
                for pair in state_pipes + result_pipes:
                    for fd in pair:
                        if fd not in keep:
                            os.close(fd)
                _helper(bounds[j + 1], bounds[j + 2], sources, hits, config, state_pipes[j][0],
                        state_pipes[j + 1][1] if j + 1 < segments else None, result_pipes[j][1],
                        operations, entries)
                code = 0
            except BaseException:  # noqa: BLE001 - reported by the parent as a missing result
                pass
            finally:
                os._exit(code)
        pids.append(pid)
    for pair in state_pipes[1:]:
        os.close(pair[0])
        os.close(pair[1])
    os.close(state_pipes[0][0])
    for pair in result_pipes:
        os.close(pair[1])
    return pids, [pair[0] for pair in result_pipes], state_pipes[0][1]


def _lint_forked(sources: list, results: list, misses: list[int], config, processes: int,
                 cache: LintCache, keys: list[str], operations: bool) -> set[int]:
    """Fill ``results[i]`` for every miss, this process linting the first segment and forked
    helpers the others (module docstring). Returns the misses whose cache entry is stored
    already (helpers encode their results' entries themselves)."""
    from .state import SchemaState

    bounds = _bounds(sources, misses, processes)
    hits = list(results)
    stored: set[int] = set()
    state = SchemaState()
    if len(bounds) < 3:  # one segment: nothing to share
        _lint_range(sources, results, hits, state, config, 0, bounds[-1])
        return stored
    pids, pipes, first_state = _fork_helpers(bounds, sources, hits, config, operations,
                                             cache.enabled)
    ok = False
    state_out = open(first_state, "wb")
    try:
        _lint_range(sources, results, hits, state, config, 0, bounds[1])
        try:
            with state_out:
                _send(state_out, state)
        except BrokenPipeError:  # helper 1 is gone: _collect finds out
            pass
        if cache.enabled:  # while the helpers still lint: this process's entries
            with paused_gc():
                for i in misses:
                    if i >= bounds[1]:
                        break
                    cache.put(keys[i], results[i])
                    stored.add(i)
        ok = _collect(pipes, sources, results, cache, keys, stored)
    finally:
        if not state_out.closed:  # interrupted before helper 1 got its state
            try:
                state_out.close()
            except OSError:
                pass
        for fd in pipes:
            os.close(fd)
        for pid in pids:
            if not ok:
                try:
                    os.kill(pid, 9)
                except OSError:
                    pass
            os.waitpid(pid, 0)
    if not ok:  # a helper failed: lint the helpers' segments here, from this one's state-out
        stored.clear()
        _lint_range(sources, results, hits, state, config, bounds[1], bounds[-1])
    return stored


def _lint_range(sources: list, results: list, hits: list, state, config, start: int, stop: int) -> None:
    """What one process does: lint ``start..stop-1`` in order from ``state`` (advanced in place),
    replaying the operations of cached results."""
    from .engine import lint_migration

    for i in range(start, stop):
        if hits[i] is not None:
            _replay(state, hits[i])
        else:
            results[i] = lint_migration(sources[i], state, config)


def _collect(pipes: list[int], sources: list, results: list, cache: LintCache, keys: list[str],
             stored: set[int]) -> bool:
    """Read every helper's results, in order, into ``results``; False when one failed."""
    with paused_gc():  # decoding allocates many objects, none of them garbage
        for fd in pipes:
            with open(fd, "rb", closefd=False) as fh:
                while True:
                    try:
                        batch = _receive(fh)
                    except Exception:  # noqa: BLE001 - a helper that died mid-way
                        return False
                    if batch is None:
                        break
                    for i, phase, findings, operations, entry in batch:
                        results[i] = LintedMigration(sources[i], operations or [], phase, findings)
                        if entry is not None:
                            cache.put_entry(keys[i], entry)
                            stored.add(i)
        return True


def lint_many(sources: list, config, *, cache: LintCache | None = None, jobs: int | None = None,
              need_operations: bool = True, probe: IdleProbe | None = None) -> LintReport:
    """Lint ``sources`` in order with the result cache and, for many misses on idle cores,
    forked helpers (module docstring). ``need_operations=False``: the caller reads only
    phases and findings, so results linted by a helper may come back without operations.
    ``probe``: measures the idle CPUs since it was created (else the load average is used)."""
    from .engine import check_rule_config
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
    stored: set[int] = set()
    processes = 1
    if misses and hasattr(os, "fork"):
        processes = min(_processes(jobs, sum(cost(sources[i]) for i in misses), probe),
                        len(misses))
    # What exists now (modules, sources) outlives the lint: the collector need not scan it
    # again and again while parsing allocates (and helpers then need not copy it).
    gc.freeze()
    try:
        if processes > 1:
            stored = _lint_forked(sources, results, misses, config, processes, cache, keys,
                                  need_operations)
        elif misses:
            _lint_range(sources, results, list(results), SchemaState(), config, 0, misses[-1] + 1)
    finally:
        gc.unfreeze()
    with paused_gc():
        for i in misses:
            if i not in stored:
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
    probe = IdleProbe() if jobs in (None, 0) else None  # measures the CPUs idle while reading
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
        report = lint_many(sources, config, cache=cache, jobs=jobs, probe=probe,
                           need_operations=need_operations)
        if cache.enabled:
            cache.put_run(run[0] if run else None, run[1] if run else [], report,
                          cache.run_keys, skipped, render_env=render_env)
    if changed is not None:
        from .diff import is_changed

        cwd = Path.cwd()
        report.migrations = [m for m in report.migrations if is_changed(m.source.path, changed, cwd)]
        report.files = len({m.source.path for m in report.migrations})
    released: set[str] = set()
    if config.baseline:  # the revision catalog is read only when a baseline is adopted
        from ..script.catalog import baseline_revisions

        released = baseline_revisions(config)
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
