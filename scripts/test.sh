#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up, then pytest against real PostgreSQL and SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --with-postgres
exec .venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
