"""Plain SQL migrations: files, directories, stdin, headers, phases from directories, order,
excludes, and the usage errors for paths that are not there."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator.config import Config
from migrator.errors import EXIT_USAGE, UsageError
from migrator.model import Severity
from migrator.sources.discover import load_sources, natural_key

FIXTURES = Path(__file__).parent / "fixtures"


def write(root: Path, rel: str, text: str | bytes = "SELECT 1;\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def load(paths, root: Path, **kw):
    return load_sources([str(p) for p in paths], Config(root=root, **kw))


def names(sources):
    return [s.path for s in sources]


# -- one file -----------------------------------------------------------------------------------

def test_a_sql_file_is_one_migration_with_text_checksum_and_statements(cwd):
    text = "-- migrator: phase=expand release=1.4.0\nALTER TABLE users ADD COLUMN a text;\n\nSELECT 1;\n"
    write(cwd, "m.sql", text)
    [src] = load(["m.sql"], cwd)
    assert (src.path, src.kind, src.declared_phase, src.release) == ("m.sql", "sql", "expand", "1.4.0")
    assert src.text == text
    assert src.checksum == hashlib.sha256(text.encode()).hexdigest()
    assert [(st.sql, st.loc.line, st.loc.path) for st in src.statements] == [
        ("ALTER TABLE users ADD COLUMN a text", 2, "m.sql"), ("SELECT 1", 4, "m.sql")]
    assert src.diagnostics == []


def test_header_anywhere_in_the_leading_comment_block(cwd):
    write(cwd, "m.sql", "/* add the column\n   for 1.4 */\n-- owner: team-a\n\n"
                        "--migrator:   release=v1.4.0   phase=CONTRACT\nDROP TABLE t;\n"
                        "-- migrator: phase=expand\n")
    [src] = load(["m.sql"], cwd)
    # the second header comes after the first statement: it is not a header
    assert (src.declared_phase, src.release) == ("contract", "v1.4.0")
    assert src.diagnostics == []


def test_no_header_leaves_phase_and_release_unset(cwd):
    write(cwd, "m.sql", "CREATE TABLE t (id int);\n")
    [src] = load(["m.sql"], cwd)
    assert (src.declared_phase, src.release, src.diagnostics) == (None, None, [])


def test_bad_phase_and_bad_release_are_errors_on_the_header_line(cwd):
    write(cwd, "m.sql", "-- first line\n-- migrator: phase=sideways\n-- migrator: release=one.two\n"
                        "-- migrator: colour=blue\nSELECT 1;\n")
    [src] = load(["m.sql"], cwd)
    found = sorted((f.loc.line, f.rule, f.severity) for f in src.diagnostics)
    assert found == [(2, "bad-migration-header", Severity.ERROR),
                     (3, "bad-migration-header", Severity.ERROR),
                     (4, "bad-migration-header", Severity.ERROR)]
    messages = " ".join(f.message for f in src.diagnostics)
    assert "sideways" in messages and "one.two" in messages and "colour" in messages
    assert (src.declared_phase, src.release) == (None, None)
    assert [st.sql for st in src.statements] == ["SELECT 1"]


def test_undecodable_bytes_are_a_diagnostic_not_a_crash(cwd):
    write(cwd, "m.sql", b"SELECT 1;\nSELECT '\xff\xfe';\n")
    [src] = load(["m.sql"], cwd)
    [f] = src.diagnostics
    assert (f.rule, f.severity, f.loc.line, f.loc.column) == ("undecodable-file", Severity.ERROR, 2, 9)
    assert len(src.statements) == 2
    assert src.checksum == hashlib.sha256(b"SELECT 1;\nSELECT '\xff\xfe';\n").hexdigest()


def test_an_undecodable_byte_after_a_byte_order_mark_is_placed_and_named_right(cwd):
    """The offset of the bad byte counts from after the mark (it once pointed 3 bytes early:
    wrong column, and the message named the byte 3 before it)."""
    write(cwd, "m.sql", b"\xef\xbb\xbfSELECT 1;\nSELECT '\xff';\n")
    [src] = load(["m.sql"], cwd)
    [f] = src.diagnostics
    assert (f.loc.line, f.loc.column) == (2, 9)
    assert "byte 0xff" in f.message
    assert src.text.startswith("SELECT 1;") and [s.sql for s in src.statements][0] == "SELECT 1"


# -- phases from directories --------------------------------------------------------------------

def test_expand_and_contract_directories_give_the_phase(cwd):
    write(cwd, "db/expand/001_add.sql")
    write(cwd, "db/contract/001_drop.sql")
    write(cwd, "db/contract/002_x.sql", "-- migrator: phase=expand\nSELECT 1;\n")
    by = {s.path: s for s in load(["db"], cwd)}
    assert by["db/expand/001_add.sql"].declared_phase == "expand"
    assert by["db/contract/001_drop.sql"].declared_phase == "contract"
    conflict = by["db/contract/002_x.sql"]
    assert conflict.declared_phase == "expand"
    assert [f.rule for f in conflict.diagnostics] == ["bad-migration-header"]
    assert "contract/" in conflict.diagnostics[0].message


def test_a_file_named_directly_still_gets_its_directory_phase(cwd):
    write(cwd, "db/contract/001_drop.sql")
    [src] = load(["db/contract/001_drop.sql"], cwd)
    assert src.declared_phase == "contract"


# -- order --------------------------------------------------------------------------------------

def test_flyway_versions_order_as_numbers(cwd):
    for n in ["V10__ten.sql", "V2__two.sql", "V1__one.sql", "V1_1__one_one.sql", "V1.2__one_two.sql",
              "R__views.sql"]:
        write(cwd, f"sql/{n}")
    assert names(load(["sql"], cwd)) == [
        "sql/V1__one.sql", "sql/V1_1__one_one.sql", "sql/V1.2__one_two.sql", "sql/V2__two.sql",
        "sql/V10__ten.sql", "sql/R__views.sql"]


def test_flyway_versions_order_across_directories(cwd):
    write(cwd, "sql/b/V1__first.sql")
    write(cwd, "sql/a/V2__second.sql")
    assert names(load(["sql"], cwd)) == ["sql/b/V1__first.sql", "sql/a/V2__second.sql"]


def test_numbered_and_timestamped_files_order_naturally(cwd):
    for n in ["10_c.sql", "9_b.sql", "001_a.sql", "20240102103000_y.sql", "20231231235959_x.sql"]:
        write(cwd, f"m/{n}")
    assert names(load(["m"], cwd)) == ["m/001_a.sql", "m/9_b.sql", "m/10_c.sql",
                                       "m/20231231235959_x.sql", "m/20240102103000_y.sql"]


def test_nested_release_directories_order_as_versions_expand_before_contract(cwd):
    for rel in ["1.10.0/contract/001.sql", "1.10.0/expand/001.sql", "1.9.0/contract/002.sql",
                "1.9.0/contract/001.sql", "1.9.0/expand/001.sql"]:
        write(cwd, f"rel/{rel}")
    write(cwd, "rel/notes.txt", "not sql")
    assert names(load(["rel"], cwd)) == [
        "rel/1.9.0/expand/001.sql", "rel/1.9.0/contract/001.sql", "rel/1.9.0/contract/002.sql",
        "rel/1.10.0/expand/001.sql", "rel/1.10.0/contract/001.sql"]


def test_natural_key_compares_numbers_as_numbers():
    assert sorted(["a10", "a2", "A1", "b"], key=natural_key) == ["A1", "a2", "a10", "b"]


def _natural_key_chunk_by_chunk(name: str) -> tuple:
    import re

    out = []
    for i, chunk in enumerate(re.split(r"(\d+)", name)):
        if i % 2:
            out.append((0, int(chunk), ""))
        elif chunk:
            out.append((1, 0, chunk.lower()))
    return tuple(out)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=16))
def test_natural_key_lowers_the_text_between_digit_runs(name):
    """natural_key lower-cases the whole name at once: the same as chunk by chunk (digits have
    no case; Greek final sigma and dotted capital I included)."""
    assert natural_key(name) == _natural_key_chunk_by_chunk(name)
    assert natural_key("ΑΣ1Σ" + name) == _natural_key_chunk_by_chunk("ΑΣ1Σ" + name)


def test_paths_keep_the_order_given_and_a_file_is_loaded_once(cwd):
    write(cwd, "m/1.sql")
    write(cwd, "m/2.sql")
    assert names(load(["m/2.sql", "m", "./m/1.sql"], cwd)) == ["m/2.sql", "m/1.sql"]
    assert names(load(["."], cwd)) == ["m/1.sql", "m/2.sql"]


def test_a_link_to_a_file_already_loaded_is_not_loaded_again(cwd):
    write(cwd, "m/1_a.sql")
    (cwd / "m" / "2_alias.sql").symlink_to("1_a.sql")
    (cwd / "elsewhere").mkdir()
    (cwd / "elsewhere" / "3_far.sql").symlink_to(cwd / "m" / "1_a.sql")
    (cwd / "via").symlink_to("m")
    assert names(load(["m", "elsewhere", "via", "via/1_a.sql"], cwd)) == ["m/1_a.sql"]


def test_every_file_named_loads_as_its_directory_does(cwd):
    """pre-commit passes each file: the same migrations, phases and checks as naming their
    directory, in the order given, each real file once (also through a linked directory)."""
    write(cwd, "db/expand/001_add.sql", "ALTER TABLE t ADD COLUMN c int;\n")
    write(cwd, "db/contract/002_drop.sql", "ALTER TABLE t DROP COLUMN c;\n")
    write(cwd, "db/3_x/up.sql", "CREATE INDEX CONCURRENTLY i ON t (c);\n")
    write(cwd, "db/3_x/down.sql", "DROP INDEX i;\n")
    write(cwd, "db/3_x/metadata.toml", "run_in_transaction = false\n")
    (cwd / "link").symlink_to("db/contract")
    files = ["db/expand/001_add.sql", "db/3_x/up.sql", "db/3_x/down.sql",
             "db/contract/002_drop.sql"]  # expand/ sorts first and contract/ last
    whole = load(["db"], cwd)
    one_by_one = load(files + ["link/002_drop.sql"], cwd)
    assert names(one_by_one) == files
    assert [(s.path, s.declared_phase, s.transaction, s.direction, s.checksum) for s in whole] == [
        (s.path, s.declared_phase, s.transaction, s.direction, s.checksum) for s in one_by_one]
    assert [s.declared_phase for s in whole] == ["expand", None, None, "contract"]
    assert [s.transaction for s in whole][1:3] == ["statement", "statement"]


def test_files_named_one_by_one_resolve_each_directory_once(cwd, monkeypatch):
    """Resolving a path walks its every component: done per directory, not per file, so naming
    a history's files costs about what naming its directory does."""
    files = [str(write(cwd, f"db/{d}/{i:03}_x.sql").relative_to(cwd))
             for d in ("a", "b", "c") for i in range(40)]
    calls = []
    real = os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda p, **kw: calls.append(p) or real(p, **kw))
    assert len(load(files, cwd)) == 120
    assert len(calls) <= 3 + 2  # the three directories (+ the working directory and root)
    calls.clear()
    assert len(load(["db"], cwd)) == 120
    assert len(calls) <= 1 + 2


