"""Publishing: the distribution name (not the unrelated `migrator` on PyPI) is used everywhere a
user installs from, the pre-commit repository is one and the same, and the licence is declared."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

import migrator

ROOT = Path(__file__).resolve().parents[1]
DIST = "migrator-zdt"


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _user_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / ".pre-commit-hooks.yaml"]
    files += [p for p in (ROOT / "docs").rglob("*") if p.is_file()]
    files += [p for p in (ROOT / "scripts").rglob("*.sh")]
    return files


def test_the_distribution_is_migrator_zdt_and_the_package_and_command_stay_migrator():
    project = _pyproject()
    assert project["name"] == DIST == migrator.DISTRIBUTION
    assert project["scripts"] == {"migrator": "migrator.cli:main"}
    assert "version" in project.get("dynamic", [])  # one version: migrator.__version__


def test_every_pip_install_names_the_distribution():
    pattern = re.compile(r"pip install\s+(?:-\S+\s+)*[\"']?(migrator[\w.-]*)")
    found = []
    for path in _user_files():
        for m in pattern.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append((path.name, m.group(1)))
    assert found, "the README shows how to install"
    assert all(name == DIST for _, name in found), found


def test_pre_commit_names_one_repository_and_a_rev_that_exists_or_says_it_is_a_placeholder():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hooks_file = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    repos = set(re.findall(r"repo:\s*(https://\S+)", readme)) | set(re.findall(r"repo:\s*(https://\S+)", hooks_file))
    assert len(repos) == 1, repos
    assert repos == {_pyproject()["urls"]["Homepage"]}
    hook_ids = {h["id"] for h in yaml.safe_load(hooks_file)}
    assert set(re.findall(r"- id:\s*(\S+)", readme)) <= hook_ids
    tags = subprocess.run(["git", "tag", "--list"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for rev, rest in re.findall(r"rev:\s*(\S+)(.*)", readme):
        assert rev in tags or "placeholder" in rest, f"rev {rev!r} is no tag and not marked a placeholder"


def test_a_licence_file_matches_the_metadata():
    project = _pyproject()
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert project["license"] == "MIT" and text.startswith("MIT License")
    assert project["license-files"] == ["LICENSE"]


def test_every_subpackage_is_in_the_distribution():
    """The package list is explicit, so a new subpackage must be added to it, or a non-editable
    install lacks it and the command fails on import."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(("migrator", *p.parent.relative_to(ROOT / "migrator").parts))
             for p in (ROOT / "migrator").rglob("__init__.py")}
    assert found - listed == set(), f"missing from [tool.setuptools] packages: {sorted(found - listed)}"
    assert "migrator.rules" in listed


def test_packages_sit_where_their_names_say():
    """No package is mapped to another directory: an editable install is then a plain path entry,
    not an import hook every command pays for at start-up."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools.get("package-dir", {"": "."}) == {"": "."}
