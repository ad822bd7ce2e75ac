"""How migrator's runner and gate scale with the number of revisions (issue: scale).

    python benchmarks/catalog_scale_bench.py [--sizes 500 5000] [--pending 20]

For each size a project is generated (benchmarks/gen_revisions.py) with a SQLite database in
which every revision but the last few is applied (Alembic's version table stamped, migrator's
history adopted by a first run). Printed per size, wall seconds and peak memory (max RSS) of
each command as a user runs it (a fresh ``migrator`` process):

- ``status`` (warm: the revision headers are cached) and ``status`` cold (no cache);
- ``gate ready``;
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
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_revisions import generate  # noqa: E402

MIGRATOR = [sys.executable, "-m", "migrator"]


def run(args: list[str], cwd: Path) -> tuple[float, float, int, str]:
    """(wall seconds, max RSS MB, exit code, tail of output) of one migrator process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(MIGRATOR + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, code, out.decode(errors="replace")[-400:]


def prepare(root: Path, size: int, pending: int) -> tuple[str, str, list[str]]:
    """Generate the project; return (db url, release of the pending block, expands pending)."""
    if root.exists():
        shutil.rmtree(root)
    order = generate(root, size)
    last_release = order[-1][2]
    # the pending block: the expand revisions of the last releases, `pending` of them
    expands = [r for r in order if r[1] == "expand"]
    todo = expands[-pending:]
    release = todo[-1][2]
    applied_until = order.index(todo[0])
    applied = order[:applied_until]
    heads = {}
    for rev, phase, _ in applied:
        heads[phase] = rev
    db = root / "app.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    con.executemany("INSERT INTO alembic_version VALUES (?)", [(h,) for h in heads.values()])
    for t in range(max(1, size // 100)):
        cols = ", ".join(f"c{i} TEXT" for i, (rev, ph, _) in enumerate(applied)
                         if ph == "expand" and i >= max(1, size // 100) and i % max(1, size // 100) == t)
        con.execute(f"CREATE TABLE t{t:03d} (id INTEGER PRIMARY KEY{', ' + cols if cols else ''})")
    con.commit()
    con.close()
    assert last_release
    return f"sqlite:///{db}", release, [r[0] for r in todo]


def bench(size: int, pending: int, base: Path) -> dict:
    root = base / f"p{size}"
    url, release, todo = prepare(root, size, pending)
    env_args = ["--database-url", url]
    figures: dict[str, tuple[float, float]] = {}
    # the first run adopts every applied revision into migrator's history (once per database)
    w, m, code, out = run(["status", *env_args], root)
    figures["status (cold: first run, adopts history)"] = (w, m)
    assert code == 0, out
    w, m, code, out = run(["status", *env_args], root)
    figures["status"] = (w, m)
    w, m, code, out = run(["gate", "ready", "--release", "1.0.0", *env_args], root)
    figures["gate ready"] = (w, m)
    # one pending revision: copy the database, stamp all but the last pending one as applied
    one_db = root / "one.db"
    shutil.copy(root / "app.db", one_db)
    one = ["--database-url", f"sqlite:///{one_db}"]
    con = sqlite3.connect(one_db)
    con.execute("UPDATE alembic_version SET version_num = ? WHERE version_num LIKE 'e%'", (todo[-2],))
    for t in range(max(1, size // 100)):
        pass
    con.commit()
    con.close()
    w, m, code, out = run(["expand", "--release", release, *one], root)
    figures["expand, 1 pending"] = (w, m)
    ok_one = code == 0
    w, m, code, out = run(["expand", "--release", release, *env_args], root)
    figures[f"expand, {pending} pending"] = (w, m)
    ok_many = code == 0
    t_one, t_many = figures["expand, 1 pending"][0], figures[f"expand, {pending} pending"][0]
    overhead = (t_many - t_one) / (pending - 1)
    print(f"\n== {size} revisions ({pending} pending in the long expand; exits ok: "
          f"{ok_one and ok_many}{'' if ok_many else ' ' + out}) ==")
    for name, (wall, mem) in figures.items():
        print(f"  {name:45s} {wall:7.2f} s  {mem:7.1f} MB")
    print(f"  {'per-revision overhead of the long expand':45s} {overhead * 1000:7.1f} ms")
    return {"figures": figures, "overhead": overhead}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[500, 5000])
    ap.add_argument("--pending", type=int, default=20)
    ap.add_argument("--keep", type=Path, help="build the projects here (kept) instead of a temp dir")
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="migrator-scale-"))
    results = {n: bench(n, args.pending, base) for n in args.sizes}
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\n== growth from {small} to {large} revisions ({large / small:g}x) ==")
        for name in results[small]["figures"]:
            name_large = name if name in results[large]["figures"] else None
            if name_large:
                a, b = results[small]["figures"][name][0], results[large]["figures"][name][0]
                print(f"  {name:45s} x{b / a:5.1f}")
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
