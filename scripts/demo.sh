#!/usr/bin/env bash
# Quick start: set up, then walk sample_project (users/orders, splitting users.name over four
# releases) through expand -> deploy -> contract on SQLite, no server needed, saying what happens
# at each step. The project is copied to a scratch directory; nothing in the repository changes.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
echo "setting up .venv (scripts/setup.sh) ..."
SETUP_LOG="$(mktemp)"
bash scripts/setup.sh >"$SETUP_LOG" 2>&1 || { cat "$SETUP_LOG" >&2; exit 1; }
rm -f "$SETUP_LOG"
M="$ROOT/.venv/bin/migrator"
PY="$ROOT/.venv/bin/python"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp -r sample_project "$WORK/sample_project"
rm -f "$WORK"/sample_project/*.db
cd "$WORK/sample_project"
export MIGRATOR_DATABASE_URL="sqlite:///$WORK/sample_project/app.db"
unset DATABASE_URL || true

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
sql() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' app.db "$1"; }
show() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1])
for row in c.execute(sys.argv[2]): print("   ", row)' app.db "$1"; }
expect_refusal() { if "$@"; then echo "!! expected a refusal" >&2; exit 1; else echo "   (refused, as it should be: exit $?)"; fi; }

say "lint: every migration is classified and checked (PostgreSQL rendering, offline)"
"$M" lint migrations/versions

say "plan for release 1.3.0: the ordered steps with their SQL, nothing applied"
"$M" plan --release 1.3.0 --sql

say "expand 1.0.0: create users and orders"
"$M" expand --release 1.0.0
sql "INSERT INTO users (first_name, last_name, email) VALUES ('Ada','Lovelace','ada@example.com'), ('Alan','Turing','alan@example.com');"
echo "   release 1.0.0 is live and writes first_name / last_name"

say "gate ready 1.1.0: not yet, its expand migrations are pending"
expect_refusal "$M" gate ready --release 1.1.0

say "expand 1.1.0: add users.full_name, backfill it in batches, index it"
"$M" expand --release 1.1.0
show "SELECT id, first_name, last_name, full_name FROM users"

say "gate ready 1.1.0: deploy 1.1.0 now (1.0.0 still works too)"
"$M" gate ready --release 1.1.0
"$M" gate ready --release 1.0.0
sql "INSERT INTO users (first_name, last_name, email) VALUES ('Grace','Hopper','grace@example.com');"
echo "   meanwhile an old 1.0.0 instance inserted Grace without full_name"

say "contract 1.2.0 before expand 1.2.0: refused"
expect_refusal "$M" contract --release 1.2.0

say "expand 1.2.0: first_name / last_name become optional (1.2.0 writes only full_name)"
"$M" expand --release 1.2.0

say "contract 1.2.0 before its deployment is recorded: refused (no instance registry here)"
expect_refusal "$M" contract --release 1.2.0

say "deployed 1.2.0: the pipeline records that the rollout finished"
"$M" deployed --release 1.2.0

say "contract 1.20.0 (a typo for 1.2.0): refused, nothing dropped"
expect_refusal "$M" contract --release 1.20.0

say "contract 1.2.0: gate, then CHECK (full_name IS NOT NULL) NOT VALID, a second backfill pass, validate"
"$M" contract --release 1.2.0
show "SELECT id, full_name FROM users"

say "gate rollback 1.1.0: no longer possible (a 1.2.0 contract is applied)"
expect_refusal "$M" gate rollback --release 1.1.0
expect_refusal "$M" rollback --release 1.1.0

say "deploy 1.3.0, record it, then contract 1.3.0: drop first_name and last_name, full_name NOT NULL"
"$M" deployed --release 1.3.0
"$M" contract --release 1.3.0

say "status"
"$M" status
show "SELECT sql FROM sqlite_master WHERE name = 'users'"

say "done: four releases, no downtime step skipped"
