"""The catalog: the revisions on disk, in apply order, tagged, checked, checksummed."""

from __future__ import annotations

import hashlib
import textwrap

import pytest

from migrator.config import Config, load_config
from migrator.errors import UsageError
from migrator.script import load_catalog
from tests.support.sample import copy_sample


def test_sample_catalog_order_heads_and_checksums(tmp_path):
    project = copy_sample(tmp_path)
    catalog = load_catalog(load_config(project, environ={}))
    assert [r.id for r in catalog.revisions] == [
        "e100_create_tables", "e110_add_full_name", "e111_index_full_name", "e120_relax_name_columns",
        "c120_full_name_check", "c121_validate_full_name_check", "c130_drop_name_columns"]
    assert catalog.heads == {"expand": "e120_relax_name_columns", "contract": "c130_drop_name_columns"}
    r = catalog.get("e110_add_full_name")
    assert r.checksum == hashlib.sha256(open(r.path, "rb").read()).hexdigest()
    assert str(r.release) == "1.1.0" and r.phase == "expand" and "expand" in r.branch_labels
    assert catalog.get("c120_full_name_check").depends_on == ("e120_relax_name_columns",)
    assert catalog.ancestors("c120_full_name_check") == {
        "e100_create_tables", "e110_add_full_name", "e111_index_full_name", "e120_relax_name_columns"}


@pytest.mark.parametrize("how", ["project_dir", "script_dir", "alembic_ini", "root"])
def test_the_project_is_found_from_any_of_the_usual_pointers(tmp_path, how):
    project = copy_sample(tmp_path)
    config = {"project_dir": Config(root=tmp_path, script_location=str(project)),
              "script_dir": Config(root=tmp_path, script_location=str(project / "migrations")),
              "alembic_ini": Config(root=tmp_path, alembic_ini=str(project / "alembic.ini")),
              "root": Config(root=project)}[how]
    assert len(load_catalog(config).revisions) == 7


def test_no_project_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no Alembic project"):
        load_catalog(Config(root=tmp_path))


def test_contract_revision_on_the_expand_branch_is_refused(tmp_path):
    project = copy_sample(tmp_path)
    (project / "migrations/versions/e130_wrong.py").write_text(textwrap.dedent('''
        revision = "e130_wrong"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        phase = "contract"
        release = "1.3.0"
        '''))
    with pytest.raises(UsageError, match="sits on the 'expand' branch") as e:
        load_catalog(load_config(project, environ={}))
    assert "e130_wrong.py" in e.value.render()


def test_release_going_down_along_a_branch_is_refused(tmp_path):
    project = copy_sample(tmp_path)
    (project / "migrations/versions/e130_old.py").write_text(textwrap.dedent('''
        revision = "e130_old"
        down_revision = "e120_relax_name_columns"
        branch_labels = None
        depends_on = None
        phase = "expand"
        release = "1.1.5"
        '''))
    with pytest.raises(UsageError, match="must not go down"):
        load_catalog(load_config(project, environ={}))
