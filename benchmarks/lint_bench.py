"""Benchmark ``migrator lint`` against squawk, side by side in one run, on the same files.

    .venv/bin/python benchmarks/lint_bench.py [--files 1968] [--runs 3] [--revisions 1000]

Corpora (deterministic, generated in a temporary directory):

- real-shaped (benchmarks/corpus.py): the size, statement-count and function-body distribution
  of four public projects' PostgreSQL migrations, diesel up/down pairs, ~30 KB initial schemas;
- synthetic: the rule-exercising statement mix below (the second figure);
- an Alembic project of ``--revisions`` real-shaped revisions (squawk cannot read those).

Each figure is the median of ``--runs`` runs of the real command line as a subprocess (wall
seconds), with the median CPU seconds of the process tree beside it; ratios are against squawk
(``pip install squawk-cli``, the ``bench`` extra) on the same files in the same run. Cold is
``--no-cache``; "writes cache" is the first run with the cache on (an empty cache directory)
given every file as an argument, as pre-commit does; warm is the same again.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import describe, generate_alembic, generate_sql  # noqa: E402

TARGETS = {"cold_ratio": 3.0, "warm_ratio": 1.0, "writes_cache_over_cold": 1.1, "five_files_s": 0.3,
           "help_s": 0.1, "alembic_cold_s": 10.0, "alembic_warm_s": 1.0}


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
    return statistics.median(times), rc


def _find_squawk() -> str | None:
    venv = Path(sys.executable).parent / "squawk"
    return str(venv) if venv.exists() else shutil.which("squawk")


class Table:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, float, str]] = []

    def add(self, label: str, wall: float, note: str = "") -> float:
        self.rows.append((label, wall, CPU.get(label, float("nan")), note))
        return wall

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print(f"{'benchmark':<{width}}  {'wall s':>8}  {'cpu s':>7}  note")
        print("-" * (width + 40))
        for label, wall, cpu, note in self.rows:
            print(f"{label:<{width}}  {wall:8.3f}  {cpu:7.3f}  {note}")


def _sql_figures(name: str, paths: list[Path], corpus: Path, migrator: str, squawk: str | None,
                 env: dict, tmp: Path, runs: int, cache: Path, jobs: list[str], table: Table) -> dict:
    lint = [migrator, "lint", "--format", "json", *jobs]
    files = [str(p) for p in paths]
    out: dict[str, float] = {}

    def wipe():
        shutil.rmtree(cache, ignore_errors=True)

    n = len(paths)
    label = f"{name}: migrator cold, default jobs ({n} files)"
    out["cold"] = table.add(label, _time([*lint, "--no-cache", str(corpus)], env, tmp, runs, label=label)[0])
    label = f"{name}: migrator cold, -j 1"
    out["cold_j1"] = table.add(label, _time([*lint, "--no-cache", "-j", "1", str(corpus)], env, tmp, runs,
                                            label=label)[0])
    label = f"{name}: migrator writes cache ({n} file arguments)"
    out["writes"] = table.add(label, _time([*lint, *files], env, tmp, runs, before=wipe, label=label)[0])
    label = f"{name}: migrator warm ({n} file arguments)"
    out["warm"] = table.add(label, _time([*lint, *files], env, tmp, runs, label=label)[0])
    label = f"{name}: migrator warm (the directory)"
    _time([*lint, str(corpus)], env, tmp, 1)
    out["warm_dir"] = table.add(label, _time([*lint, str(corpus)], env, tmp, runs, label=label)[0])
    if squawk:
        label = f"{name}: squawk ({n} file arguments)"
        out["squawk"] = table.add(label, _time([squawk, *files], env, tmp, runs, label=label)[0])
    return out


def _ratios(name: str, f: dict) -> list[str]:
    lines = []
    wc = f["writes"] / f["cold"]
    lines.append(f"{name}: writes-cache / cold = {wc:.2f}x (target <= {TARGETS['writes_cache_over_cold']}x)")
    lines.append(f"{name}: cold -j 1 / cold default = {f['cold_j1'] / f['cold']:.2f}x")
    if "squawk" in f:
        sq = f["squawk"]
        lines.append(f"{name}: cold / squawk = {f['cold'] / sq:.2f}x (target <= {TARGETS['cold_ratio']}x); "
                     f"cpu {CPU_RATIO(name, 'cold')}")
        lines.append(f"{name}: warm / squawk = {f['warm'] / sq:.2f}x (target <= {TARGETS['warm_ratio']}x); "
                     f"warm dir / squawk = {f['warm_dir'] / sq:.2f}x")
    return lines


def CPU_RATIO(name: str, what: str) -> str:  # noqa: N802 - a figure, printed
    mig = [v for k, v in CPU.items() if k.startswith(f"{name}: migrator cold, default")]
    sq = [v for k, v in CPU.items() if k.startswith(f"{name}: squawk")]
    return f"{mig[0] / sq[0]:.2f}x" if mig and sq and sq[0] else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1968, help="real-shaped SQL files")
    ap.add_argument("--synthetic-files", type=int, default=2000)
    ap.add_argument("--revisions", type=int, default=1000, help="Alembic revisions")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None, help="passed to migrator lint --jobs")
    ap.add_argument("--only", choices=["real", "synthetic", "alembic", "small"], action="append")
    args = ap.parse_args(argv)
    runs = max(1, args.runs)
    only = set(args.only or ["real", "synthetic", "alembic", "small"])

    migrator = str(Path(sys.executable).parent / "migrator")
    if not Path(migrator).exists():
        migrator = shutil.which("migrator") or "migrator"
    squawk = _find_squawk()
    tmp = Path(tempfile.mkdtemp(prefix="migrator-bench-"))
    table = Table()
    notes: list[str] = []
    try:
        cache = tmp / "cache"
        env = dict(os.environ, MIGRATOR_CACHE_DIR=str(cache), NO_COLOR="1")
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        real = generate_sql(tmp / "real", args.files)
        print("real-shaped corpus:", describe(real))
        if "real" in only:
            f = _sql_figures("real", real, tmp / "real", migrator, squawk, env, tmp, runs, cache, jobs, table)
            notes += _ratios("real", f)
        if "synthetic" in only:
            synthetic = generate_corpus(tmp / "synthetic", args.synthetic_files)
            f = _sql_figures("synthetic", synthetic, tmp / "synthetic", migrator, squawk, env, tmp, runs,
                             cache, jobs, table)
            notes += _ratios("synthetic", f)
        if "alembic" in only:
            project = generate_alembic(tmp / "alembic", args.revisions)
            lint = [migrator, "lint", "--format", "json", *jobs]
            label = f"alembic: migrator cold ({args.revisions} revisions)"
            cold = table.add(label, _time([*lint, "--no-cache"], env, project, runs, label=label)[0])
            _time([*lint], env, project, 1)
            label = f"alembic: migrator warm ({args.revisions} revisions)"
            warm = table.add(label, _time([*lint], env, project, runs, label=label)[0])
            notes.append(f"alembic: cold {cold:.2f} s (target < {TARGETS['alembic_cold_s']} s), "
                         f"warm {warm:.2f} s (target < {TARGETS['alembic_warm_s']} s)")
        if "small" in only:
            five = [str(p) for p in real[-5:]]
            label = "migrator 5-file lint (cold)"
            t5 = table.add(label, _time([migrator, "lint", "--no-cache", *five], env, tmp, runs, label=label)[0])
            label = "migrator --help"
            th = table.add(label, _time([migrator, "--help"], env, tmp, runs, label=label)[0])
            label = "python -c pass (interpreter start-up)"
            table.add(label, _time([sys.executable, "-c", "pass"], env, tmp, runs, label=label)[0])
            notes.append(f"5-file lint {t5:.3f} s (target < {TARGETS['five_files_s']} s); "
                         f"--help {th:.3f} s (target < {TARGETS['help_s']} s)")
        load = os.getloadavg()[0]
        print(f"machine: {os.cpu_count()} CPUs, load average {load:.2f} at the end; squawk: "
              f"{squawk or 'not found (pip install squawk-cli)'}; runs: {runs}")
        table.print()
        print("wall: median of the runs; cpu: median user+sys seconds of the process tree")
        print()
        for line in notes:
            print(line)
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