@pytest.mark.parametrize("size", [0, 1, 118, 70_000, 200_001])
def test_file_bytes_are_read_whole(tmp_path, size):
    from migrator.sources.sqlfiles import read_file_bytes

    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    (tmp_path / "f.sql").write_bytes(data)
    assert read_file_bytes(tmp_path / "f.sql") == data
    assert read_file_bytes(str(tmp_path / "f.sql")) == data


def test_the_garbage_collector_is_left_as_it_was_found(cwd):
    """load_sources pauses cyclic collection while it reads .sql files (they make no cycles),
    and restores it, also after a usage error; a caller's paused collector stays paused."""
    import gc

    write(cwd, "m/1.sql")
    assert gc.isenabled()
    assert names(load(["m"], cwd)) == ["m/1.sql"]
    assert gc.isenabled()
    with pytest.raises(UsageError):
        load(["m", "nope.sql"], cwd)
    assert gc.isenabled()
    gc.disable()
    try:
        load(["m"], cwd)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_alembic_revisions_are_rendered_with_the_garbage_collector_running(cwd, monkeypatch):
    """Rendering runs the project's code, which may make reference cycles."""
    import gc

    from migrator.sources import discover

    write(cwd, "versions/abc_first.py", "revision = 'abc'\ndown_revision = None\n")
    seen = []
    monkeypatch.setattr(discover._Loader, "_revisions", lambda self, *a: seen.append(gc.isenabled()))
    load(["versions"], cwd)
    assert seen == [True] and gc.isenabled()


