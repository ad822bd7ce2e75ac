"""Paths as CI tools want them: relative to the repository root, forward slashes."""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path


def repo_root(start: str | None = None) -> Path:
    """The git top-level holding ``start`` (default: the working directory), else ``start``."""
    return _repo_root(str(Path(start or os.getcwd()).resolve()))


@lru_cache(maxsize=16)
def _repo_root(start: str) -> Path:
    here = Path(start)
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=here, capture_output=True, text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return here
    if out.returncode == 0 and out.stdout.strip():
        return Path(out.stdout.strip()).resolve()
    return here


def relative_uri(path: str, root: Path | None = None) -> str:
    """``path`` relative to ``root`` with forward slashes; unchanged when outside root or stdin."""
    if path in ("-", "<stdin>", "stdin") or path.startswith("<"):
        return path
    root = (root or repo_root()).resolve()
    p = Path(path)
    absolute = (p if p.is_absolute() else Path.cwd() / p).resolve()
    try:
        rel = absolute.relative_to(root)
    except ValueError:
        return absolute.as_posix()
    return rel.as_posix()
