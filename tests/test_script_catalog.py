"""The one revision catalog (migrator.script): the project found from every kind of
configuration, the graph checked (file and line), one order shared by the linter and the
runner, headers read without importing the revisions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from migrator.config import Config, load_config
from migrator.errors import UsageError
from migrator.gate.core import load_catalog_if_any
from migrator.runner import api
from migrator.script import header_cache, load_catalog
from migrator.sources.discover import load_sources
from tests.support.sample import SAMPLE, cli, copy_sample


def _rev(rid: str, down, *, phase: str = "expand", release: str = "1.0.0", labels=None,
         depends=None, body: str = "    op.execute('SELECT 1')\n") -> str:
    return (f'"""{rid}"""\nfrom alembic import op\n\nrevision = {rid!r}\ndown_revision = {down!r}\n'
            f"branch_labels = {labels!r}\ndepends_on = {depends!r}\nphase = {phase!r}\n"
            f"release = {release!r}\n\n\ndef upgrade():\n{body}\n\ndef downgrade():\n    pass\n")


def _project(tmp_path: Path, files: dict[str, str], *, config: str = "ini") -> Path:
    """A minimal Alembic project (env.py from the sample) configured by alembic.ini or by
    pyproject.toml [tool.alembic] alone."""
    root = tmp_path / "proj"
    (root / "migrations" / "versions").mkdir(parents=True)
    shutil.copy(SAMPLE / "migrations" / "env.py", root / "migrations" / "env.py")
    shutil.copytree(SAMPLE / "app", root / "app")
    for name, text in files.items():
        (root / "migrations" / "versions" / name).write_text(text)
    if config == "ini":
        (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n"
                                          "prepend_sys_path = %(here)s\npath_separator = os\n")
    else:
        (root / "pyproject.toml").write_text('[tool.alembic]\nscript_location = "%(here)s/migrations"\n'
                                             'prepend_sys_path = ["%(here)s"]\n')
    return root


# Ties everywhere: ids sort one way, file names the other, releases and phases interleave.
TIES = {
    "a_last.py": _rev("z_base", None, labels=("expand",)),
    "b.py": _rev("y_side", "z_base", release="1.1.0"),
    "c.py": _rev("x_more", "y_side", release="1.1.0"),
    "d.py": _rev("w_contract", None, phase="contract", release="1.1.0", labels=("contract",),
                 depends="z_base"),
    "e.py": _rev("v_contract2", "w_contract", phase="contract", release="1.1.0", depends="x_more"),
    "f.py": _rev("u_exp", "m_merge", release="1.2.0"),
    "g.py": _rev("t_side", "z_base", release="1.1.0"),
    "h.py": _rev("m_merge", ("x_more", "t_side"), release="1.1.0"),
}


@pytest.mark.parametrize("config_kind", ["ini", "pyproject"])
def test_lint_replays_history_in_exactly_the_order_the_runner_applies_it(tmp_path, config_kind):
    root = _project(tmp_path, TIES, config=config_kind)
    config = Config(root=root)
    runner_order = [r.id for r in load_catalog(config).revisions]
    lint_order = [s.revision for s in load_sources([], config)]
    assert lint_order == runner_order
    # t_side before y_side: the same release and phase, so the id decides (not the file name)
    assert runner_order == ["z_base", "t_side", "y_side", "x_more", "m_merge", "w_contract",
                            "v_contract2", "u_exp"]
    # and it is the order the runner really applies
    # and it is the order the runner really applies, phase by phase
    db = config.with_overrides(database_url=f"sqlite:///{tmp_path}/app.db")
    catalog = load_catalog(config)
    for phase in ("expand", "contract"):
        if phase == "contract":
            api.deployed(db, "1.2.0")  # the rollout is recorded (no instance registry here)
        result = getattr(api, phase)(db, "1.2.0")
        assert result.ok, result.steps
        assert [s.revision for s in result.steps] == [r.id for r in catalog.of_phase(phase)]


def test_a_project_configured_only_by_tool_alembic_works_for_every_command(tmp_path, capsys):
    root = _project(tmp_path, TIES, config="pyproject")
    db = f"sqlite:///{tmp_path}/app.db"
    code, out, err = cli(["plan", "-r", "1.2.0", "-d", str(root)], capsys)
    assert code == 0, err
    assert "z_base" in out and "u_exp" in out
    code, out, err = cli(["expand", "-r", "1.1.0", "-d", str(root), "--database-url", db], capsys)
    assert code == 0, err + out
    code, out, err = cli(["status", "-d", str(root), "--database-url", db, "--format", "json"], capsys)
    assert code == 0, err
    assert '"x_more"' in out and '"applied"' in out
    config = Config(root=root)
    assert load_catalog_if_any(config) is not None
    assert [s.revision for s in load_sources([], config)][0] == "z_base"


@pytest.mark.parametrize("how", ["alembic_ini", "script_location", "tool_migrator"])
def test_the_project_is_found_from_migrators_own_configuration(tmp_path, how):
    root = _project(tmp_path, TIES)
    (tmp_path / "elsewhere").mkdir()
    if how == "alembic_ini":
        config = Config(root=tmp_path / "elsewhere", alembic_ini=str(root / "alembic.ini"))
    elif how == "script_location":
        config = Config(root=tmp_path / "elsewhere", script_location=str(root / "migrations"))
    else:
        (tmp_path / "elsewhere" / "pyproject.toml").write_text(
            f'[tool.migrator]\nscript_location = "{root / "migrations"}"\n')
        config = load_config(tmp_path / "elsewhere", environ={})
    assert len(load_catalog(config).revisions) == len(TIES)


GRAPH_ERRORS = {
    "follows itself": ({"a.py": _rev("r1", None), "b.py": _rev("r2", "r2")}, "b.py", 5,
                       "itself"),
    "depends on itself": ({"a.py": _rev("r1", None), "b.py": _rev("r2", "r1", depends="r2")},
                          "b.py", 7, "itself"),
    "two-revision cycle": ({"a.py": _rev("r0", None), "b.py": _rev("r1", "r2"),
                            "c.py": _rev("r2", "r1")}, "b.py", 5, "cycle"),
    "unknown parent": ({"a.py": _rev("r1", None), "b.py": _rev("r2", "nowhere")}, "b.py", 5,
                       "'nowhere'"),
    "duplicate id": ({"a.py": _rev("r1", None), "b.py": _rev("r1", None)}, "b.py", 4,
                     "also used by"),
}


@pytest.mark.parametrize("case", sorted(GRAPH_ERRORS))
def test_a_broken_graph_is_an_error_naming_file_and_line_for_runner_and_linter(tmp_path, case):
    files, culprit, line, words = GRAPH_ERRORS[case]
    root = _project(tmp_path, files)
    with pytest.raises(UsageError) as e:
        load_catalog(Config(root=root))
    assert e.value.path.endswith(culprit) and e.value.line == line and words in e.value.message
    linted = {Path(s.path).name: s for s in load_sources([], Config(root=root))}
    found = [(f.loc.line, f.message) for f in linted[culprit].diagnostics if f.rule == "revision-graph"]
    assert found and found[0][0] == line and words in found[0][1], found


def test_headers_are_read_without_importing_and_remembered_until_the_file_changes(tmp_path, monkeypatch):
    boom = _rev("r2", "r1", release="1.1.0").replace("from alembic import op\n",
                                                      "from alembic import op\nraise RuntimeError('x')\n")
    root = _project(tmp_path, {"a.py": _rev("r1", None), "b.py": boom})
    config = Config(root=root)
    assert [r.id for r in load_catalog(config).revisions] == ["r1", "r2"]  # nothing imported

    reads = []
    real = header_cache.read_header
    monkeypatch.setattr(header_cache, "read_header", lambda p: reads.append(p.name) or real(p))
    load_catalog(config)
    assert reads == []  # both from the cache
    (root / "migrations/versions/b.py").write_text(_rev("r2", "r1", release="1.2.0"))
    catalog = load_catalog(config)
    assert reads == ["b.py"] and str(catalog.get("r2").release) == "1.2.0"


def test_a_computed_header_value_imports_that_revision_only(tmp_path):
    computed = _rev("r2", "r1").replace("release = '1.0.0'", "release = '.'.join(['1', '3', '0'])")
    root = _project(tmp_path, {"a.py": _rev("r1", None), "b.py": computed})
    assert str(load_catalog(Config(root=root)).get("r2").release) == "1.3.0"
    broken = computed.replace("from alembic import op\n", "from alembic import op\nimport nowhere_xyz\n")
    (root / "migrations/versions/b.py").write_text(broken)
    with pytest.raises(UsageError, match="nowhere_xyz") as e:
        load_catalog(Config(root=root))
    assert e.value.path.endswith("b.py") and e.value.line == 3


def test_a_revision_that_cannot_be_imported_is_refused_before_anything_is_applied(tmp_path):
    project = copy_sample(tmp_path)
    path = project / "migrations/versions/e120_relax_name_columns.py"
    path.write_text(path.read_text().replace("from alembic import op", "from alembic import op\nimport nowhere_xyz"))
    config = load_config(project, environ={}).with_overrides(database_url=f"sqlite:///{tmp_path}/a.db")
    with pytest.raises(UsageError, match="nowhere_xyz") as e:
        api.expand(config, "1.2.0")
    assert e.value.path == str(path)
    assert all(m.state == "pending" for m in api.status(config).migrations)


def test_ancestors_and_heads_of_a_long_history_cost_no_quadratic_memory(tmp_path):
    files = {f"r{i:05d}.py": _rev(f"r{i:05d}", f"r{i - 1:05d}" if i else None, release="1.0.0")
             for i in range(3000)}
    root = _project(tmp_path, files)
    catalog = load_catalog(Config(root=root))
    assert catalog.heads["expand"] == "r02999"
    assert len(catalog.ancestors("r02999")) == 2999
    assert catalog.descendants(["r02990"]) == {f"r{i:05d}" for i in range(2991, 3000)}


def test_the_runners_revision_map_normalises_dependencies_as_alembic_does(tmp_path):
    from alembic.script import Script
    from alembic.script.revision import RevisionMap

    from migrator.runner.alembic_run import _LazyModule, _RevisionMap

    files = {  # c2 repeats its parent's dependency (Alembic drops it); c3 adds a new one
        "e1.py": _rev("e1", None, labels=("expand",)), "e2.py": _rev("e2", "e1"),
        "c1.py": _rev("c1", None, phase="contract", labels=("contract",), depends="e1"),
        "c2.py": _rev("c2", "c1", phase="contract", depends=("e1", "e2")),
        "c3.py": _rev("c3", "c2", phase="contract", depends="e2"),
    }
    catalog = load_catalog(Config(root=_project(tmp_path, files)))

    def scripts():
        return iter([Script(_LazyModule(r), r.id, r.path) for r in catalog.revisions])

    alembic, ours = RevisionMap(scripts)._revision_map, _RevisionMap(scripts)._revision_map
    for rid in ("c1", "c2", "c3"):
        assert set(ours[rid]._normalized_resolved_dependencies) == \
            set(alembic[rid]._normalized_resolved_dependencies), rid
    assert set(ours["c2"]._normalized_resolved_dependencies) == {"e2"}
    assert ours["c3"]._normalized_resolved_dependencies == ()