# -- stdin --------------------------------------------------------------------------------------

def test_dash_reads_stdin(cwd):
    [src] = load_sources(["-"], Config(root=cwd),
                         stdin_text="-- migrator: phase=contract release=2.0\nDROP TABLE t;\n")
    assert (src.path, src.kind, src.declared_phase, src.release) == ("<stdin>", "stdin", "contract", "2.0")
    assert [(st.sql, st.loc.line, st.loc.path) for st in src.statements] == [
        ("DROP TABLE t", 2, "<stdin>")]


def test_dash_without_given_text_reads_the_process_stdin(cwd, monkeypatch):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT 1;"))
    [src] = load_sources(["-"], Config(root=cwd))
    assert [st.sql for st in src.statements] == ["SELECT 1"]


# -- excludes -----------------------------------------------------------------------------------

def test_exclude_globs_drop_files_and_directories(cwd):
    write(cwd, "m/001_a.sql")
    write(cwd, "m/legacy/000_old.sql")
    write(cwd, "m/002_b.sql")
    write(cwd, "m/003_scratch.sql")
    assert names(load(["m"], cwd, exclude=["m/legacy", "*scratch*"])) == ["m/001_a.sql", "m/002_b.sql"]
    assert names(load(["m"], cwd, exclude=["**/legacy/*.sql"])) == [
        "m/001_a.sql", "m/002_b.sql", "m/003_scratch.sql"]


