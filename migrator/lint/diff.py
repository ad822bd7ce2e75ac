"""``migrator lint --diff BASE``: which files changed since a git ref.

Changed means: in ``git diff BASE...HEAD`` (what the branch added since it left BASE), or
modified in the work tree or index, or untracked (and not ignored). The linter still reads every
migration for the schema state and reports only those whose file changed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..errors import UsageError


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise UsageError("--diff needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"--diff: git {' '.join(args)} timed out") from None


def _names(out: str, top: Path) -> set[Path]:
    return {(top / name).resolve() for name in out.split("\0") if name}


def changed_files(base: str, cwd: Path | None = None) -> set[Path]:
    """Absolute paths of files added or modified since ``base`` (committed, staged, unstaged,
    untracked). Raises UsageError for a bad ref or when ``cwd`` is not in a git repository."""
    cwd = (cwd or Path.cwd()).resolve()
    if not base or base.startswith("-"):
        raise UsageError(f"--diff: {base!r} is not a git ref")
    top = _git(["rev-parse", "--show-toplevel"], cwd)
    if top.returncode != 0:
        raise UsageError(f"--diff: {cwd} is not inside a git repository")
    root = Path(top.stdout.strip()).resolve()
    ref = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}"], cwd)
    if ref.returncode != 0:
        raise UsageError(f"--diff: unknown git ref {base!r} (try a branch, tag or commit, e.g. origin/main)")
    files: set[Path] = set()
    committed = _git(["diff", "--name-only", "-z", "--diff-filter=d", f"{base}...HEAD", "--"], root)
    if committed.returncode != 0:
        raise UsageError(f"--diff: git diff {base}...HEAD failed: {committed.stderr.strip()}")
    files |= _names(committed.stdout, root)
    head = _git(["rev-parse", "--verify", "--quiet", "HEAD"], root)
    if head.returncode == 0:
        work = _git(["diff", "--name-only", "-z", "--diff-filter=d", "HEAD", "--"], root)
        files |= _names(work.stdout, root)
    staged = _git(["diff", "--cached", "--name-only", "-z", "--diff-filter=d", "--"], root)
    files |= _names(staged.stdout, root)
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z"], root)
    files |= _names(untracked.stdout, root)
    return files


def is_changed(path: str, changed: set[Path], cwd: Path | None = None) -> bool:
    """Whether a migration's path (as the source named it) is one of ``changed``."""
    if path in ("-", "<stdin>") or path.startswith("<"):
        return True  # stdin is always new
    p = Path(path)
    absolute = (p if p.is_absolute() else (cwd or Path.cwd()) / p).resolve()
    return absolute in changed
