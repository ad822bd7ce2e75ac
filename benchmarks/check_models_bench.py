"""Models check benchmark: `migrator check --models` on the sample project from a fresh clone.

The sample project's history is built as a git repository (one commit and tag per release,
1.0.0 ... 1.3.0, each with its models: tests/support/models_repo.py), cloned afresh, and for each
release the clone is checked out at its tag and ``python -m migrator check --models
app.models:Base --release V`` runs as a new process with the default scratch schema (a temporary
SQLite file): interpreter start, imports, the git export of release V-1, the replay through the
runner and the three comparisons are all inside the figure. Printed per release: wall-clock
seconds (median of ``--runs``), exit status and the findings; the target is under 10 s per
release (wall clock; the CPU seconds are printed too, since wall time on a shared machine grows
with its load). Exit status 0 when every release meets it and passes, 1 otherwise.

Usage (from the repository root)::

    .venv/bin/python benchmarks/check_models_bench.py
    .venv/bin/python benchmarks/check_models_bench.py --runs 3 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tests.support.models_repo import RELEASES, git, sample_repo  # noqa: E402

TARGET_S = 10.0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(clone: Path, release: str) -> tuple[float, float, int, dict]:
    """(wall seconds, CPU seconds of the process and its children, exit status, JSON document)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_") and k != "DATABASE_URL"}
    cpu0 = _children_cpu()
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "migrator", "check", "--models", "app.models:Base",
                          "--release", release, "--format", "json"],
                         cwd=clone / "sample_project", env=env, capture_output=True, text=True, timeout=300)
    took = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    try:
        doc = json.loads(out.stdout)
    except json.JSONDecodeError:
        doc = {"error": out.stderr.strip()}
    return took, cpu, out.returncode, doc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args()
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as d:
        origin = sample_repo(Path(d) / "origin").parent
        for release in RELEASES:
            times, cpus, code, doc = [], [], 0, {}
            for _ in range(args.runs):
                clone = Path(d) / f"clone-{release}-{len(times)}"
                subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
                git(clone, "checkout", "-q", f"v{release}")
                took, cpu, code, doc = run(clone, release)
                times.append(took)
                cpus.append(cpu)
            median, cpu = statistics.median(times), statistics.median(cpus)
            findings = [f"{c['name']}: {f['rule']} {f['path']}:{f['line']}"
                        for c in doc.get("comparisons", []) for f in c["findings"]]
            skipped = [f"{c['name']} ({c['skipped']})" for c in doc.get("comparisons", []) if c["skipped"]]
            met = median < TARGET_S and code == 0
            ok &= met
            rows.append({"release": release, "seconds": round(median, 2), "cpu_seconds": round(cpu, 2), "exit": code,
                         "findings": findings, "skipped": skipped, "error": doc.get("error")})
            print(f"release {release}: {median:5.2f} s wall, {cpu:5.2f} s CPU  exit {code}  findings {len(findings)}"
                  + (f"  skipped: {', '.join(skipped)}" if skipped else "")
                  + (f"  error: {doc['error']}" if doc.get("error") else "")
                  + ("" if met else "  << target missed"))
            for f in findings:
                print(f"    {f}")
    print(f"target: each release under {TARGET_S:g} s wall and clean: {'met' if ok else 'MISSED'} "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs: wall time grows with it)")
    if args.json:
        Path(args.json).write_text(json.dumps({"target_s": TARGET_S, "releases": rows}, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