def test_exclude_patterns_are_relative_to_the_config_root(cwd):
    write(cwd, "proj/m/001_a.sql")
    write(cwd, "proj/m/002_b.sql")
    config = Config(root=cwd / "proj", exclude=["m/002_b.sql"])
    assert names(load_sources(["proj/m"], config)) == ["proj/m/001_a.sql"]


# -- usage errors -------------------------------------------------------------------------------

def test_missing_path_is_a_usage_error_naming_it(cwd):
    write(cwd, "m.sql")
    with pytest.raises(UsageError) as e:
        load(["m.sql", "nope/missing.sql"], cwd)
    assert e.value.exit_code == EXIT_USAGE
    assert e.value.path == "nope/missing.sql"
    assert "nope/missing.sql" in str(e.value)


def test_a_file_that_is_not_a_migration_is_a_usage_error(cwd):
    write(cwd, "notes.txt", "hello")
    with pytest.raises(UsageError) as e:
        load(["notes.txt"], cwd)
    assert e.value.path == "notes.txt" and e.value.exit_code == EXIT_USAGE


def test_an_unreadable_file_is_a_usage_error(cwd):
    d = write(cwd, "dir.sql/x", "")  # a directory named like a file cannot be read as one
    from migrator.sources.sqlfiles import load_sql_file

    with pytest.raises(UsageError) as e:
        load_sql_file(d.parent, "dir.sql")
    assert e.value.path == "dir.sql"


# -- projects and defaults ----------------------------------------------------------------------

def _copy_versions(dst: Path) -> None:
    src = FIXTURES / "alembic_project" / "migrations" / "versions"
    dst.mkdir(parents=True)
    for f in src.glob("000[1-3]*.py"):
        (dst / f.name).write_text(f.read_text())


@pytest.mark.parametrize("table", ["alembic", "migrator"])
def test_pyproject_script_location_names_the_alembic_scripts(cwd, table):
    _copy_versions(cwd / "app" / "db" / "versions")
    write(cwd, "app/pyproject.toml", f'[tool.{table}]\nscript_location = "%(here)s/db"\n')
    assert [s.revision for s in load(["app"], cwd)] == ["e0001", "c0001", "e0002"]
    assert [s.revision for s in load(["app/pyproject.toml"], cwd)] == ["e0001", "c0001", "e0002"]


