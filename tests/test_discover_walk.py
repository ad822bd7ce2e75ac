"""Walking what `migrator lint` is given: symbolic links back up the tree, FIFOs, sockets and broken
links. Each case runs the real command line in a subprocess with a timeout, so a regression that
walks forever or blocks on a FIFO fails instead of hanging the suite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADD = "-- migrator: phase=expand release=1.0.0\nALTER TABLE t ADD COLUMN c{n} int;\n"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs")


def lint(args: list[str], cwd: Path, stdin: str | None = None, cache: bool = False):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATOR_")}
    env["PYTHONPATH"] = str(ROOT)
    argv = [sys.executable, "-m", "migrator", "lint", "--format", "json", *args]
    if not cache:
        argv.append("--no-cache")
    proc = subprocess.run(argv, cwd=cwd, env=env, input=stdin if stdin is not None else "",
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr


def paths_of(out: str) -> list[str]:
    return [m["path"] for m in json.loads(out)["migrations"]]


@pytest.fixture
def loops(tmp_path) -> Path:
    """loop2/a/same -> ../a and loop2/a/up -> ../../loop2 (the issue's shape), plus a second
    link to a real directory: every real directory must be read once."""
    top = tmp_path / "loop2"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "001.sql").write_text(ADD.format(n=1))
    (top / "a" / "002.sql").write_text(ADD.format(n=2))
    (top / "a" / "same").symlink_to("../a")
    (top / "a" / "up").symlink_to("../../loop2")
    (top / "again").symlink_to("a/b")
    (top / "a" / "b" / "down").symlink_to("..")
    return top


def test_symlink_cycles_end_and_each_file_is_linted_once(loops, tmp_path):
    code, out, err = lint(["loop2"], tmp_path)
    assert code == 0, err
    linted = paths_of(out)
    assert sorted(Path(p).name for p in linted) == ["001.sql", "002.sql"]


def test_walk_visits_each_real_directory_once(loops):
    """Through the Python API (in a child process: a walk that loops must not hang the suite)."""
    code = ("import json, sys; from migrator.config import Config; "
            "from migrator.sources.discover import load_sources; "
            "print(json.dumps([s.path for s in load_sources([sys.argv[1]], Config(root=sys.argv[1]))]))")
    proc = subprocess.run([sys.executable, "-c", code, str(loops)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    seen = json.loads(proc.stdout)
    assert len(seen) == 2 and len({os.path.realpath(p) for p in seen}) == 2


def test_a_fifo_in_a_directory_is_skipped_with_a_warning(tmp_path):
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "001.sql").write_text(ADD.format(n=1))
    os.mkfifo(d / "002.sql")
    code, out, err = lint(["migrations"], tmp_path)
    assert code == 0, err
    assert paths_of(out) == ["migrations/001.sql"]
    assert "warning: migrations/002.sql: skipped: a FIFO, not a regular file" in err
    assert "Traceback" not in err


def test_a_fifo_given_directly_does_not_block(tmp_path):
    os.mkfifo(tmp_path / "pipe.sql")
    (tmp_path / "ok.sql").write_text(ADD.format(n=1))
    code, out, err = lint(["pipe.sql", "ok.sql"], tmp_path)
    assert code == 0, err
    assert paths_of(out) == ["ok.sql"]
    assert "warning: pipe.sql: skipped: a FIFO" in err


def test_fifos_beside_alembic_revisions_do_not_block(tmp_path):
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a1.py").write_text(
        'revision = "a1"\ndown_revision = None\nphase = "expand"\nrelease = "1.0.0"\n'
        "from alembic import op\n\n\ndef upgrade():\n    op.execute('CREATE TABLE t (id int)')\n")
    os.mkfifo(versions / "b2.py")
    for args in (["versions"], ["versions/a1.py"]):
        code, out, err = lint(args, tmp_path)
        assert code == 0, (args, err)
        assert paths_of(out) == ["versions/a1.py"], args
    assert "warning: versions/b2.py: skipped: a FIFO" in lint(["versions"], tmp_path)[2]


def test_sockets_and_broken_links_are_skipped_with_a_warning(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "001.sql").write_text(ADD.format(n=1))
    (d / "002.sql").symlink_to("nowhere.sql")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(d / "003.sql"))
        code, out, err = lint(["m"], tmp_path)
    finally:
        sock.close()
    assert code == 0, err
    assert paths_of(out) == ["m/001.sql"]
    assert "m/002.sql: skipped: a broken symbolic link" in err
    assert "m/003.sql: skipped: a socket" in err


def test_the_cached_run_repeats_the_warning_and_stdin_still_works(tmp_path):
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "001.sql").write_text(ADD.format(n=1))
    os.mkfifo(d / "002.sql")
    first = lint(["migrations"], tmp_path, cache=True)
    second = lint(["migrations"], tmp_path, cache=True)  # a whole-run cache hit
    assert first[0] == second[0] == 0 and paths_of(first[1]) == paths_of(second[1])
    assert "002.sql: skipped: a FIFO" in first[2] and "002.sql: skipped: a FIFO" in second[2]
    code, out, err = lint(["-"], tmp_path, stdin="ALTER TABLE t ADD COLUMN c int;\n")
    assert code == 0 and paths_of(out) == ["<stdin>"], err
