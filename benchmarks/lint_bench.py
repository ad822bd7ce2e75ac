"""Benchmark ``migrator lint`` against squawk on a generated corpus of SQL migrations.

    .venv/bin/python benchmarks/lint_bench.py [--files 2000] [--runs 3] [--keep DIR]

Generates a deterministic corpus (the statement shapes of docs/phases.md, several statements
per file), then times, each as a subprocess of the real CLI and as the median of ``--runs``:
migrator cold (``--no-cache``, fresh cache dir), migrator warm (cache populated), squawk on the
same files (when ``squawk`` is on PATH or in the venv), a 5-file lint, and ``migrator --help``.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"cold_ratio": 3.0, "warm_ratio": 1.0, "five_files_s": 0.5}


# ---------------------------------------------------------------- the corpus

class _Schema:
    """Just enough memory of what the generated migrations created to keep later ones sensible."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.tables: dict[str, list[str]] = {}
        self.n = 0

    def new_name(self, stem: str) -> str:
        self.n += 1
        return f"{stem}_{self.n}"

    def table(self) -> str:
        return self.rng.choice(sorted(self.tables))

    def column(self, table: str) -> str:
        return self.rng.choice(self.tables[table])


def _create_table(s: _Schema) -> list[str]:
    t = s.new_name(s.rng.choice(["users", "orders", "invoices", "events", "accounts", "items"]))
    cols = ["id", "created_at", "name", "status"]
    s.tables[t] = list(cols)
    out = [
        f"CREATE TABLE {t} (\n    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
        f"    created_at timestamptz NOT NULL DEFAULT now(),\n    name text NOT NULL,\n"
        f"    status varchar(20) DEFAULT 'new'\n);"
    ]
    if len(s.tables) > 1 and s.rng.random() < 0.5:
        other = s.rng.choice([x for x in s.tables if x != t])
        s.tables[t].append(f"{other}_id")
        out.append(f"ALTER TABLE {t} ADD COLUMN {other}_id bigint REFERENCES {other} (id);")
        out.append(f"CREATE INDEX idx_{t}_{other}_id ON {t} ({other}_id);")
    return out


def _expand(s: _Schema) -> list[str]:
    t = s.table()
    c = s.new_name("col")
    s.tables[t].append(c)
    return s.rng.choice([
        [f"ALTER TABLE {t} ADD COLUMN {c} text;",
         f"COMMENT ON COLUMN {t}.{c} IS 'added for the new release';"],
        [f"ALTER TABLE {t} ADD COLUMN {c} integer NOT NULL DEFAULT 0;"],
        [f"ALTER TABLE {t} ADD COLUMN {c} bigint;",
         f"CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_{t}_{c} ON {t} ({c});"],
        [f"ALTER TABLE {t} ADD COLUMN {c} uuid DEFAULT gen_random_uuid();"],
        [f"SET lock_timeout = '2s';", f"ALTER TABLE {t} ADD COLUMN {c} boolean DEFAULT false;",
         f"UPDATE {t} SET {c} = true WHERE id BETWEEN 1 AND 1000;"],
        [f"CREATE INDEX idx_{t}_{c} ON {t} ({s.column(t)});"],
        [f"ALTER TABLE {t} ALTER COLUMN status TYPE varchar(50);"],
        [f"ALTER TABLE {t} ALTER COLUMN {s.column(t)} DROP NOT NULL;",
         f"ALTER TABLE {t} ALTER COLUMN status SET DEFAULT 'pending';"],
        [f"CREATE TYPE {c}_kind AS ENUM ('a', 'b');", f"ALTER TYPE {c}_kind ADD VALUE 'c';"],
        [f"CREATE VIEW {c}_view AS SELECT id, name FROM {t} WHERE status = 'active';",
         f"GRANT SELECT ON {c}_view TO reporting;"],
    ])


