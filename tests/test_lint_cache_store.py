"""How the lint cache stores a run: one file, the report line first (a warm run that needs no
operations decodes only that), the entries after; either JSON codec reads what either wrote."""

from __future__ import annotations

import json
import os

import pytest

from migrator.cli import main
from migrator.lint import cache as cache_mod

MIGRATIONS = {
    "001_users.sql": "-- migrator: phase=expand release=1.0.0\nCREATE TABLE users (id bigint PRIMARY KEY, email varchar(50));\n",
    "002_index.sql": "-- migrator: phase=expand release=1.1.0\nCREATE INDEX idx_email ON users (email);\n",
    "003_widen.sql": "-- migrator: phase=expand release=1.2.0\nALTER TABLE users ALTER COLUMN email TYPE varchar(20);\n",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MIGRATOR_CACHE_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    mig = tmp_path / "migrations"
    mig.mkdir()
    for name, sql in MIGRATIONS.items():
        (mig / name).write_text(sql)
    return tmp_path


def lint(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(["lint", *args])
    return exc.value.code, capsys.readouterr().out


def run_files(project):
    return sorted((project / ".migrator_cache").rglob("runs/*.json"))


def test_a_warm_run_without_operations_reads_only_the_report_line(project, capsys):
    code, cold = lint(capsys, "--format", "json", "--no-cache", "migrations")
    assert lint(capsys, "--format", "json", "migrations") == (code, cold)
    [path] = run_files(project)
    report, rest = path.read_bytes().splitlines()
    assert json.loads(report)["migrations"][1]["findings"]  # the bad index, with the report
    path.write_bytes(report + b"\n{broken")  # entries unreadable: json needs none of them
    assert lint(capsys, "--format", "json", "migrations") == (code, cold)
    # sarif needs operations and texts (fingerprints): the broken line makes it lint for real
    _, sarif_cold = lint(capsys, "--format", "sarif", "--no-cache", "migrations")
    assert lint(capsys, "--format", "sarif", "migrations") == (code, sarif_cold)


def test_sarif_from_a_warm_run_equals_a_cold_one(project, capsys):
    _, cold = lint(capsys, "--format", "sarif", "--no-cache", "migrations")
    lint(capsys, "--format", "sarif", "migrations")
    assert lint(capsys, "--format", "sarif", "migrations")[1] == cold


@pytest.mark.parametrize("writer,reader", [("stdlib", "orjson"), ("orjson", "stdlib")])
def test_either_codec_reads_what_the_other_wrote(project, capsys, monkeypatch, writer, reader):
    if cache_mod.orjson is None:
        pytest.skip("orjson has no wheel on this platform: only the standard library codec runs")
    fast = cache_mod.orjson
    _, cold = lint(capsys, "--format", "json", "--no-cache", "migrations")
    monkeypatch.setattr(cache_mod, "orjson", fast if writer == "orjson" else None)
    lint(capsys, "--format", "json", "migrations")
    monkeypatch.setattr(cache_mod, "orjson", fast if reader == "orjson" else None)
    (project / "migrations" / "004_more.sql").write_text(  # a partial hit: entries are read
        "-- migrator: phase=expand release=1.3.0\nALTER TABLE users ADD COLUMN n int;\n")
    _, partial = lint(capsys, "--format", "json", "migrations")
    _, partial_cold = lint(capsys, "--format", "json", "--no-cache", "migrations")
    assert partial == partial_cold


@pytest.mark.skipif(os.name != "posix", reason="undecodable file names are a POSIX thing")
def test_an_undecodable_file_name_is_cached_and_read_back(project, capsys):
    """Its name carries a lone surrogate, which the fast codec refuses: the run is still stored
    and answered."""
    name = os.fsdecode(b"004_caf\xe9.sql")
    try:
        (project / "migrations" / name).write_text(
            "-- migrator: phase=expand release=1.3.0\nALTER TABLE users ADD COLUMN n int;\n")
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses undecodable names")
    code, cold = lint(capsys, "--format", "json", "--no-cache", "migrations")
    assert lint(capsys, "--format", "json", "migrations") == (code, cold)
    [path] = run_files(project)
    assert json.loads(path.read_bytes().splitlines()[0])["files"] == 4
    assert lint(capsys, "--format", "json", "migrations") == (code, cold)


def test_an_entry_decodes_to_the_result_it_encoded(project):
    """Every field of every operation (columns, constraints, phases) survives the round trip."""
    from migrator.config import load_config
    from migrator.lint.parallel import lint_paths

    (project / "migrations" / "004_more.sql").write_text(
        "-- migrator: phase=expand release=1.3.0\n"
        "CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint NOT NULL REFERENCES users (id),\n"
        "  total numeric(10, 2) DEFAULT 0 CHECK (total >= 0), note text UNIQUE);\n"
        "ALTER TABLE orders ADD CONSTRAINT positive CHECK (total > 0) NOT VALID;\n"
        "ALTER TABLE orders VALIDATE CONSTRAINT positive;\n"
        "CREATE UNIQUE INDEX CONCURRENTLY orders_note ON orders (note) WHERE note IS NOT NULL;\n"
        "DROP INDEX CONCURRENTLY IF EXISTS a, b;\n")
    report = lint_paths(["migrations"], load_config(config_file=None), use_cache=False, jobs=1)
    ops = [op for m in report.migrations for op in m.operations]
    assert any(op.columns for op in ops) and any(op.constraint for op in ops)
    assert any(op.names for op in ops) and all(op.phase is not None for op in ops)
    for m in report.migrations:
        for codec in ("orjson", "stdlib"):
            stored = json.loads(json.dumps(cache_mod.encode(m))) if codec == "stdlib" else (
                cache_mod._loads(cache_mod._dumps(cache_mod.encode(m))))
            back = cache_mod.decode(stored, m.source)
            assert back.operations == m.operations and back.findings == m.findings
            assert back.phase is m.phase


def test_entries_of_an_older_format_are_removed_when_this_one_starts(project, capsys):
    old = project / ".migrator_cache" / "lint-v2" / "runs"
    old.mkdir(parents=True)
    (old / "x.json").write_text("{}")
    keep = project / ".migrator_cache" / "headers"  # not the lint cache's: left alone
    keep.mkdir()
    lint(capsys, "--format", "json", "migrations")
    assert not old.parent.exists() and keep.is_dir()
    assert run_files(project)
