"""The previous release's source, read from git without touching the working tree: the release
tags, and one tree exported (``git archive``) into a temporary directory."""

from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from packaging.version import Version

from ..errors import UsageError
from ..releases import is_release, parse_release


def _git(args: list[str], cwd: Path, *, binary: bool = False):
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise UsageError(f"cannot run git: {e}") from None
    if out.returncode != 0:
        err = out.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git {' '.join(args[:2])} failed: {err[-1] if err else out.returncode}")
    return out.stdout if binary else out.stdout.decode("utf-8", "replace")


def repo_top(path: Path) -> Path:
    try:
        return Path(_git(["rev-parse", "--show-toplevel"], path).strip()).resolve()
    except UsageError:
        raise UsageError(f"{path} is not in a git repository: the previous release's models are read "
                         "from git (pass --no-previous to skip that comparison)") from None


def release_tags(top: Path) -> dict[str, Version]:
    """Tags that name a release (``1.2.0`` or ``v1.2.0``) -> the release."""
    out = {}
    for tag in _git(["tag", "--list"], top).split():
        if is_release(tag):
            out[tag] = parse_release(tag)
    return out


def last_release_tag(top: Path, before: Version) -> tuple[str, Version] | None:
    """The highest release tag below ``before``."""
    older = [(v, t) for t, v in release_tags(top).items() if v < before]
    if not older:
        return None
    v, t = max(older)
    return t, v


def commit_of(top: Path, ref: str) -> str:
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top).strip()
    except UsageError:
        raise UsageError(f"--previous {ref!r} is not a commit, tag or branch of {top}") from None


def release_of(top: Path, ref: str) -> Version | None:
    """The release a ref names: its own name, or a release tag pointing at its commit."""
    commit = commit_of(top, ref)
    if is_release(ref) and ref in release_tags(top):
        return parse_release(ref)
    found = [v for t, v in release_tags(top).items()
             if _git(["rev-parse", f"{t}^{{commit}}"], top).strip() == commit]
    return max(found) if found else None


@contextmanager
def exported(top: Path, ref: str, subdir: Path) -> Iterator[Path]:
    """``subdir`` (relative to the repository top) as it is at ``ref``, in a temporary directory;
    yields the exported top (``subdir`` lives below it)."""
    commit_of(top, ref)
    spec = subdir.as_posix() if str(subdir) not in ("", ".") else "."
    data = _git(["archive", "--format=tar", ref, "--", spec], top, binary=True)
    with tempfile.TemporaryDirectory(prefix="migrator-previous-") as d:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(d, filter="data")
        yield Path(d)
