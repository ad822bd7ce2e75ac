"""Progress of long steps goes to standard error only: a backfill inside `expand` / `contract`,
revisions rendered by a whole-history lint; `--quiet` silences it."""

from __future__ import annotations

import io
import json

import pytest

from migrator.config import load_config
from migrator.lint.parallel import lint_paths
from migrator.report.progress import CountProgress
from tests.support.existing_project import REVISIONS, write_project
from tests.support.sample import cli, copy_sample


def test_a_backfill_inside_expand_reports_progress_on_stderr_only(tmp_path, sqlite_url, capsys):
    project = copy_sample(tmp_path)
    args = ["-d", str(project), "--database-url", sqlite_url]
    assert cli(["expand", "-r", "1.0.0", *args], capsys)[0] == 0
    code, out, err = cli(["expand", "-r", "1.1.0", "--format", "json", *args], capsys)
    assert code == 0, err
    doc = json.loads(out)  # the report stream is the document alone
    assert doc["migrations"][0]["backfills"][0]["status"] == "finished"
    assert "backfill users_full_name_1_1_0: starting" in err
    assert "backfill users_full_name_1_1_0: finished" in err and "rows walked" in err


def test_quiet_silences_the_backfill_progress(tmp_path, sqlite_url, capsys):
    project = copy_sample(tmp_path)
    args = ["-d", str(project), "--database-url", sqlite_url]
    code, out, err = cli(["expand", "-r", "1.1.0", "--quiet", *args], capsys)
    assert code == 0, err
    assert "applied" in out and "rows walked" not in err and "backfilling" not in err


def test_whole_history_lint_reports_revisions_rendered_as_they_finish(tmp_path, monkeypatch):
    project = write_project(tmp_path / "shop", "sqlite:///unused.db")
    monkeypatch.chdir(project)
    seen: list[tuple[int, int]] = []
    report = lint_paths(["migrations"], load_config(project, environ={}), use_cache=False,
                        progress=lambda done, total: seen.append((done, total)))
    assert len(report.migrations) == REVISIONS
    assert seen[-1] == (REVISIONS, REVISIONS) and all(t == REVISIONS for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and len(seen) > 2


def test_count_progress_writes_plain_lines_off_a_terminal_and_nothing_for_small_runs():
    out = io.StringIO()
    p = CountProgress("rendering revisions", stream=out, interval=0.0)
    for done in range(0, 41, 10):
        p(done, 40)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("migrator: rendering revisions: 0/40 (0%)")
    assert lines[-1].startswith("migrator: rendering revisions: 40/40 (100%)")
    small = io.StringIO()
    q = CountProgress("rendering revisions", stream=small, interval=0.0)
    for done in range(6):
        q(done, 5)
    assert small.getvalue() == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_count_progress_draws_a_bar_on_a_terminal():
    term = _Terminal()
    p = CountProgress("rendering revisions", stream=term, interval=0.0)
    for done in range(0, 101, 25):
        p(done, 100)
    assert "rendering revisions" in term.getvalue() and p.bar is not None and p.bar.finished


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_lint_accepts_quiet(tmp_path, capsys, flag):
    f = tmp_path / "a.sql"
    f.write_text("-- migrator: phase=expand release=1.0.0\nCREATE TABLE t (id int);\n")
    code, out, err = cli(["lint", str(f), flag, "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["summary"]["migrations"] == 1 and err == ""
