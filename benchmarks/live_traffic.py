"""Live-traffic benchmark: does a migration hurt the application running against the database?

A ``users`` table of ``--rows`` rows and an ``orders`` table referencing it (the sample project's
1.0.0 schema, created with ``migrator expand --release 1.0.0``) take a steady application-like
load (benchmarks/loadgen.py) while the schema change of releases 1.1.0 to 1.3.0 runs. Each
scenario gets a fresh copy of the loaded database (CREATE DATABASE ... TEMPLATE):

- baseline: load only;
- migrator: ``migrator expand`` / ``migrator contract`` for 1.1.0, 1.2.0, 1.3.0 with the deployed
  application release switched between the steps the way a deploy pipeline does;
- naive: the same change written as one migration in one transaction (add column, full-table
  UPDATE, plain CREATE INDEX, SET NOT NULL, drops), then the new release deployed;
- migrator/naive + long-tx: the same while another session holds a transaction that read
  ``users`` (``BEGIN; SELECT count(*) FROM users;`` then sleeps ``--long-tx`` seconds).

Usage (from the repository root)::

    .venv/bin/python benchmarks/live_traffic.py --rows 100000
    .venv/bin/python benchmarks/live_traffic.py --rows 1000000 --json bench.json

The server is found like the tests find it (tests/support/pgserver.py): MIGRATOR_TEST_DATABASE_URL,
else Docker, else a throwaway local server from ``pg_config --bindir``.
Exit status: 0 when the migrator scenarios meet the targets (no failed client transaction, p99 at
most 1.5x the baseline, max latency under 1 s), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from benchmarks.loadgen import Deployment, Load, LoadResult, percentile  # noqa: E402
from tests.support.pgserver import PgServer  # noqa: E402

SAMPLE_PROJECT = ROOT / "sample_project"
MIGRATOR = [sys.executable, "-m", "migrator"]

# The schema change of releases 1.1.0..1.3.0 written the way many teams write it: one migration,
# one transaction, every lock held until COMMIT.
NAIVE_SQL = [
    "ALTER TABLE users ADD COLUMN full_name text",
    "UPDATE users SET full_name = first_name || ' ' || last_name",
    "CREATE INDEX ix_users_full_name_naive ON users (full_name)",
    "ALTER TABLE users ALTER COLUMN full_name SET NOT NULL",
    "ALTER TABLE users DROP COLUMN first_name, DROP COLUMN last_name",
]

# (what, argument): "deploy" switches the application release the clients run, then records it
# (`migrator deployed`), as a pipeline does before contract.
MIGRATOR_STEPS = [
    ("expand", "1.1.0"), ("deploy", "1.1.0"), ("contract", "1.1.0"),
    ("expand", "1.2.0"), ("deploy", "1.2.0"), ("contract", "1.2.0"),
    ("expand", "1.3.0"), ("deploy", "1.3.0"), ("contract", "1.3.0"),
]

TARGET_P99_RATIO = 1.5
TARGET_MAX_SECONDS = 1.0


@dataclass
class Step:
    name: str
    seconds: float
    rc: int
    attempts: int = 1
    tail: str = ""
    started: float = 0.0  # seconds since the load started
    p99_ms: float = 0.0  # the clients' p99 while this step ran
    max_ms: float = 0.0


@dataclass
class ScenarioResult:
    name: str
    transactions: int = 0
    failed: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    migration_s: float = 0.0
    migration_ok: bool = True
    final_schema: str = ""
    steps: list[Step] = field(default_factory=list)
    top_errors: list[tuple[str, int]] = field(default_factory=list)
    slowest: list[tuple[float, float, str]] = field(default_factory=list)  # (t, latency, kind)


# -- the database --------------------------------------------------------------------------------

def _dbname(url: str) -> str:
    return make_url(url).database


def _run_migrator(action: str, release: str, url: str, env: dict[str, str],
                  retry_deadline: float, nice: int = 0) -> Step:
    """One ``migrator`` subprocess; exit 3 (indeterminate: retry) is retried like a pipeline would."""
    start = time.perf_counter()
    attempts = 0
    prefix = ["nice", "-n", str(nice)] if nice else []
    while True:
        attempts += 1
        proc = subprocess.run([*prefix, *MIGRATOR, action, "--release", release, "--database-url", url],
                              cwd=SAMPLE_PROJECT, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 3 or elapsed > retry_deadline:
            break
        time.sleep(1.0)
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-6:]
    return Step(f"{action} {release}", time.perf_counter() - start, proc.returncode, attempts,
                "\n".join(tail))


def create_schema(url: str, env: dict[str, str]) -> None:
    step = _run_migrator("expand", "1.0.0", url, env, retry_deadline=60)
    if step.rc != 0:
        raise SystemExit(f"migrator expand --release 1.0.0 failed (exit {step.rc}):\n{step.tail}")


def bulk_load(url: str, rows: int, orders_per_user: int) -> None:
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(
            "INSERT INTO users (email, first_name, last_name) "
            "SELECT 'user' || g || '@example.com', "
            "(ARRAY['Ada','Alan','Grace','Edsger','Barbara'])[1 + g %% 5], "
            "(ARRAY['Lovelace','Turing','Hopper','Dijkstra','Liskov'])[1 + g %% 5] "
            "FROM generate_series(1, %s) g", (rows,))
        c.execute(
            "INSERT INTO orders (user_id, total) "
            "SELECT 1 + (g::bigint * 7919) %% %s, 1 + g %% 500 FROM generate_series(1, %s) g",
            (rows, rows * orders_per_user))
        c.execute("VACUUM ANALYZE users")
        c.execute("VACUUM ANALYZE orders")
        c.execute("CHECKPOINT")


def max_ids(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as c:
        u = c.execute("SELECT max(id) FROM users").fetchone()[0]
        o = c.execute("SELECT max(id) FROM orders").fetchone()[0]
    return int(u), int(o)


def describe_users(url: str) -> str:
    """The final shape of users, e.g. 'email,full_name NOT NULL,id' (for the result table)."""
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns "
            "WHERE table_name = 'users' AND column_name IN ('first_name','last_name','full_name') "
            "ORDER BY column_name").fetchall()
        invalid = c.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid").fetchone()[0]
    shape = ", ".join(f"{n}{'' if nullable == 'YES' else ' NOT NULL'}" for n, nullable in rows)
    return shape + (f"; {invalid} INVALID index(es)" if invalid else "")


# -- the migrations ------------------------------------------------------------------------------

def run_migrator_steps(url: str, deployment: Deployment, env: dict[str, str],
                       retry_deadline: float, clock, nice: int = 0) -> list[Step]:
    steps: list[Step] = []
    for what, arg in MIGRATOR_STEPS:
        if what == "deploy":
            deployment.deploy(arg)
            what = "deployed"  # the pipeline records the finished rollout (no instance registry here)
        started = clock()
        step = _run_migrator(what, arg, url, env, retry_deadline, nice)
        step.started = started
        steps.append(step)
        if step.rc != 0:
            break
    return steps


def run_naive(url: str, deployment: Deployment, lock_wait_s: float, clock) -> list[Step]:
    started = clock()
    start = time.perf_counter()
    rc, tail = 0, ""
    try:
        with psycopg.connect(url) as c:
            # no lock_timeout: that is the point of "naive"; a bound so a wedged run still ends
            c.execute(f"SET statement_timeout = {int(lock_wait_s * 1000)}")
            for sql in NAIVE_SQL:
                c.execute(sql)
            c.commit()
    except psycopg.Error as e:
        rc, tail = 1, str(e).strip().splitlines()[0]
    deployment.deploy("1.3.0")
    return [Step("naive (one transaction)", time.perf_counter() - start, rc, 1, tail, started)]


class LongTransaction:
    """``BEGIN; SELECT count(*) FROM users;`` then hold the transaction for ``seconds``."""

    def __init__(self, url: str, seconds: float) -> None:
        self.url, self.seconds = url, seconds
        self._ready, self._done = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self.url) as c:
            c.execute("SELECT count(*) FROM users").fetchone()
            self._ready.set()
            self._done.wait(self.seconds)
            c.rollback()

    def start(self) -> "LongTransaction":
        self._thread.start()
        self._ready.wait(60)
        return self

    def end(self) -> None:
        self._done.set()
        self._thread.join()


# -- one scenario --------------------------------------------------------------------------------

def run_scenario(name: str, kind: str, server: PgServer, template: str, args, env) -> ScenarioResult:
    url = server.new_database(template=template)
    try:
        max_user, max_order = max_ids(url)
        deployment = Deployment("1.0.0")
        load = Load(url, clients=args.clients, rate=args.rate, max_user_id=max_user,
                    max_order_id=max_order, deployment=deployment,
                    client_timeout_ms=args.client_timeout_ms, seed=args.seed).start()
        time.sleep(args.settle)
        long_tx = LongTransaction(url, args.long_tx).start() if "long-tx" in name else None
        t_start = time.perf_counter()
        if kind == "baseline":
            time.sleep(args.baseline_seconds)
            steps = []
        elif kind == "migrator":
            steps = run_migrator_steps(url, deployment, env, args.retry_deadline, load.now, args.nice)
        else:
            steps = run_naive(url, deployment, args.naive_timeout, load.now)
        migration_s = time.perf_counter() - t_start
        time.sleep(args.settle)
        result = load.stop()
        if long_tx is not None:
            long_tx.end()
        res = summarize(name, result)
        for step in steps:
            part = result.window(step.started, step.started + step.seconds)
            lat = [x.latency for x in part.samples]
            step.p99_ms = percentile(lat, 99) * 1000
            step.max_ms = max(lat, default=0.0) * 1000
        res.steps = steps
        res.migration_s = 0.0 if kind == "baseline" else migration_s
        res.migration_ok = all(s.rc == 0 for s in steps) and (
            kind == "baseline" or len(steps) == (1 if kind == "naive" else len(MIGRATOR_STEPS)))
        res.final_schema = describe_users(url)
        return res
    finally:
        server.drop_database(url)


def summarize(name: str, result: LoadResult) -> ScenarioResult:
    lat = [s.latency for s in result.samples]
    failed = sum(1 for s in result.samples if not s.ok)
    errors = Counter(f"{e.kind}@{e.release}: {e.message}" for e in result.errors)
    slowest = sorted(result.samples, key=lambda s: -s.latency)[:5]
    return ScenarioResult(
        name=name, transactions=len(lat), failed=failed,
        p50_ms=percentile(lat, 50) * 1000, p99_ms=percentile(lat, 99) * 1000,
        max_ms=max(lat, default=0.0) * 1000, top_errors=errors.most_common(10),
        slowest=[(round(s.t, 2), round(s.latency, 3), s.kind) for s in slowest])


# -- report --------------------------------------------------------------------------------------

def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def table(results: list[ScenarioResult]) -> str:
    base = results[0]
    head = ("| scenario | tx | failed tx | p50 ms | p99 ms | max ms | p50/base | p99/base "
            "| max/base | migration s | migration | final users columns |")
    lines = [head, "|" + "---|" * 12]
    for r in results:
        lines.append(
            f"| {r.name} | {r.transactions} | {r.failed} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {r.max_ms:.1f} | {_ratio(r.p50_ms, base.p50_ms)} | {_ratio(r.p99_ms, base.p99_ms)} "
            f"| {_ratio(r.max_ms, base.max_ms)} | {r.migration_s:.1f} "
            f"| {'ok' if r.migration_ok else 'FAILED'} | {r.final_schema} |")
    return "\n".join(lines)


def details(results: list[ScenarioResult]) -> str:
    out = []
    for r in results:
        if r.steps:
            out.append(f"{r.name}: " + "; ".join(
                f"{s.name} {s.seconds:.1f}s exit {s.rc}"
                + (f" ({s.attempts} attempts)" if s.attempts > 1 else "")
                + f" [p99 {s.p99_ms:.1f} ms, max {s.max_ms:.0f} ms]"
                for s in r.steps))
        for s in r.steps:
            if s.rc != 0 and s.tail:
                out.append("    " + s.tail.replace("\n", "\n    "))
        for msg, n in r.top_errors:
            out.append(f"    {n} x {msg}")
        if r.slowest and r.name != "baseline":
            out.append("    slowest (t s, latency s, kind): " + ", ".join(map(str, r.slowest[:3])))
    return "\n".join(out)


def check_targets(results: list[ScenarioResult]) -> list[str]:
    base = results[0]
    misses = []
    for r in results:
        if not r.name.startswith("migrator"):
            continue
        if not r.migration_ok:
            misses.append(f"{r.name}: the migration did not complete")
        if r.failed:
            misses.append(f"{r.name}: {r.failed} failed client transactions (target 0)")
        if base.p99_ms and r.p99_ms > TARGET_P99_RATIO * base.p99_ms:
            misses.append(f"{r.name}: p99 {r.p99_ms:.1f} ms > {TARGET_P99_RATIO}x baseline "
                          f"{base.p99_ms:.1f} ms")
        if r.max_ms >= TARGET_MAX_SECONDS * 1000:
            misses.append(f"{r.name}: max latency {r.max_ms:.0f} ms >= {TARGET_MAX_SECONDS * 1000:.0f} ms")
    return misses


def machine(server: PgServer) -> str:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    with psycopg.connect(server.admin_url) as c:
        version = c.execute("SHOW server_version").fetchone()[0]
    return (f"nproc {os.cpu_count()}, memory {mem_kb / 1024 / 1024:.1f} GiB, PostgreSQL {version} "
            f"({server.kind} server), Python {sys.version.split()[0]}")


# -- main ----------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="users rows (default 1,000,000)")
    p.add_argument("--orders-per-user", type=int, default=1)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--rate", type=float, default=200.0, help="transactions per second, all clients")
    p.add_argument("--settle", type=float, default=3.0, help="seconds of load before and after")
    p.add_argument("--baseline-seconds", type=float, default=20.0)
    p.add_argument("--long-tx", type=float, default=30.0,
                   help="seconds the long transaction is held; 0 skips the long-tx scenarios")
    p.add_argument("--lock-timeout-ms", type=int, default=500,
                   help="migrator's lock_timeout for the run (MIGRATOR_LOCK_TIMEOUT_MS)")
    p.add_argument("--client-timeout-ms", type=int, default=10_000,
                   help="the clients' statement_timeout, like an application's request timeout")
    p.add_argument("--naive-timeout", type=float, default=600.0)
    p.add_argument("--retry-deadline", type=float, default=300.0,
                   help="how long a migrator step exiting 3 is retried, like a pipeline would")
    p.add_argument("--retry-attempts", type=int, default=100,
                   help="migrator's lock retry attempts per migration (MIGRATOR_RETRY_ATTEMPTS)")
    p.add_argument("--retry-max-total", type=float, default=120.0,
                   help="migrator's lock retry budget in seconds (MIGRATOR_RETRY_MAX_TOTAL)")
    p.add_argument("--nice", type=int, default=0,
                   help="run the migrator subprocesses under nice -n N (a deploy job on its own host)")
    p.add_argument("--only", default="", help="comma-separated scenario names to run")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", help="write the results as JSON to this path")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = [("baseline", "baseline"), ("migrator", "migrator"), ("naive", "naive")]
    if args.long_tx > 0:
        scenarios += [("migrator + long-tx", "migrator"), ("naive + long-tx", "naive")]
    if args.only:
        wanted = {s.strip() for s in args.only.split(",")}
        scenarios = [s for s in scenarios if s[0] == "baseline" or s[0] in wanted]
    # the same load again at the end: how much the machine alone moves the numbers
    scenarios.append(("baseline (again)", "baseline"))
    env = dict(os.environ, MIGRATOR_LOCK_TIMEOUT_MS=str(args.lock_timeout_ms),
               MIGRATOR_RETRY_ATTEMPTS=str(args.retry_attempts),
               MIGRATOR_RETRY_MAX_TOTAL=str(args.retry_max_total))
    env.pop("MIGRATOR_DATABASE_URL", None)
    env.pop("DATABASE_URL", None)

    server = PgServer().start()
    template = "bench_tpl_" + uuid.uuid4().hex[:8]
    try:
        print(f"# {machine(server)}", flush=True)
        t = time.perf_counter()
        tpl_url = server.new_database()
        with psycopg.connect(server.admin_url, autocommit=True) as c:
            c.execute(f'ALTER DATABASE "{_dbname(tpl_url)}" RENAME TO "{template}"')
        tpl_url = server.url_for(template)
        create_schema(tpl_url, env)
        bulk_load(tpl_url, args.rows, args.orders_per_user)
        print(f"# loaded {args.rows} users in {time.perf_counter() - t:.1f}s", flush=True)
        results = []
        for name, kind in scenarios:
            print(f"# running {name} ...", flush=True)
            results.append(run_scenario(name, kind, server, template, args, env))
        print()
        print(table(results))
        print()
        print(details(results))
        misses = check_targets(results)
        print()
        print("targets: " + ("met" if not misses else "MISSED\n  " + "\n  ".join(misses)))
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"machine": machine(server), "args": vars(args),
                 "results": [asdict(r) for r in results], "misses": misses}, indent=2))
        return 0 if not misses else 1
    finally:
        with psycopg.connect(server.admin_url, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
