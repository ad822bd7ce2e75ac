"""The gate's catalog cache: same answers as the full catalog, refreshed when a revision changes."""

from __future__ import annotations

import os
import shutil

from migrator.config import load_config
from migrator.gate.catalog_cache import CachedCatalog, load_gate_catalog
from migrator.gate.core import catalog_entries
from migrator.runner.catalog import Catalog
from tests.test_gate_support import SAMPLE


def test_cache_is_written_then_used_and_agrees_with_the_full_catalog(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".migrator_cache"))
    config = load_config(config_file=project / "migrator.toml")
    full = load_gate_catalog(config)
    assert isinstance(full, Catalog)
    cached = load_gate_catalog(config)
    assert isinstance(cached, CachedCatalog)
    assert catalog_entries(cached) == catalog_entries(full)
    for r in full.revisions:
        assert cached.ancestors(r.id) == full.ancestors(r.id)

    # a new revision file (or an edited one) invalidates the cache
    versions = project / "migrations" / "versions"
    text = (versions / "c130_drop_name_columns.py").read_text()
    extra = text.replace('revision = "c130_drop_name_columns"', 'revision = "c140_more"') \
                .replace('down_revision = "c121_validate_full_name_check"', 'down_revision = "c130_drop_name_columns"') \
                .replace('release = "1.3.0"', 'release = "1.4.0"')
    (versions / "c140_more.py").write_text(extra)
    again = load_gate_catalog(config)
    assert isinstance(again, Catalog) and "c140_more" in {r.id for r in again.revisions}
    assert "c140_more" in {r.id for r in load_gate_catalog(config).revisions}


def test_an_unwritable_cache_directory_only_costs_the_full_load(tmp_path):
    project = tmp_path / "p"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("*.db", "__pycache__", ".migrator_cache"))
    config = load_config(config_file=project / "migrator.toml").with_overrides(cache_dir="cache")
    (project / "cache").write_text("not a directory")
    assert isinstance(load_gate_catalog(config), Catalog)
    assert isinstance(load_gate_catalog(config), Catalog)
    assert os.path.isfile(project / "cache")
