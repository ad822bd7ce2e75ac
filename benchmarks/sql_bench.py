"""Speed of the SQL layer: statements parsed per second, splitting cost per MB and how it grows,
and a seed-data INSERT read from its head. Prints figures; the tests assert counts of work only.

    .venv/bin/python benchmarks/sql_bench.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from migrator.model import Location, Statement  # noqa: E402
from migrator.sql.parse import SQLGLOT_COMPILED, parse_statement  # noqa: E402
from migrator.sql.split import split_sql  # noqa: E402

LOC = Location("bench.sql", 1, 1)
CHUNK = ("ALTER TABLE t ADD COLUMN c int DEFAULT 0; -- note; here\n"
         "INSERT INTO t VALUES ('a;b', E'\\';', $$;$$); /* x; */\n")


def best(fn, runs: int) -> float:
    """Median seconds of ``runs`` calls."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    from tests.test_parse import CASES

    sqls = [c[0] for c in CASES]
    t = best(lambda: [parse_statement(Statement(s, LOC)) for s in sqls], runs)
    print(f"parse   {len(sqls) / t:8.0f} statements/s  ({len(sqls)} catalogue statements, "
          f"sqlglot {'compiled' if SQLGLOT_COMPILED else 'pure Python'})")

    small, big = CHUNK * 2000, CHUNK * 20000
    t_small = best(lambda: split_sql(small, "s.sql"), runs)
    t_big = best(lambda: split_sql(big, "b.sql"), runs)
    mb = len(big) / 1e6
    print(f"split   {mb / t_big:8.1f} MB/s  ({mb:.1f} MB, 40k statements in {t_big:.3f} s); "
          f"10x the text costs {t_big / t_small:.1f}x (linear: ~10)")

    rows = ",\n".join(f"({i}, 'name {i}; with (parens', '2024-01-01')" for i in range(20000))
    insert = f'INSERT INTO app."Seed" (a, b, c) VALUES {rows}'
    t = best(lambda: parse_statement(Statement(insert, LOC)), runs)
    print(f"insert  {t * 1000:8.1f} ms for a {len(insert) / 1e6:.1f} MB seed INSERT")


if __name__ == "__main__":
    main()
