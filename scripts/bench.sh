#!/usr/bin/env bash
# One command per benchmark from a fresh clone: sets up .venv (+ squawk, + PostgreSQL binaries
# when missing), then runs benchmarks/<name>.py with the remaining arguments.
#   bash scripts/bench.sh lint            # migrator lint vs squawk: real-shaped 1,968 files, synthetic 2,000, 1,000 Alembic revisions
#   bash scripts/bench.sh sql             # parse statements/s, split MB/s and its growth, seed INSERT
#   bash scripts/bench.sh backfill        # migrator backfill vs one plain UPDATE (1M rows)
#   bash scripts/bench.sh gate            # HTTP probe latency, CLI gate wall time
#   bash scripts/bench.sh live_traffic    # client latency during the sample releases vs naive
#   bash scripts/bench.sh check_models    # migrator check --models per sample release, fresh clone
#   bash scripts/bench.sh render          # isolated Alembic rendering of a real-shaped 600-revision history
set -euo pipefail
cd "$(dirname "$0")/.."
name="${1:?usage: scripts/bench.sh lint|sql|backfill|gate|live_traffic|check_models|render [args...]}"; shift
case "$name" in lint|sql|backfill|gate|check_models|render) script="benchmarks/${name}_bench.py" ;; *) script="benchmarks/${name}.py" ;; esac
[ -f "$script" ] || { echo "no benchmark $script" >&2; exit 2; }
bash scripts/setup.sh --with-postgres >/dev/null
.venv/bin/python -m pip install -q "squawk-cli>=2.0" 2>/dev/null | grep -v -e '^WARNING' || true
exec .venv/bin/python "$script" "$@"
