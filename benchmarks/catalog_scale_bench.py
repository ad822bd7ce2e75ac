"""How migrator's runner and gate scale with the number of revisions (issue: scale).

    python benchmarks/catalog_scale_bench.py [--sizes 500 5000] [--pending 20]

For each size a project is generated (benchmarks/gen_revisions.py) with a database (SQLite, or a throwaway
PostgreSQL with --postgres) in which every revision but the last few is applied (Alembic's
version table stamped; migrator adopts them into its history on the first run). Printed per size, wall seconds and peak memory (max RSS) of
each command as a user runs it (a fresh ``migrator`` process):

- ``status`` on the first run (no header cache yet; adopts the history) and warm;
- ``gate ready``;
- ``lint`` once (cold: renders every revision), which warms the linter's cache the way a
  pipeline's ``migrator lint`` step does before ``expand``;
- ``expand`` applying one pending revision;
- ``expand`` applying --pending revisions, and the per-revision overhead
  (t_many - t_one) / (pending - 1), beyond the revisions' own (tiny) SQL.

Targets: status and gate < 1 s, one pending < 2 s, overhead < 100 ms, memory < 200 MB.
Nothing here asserts: the figures are for reading and comparing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_revisions import generate  # noqa: E402

MIGRATOR = [sys.executable, "-m", "migrator"]


def run(args: list[str], cwd: Path) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, max RSS MB, exit code, tail of output) of one migrator
    process. CPU seconds (user + system, the process and what it waited for) stand for the cost
    on a machine that other work keeps busy, where wall time is mostly waiting for a core."""
    t0 = time.perf_counter()
    p = subprocess.Popen(MIGRATOR + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss / 1024, code, out.decode(errors="replace")[-400:]


class Databases:
    """New empty databases: SQLite files, or PostgreSQL databases of a throwaway server."""

    def __init__(self, base: Path, postgres: bool):
        self.base, self.server, self.n = base, None, 0
        if postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.support.pgserver import PgServer

            self.server = PgServer().start()

    def new(self) -> str:
        self.n += 1
        if self.server is not None:
            return self.server.new_database()
        return f"sqlite:///{self.base}/db{self.n}.db"

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def stamp(url: str, heads: list[str], tables: dict[str, list[str]]) -> None:
    """Alembic's version table at ``heads`` and the tables the applied revisions made."""
    import sqlalchemy as sa

    from migrator.dburl import normalize_url

    engine = sa.create_engine(normalize_url(url))
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        for h in heads:
            c.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{h}')")
        for t, cols in tables.items():
            extra = "".join(f", {col} TEXT" for col in cols)
            c.exec_driver_sql(f"CREATE TABLE {t} (id INTEGER PRIMARY KEY{extra})")
    engine.dispose()


def state_before(order, pending_ids: list[str], size: int):
    """Heads and tables of a database where everything before ``pending_ids[0]`` (apply order)
    and no pending expand is applied."""
    first = next(i for i, r in enumerate(order) if r[0] == pending_ids[0])
    applied = order[:first]
    heads: dict[str, str] = {}
    ntables = max(1, size // 100)
    tables: dict[str, list[str]] = {f"t{t:03d}": [] for t in range(ntables)}
    depends: dict[str, str] = {}
    for i, (rev, phase, _) in enumerate(applied):
        if phase == "contract":
            depends[rev] = heads["expand"]  # each contract depends on the expand head before it
        heads[phase] = rev
        if phase == "expand" and i >= ntables:
            tables[f"t{i % ntables:03d}"].append(f"c{i}")
    # as Alembic keeps it: a head another head depends on is not listed
    if heads.get("contract") and depends.get(heads["contract"]) == heads.get("expand"):
        del heads["expand"]
    return list(heads.values()), tables


def bench(size: int, pending: int, base: Path, dbs: Databases) -> dict:
    root = base / f"p{size}"
    if root.exists():
        shutil.rmtree(root)
    order = generate(root, size)
    # the pending block: whole releases at the end (their expands and contracts not applied),
    # at least `pending` expand revisions
    expands = [r for r in order if r[1] == "expand"]
    start = next(i for i, r in enumerate(order) if r[2] == expands[-pending][2])
    todo = [r for r in order[start:] if r[1] == "expand"]
    pending = len(todo)
    release = todo[-1][2]
    served = order[start - 1][2]  # the newest release fully applied: the gate passes for it
    figures: dict[str, tuple[float, float]] = {}
    ok = True

    def timed(name: str, args: list[str]) -> None:
        nonlocal ok
        wall, cpu, mem, code, out = run(args, root)
        figures[name] = (wall, cpu, mem)
        if code != 0:
            ok = False
            print(f"  ! {name}: exit {code}: {out}")

    many = dbs.new()
    stamp(many, *state_before(order, [r[0] for r in todo], size))
    one = dbs.new()
    stamp(one, *state_before(order, [todo[-1][0]], size))
    timed("status (first run: no header cache, adopts history)", ["status", "--database-url", many])
    timed("status", ["status", "--database-url", many])
    timed("gate ready", ["gate", "ready", "--release", served, "--database-url", many])
    timed("lint (cold: renders every revision, once per change)", ["lint", str((root / "migrations").resolve())])
    timed("expand, 1 pending", ["expand", "--release", release, "--database-url", one])
    timed(f"expand, {pending} pending", ["expand", "--release", release, "--database-url", many])
    one_, many_ = figures["expand, 1 pending"], figures[f"expand, {pending} pending"]
    overhead = ((many_[0] - one_[0]) / (pending - 1), (many_[1] - one_[1]) / (pending - 1))
    print(f"\n== {size} revisions ({pending} pending in the long expand; all exits ok: {ok}) ==")
    print(f"  {'':55s} {'wall':>9s}  {'CPU':>9s}  {'max RSS':>9s}")
    for name, (wall, cpu, mem) in figures.items():
        print(f"  {name:55s} {wall:7.2f} s  {cpu:7.2f} s  {mem:6.1f} MB")
    print(f"  {'per-revision overhead of the long expand':55s} {overhead[0] * 1000:6.0f} ms"
          f"  {overhead[1] * 1000:6.0f} ms")
    return {"figures": figures, "overhead": overhead}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--pending", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="build the projects here (kept) instead of a temp dir")
    ap.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL (else SQLite)")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="migrator-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    dbs = Databases(base, args.postgres)
    try:
        results = {n: bench(n, args.pending, base, dbs) for n in args.sizes}
    finally:
        dbs.stop()
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\n== growth from {small} to {large} revisions ({large / small:g}x) ==")
        for name in results[small]["figures"]:
            name_large = name if name in results[large]["figures"] else None
            if name_large:
                a, b = results[small]["figures"][name][1], results[large]["figures"][name][1]
                print(f"  {name:55s} CPU x{b / a:5.1f}")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
