"""Speed of the read phase of ``migrator lint`` on plain .sql histories: finding the files,
reading them, headers, layouts (diesel, Flyway, dbmate) and splitting into statements --
everything :func:`migrator.sources.discover.load_sources` does -- in CPU seconds (user + system,
median of runs, in one process after a warm-up load), for a directory and for every file given
as an argument (as pre-commit passes them), at N/4, N/2 and N files. Growth is the cost per file
at N over the cost per file at N/4: about 1.0 when linear. Prints figures; nothing is asserted.

    .venv/bin/python benchmarks/read_bench.py [--files 1968] [--runs 5] [--corpus DIR ...]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from corpus import generate_sql  # noqa: E402
from lint_bench import generate_corpus  # noqa: E402

from migrator.config import Config  # noqa: E402
from migrator.sources.discover import load_sources  # noqa: E402


def cpu_seconds(paths: list[str], runs: int) -> tuple[float, int, int]:
    """Median CPU seconds of one load, and the migrations and statements it gave."""
    sources = load_sources(paths, Config(), warn=lambda path, why: None)
    times = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_SELF)
        load_sources(paths, Config(), warn=lambda path, why: None)
        after = resource.getrusage(resource.RUSAGE_SELF)
        times.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), len(sources), sum(len(s.statements) for s in sources)


def files_under(directory: Path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, names in os.walk(directory) for f in names
                  if f.endswith(".sql"))


def report(name: str, directory: Path, runs: int) -> None:
    files = files_under(directory)
    t_dir, migrations, statements = cpu_seconds([str(directory)], runs)
    t_args, _, _ = cpu_seconds(files, runs)
    print(f"{name:<28} {len(files):>6} files {migrations:>6} migrations {statements:>7} statements"
          f"   directory {t_dir * 1000:7.1f} ms ({t_dir / len(files) * 1e6:5.1f} us/file)"
          f"   as arguments {t_args * 1000:7.1f} ms ({t_args / len(files) * 1e6:5.1f} us/file)")
    return t_dir / len(files), t_args / len(files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=1968, help="N, the largest real-shaped corpus")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--corpus", nargs="*", default=[],
                    help="also measure these existing directories (e.g. /tmp/c_real /tmp/c_syn)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="read-bench-") as tmp:
        per_file = {}
        for n in (args.files // 4, args.files // 2, args.files):
            d = Path(tmp) / f"real-{n}"
            generate_sql(d, files=n)
            per_file[n] = report(f"real-shaped N={n}", d, args.runs)
        small, big = per_file[args.files // 4], per_file[args.files]
        print(f"growth N/4 -> N (cost per file, 1.0 = linear): directory {big[0] / small[0]:.2f}, "
              f"as arguments {big[1] / small[1]:.2f}")
        d = Path(tmp) / "synthetic"
        generate_corpus(d, args.files)
        report(f"synthetic N={args.files}", d, args.runs)
    for extra in args.corpus:
        report(extra, Path(extra), args.runs)


if __name__ == "__main__":
    main()
