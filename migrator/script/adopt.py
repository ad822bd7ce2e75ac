"""Adopting migrator on an existing Alembic project: record a **baseline**.

The revisions up to the baseline (the current head, or the revision named with ``--at``) are
the project's released history: they need no ``phase`` / ``release`` tags, run as expand
revisions of release ``baseline`` (which orders before every version), are read by the linter for
the schema state they leave but not reported, and are never refused by the linter at apply time.
Every later revision is tagged like in a project that started with migrator.

:func:`adopt` writes ``baseline = "REV"`` into the project's configuration (``[tool.migrator]``
in pyproject.toml, or migrator.toml), adds the tags to the revision template, and says what the
team changes in its own scripts (``alembic upgrade head`` becomes ``alembic upgrade heads`` once
the first contract revision exists). Nothing here touches a database or imports a revision.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import tomlkit

from ..config import Config
from ..errors import UsageError
from .catalog import baseline_ids, load_catalog, read_headers
from .header import Header
from .project import AlembicProject, find_project

# Files a team keeps its commands in; `alembic upgrade head` there stops working (several
# heads) once the first contract revision exists.
_SCRIPT_NAMES = re.compile(r"(?i)^(makefile|justfile|procfile|dockerfile.*|.*\.(sh|bash|ya?ml|toml|"
                           r"cfg|ini|json|mk|txt|md|rst|py|ps1|env))$")
_UPGRADE_HEAD = re.compile(r"alembic\b[^\n]*?\bupgrade\s+head\b(?!s)")
_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox",
              ".mypy_cache", ".pytest_cache", ".migrator_cache", "build", "dist", "site-packages"}
MAX_FILES_SCANNED = 5000


@dataclass
class Adoption:
    """What :func:`adopt` did and found (plain data; the CLI prints it)."""

    baseline: str
    revisions: int  # in the baseline
    total: int  # revisions in the project
    config_file: str
    changed: bool  # False: this baseline was already recorded
    template: str | None = None  # the revision template given phase/release lines
    upgrade_head_lines: list[str] = field(default_factory=list)  # "file:line: text"
    later: list[str] = field(default_factory=list)  # revisions after the baseline (tagged)

    def as_dict(self) -> dict:
        return {"version": 1, "command": "adopt", **dataclasses.asdict(self)}


def _revision_id(h: Header) -> str | None:
    rid = h.values.get("revision")
    return rid if isinstance(rid, str) else None


def graph_heads(headers: list[Header]) -> list[str]:
    """The revisions no other revision names as its ``down_revision`` (Alembic's heads)."""
    ids = [r for r in (_revision_id(h) for h in headers) if r]
    below: set[str] = set()
    for h in headers:
        value = h.values.get("down_revision")
        below.update([value] if isinstance(value, str) else
                     [v for v in value if isinstance(v, str)] if isinstance(value, (tuple, list)) else [])
    return sorted(r for r in ids if r not in below)


def _choose(headers: list[Header], at: str | None) -> str:
    if at:
        ids = {r for r in (_revision_id(h) for h in headers) if r}
        if at in ids:
            return at
        matches = sorted(r for r in ids if len(at) >= 4 and r.startswith(at))
        if len(matches) == 1:
            return matches[0]
        raise UsageError(f"--at {at!r} names no revision of the project"
                         + (f" (it starts {len(matches)} ids: be more precise)" if matches else ""))
    heads = graph_heads(headers)
    if not heads:
        raise UsageError("the project has no revisions yet: nothing to adopt (start with "
                         "`migrator init` and `migrator revision`)")
    if len(heads) > 1:
        raise UsageError(f"the project has {len(heads)} heads ({', '.join(heads)}): merge them first "
                         "(`alembic merge heads -m 'merge before adopting migrator'`), or name the "
                         "last released revision with --at REV")
    return heads[0]


def _config_target(config: Config, project: AlembicProject) -> Path:
    """Where the baseline is written: the configuration file in use, else the project's
    pyproject.toml, else a new migrator.toml beside alembic.ini."""
    if config.config_path is not None:
        return config.config_path
    home = project.ini_path.parent if project.ini_path else config.root
    pyproject = home / "pyproject.toml"
    return pyproject if pyproject.is_file() else home / "migrator.toml"


def _write_baseline(target: Path, baseline: str, project: AlembicProject) -> bool:
    """Set ``baseline`` in the file (keeping its comments and layout); False when it already
    says so. A different recorded baseline is refused: moving it is a decision to make by hand."""
    try:
        doc = tomlkit.parse(target.read_text(encoding="utf-8")) if target.is_file() else tomlkit.document()
    except tomlkit.exceptions.TOMLKitError as e:
        raise UsageError(f"invalid TOML: {e}", path=str(target)) from None
    if target.name == "pyproject.toml":
        tool = doc.setdefault("tool", tomlkit.table(is_super_table=True))
        table = tool.setdefault("migrator", tomlkit.table())
    elif "migrator" in doc.get("tool", {}):  # a migrator.toml written as [tool.migrator]
        table = doc["tool"]["migrator"]
    else:
        table = doc
    current = table.get("baseline")
    if current == baseline:
        return False
    if current:
        raise UsageError(f"a baseline is already recorded here: {current!r} (adopting at {baseline!r} "
                         "would change which revisions are released history; edit it by hand if "
                         "that is what you mean)", path=str(target))
    if target.name == "migrator.toml" and not target.is_file():
        table.add(tomlkit.comment("migrator's settings; MIGRATOR_* variables and flags override them "
                                  "(docs/configuration.md)"))
        if project.ini_path is not None:
            table.add("alembic_ini", os.path.relpath(project.ini_path, target.parent))
    table.add(tomlkit.comment("released history adopted by `migrator adopt`: this revision and "
                              "every one before it need no phase/release tags"))
    table.add("baseline", baseline)
    target.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return True


def find_upgrade_head(root: Path) -> list[str]:
    """``alembic ... upgrade head`` in the team's scripts under ``root`` (file:line: text)."""
    found: list[str] = []
    scanned = 0
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            if not _SCRIPT_NAMES.match(name):
                continue
            scanned += 1
            if scanned > MAX_FILES_SCANNED:
                return found
            path = Path(directory) / name
            try:
                if path.stat().st_size > 1_000_000:
                    continue
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            for i, line in enumerate(text.splitlines(), 1):
                if _UPGRADE_HEAD.search(line):
                    found.append(f"{os.path.relpath(path, root)}:{i}: {line.strip()[:120]}")
    return found


def adopt(config: Config, *, at: str | None = None, patch_template=None) -> Adoption:
    """Record the baseline (the single head, or ``at``) in the project's configuration.

    ``patch_template(path) -> bool`` adds phase/release lines to the revision template (the
    caller's, so this module needs no Alembic); every revision after the baseline must already
    be tagged, else nothing is written and the untagged file is named."""
    project = find_project(config)
    headers = read_headers(project, config)
    baseline = _choose(headers, at)
    members = baseline_ids(headers, baseline)
    target = _config_target(config, project)
    # every revision after the baseline must carry its tags: check before writing anything
    trial = dataclasses.replace(config, baseline=baseline)
    catalog = load_catalog(trial, project)
    changed = _write_baseline(target, baseline, project)
    template = project.script_dir / "script.py.mako"
    patched = str(template) if template.is_file() and patch_template and patch_template(template) else None
    root = project.ini_path.parent if project.ini_path else config.root
    return Adoption(baseline=baseline, revisions=len(members), total=len(catalog.revisions),
                    config_file=str(target), changed=changed, template=patched,
                    upgrade_head_lines=find_upgrade_head(root),
                    later=[r.id for r in catalog.revisions if not r.is_baseline])