def _contract(s: _Schema) -> list[str]:
    t = s.table()
    cols = [x for x in s.tables[t] if x not in ("id", "created_at", "name", "status")]
    c = cols[-1] if cols else "status"
    choices = [
        [f"ALTER TABLE {t} DROP COLUMN IF EXISTS {c};"],
        [f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_nn CHECK ({c} IS NOT NULL) NOT VALID;",
         f"ALTER TABLE {t} VALIDATE CONSTRAINT {t}_{c}_nn;"],
        [f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL;"],
        [f"DROP INDEX CONCURRENTLY IF EXISTS idx_{t}_{c};"],
        [f"ALTER TABLE {t} RENAME COLUMN {c} TO {c}_old;"],
        [f"ALTER TABLE {t} ALTER COLUMN {c} TYPE bigint USING {c}::bigint;"],
        [f"DELETE FROM {t};"],
        [f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_uq UNIQUE ({c});"],
        [f"ALTER TABLE {t} ALTER COLUMN status DROP DEFAULT;", f"ANALYZE {t};"],
        [f"CREATE UNIQUE INDEX CONCURRENTLY {t}_{c}_key ON {t} ({c});"],
    ]
    pick = s.rng.randrange(len(choices))
    if pick in (0, 4) and c != "status":  # dropped or renamed: later migrations use other columns
        s.tables[t].remove(c)
    if pick == 4:
        s.tables[t].append(f"{c}_old")
    return choices[pick]


def generate_corpus(directory: Path, files: int, seed: int = 20261126) -> list[Path]:
    """Write ``files`` SQL migrations to ``directory``; the same seed gives the same bytes."""
    rng = random.Random(seed)
    schema = _Schema(rng)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(1, files + 1):
        statements: list[str] = []
        if i <= 20 or rng.random() < 0.08:
            statements += _create_table(schema)
        for _ in range(rng.randint(2, 5)):
            statements += (_expand if rng.random() < 0.7 else _contract)(schema)
        phase = "contract" if any(x.startswith(("ALTER TABLE", "DROP")) and ("DROP COLUMN" in x or "DROP INDEX" in x)
                                  for x in statements) else "expand"
        header = f"-- migrator: phase={phase} release=1.{i // 100}.{i % 100}\n"
        body = header + f"-- migration {i}: generated for the lint benchmark\n\n" + "\n\n".join(statements) + "\n"
        path = directory / f"{i:05d}_m{i}.sql"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    return paths


# ---------------------------------------------------------------- timing

CPU: dict[str, float] = {}  # label -> median CPU seconds (user + sys, the process and its workers)
BEST: dict[str, float] = {}  # label -> fastest wall time (closest to an idle machine)


def _time(cmd: list[str], env: dict[str, str], cwd: Path, runs: int, before=None,
          label: str | None = None) -> tuple[float, int]:
    times, cpus, rc = [], [], 0
    for _ in range(runs):
        if before:
            before()
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        times.append(time.perf_counter() - t0)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        rc = proc.returncode
        if rc not in (0, 1):
            sys.stderr.write(f"{' '.join(cmd[:3])} ... exited {rc}: {proc.stderr.decode()[-2000:]}\n")
    if label:
        CPU[label] = statistics.median(cpus)
        BEST[label] = min(times)
    return statistics.median(times), rc


def _find_squawk() -> str | None:
    venv = Path(sys.executable).parent / "squawk"
    return str(venv) if venv.exists() else shutil.which("squawk")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--jobs", type=int, default=None, help="passed to migrator lint --jobs")
    args = ap.parse_args(argv)
    runs = max(3, args.runs)

    migrator = str(Path(sys.executable).parent / "migrator")
    if not Path(migrator).exists():
        migrator = shutil.which("migrator") or "migrator"
    tmp = Path(tempfile.mkdtemp(prefix="migrator-bench-"))
    try:
        corpus = args.keep or tmp / "migrations"
        paths = generate_corpus(corpus, args.files)
        cache = tmp / "cache"
        env = dict(os.environ, MIGRATOR_CACHE_DIR=str(cache), NO_COLOR="1")
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        lint = [migrator, "lint", "--format", "json", *jobs]
        rows: list[tuple[str, float, str]] = []

        def wipe_cache():
            shutil.rmtree(cache, ignore_errors=True)

        label = f"migrator cold ({len(paths)} files, --no-cache)"
        cold, rc = _time([*lint, "--no-cache", str(corpus)], env, tmp, runs, before=wipe_cache, label=label)
        rows.append((label, cold, f"exit {rc}"))
        _time([*lint, str(corpus)], env, tmp, 1, before=wipe_cache)  # populate
        label = f"migrator warm ({len(paths)} files, cache populated)"
        warm, rc = _time([*lint, str(corpus)], env, tmp, runs, label=label)
        rows.append((label, warm, f"exit {rc}"))

        squawk = _find_squawk()
        sq = None
        if squawk:
            label = f"squawk {len(paths)} files"
            sq, rc = _time([squawk, *map(str, paths)], env, tmp, runs, label=label)
            rows.append((label, sq, f"exit {rc}"))
        five = [str(p) for p in paths[-5:]]
        t5, rc = _time([*lint, "--no-cache", *five], env, tmp, runs, label="migrator 5-file lint (cold)")
        rows.append(("migrator 5-file lint (cold)", t5, f"exit {rc}"))
        th, rc = _time([migrator, "--help"], env, tmp, runs, label="migrator --help")
        rows.append(("migrator --help", th, f"exit {rc}"))

        width = max(len(r[0]) for r in rows)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")
        print(f"{'benchmark':<{width}}  {'wall s':>8}  {'best s':>7}  {'cpu s':>7}  note")
        print("-" * (width + 40))
        for name, secs, note in rows:
            print(f"{name:<{width}}  {secs:8.3f}  {BEST.get(name, float('nan')):7.3f}  "
                  f"{CPU.get(name, float('nan')):7.3f}  {note}")
        print("wall: median of the runs; best: the fastest run; cpu: median user+sys of the process tree")
        ok = t5 < TARGETS["five_files_s"]
        print()
        print(f"5-file lint target < {TARGETS['five_files_s']} s: {'met' if ok else 'MISSED'}")
        if sq:
            cr, wr = cold / sq, warm / sq
            print(f"cold / squawk = {cr:.2f}x (target <= {TARGETS['cold_ratio']}x): "
                  f"{'met' if cr <= TARGETS['cold_ratio'] else 'MISSED'}")
            print(f"warm / squawk = {wr:.2f}x (target <= {TARGETS['warm_ratio']}x): "
                  f"{'met' if wr <= TARGETS['warm_ratio'] else 'MISSED'}")
            ok = ok and cr <= TARGETS["cold_ratio"] and wr <= TARGETS["warm_ratio"]
        else:
            print("squawk not found: install squawk-cli (pip install squawk-cli) for the ratios")
        return 0 if ok else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