def test_alembic_ini_relative_script_location_and_version_locations(cwd):
    _copy_versions(cwd / "svc" / "extra")
    (cwd / "svc" / "scripts").mkdir()
    write(cwd, "svc/alembic.ini",
          "[alembic]\nscript_location = scripts\nversion_locations = %(here)s/extra\n")
    sources = load(["svc"], cwd)
    assert [s.path for s in sources][0] == "svc/extra/0001_create_users.py"


def test_no_paths_uses_the_configured_script_location(cwd):
    _copy_versions(cwd / "migrations" / "versions")
    config = Config(root=cwd, script_location="migrations")
    assert [s.revision for s in load_sources([], config)] == ["e0001", "c0001", "e0002"]


def test_no_paths_uses_the_projects_alembic_ini(cwd):
    _copy_versions(cwd / "alembic" / "versions")
    write(cwd, "alembic.ini", "[alembic]\nscript_location = %(here)s/alembic\n")
    assert [s.revision for s in load_sources([], Config(root=cwd))] == ["e0001", "c0001", "e0002"]


def test_no_paths_and_no_project_is_a_usage_error(cwd):
    with pytest.raises(UsageError) as e:
        load_sources([], Config(root=cwd))
    assert "script_location" in str(e.value)


def test_script_location_that_does_not_exist_is_a_usage_error(cwd):
    write(cwd, "alembic.ini", "[alembic]\nscript_location = %(here)s/gone\n")
    with pytest.raises(UsageError) as e:
        load(["alembic.ini"], cwd)
    assert e.value.path == "alembic.ini" and "gone" in str(e.value)


def test_sql_and_alembic_sources_mix_in_the_order_given(cwd):
    _copy_versions(cwd / "alembic" / "versions")
    write(cwd, "hotfix.sql", "-- migrator: phase=expand release=1.0.1\nSELECT 1;\n")
    sources = load(["hotfix.sql", "alembic/versions"], cwd)
    assert [s.kind for s in sources] == ["sql", "alembic", "alembic", "alembic"]
    assert os.path.basename(sources[1].path) == "0001_create_users.py"


def test_a_plain_sql_file_is_judged_as_one_transaction_unless_something_declares_its_mode():
    from migrator.sources.sqlfiles import sql_source

    plain = sql_source(b"CREATE INDEX CONCURRENTLY i ON t (a);", "a.sql")
    assert [s.in_transaction for s in plain.statements] == [True]
    assert (plain.transaction, plain.transaction_declared) == ("file", False)
    assert "not declared" in plain.transaction_reason
    wrapped = sql_source(b"-- migrator: transaction=true\nCREATE INDEX CONCURRENTLY i ON t (a);", "b.sql")
    assert [s.in_transaction for s in wrapped.statements] == [True]
    assert (wrapped.transaction, wrapped.transaction_declared) == ("file", True)
    configured = sql_source(b"CREATE INDEX CONCURRENTLY i ON t (a);", "c.sql", assume_in_transaction=True)
    assert [s.in_transaction for s in configured.statements] == [True]
    assert configured.transaction_declared
    header_wins = sql_source(b"-- migrator: transaction=false\nSELECT 1;", "d.sql", assume_in_transaction=True)
    assert [s.in_transaction for s in header_wins.statements] == [False]
    by_statement = sql_source(b"SELECT 1;", "e.sql", sql_transaction="statement")
    assert [s.in_transaction for s in by_statement.statements] == [False]
    assert by_statement.transaction_reason == '[tool.migrator] sql_transaction = "statement"'


def test_suppression_comment_in_the_leading_block_is_not_a_bad_header():
    from migrator.sources.sqlfiles import sql_source

    src = sql_source(b"-- migrator: ignore[truncate] test fixture table\n-- migrator: transaction=maybe\nTRUNCATE t;", "e.sql")
    assert [(f.rule, f.loc.line) for f in src.diagnostics] == [("bad-migration-header", 2)]
