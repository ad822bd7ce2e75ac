"""`migrator init` and `migrator revision`: the two-branch layout, written correctly."""

from __future__ import annotations

import json
import subprocess
import sys

from migrator.config import load_config
from migrator.runner import api
from migrator.script import load_catalog
from tests.support.sample import cli


def _revision(capsys, project, phase, release, msg, rev_id):
    code, out, err = cli(["revision", "--phase", phase, "--release", release, "-m", msg,
                          "--rev-id", rev_id, "-d", str(project), "--format", "json"], capsys)
    assert code == 0, err
    return json.loads(out)


def test_init_creates_a_project_and_revision_places_and_tags_each_revision(tmp_path, capsys):
    project = tmp_path / "app"
    code, out, err = cli(["init", "-d", str(project)], capsys)
    assert code == 0, err
    assert (project / "alembic.ini").is_file() and (project / "migrator.toml").is_file()
    env_py = (project / "migrations" / "env.py").read_text()
    assert 'config.attributes.get("connection"' in env_py

    first = _revision(capsys, project, "expand", "1.0.0", "create tables", "e1")
    assert first["branch_label"] == "expand" and first["down_revision"] is None
    second = _revision(capsys, project, "expand", "1.1.0", "add column", "e2")
    assert second["down_revision"] == "e1" and second["branch_label"] is None
    c1 = _revision(capsys, project, "contract", "1.1.0", "drop column", "c1")
    assert c1["branch_label"] == "contract" and c1["depends_on"] == "e2" and c1["down_revision"] is None
    e3 = _revision(capsys, project, "expand", "1.2.0", "more", "e3")
    assert e3["down_revision"] == "e2"
    c2 = _revision(capsys, project, "contract", "1.2.0", "drop more", "c2")
    assert c2["down_revision"] == "c1" and c2["depends_on"] == "e3"

    catalog = load_catalog(load_config(project, environ={}))
    tags = {r.id: (r.phase, str(r.release), r.depends_on) for r in catalog.revisions}
    assert tags == {"e1": ("expand", "1.0.0", ()), "e2": ("expand", "1.1.0", ()),
                    "e3": ("expand", "1.2.0", ()), "c1": ("contract", "1.1.0", ("e2",)),
                    "c2": ("contract", "1.2.0", ("e3",))}
    assert catalog.heads == {"expand": "e3", "contract": "c2"}
    text = (project / "migrations" / "versions").glob("c2_*.py").__next__().read_text()
    assert "phase = 'contract'" in text and "release = '1.2.0'" in text

    # the layout runs: expand then contract, and plain alembic agrees on the heads
    config = load_config(project, environ={}).with_overrides(database_url=f"sqlite:///{tmp_path}/a.db")
    assert api.expand(config, "1.2.0").ok
    api.deployed(config, "1.2.0")
    assert api.contract(config, "1.2.0").ok
    heads = subprocess.run([sys.executable, "-m", "alembic", "-c", str(project / "alembic.ini"), "heads"],
                           capture_output=True, text=True, cwd=project)
    assert "e3" in heads.stdout and "c2" in heads.stdout


def test_revision_refuses_a_release_older_than_its_branch_head(tmp_path, capsys):
    project = tmp_path / "app"
    cli(["init", "-d", str(project)], capsys)
    _revision(capsys, project, "expand", "1.2.0", "x", "e1")
    code, out, err = cli(["revision", "--phase", "expand", "--release", "1.1.0", "-m", "y",
                          "-d", str(project)], capsys)
    assert code == 2 and "older than the expand branch's head e1" in err
    code, out, err = cli(["revision", "--phase", "expand", "--release", "soon", "-m", "y",
                          "-d", str(project)], capsys)
    assert code == 2 and "soon" in err


def test_init_adds_the_layout_to_an_existing_alembic_project(tmp_path, capsys):
    project = tmp_path / "legacy"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "legacy"\n')
    subprocess.run([sys.executable, "-m", "alembic", "init", "alembic"], cwd=project, check=True,
                   capture_output=True)
    old = project / "alembic" / "versions" / "001_old.py"
    old.write_text('revision = "001"\ndown_revision = None\nbranch_labels = None\ndepends_on = None\n'
                   'def upgrade():\n    pass\n')
    code, out, err = cli(["init", "-d", str(project)], capsys)
    assert code == 0, err
    assert "migrator_phase" in (project / "alembic" / "script.py.mako").read_text()
    assert "[tool.migrator]" in (project / "pyproject.toml").read_text()
    assert "1 existing revision(s) have no phase/release (e.g. 001_old.py)" in out
    assert "next: migrator adopt" in out
    assert "does not use config.attributes['connection']" in out
    # running init twice changes nothing more
    code, out2, _ = cli(["init", "-d", str(project)], capsys)
    assert "added phase/release" not in out2 and (project / "pyproject.toml").read_text().count("[tool.migrator]") == 1
