"""Alembic revisions rendered offline: no env.py, no database; every statement on the line of
the call in the revision file that emitted it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from migrator.config import Config
from migrator.model import Severity
from migrator.sources.discover import load_sources

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = FIXTURES / "alembic_project"
VERSIONS = PROJECT / "migrations" / "versions"
BROKEN = FIXTURES / "alembic_broken" / "versions"


@pytest.fixture
def config():
    return Config(root=Path.cwd())


@pytest.fixture
def project(config):
    return {Path(s.path).name: s for s in load_sources([str(PROJECT)], config)}


@pytest.fixture
def broken(config):
    return {Path(s.path).name: s for s in load_sources([str(BROKEN)], config)}


def _line(src, st):
    return src.text.splitlines()[st.loc.line - 1]


def _rules(src):
    return {(f.rule, f.severity, f.loc.line) for f in src.diagnostics}


def test_revisions_run_in_graph_order_earlier_release_first_expand_before_contract(config):
    order = [s.revision for s in load_sources([str(PROJECT)], config)]
    assert order == ["e0001", "c0001", "e0002", "e0003", "e0004", "c0002", "e0005", "e0006",
                     "c0003"]


@pytest.mark.parametrize("arg", [
    PROJECT,  # project directory with alembic.ini (%(here)s)
    PROJECT / "alembic.ini",
    PROJECT / "migrations",  # script directory
    VERSIONS,  # versions directory
])
def test_every_way_of_naming_the_project_finds_the_same_revisions(arg, config):
    sources = load_sources([str(arg)], config)
    assert [Path(s.path).name for s in sources][:3] == [
        "0001_create_users.py", "0002_contract_root.py", "0003_add_full_name.py"]
    assert len(sources) == 9
    assert all(s.kind == "alembic" for s in sources)


def test_every_statement_points_at_the_op_call_that_emitted_it(project):
    seen = 0
    for name, src in project.items():
        for st in src.statements:
            call = _line(src, st)[st.loc.column - 1:]
            assert st.loc.path == src.path
            assert call.startswith(("op.", "conn.execute(")), (name, st.loc, st.sql, call)
            seen += 1
    assert seen >= 15


def test_statement_lines_and_columns_exactly(project):
    def where(name):
        return [(st.loc.line, st.loc.column, st.sql.split()[0]) for st in project[name].statements]

    assert where("0001_create_users.py") == [(14, 5, "CREATE")]
    # three statements from one op.execute() stay on its line; the '%' and the ';' inside the
    # string literal are kept as written
    assert where("0003_add_full_name.py") == [(14, 5, "ALTER"), (15, 5, "SET"), (15, 5, "COMMENT"),
                                              (15, 5, "SELECT")]
    sqls = [st.sql for st in project["0003_add_full_name.py"].statements]
    assert "COMMENT ON COLUMN users.full_name IS 'given; family'" in sqls
    assert "SELECT 'a%' LIKE 'a%'" in sqls
    # a multi-line op.create_index(...) call inside the with block
    assert where("0005_index_email.py") == [(14, 5, "ALTER"), (16, 9, "CREATE"), (22, 5, "ANALYZE")]


def test_phases_releases_and_graph_attributes_are_read(project):
    users = project["0001_create_users.py"]
    assert (users.revision, users.down_revisions, users.branch_labels) == ("e0001", (), ("expand",))
    assert (users.declared_phase, users.release) == ("expand", "1.0.0")
    drop = project["0006_drop_old_names.py"]
    assert (drop.down_revisions, drop.depends_on) == (("c0001",), ("e0004",))
    assert (drop.declared_phase, drop.release) == ("contract", "1.1.0")
    assert project["0007_orders.py"].release == "v1.2.0"
    assert project["0002_contract_root.py"].statements == []
    src = project["0001_create_users.py"]
    assert src.text == (VERSIONS / "0001_create_users.py").read_text()
    import hashlib

    assert src.checksum == hashlib.sha256((VERSIONS / "0001_create_users.py").read_bytes()).hexdigest()


def test_autocommit_block_statements_run_outside_the_transaction(project):
    sts = project["0005_index_email.py"].statements
    assert [st.in_transaction for st in sts] == [True, False, True]
    assert sts[1].sql == "CREATE INDEX CONCURRENTLY ix_users_email ON users (email)"
    # no COMMIT / BEGIN invented around the block
    assert not any(st.sql.upper() in ("COMMIT", "BEGIN") for st in sts)


def test_a_hand_written_commit_leaves_what_follows_outside_a_transaction(project):
    sts = project["0009_commit_by_hand.py"].statements
    assert [(st.sql.split()[0], st.in_transaction) for st in sts] == [("COMMIT", True), ("DROP", False)]


def test_data_migration_reading_rows_is_a_warning_on_the_reading_line(project):
    src = project["0004_backfill_full_name.py"]
    assert ("hidden-data-migration", Severity.WARNING, 15) in _rules(src)
    msg = next(f.message for f in src.diagnostics if f.rule == "hidden-data-migration")
    assert "could not be seen offline" in msg
    sqls = [st.sql for st in src.statements]
    # the SELECT it ran is there; the per-row UPDATE depends on rows offline has none of;
    # what follows the loop is still rendered
    assert sqls == ["SELECT id, first_name, last_name FROM users",
                    "UPDATE users SET full_name = email WHERE id = 0"]
    assert [st.loc.line for st in src.statements] == [15, 21]


def test_environment_variable_read_at_import_does_not_break_rendering(project):
    assert "FIXTURE_TENANT_SCHEMA" not in os.environ
    src = project["0007_orders.py"]
    assert ("missing-environment-variable", Severity.WARNING, 14) in _rules(src)
    assert src.statements[0].sql.startswith("CREATE TABLE public.orders")
    assert [st.sql for st in src.statements[1:]] == [
        "INSERT INTO order_status (code) VALUES ('new')",
        "INSERT INTO order_status (code) VALUES ('paid')"]
    assert not isinstance(os.environ, dict) and type(os.environ).__name__ == "_Environ"


def test_missing_phase_is_a_warning_and_an_exception_keeps_what_came_before(project):
    src = project["0008_untagged.py"]
    assert src.declared_phase is None and src.release == "1.2.0"
    rules = _rules(src)
    assert ("missing-phase-tag", Severity.WARNING, 5) in rules
    assert ("revision-render-error", Severity.WARNING, 15) in rules
    assert [st.sql for st in src.statements] == ["ALTER TABLE orders ADD COLUMN note TEXT"]
    assert not any(f.severity is Severity.ERROR for f in src.diagnostics)


def test_clean_revisions_have_no_diagnostics(project):
    for name in ("0001_create_users.py", "0003_add_full_name.py", "0005_index_email.py",
                 "0006_drop_old_names.py", "0009_commit_by_hand.py"):
        assert project[name].diagnostics == [], name


def test_missing_module_is_an_error_naming_file_and_module_and_others_still_render(broken):
    src = broken["a2_missing_module.py"]
    [err] = [f for f in src.diagnostics if f.rule == "revision-import-error"]
    assert err.severity is Severity.ERROR and err.loc.line == 4
    assert "migrator_fixture_no_such_module" in err.message and "a2_missing_module.py" in err.message
    assert src.revision == "a2" and src.down_revisions == ("a1",)  # read from the text
    assert broken["a1_ok.py"].statements[0].sql == "ALTER TABLE accounts ADD COLUMN plan TEXT"
    assert broken["a1_ok.py"].diagnostics == []


def test_syntax_error_is_an_error_on_its_line(broken):
    src = broken["a3_syntax_error.py"]
    assert ("revision-import-error", Severity.ERROR, 9) in _rules(src)
    assert "syntax" in src.diagnostics[0].message


def test_unknown_parent_bad_phase_and_bad_release_are_errors_on_their_lines(broken):
    src = broken["a4_unknown_parent.py"]
    rules = _rules(src)
    assert ("revision-graph", Severity.ERROR, 5) in rules
    assert ("bad-migration-header", Severity.ERROR, 6) in rules
    assert ("bad-migration-header", Severity.ERROR, 7) in rules
    assert src.declared_phase is None and src.release is None
    assert any("zz_missing" in f.message for f in src.diagnostics)


def test_a_cycle_is_reported_on_each_revision_in_it(broken):
    for name in ("b1_cycle.py", "b2_cycle.py"):
        msgs = [f.message for f in broken[name].diagnostics if f.rule == "revision-graph"]
        assert msgs and "cycle" in msgs[0] and "b1" in msgs[0] and "b2" in msgs[0]


def test_orm_session_on_the_bind_renders_what_follows_and_prints_nothing(config, capsys):
    [src] = load_sources([str(BROKEN / "c2_orm_and_print.py")], config)
    assert capsys.readouterr().out == ""
    sqls = [st.sql.split("\n")[0] for st in src.statements]
    assert sqls[0] == "ALTER TABLE accounts ADD COLUMN tier TEXT"
    assert sqls[1].startswith("SELECT accounts.id")
    assert sqls[2] == "ALTER TABLE accounts ADD COLUMN after_orm TEXT"
    assert [st.loc.line for st in src.statements] == [23, 25, 28]
    assert {f.rule for f in src.diagnostics} == {"hidden-data-migration"}  # c1 is a sibling


def test_each_render_imports_a_fresh_module(config):
    first = load_sources([str(BROKEN / "c1_state.py")], config)[0]
    second = load_sources([str(BROKEN / "c1_state.py")], config)[0]
    assert [st.sql for st in first.statements] == ["SELECT 1"]
    assert [st.sql for st in second.statements] == ["SELECT 1"]


def test_rendering_leaves_the_process_as_it_found_it(config):
    path_before = list(sys.path)
    modules_before = {m for m in sys.modules if m.startswith("_migrator_revision_")}
    load_sources([str(PROJECT)], config)
    assert sys.path == path_before
    assert {m for m in sys.modules if m.startswith("_migrator_revision_")} == modules_before
    from alembic import context, op

    # no alembic.op left bound (revisions render in child processes)
    assert getattr(op, "_proxy", None) is None and getattr(context, "_proxy", None) is None


def _write_revision(d: Path, name: str, body: str, **attrs) -> None:
    head = "\n".join(f"{k} = {v!r}" for k, v in attrs.items())
    d.joinpath(name).write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n" + head + "\n\n\ndef upgrade():\n" + body)


def test_backfill_declared_in_upgrade_renders_its_batch_statement_on_its_line(tmp_path, config):
    v = tmp_path / "versions"
    v.mkdir()
    _write_revision(v, "r1.py",
                    "    from migrator import backfill\n"
                    "    backfill('users', set={'full_name': \"first_name || ' ' || last_name\"},\n"
                    "             where='full_name IS NULL')\n"
                    "    op.execute('SELECT 2')\n",
                    revision="r1", down_revision=None, phase="expand", release="1.0.0")
    [src] = load_sources([str(v)], config)
    assert src.diagnostics == []
    assert [st.loc.line for st in src.statements] == [11, 13]
    assert "UPDATE users SET full_name" in src.statements[0].sql


def test_sys_exit_and_sql_helpers_in_other_modules(tmp_path, config):
    v = tmp_path / "versions"
    v.mkdir()
    (tmp_path / "mighelpers.py").write_text(
        "from alembic import op\n\ndef add(table):\n    op.execute(f'ANALYZE {table}')\n")
    _write_revision(v, "r1.py",
                    "    import sys\n    import mighelpers\n    mighelpers.add('t')\n"
                    "    sys.exit(3)\n",
                    revision="r1", down_revision=None, phase="expand", release="1.0.0")
    [src] = load_sources([str(v)], config)
    # the helper's statement is placed on the revision line that called the helper
    assert [(st.sql, st.loc.line) for st in src.statements] == [("ANALYZE t", 12)]
    assert ("revision-render-error", Severity.WARNING, 13) in _rules(src)


def test_same_release_ties_put_expand_before_contract_and_releases_order_as_versions(tmp_path, config):
    v = tmp_path / "versions"
    v.mkdir()
    _write_revision(v, "a.py", "    op.execute('SELECT 1')\n", revision="root", down_revision=None,
                    phase="expand", release="1.0.0")
    _write_revision(v, "b.py", "    pass\n", revision="k10", down_revision="root",
                    phase="contract", release="1.10.0")
    _write_revision(v, "c.py", "    pass\n", revision="e10", down_revision="root",
                    phase="expand", release="1.10.0")
    _write_revision(v, "d.py", "    pass\n", revision="k9", down_revision="root",
                    phase="contract", release="1.9.0")
    assert [s.revision for s in load_sources([str(v)], config)] == ["root", "k9", "e10", "k10"]


def test_hundreds_of_revisions_render_in_graph_order(tmp_path, config):
    """(How long they take is printed by benchmarks/lint_bench.py.)"""
    v = tmp_path / "versions"
    v.mkdir()
    prev = None
    for i in range(300):
        _write_revision(
            v, f"r{i:04d}.py",
            f"    op.add_column('t{i}', sa.Column('c', sa.Text()))\n"
            f"    op.execute(\"UPDATE t{i} SET c = 'x' WHERE id = 1; SELECT 1\")\n",
            revision=f"r{i:04d}", down_revision=prev, phase="expand", release=f"1.{i // 10}.0")
        prev = f"r{i:04d}"
    sources = load_sources([str(v)], config)
    assert [s.revision for s in sources] == [f"r{i:04d}" for i in range(300)]
    assert sum(len(s.statements) for s in sources) == 900


def test_excluded_revisions_are_not_rendered_and_their_children_are_not_orphans(tmp_path):
    v = tmp_path / "versions"
    v.mkdir()
    _write_revision(v, "old.py", "    raise RuntimeError('never imported')\n", revision="old",
                    down_revision=None, phase="expand", release="0.1.0")
    _write_revision(v, "new.py", "    op.execute('SELECT 1')\n", revision="new",
                    down_revision="old", phase="expand", release="1.0.0")
    config = Config(root=tmp_path, exclude=["versions/old.py"])
    [src] = load_sources([str(v)], config)
    assert src.revision == "new" and src.diagnostics == []


def test_prepend_sys_path_lets_revisions_import_the_application(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src" / "shopapp").mkdir(parents=True)
    (tmp_path / "src" / "shopapp" / "__init__.py").write_text("")
    (tmp_path / "src" / "shopapp" / "names.py").write_text("ORDERS = 'shop_orders'\n")
    v = tmp_path / "db" / "versions"
    v.mkdir(parents=True)
    _write_revision(v, "r1.py", "    from shopapp.names import ORDERS\n    op.drop_table(ORDERS)\n",
                    revision="r1", down_revision=None, phase="contract", release="1.0.0")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/db\nprepend_sys_path = src\n")
    [src] = load_sources(["."], Config(root=tmp_path))
    assert src.diagnostics == []
    assert [(st.sql, st.loc.line) for st in src.statements] == [("DROP TABLE shop_orders", 11)]
    assert str(tmp_path / "src") not in sys.path


def test_a_revision_handling_a_missing_variable_itself_keeps_its_fallback(tmp_path, config):
    v = tmp_path / "versions"
    v.mkdir()
    (v / "r1.py").write_text(
        "import os\nfrom alembic import op\nrevision = 'r1'\ndown_revision = None\n"
        "phase = 'expand'\nrelease = '1.0.0'\n"
        "try:\n    SCHEMA = os.environ['FIXTURE_UNSET_SCHEMA']\nexcept KeyError:\n    SCHEMA = 'app'\n"
        "def upgrade():\n    op.execute(f'CREATE SCHEMA {SCHEMA}')\n")
    [src] = load_sources([str(v)], config)
    assert [st.sql for st in src.statements] == ["CREATE SCHEMA app"]
    assert src.diagnostics == []


def test_autocommit_isolation_on_the_bind_and_connection_commit(tmp_path, config):
    v = tmp_path / "versions"
    v.mkdir()
    _write_revision(v, "r1.py",
                    "    assert op.get_bind().dialect.name == 'postgresql'\n"
                    "    op.execute('ALTER TABLE t ADD COLUMN a int')\n"
                    "    op.get_bind().commit()\n"
                    "    op.execute('ALTER TABLE t ADD COLUMN b int')\n"
                    "    conn = op.get_bind().execution_options(isolation_level='AUTOCOMMIT')\n"
                    "    conn.execute(sa.text(\"ALTER TYPE mood ADD VALUE 'meh'\"))\n",
                    revision="r1", down_revision=None, phase="expand", release="1.0.0")
    [src] = load_sources([str(v)], config)
    assert src.diagnostics == []
    assert [(st.sql.split()[0], st.loc.line, st.in_transaction) for st in src.statements] == [
        ("ALTER", 11, True),
        ("COMMIT", 12, True),
        ("ALTER", 13, True),  # SQLAlchemy begins again after conn.commit()
        ("ALTER", 15, False),  # an AUTOCOMMIT connection runs outside a transaction
    ]


def test_render_revision_alone_sets_up_and_restores_like_a_full_load(capsys):
    from migrator.sources.alembic_offline import render_revision

    path_before = list(sys.path)
    src = render_revision(BROKEN / "c2_orm_and_print.py", "c2.py",
                          ini_path=PROJECT / "alembic.ini")
    assert capsys.readouterr().out == ""
    assert sys.path == path_before
    assert src.revision == "c2" and len(src.statements) == 3
    assert all(st.loc.path == "c2.py" for st in src.statements)


def test_a_render_hands_alembic_op_back_to_whoever_had_it(config):
    """The runner may render a revision while its own online migration context is bound."""
    import io

    from alembic import op
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from migrator.sources.alembic_offline import render_revision

    buf = io.StringIO()
    ctx = MigrationContext.configure(dialect_name="postgresql",
                                     opts={"as_sql": True, "output_buffer": buf})
    with Operations.context(ctx):
        render_revision(VERSIONS / "0001_create_users.py", "0001.py")
        op.execute("SELECT 42")
    assert "SELECT 42" in buf.getvalue()


def test_versions_dir_given_directly_still_uses_the_ini_prepend_sys_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "tenantnames.py").write_text("SCHEMA = 'tenant_a'\n")
    v = tmp_path / "db" / "versions"
    v.mkdir(parents=True)
    _write_revision(v, "r1.py", "    from tenantnames import SCHEMA\n"
                                "    op.execute(f'CREATE SCHEMA {SCHEMA}')\n",
                    revision="r1", down_revision=None, phase="expand", release="1.0.0")
    (tmp_path / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/db\nprepend_sys_path = %(here)s/lib\n")
    for arg in ("db/versions", "db", "db/versions/r1.py"):
        sys.modules.pop("tenantnames", None)
        [src] = load_sources([arg], Config(root=tmp_path))
        assert [st.sql for st in src.statements] == ["CREATE SCHEMA tenant_a"], arg
