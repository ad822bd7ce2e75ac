"""Rendering Alembic revisions in isolated children: render rate and lint time on a generated,
real-shaped history (prints figures; not a test).

The generated project mixes what public Alembic histories contain: tables with many columns,
enums, foreign keys, indexes built concurrently in ``autocommit_block()``, column changes with
``existing_type``, raw ``op.execute`` SQL, ``bulk_insert`` of lookup rows, data migrations that
read rows through ``op.get_bind()`` and loop over them, ORM sessions looping until
``query.count() == 0``, helpers and settings imported from the application, environment
variables read at import, and revisions that print their progress.

    python benchmarks/render_bench.py [--revisions 600] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = '''"""{doc}"""
import os

import sqlalchemy as sa
from alembic import op
{imports}
revision = "{rev}"
down_revision = {down}
phase = "{phase}"
release = "{release}"
'''

SHAPES = {
    "create_table": ('create table {t}', "", '''

def upgrade():
    op.create_table(
        "{t}",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created", sa.DateTime, server_default=sa.text("now()"), nullable=False),
        sa.Column("name", sa.UnicodeText, nullable=False),
        sa.Column("kind", sa.Enum("a", "b", "c", name="{t}_kind")),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE")),
        sa.Column("extra", sa.dialects.postgresql.JSONB, server_default="{{}}"),
    )
'''),
    "add_column": ('add {t}.note', "", '''

def upgrade():
    op.add_column("{t}", sa.Column("note_{n}", sa.Text(), nullable=True))
'''),
    "index_concurrently": ('index {t}', "", '''

def upgrade():
    with op.get_context().autocommit_block():
        op.create_index("ix_{t}_{n}", "{t}", ["name"], postgresql_concurrently=True)
'''),
    "alter_type": ('widen {t}.name', "", '''

def upgrade():
    op.alter_column("{t}", "name", type_=sa.UnicodeText(), existing_type=sa.String(100))
'''),
    "raw_sql": ('raw SQL on {t}', "", '''

def upgrade():
    op.execute("COMMENT ON TABLE {t} IS 'rev {n}'")
    op.execute(sa.text("UPDATE {t} SET name = trim(name) WHERE id BETWEEN 1 AND 1000"))
'''),
    "bulk_insert": ('seed lookup rows', "", '''

def upgrade():
    table = sa.table("lookup", sa.column("code", sa.String), sa.column("label", sa.String))
    op.bulk_insert(table, [{{"code": f"c{{i}}", "label": f"label {{i}}"}} for i in range(20)])
'''),
    "fetchall_loop": ('fix rows one by one', "", '''

def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name FROM {t} WHERE name LIKE 'x%'")).fetchall()
    for row in rows:
        conn.execute(sa.text("UPDATE {t} SET name = :n WHERE id = :id"),
                     {{"n": row.name.lower(), "id": row.id}})
'''),
    "orm_count_loop": ('dedupe with an ORM session', "from sqlalchemy import orm\n\nfrom shopapp.models import Item\n", '''

def upgrade():
    session = orm.Session(bind=op.get_bind())
    while True:
        q = session.query(Item).filter(Item.name.is_(None)).limit(500)
        if q.count() == 0:
            break
        for item in q:
            session.delete(item)
        session.commit()
'''),
    "helper_and_setting": ('helper from the app', "from shopapp.helpers import comment\nfrom shopapp.settings import SCHEMA\n", '''

def upgrade():
    comment("{t}", "owned by " + SCHEMA)
'''),
    "env_at_import": ('tenant from the environment', "", '''
TENANT = os.environ["BENCH_TENANT_SCHEMA"]


def upgrade():
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {{TENANT}}")
'''),
    "prints": ('prints progress', "", '''

def upgrade():
    print("migrating {t}...")
    op.add_column("{t}", sa.Column("flag_{n}", sa.Boolean(), server_default=sa.false()))
'''),
    "drop_column": ('drop {t}.note', "", '''

def upgrade():
    op.drop_column("{t}", "old_{n}")
'''),
}
# how often each shape appears (about what public histories show)
WEIGHTS = {"create_table": 10, "add_column": 22, "index_concurrently": 8, "alter_type": 8,
           "raw_sql": 12, "bulk_insert": 3, "fetchall_loop": 5, "orm_count_loop": 3,
           "helper_and_setting": 6, "env_at_import": 2, "prints": 6, "drop_column": 15}


def generate(root: Path, count: int) -> Path:
    (root / "shopapp").mkdir(parents=True)
    (root / "shopapp" / "__init__.py").write_text("")
    (root / "shopapp" / "settings.py").write_text(
        "import os\n\nSCHEMA = os.environ.get('BENCH_SCHEMA', 'public')\n")
    (root / "shopapp" / "helpers.py").write_text(
        "from alembic import op\n\n\ndef comment(table, text):\n"
        "    op.execute(f\"COMMENT ON TABLE {table} IS '{text}'\")\n")
    (root / "shopapp" / "models.py").write_text(
        "import sqlalchemy as sa\nfrom sqlalchemy import orm\n\nBase = orm.declarative_base()\n\n\n"
        "class Item(Base):\n    __tablename__ = 'items'\n    id = sa.Column(sa.Integer, primary_key=True)\n"
        "    name = sa.Column(sa.Text)\n")
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n"
                                      "prepend_sys_path = .\n")
    deck = [name for name, w in WEIGHTS.items() for _ in range(w)]
    down = "None"
    for n in range(count):
        shape = deck[(n * 7) % len(deck)]
        doc, imports, body = SHAPES[shape]
        table = f"t{n % 40}"
        phase = "contract" if shape == "drop_column" else "expand"
        rev = f"{n:04d}{shape[:6]}"
        release = f"1.{n // 20}.0"
        text = HEADER.format(doc=doc.format(t=table), imports=imports, rev=rev, down=down,
                             phase=phase, release=release) + body.format(t=table, n=n)
        (versions / f"{rev}_{shape}.py").write_text(text)
        down = f'"{rev}"'
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--revisions", type=int, default=600)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()
    from migrator.config import Config
    from migrator.sources.alembic_offline import import_path, render_revisions
    from migrator.sources.isolated import RenderSettings, render_isolated

    with tempfile.TemporaryDirectory() as tmp:
        root = generate(Path(tmp) / "proj", args.revisions)
        files = sorted((p, str(p)) for p in (root / "migrations" / "versions").glob("*.py"))
        settings = RenderSettings(workers=args.jobs)
        t0 = time.perf_counter()
        sources = render_isolated(files, script_dir=root / "migrations", sys_path=[root],
                                  settings=settings)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        render_isolated(files, script_dir=root / "migrations", sys_path=[root], settings=settings)
        warm = time.perf_counter() - t0
        errors = [s for s in sources if any(d.severity.value == "error" for d in s.diagnostics)]
        t0 = time.perf_counter()
        render_revisions(files, script_dir=root / "migrations", sys_path=[root])
        inproc = time.perf_counter() - t0
        del import_path, Config
        n = len(files)
        print(f"revisions: {n}")
        print(f"isolated render, children started: {cold:.2f} s ({n / cold:.0f} revisions/s)")
        print(f"isolated render, children reused:  {warm:.2f} s ({n / warm:.0f} revisions/s)")
        print(f"in-process render (not isolated):  {inproc:.2f} s ({n / inproc:.0f} revisions/s)")
        print(f"rendered without an error finding: {n - len(errors)}/{n} "
              f"({100.0 * (n - len(errors)) / n:.1f}%)")
        for s in errors[:5]:
            print("  error:", s.path, [d.message[:100] for d in s.diagnostics])
        env = {**os.environ, "BENCH_TENANT_SCHEMA": "tenant"}
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "migrator", "lint", "--no-cache", "--format",
                               "json", str(root)], capture_output=True, text=True, env=env, cwd=tmp)
        lint = time.perf_counter() - t0
        print(f"migrator lint --no-cache (whole run, new process): {lint:.2f} s, exit {proc.returncode}")


if __name__ == "__main__":
    main()
