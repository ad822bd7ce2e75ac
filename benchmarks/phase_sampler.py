"""Run a console entry point in this process under a wall-clock sampler (used by lint_bench.py).

    python benchmarks/phase_sampler.py OUT.json ROOTS THROUGH package.module:function [args...]

Every millisecond of wall time SIGALRM interrupts the program and the handler charges the wall
time since the previous sample to the Python stack it interrupted, summarised as one key:

- ``import:<package>`` when any frame on the stack is executing an import (importlib's
  bootstrap), ``<package>`` being the top-level package of the innermost module body running
  that is not the standard library's (the standard library a package imports is its cost);
- else ``<module>``, the innermost frame whose module's top-level package is one of ROOTS
  (comma separated, e.g. ``migrator,sqlglot``) and which is not one of the modules THROUGH
  (comma separated, or ``-``; data classes, say, charged to whoever builds them): time in the
  standard library or another library is charged to the project module that called it;
- else ``""`` (nothing of ROOTS on the stack).

Charging elapsed time rather than counting samples keeps the total exact: the keys sum to the
sampled wall time even when a signal arrives late (Python runs handlers between bytecodes, so
compiled code such as sqlglotc's parser is charged to the Python frame it returns to, which is
the caller that asked it to parse). Time spent waiting (on files, on child processes) counts, as
a user waits for it too. Child processes are not sampled; their CPU seconds are reported.

Each sample also charges the process's CPU seconds since the previous one (``time.process_time``:
this process, not its children), which a busy machine does not inflate as it does wall time.
Writes ``{"total", "samples", "cpu_self", "cpu_children", "rc", "by": {key: [wall s, cpu s]}}``
at exit (CPU seconds after the program's exit handlers, so children they stop are counted). Kept
apart from lint_bench.py and importing only built-in modules before the sampler starts, so the
measured process has imported nothing that the program under test would import (its import
time would otherwise be hidden).
"""

import atexit
import signal
import sys
import time

INTERVAL = 0.001
_BOOTSTRAP = "<frozen importlib._bootstrap"


def run(out: str, roots: set[str], through: set[str], target: str, argv: list[str]) -> int:
    acc: dict[str, list[float]] = {}
    last = [0.0, 0.0]
    stdlib = sys.stdlib_module_names
    count = [0]

    def sample(signum, frame):
        now, cpu = time.perf_counter(), time.process_time()
        dt, dc = now - last[0], cpu - last[1]
        last[0], last[1] = now, cpu
        count[0] += 1
        module = body = None
        importing = False
        f = frame
        while f is not None:
            code = f.f_code
            name = f.f_globals.get("__name__", "")
            if code.co_filename.startswith(_BOOTSTRAP):
                importing = True
            elif (code.co_name == "<module>" and body is None and name != "__main__"
                  and name.partition(".")[0] not in stdlib and name in sys.modules):
                body = name
            if module is None and name.partition(".")[0] in roots and name not in through:
                module = name
            f = f.f_back
        if importing:
            key = "import:" + (body or module or "?").partition(".")[0]
        else:
            key = module or ""
        slot = acc.get(key)
        if slot is None:
            slot = acc[key] = [0.0, 0.0]
        slot[0] += dt
        slot[1] += dc

    result: dict = {"rc": 0}

    def write() -> None:
        # registered before the program runs, so it runs after the program's own exit handlers
        # (atexit is last in, first out): child processes they stop are counted
        import json
        import resource

        me = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.update(cpu_self=me.ru_utime + me.ru_stime, cpu_children=kids.ru_utime + kids.ru_stime)
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(result, fh)

    atexit.register(write)
    signal.signal(signal.SIGALRM, sample)
    start = last[0] = time.perf_counter()
    last[1] = time.process_time()
    signal.setitimer(signal.ITIMER_REAL, INTERVAL, INTERVAL)
    try:
        module_name, _, function = target.partition(":")
        __import__(module_name)
        entry = getattr(sys.modules[module_name], function)
        entry(argv)
    except SystemExit as e:
        result["rc"] = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        end = time.perf_counter()
        tail = acc.setdefault("", [0.0, 0.0])  # the tail after the last sample
        tail[0] += end - last[0]
        tail[1] += time.process_time() - last[1]
        sys.stdout.flush()
    result.update(total=end - start, samples=count[0], by=acc)
    return result["rc"]

if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.stderr.write(__doc__.splitlines()[2].strip() + "\n")
        sys.exit(2)
    sys.exit(run(sys.argv[1], set(sys.argv[2].split(",")), set(sys.argv[3].split(",")) - {"-"},
                 sys.argv[4], sys.argv[5:]))
