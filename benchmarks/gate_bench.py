"""Gate benchmark: ``migrator serve`` under concurrent probes, and the CLI gate's wall time.

A fresh database gets the sample project's expand phases up to 1.1.0 (through the phase runner)
and a few registered instances. Then, with the database live:

- ``migrator serve`` runs as a subprocess of the real CLI; ``--concurrency`` client threads, each
  on one keep-alive ``http.client`` connection, send ``GET /healthz/schema?release=1.1.0`` for
  ``--duration`` seconds: p50 / p99 / max latency and requests per second. Measured twice: with
  the default answer cache (1.5 s) and with ``--cache-ttl 0`` (every request reads the database);
  a third pass hits the decision endpoint ``/v1/gate/contract``.
- ``migrator gate ready|contract --release 1.1.0`` as subprocesses from the sample project (so
  the catalog on disk is read too): the median wall time of ``--runs`` runs.

Targets: probe p99 < 20 ms (cached), CLI gate < 0.5 s. Exit status 0 when both are met.

Usage (from the repository root)::

    .venv/bin/python benchmarks/gate_bench.py [--concurrency 16] [--duration 5] [--runs 7] [--json out.json]

The server: MIGRATOR_TEST_DATABASE_URL, else the tests' throwaway server (tests/support/pgserver.py).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
SAMPLE = os.path.join(ROOT, "sample_project")
MIGRATOR = [sys.executable, "-m", "migrator"]
RELEASE = "1.1.0"


def prepare(url: str) -> list:
    import migrator
    from migrator.config import load_config
    from migrator.runner import api as runner

    config = load_config(config_file=__import__("pathlib").Path(SAMPLE, "migrator.toml"))
    runner.expand(config.with_overrides(database_url=url), RELEASE)
    return [migrator.register_instance(url, RELEASE, instance_id=f"bench-{i}", heartbeat=False)
            for i in range(3)]


def start_serve(url: str, cache_ttl: float) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "MIGRATOR_DATABASE_URL": url, "PYTHONPATH": ROOT}
    proc = subprocess.Popen([*MIGRATOR, "serve", "--port", "0", "--cache-ttl", str(cache_ttl)],
                            cwd=SAMPLE, env=env, stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    m = re.search(r"http://[\d.]+:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"migrator serve did not start: {line}")
    return proc, int(m.group(1))


def load(port: int, path: str, concurrency: int, duration: float) -> dict:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.connect()
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        mine = latencies[i]
        seen: dict[int, int] = {}
        start.wait()
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            seen[resp.status] = seen.get(resp.status, 0) + 1
        conn.close()
        with lock:
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    stop_at[0] = time.perf_counter() + duration
    began = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    flat = sorted(x for xs in latencies for x in xs)
    q = statistics.quantiles(flat, n=100)
    return {"path": path, "requests": len(flat), "rps": round(len(flat) / elapsed, 1),
            "p50_ms": round(q[49] * 1000, 2), "p99_ms": round(q[98] * 1000, 2),
            "max_ms": round(flat[-1] * 1000, 2), "statuses": statuses}


def cli_time(url: str, kind: str, runs: int) -> dict:
    env = {**os.environ, "MIGRATOR_DATABASE_URL": url, "PYTHONPATH": ROOT}
    times, codes = [], set()
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([*MIGRATOR, "gate", kind, "--release", RELEASE, "--format", "json"],
                           cwd=SAMPLE, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        codes.add(p.returncode)
        doc = json.loads(p.stdout)
    return {"gate": kind, "median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3),
            "exit_codes": sorted(codes), "verdict": doc["verdict"], "gate_total_ms": doc["timings"]["total_ms"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--json", dest="json_out")
    args = ap.parse_args()

    from tests.support.pgserver import PgServer

    server = PgServer().start()
    url = server.new_database()
    results: dict = {"concurrency": args.concurrency, "duration_s": args.duration}
    try:
        handles = prepare(url)
        for label, ttl, path in (("probe_cached", 1.5, f"/healthz/schema?release={RELEASE}"),
                                 ("probe_uncached", 0.0, f"/healthz/schema?release={RELEASE}"),
                                 ("decision_contract_cached", 1.5, f"/v1/gate/contract?release={RELEASE}")):
            proc, port = start_serve(url, ttl)
            try:
                load(port, path, 2, 0.5)  # warm up: connections, first evaluation
                results[label] = load(port, path, args.concurrency, args.duration)
            finally:
                proc.terminate()
                proc.wait(10)
            r = results[label]
            print(f"{label:<26} {r['rps']:>8} req/s  p50 {r['p50_ms']:>6} ms  p99 {r['p99_ms']:>6} ms  "
                  f"max {r['max_ms']:>7} ms  statuses {r['statuses']}")
        for kind in ("ready", "contract"):
            r = results[f"cli_{kind}"] = cli_time(url, kind, args.runs)
            print(f"cli gate {kind:<17} median {r['median_s']:.3f} s  min {r['min_s']:.3f} s  "
                  f"(gate itself {r['gate_total_ms']:.0f} ms, verdict {r['verdict']}, exit {r['exit_codes']})")
        for h in handles:
            h.stop()
    finally:
        server.drop_database(url)
        server.stop()

    targets = {
        "probe p99 < 20 ms (cached)": results["probe_cached"]["p99_ms"] < 20,
        "CLI gate < 0.5 s": max(results["cli_ready"]["median_s"], results["cli_contract"]["median_s"]) < 0.5,
    }
    results["targets"] = targets
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=2)
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
