"""The product contract users read lives in this repository: nothing outside tests points to a
design document users do not have, and every relative link in the README and docs/ resolves."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "tests", "__pycache__", ".migrator_cache", ".pytest_cache", "build", "dist"}
FORBIDDEN = re.compile(r"shared/DESIGN|DESIGN\s*§|DESIGN section", re.IGNORECASE)
PAGES = ["phases.md", "window.md", "alembic.md", "cli.md", "json.md", "configuration.md"]


def _repo_files():
    for directory, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info")]
        for name in files:
            yield Path(directory) / name


def test_no_file_outside_tests_cites_the_internal_design_document():
    offenders = []
    for path in _repo_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if FORBIDDEN.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "cite docs/ instead:\n" + "\n".join(offenders)


def test_the_help_and_the_generated_configuration_cite_the_docs(tmp_path):
    from click.testing import CliRunner

    from migrator.cli import cli

    help_text = CliRunner().invoke(cli, ["lint", "--help"]).output
    assert "docs/json.md" in help_text and not FORBIDDEN.search(help_text)
    result = CliRunner().invoke(cli, ["init", "-d", str(tmp_path / "new")])
    assert result.exit_code == 0, result.output
    toml = (tmp_path / "new" / "migrator.toml").read_text()
    assert "docs/configuration.md" in toml and not FORBIDDEN.search(toml)


@pytest.mark.parametrize("page", PAGES)
def test_each_contract_page_exists_and_is_linked_from_the_readme(page):
    assert (ROOT / "docs" / page).is_file()
    assert f"docs/{page}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_relative_links_in_the_readme_and_docs_resolve():
    link = re.compile(r"\]\(([^)\s]+)\)")
    broken = []
    for md in [ROOT / "README.md", ROOT / "sample_project" / "README.md", *(ROOT / "docs").rglob("*.md")]:
        for target in link.findall(md.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            if not (md.parent / path).exists():
                broken.append(f"{md.relative_to(ROOT)} -> {target}")
    assert not broken, broken
