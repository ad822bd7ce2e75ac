"""``migrator lint --diff BASE`` against a real git repository made in tmp_path."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from migrator.errors import UsageError
from migrator.lint.diff import changed_files, is_changed


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


HEADER = "-- migrator: phase=expand release=1.0.0\n"


@pytest.fixture
def repo(tmp_path):
    r = tmp_path / "repo"
    (r / "migrations").mkdir(parents=True)
    git(r, "init", "-q", "-b", "main")
    git(r, "config", "user.email", "t@example.com")
    git(r, "config", "user.name", "t")
    (r / "migrations" / "001_users.sql").write_text(
        HEADER + "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(50));\n")
    (r / "migrations" / "002_orders.sql").write_text(HEADER + "CREATE TABLE orders (id bigint PRIMARY KEY);\n")
    (r / ".gitignore").write_text("ignored.sql\n")
    git(r, "add", ".")
    git(r, "commit", "-q", "-m", "base")
    git(r, "checkout", "-q", "-b", "feature")
    return r


def test_changed_files_sees_committed_staged_unstaged_and_untracked(repo):
    (repo / "migrations" / "003_committed.sql").write_text("ALTER TABLE users ADD COLUMN a text;\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "c")
    (repo / "migrations" / "004_staged.sql").write_text("SELECT 1;\n")
    git(repo, "add", "migrations/004_staged.sql")
    (repo / "migrations" / "001_users.sql").write_text("CREATE TABLE users (id bigint);\n")  # unstaged
    (repo / "migrations" / "005_untracked.sql").write_text("SELECT 1;\n")
    (repo / "ignored.sql").write_text("SELECT 1;\n")
    changed = {p.relative_to(repo.resolve()).as_posix() for p in changed_files("main", repo)}
    assert changed == {"migrations/001_users.sql", "migrations/003_committed.sql",
                       "migrations/004_staged.sql", "migrations/005_untracked.sql"}


def test_changes_on_base_after_the_branch_point_are_not_reported(repo):
    git(repo, "checkout", "-q", "main")
    (repo / "migrations" / "010_on_main.sql").write_text("SELECT 1;\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "main moves on")
    git(repo, "checkout", "-q", "feature")
    assert changed_files("main", repo) == set()


def test_bad_ref_is_a_usage_error_naming_the_ref(repo):
    with pytest.raises(UsageError, match="unknown git ref 'no-such-branch'"):
        changed_files("no-such-branch", repo)
    with pytest.raises(UsageError, match="not a git ref"):
        changed_files("--output=x", repo)


def test_outside_a_repository_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="not inside a git repository"):
        changed_files("main", tmp_path)


def test_is_changed_resolves_relative_paths_against_cwd(repo):
    (repo / "migrations" / "003_new.sql").write_text("SELECT 1;\n")
    changed = changed_files("main", repo)
    assert is_changed("migrations/003_new.sql", changed, repo)
    assert not is_changed("migrations/001_users.sql", changed, repo)
    assert is_changed("-", changed, repo)


def _lint(repo: Path, *args: str) -> subprocess.CompletedProcess:
    migrator = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "migrator"
    return subprocess.run([str(migrator), "lint", "--format", "json", *args], cwd=repo,
                          capture_output=True, text=True, env={**__import__("os").environ, "NO_COLOR": "1"})


def test_cli_diff_reports_only_changed_migrations_with_state_from_earlier_ones(repo):
    # 002 is unchanged and would fail on its own; 003 is new and is only safe because 001
    # (read for the schema state, not reported) says email was varchar(50).
    (repo / "migrations" / "002_orders.sql").write_text(HEADER + "CREATE INDEX idx_users_email ON users (email);\n")
    git(repo, "commit", "-q", "-am", "index on main line")
    git(repo, "branch", "-f", "base")
    (repo / "migrations" / "003_widen.sql").write_text(
        HEADER + "ALTER TABLE users ALTER COLUMN email TYPE varchar(100);\n")
    full = _lint(repo, "migrations")
    assert full.returncode == 1, full.stderr
    proc = _lint(repo, "--diff", "base", "migrations")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert [m["path"] for m in doc["migrations"]] == ["migrations/003_widen.sql"]
    assert doc["summary"] == {"files": 1, "migrations": 1, "errors": 0, "warnings": 0}


def test_cli_diff_with_a_bad_ref_exits_2_with_a_clear_message(repo):
    proc = _lint(repo, "--diff", "nope", "migrations")
    assert proc.returncode == 2
    assert "unknown git ref 'nope'" in proc.stderr and "Traceback" not in proc.stderr
