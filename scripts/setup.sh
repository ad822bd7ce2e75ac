#!/usr/bin/env bash
# Creates .venv with migrator and its test dependencies; installs the PostgreSQL server
# binaries from Debian's packages when they are missing and we may (root + apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# The distribution is migrator-zdt; a "migrator" distribution left in .venv (this project before
# the rename, or the unrelated PyPI project) owns the same import package and command: remove it.
if .venv/bin/python -m pip show migrator >/dev/null 2>&1; then
  .venv/bin/python -m pip uninstall -q -y migrator >/dev/null 2>&1 || true
fi
.venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v -e '^WARNING: Location' -e 'is ignored' || true
.venv/bin/python -c "import migrator, sqlglot, alembic, psycopg"
test -x .venv/bin/migrator || .venv/bin/python -m pip install -q --force-reinstall --no-deps -e . >/dev/null 2>&1
# Bytecode for the editable package (rule modules included), as a regular install writes it:
# with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile them from source (~0.1 s).
.venv/bin/python -m compileall -q migrator >/dev/null || true
if [ "${1:-}" = "--with-postgres" ]; then
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      echo "installing PostgreSQL server binaries (apt-get)..."
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || \
        echo "warning: could not install PostgreSQL; set MIGRATOR_TEST_DATABASE_URL" >&2
    else
      echo "warning: no PostgreSQL binaries; set MIGRATOR_TEST_DATABASE_URL or install postgresql" >&2
    fi
  fi
fi
