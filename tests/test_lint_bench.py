"""The lint benchmark's measuring parts: the phase table covers the modules a lint runs, and the
sampler charges time where it was spent. (The figures themselves are printed by
benchmarks/lint_bench.py; nothing here is timed.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import lint_bench  # noqa: E402

LINT_PACKAGES = ["migrator/sql", "migrator/sources", "migrator/lint", "migrator/report", "migrator/script",
                 "migrator/rules"]


def _modules() -> list[str]:
    names = []
    for package in LINT_PACKAGES:
        for p in (ROOT / package).glob("*.py"):  # a package's __init__ only gathers its modules
            if p.stem != "__init__":
                names.append(f"{package.replace('/', '.')}.{p.stem}")
    return names + ["migrator.model", "migrator.cli.lint_cmd", "migrator.pgfacts", "sqlglot.parser"]


def _mapped(module: str) -> bool:
    parts = module.split(".")
    return any(".".join(parts[:i]) in lint_bench.PHASES for i in range(len(parts), 0, -1))


def test_every_module_of_the_lint_has_a_phase():
    assert sum(m.startswith("migrator.rules.") for m in _modules()) > 40  # the packages were found
    unmapped = [m for m in _modules() if not _mapped(m)]
    assert unmapped == []
    assert {lint_bench._phase_of(m) for m in _modules()} <= set(lint_bench.PHASE_ORDER) | {None}


@pytest.mark.parametrize("module, phase", [
    ("sqlglot.dialects.dialect", "parse"), ("migrator.sql.parse", "parse"), ("migrator.sql.split", "read"),
    ("migrator.sources.discover", "read"), ("migrator.sources.isolated", "render"),
    ("migrator.rules.add_column_default", "classify"), ("migrator.lint.state", "state"),
    ("migrator.lint.cache", "cache"), ("migrator.report.json", "report"), ("migrator.model", None),
    ("migrator.somewhere_new", "other"),
])
def test_longest_prefix_decides(module, phase):
    assert lint_bench._phase_of(module) == phase


def test_sampler_charges_each_module_its_time(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    # work at import time, in a module, and in a pass-through helper called from it
    (pkg / "heavy.py").write_text("TOTAL = sum(i * i for i in range(1_500_000))\n")
    (pkg / "data.py").write_text("import json\n\ndef encode(i):\n    return json.dumps({'i': i, 'sq': i * i})\n")
    (pkg / "busy.py").write_text(
        "from pkg import data\n\n"
        "def main(argv):\n"
        "    import pkg.heavy\n"
        "    n = sum(len(data.encode(i)) for i in range(int(argv[0])))\n"
        "    print(n)\n")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "phase_sampler.py"), str(out), "pkg",
                           "pkg.data", "pkg.busy:main", "150000"],
                          cwd=tmp_path, capture_output=True, text=True, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().isdigit()  # the program ran to the end, its output untouched
    data = json.loads(out.read_text())
    by = data["by"]
    assert sum(w for w, _ in by.values()) == pytest.approx(data["total"], abs=1e-6)
    assert data["samples"] > 0
    assert "pkg.data" not in by  # charged to its caller
    assert by["pkg.busy"][0] > 0 and by["import:pkg"][0] > 0  # json under pkg.data is pkg.busy's
    assert max(by, key=lambda k: by[k][0]) == "pkg.busy"
    assert data["cpu_self"] >= sum(c for _, c in by.values()) - 0.01


def test_sampler_reports_the_exit_status(tmp_path):
    (tmp_path / "fails.py").write_text("import sys\n\ndef main(argv):\n    sys.exit(3)\n")
    out = tmp_path / "profile.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "phase_sampler.py"), str(out), "fails",
                           "-", "fails:main"], cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 3
    assert json.loads(out.read_text())["rc"] == 3
