"""Real-shaped migration corpora for the lint benchmark (deterministic for a seed).

The SQL corpus follows what four public PostgreSQL projects' 1,968 migration files measured:
file size median ~118 bytes, p90 ~1.4 KB, p99 ~12 KB, max ~33 KB; ~4.6 statements a file on
average (p99 ~67); about 6% of the files hold ``$$`` function bodies; diesel ``up.sql`` /
``down.sql`` pairs beside flat numbered files; a few ~30 KB initial schemas. The Alembic corpus
is a linear history of revisions written the way autogenerate and people write them.
"""

from __future__ import annotations

import random
from pathlib import Path

_TYPES = ["bigint", "integer", "text", "varchar(255)", "boolean", "timestamptz", "jsonb", "uuid",
          "numeric(12,2)", "date", "smallint", "text[]"]
_WORDS = ["user", "account", "order", "invoice", "event", "item", "project", "team", "token",
          "session", "payment", "address", "comment", "tag", "file", "job", "audit", "setting"]


class _Names:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.n = 0
        self.tables: list[str] = []

    def table(self) -> str:
        self.n += 1
        return f"{self.rng.choice(_WORDS)}s_{self.n}"

    def existing(self) -> str:
        return self.rng.choice(self.tables) if self.tables else "users"

    def column(self) -> str:
        self.n += 1
        return f"{self.rng.choice(_WORDS)}_{self.rng.choice(['id', 'name', 'at', 'count', 'state', 'ref'])}_{self.n}"


def _create_table(n: _Names, columns: int) -> str:
    t = n.table()
    n.tables.append(t)
    cols = ["    id bigserial PRIMARY KEY"]
    for _ in range(columns):
        c, ty = n.column(), n.rng.choice(_TYPES)
        extra = n.rng.choice(["", "", " NOT NULL", " NOT NULL DEFAULT now()" if ty == "timestamptz" else "",
                              " DEFAULT false" if ty == "boolean" else "", " UNIQUE"])
        cols.append(f"    {c} {ty}{extra}")
    if n.rng.random() < 0.4 and len(n.tables) > 1:
        other = n.rng.choice(n.tables[:-1])
        cols.append(f"    {other}_id bigint REFERENCES {other} (id) ON DELETE CASCADE")
    return f"CREATE TABLE {t} (\n" + ",\n".join(cols) + "\n)"


def _function(n: _Names) -> str:
    t = n.existing()
    lines = "\n".join(f"    IF NEW.{n.column()} IS NULL THEN\n        NEW.updated_at := now();\n    END IF;"
                      for _ in range(n.rng.randint(1, 12)))
    name = f"{t}_touch_{n.n}"
    return (f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\n"
            f"BEGIN\n{lines}\n    RETURN NEW;\nEND;\n$$;\n\n"
            f"CREATE TRIGGER {name}_trg BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {name}()")


def _statement(n: _Names) -> str:
    t, rng = n.existing(), n.rng
    c = n.column()
    return rng.choice([
        f"ALTER TABLE {t} ADD COLUMN {c} {rng.choice(_TYPES)}",
        f"ALTER TABLE {t} ADD COLUMN {c} boolean NOT NULL DEFAULT false",
        f"CREATE INDEX {t}_{c}_idx ON {t} ({c})",
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_{c}_idx ON {t} USING btree ({c})",
        f"CREATE UNIQUE INDEX {t}_{c}_key ON {t} (lower({c}))",
        f"ALTER TABLE {t} DROP COLUMN IF EXISTS {c}",
        f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL",
        f"ALTER TABLE {t} ALTER COLUMN {c} TYPE text",
        f"ALTER TABLE {t} RENAME COLUMN {c} TO {c}_old",
        f"ALTER TABLE {t} ADD CONSTRAINT {t}_{c}_fkey FOREIGN KEY ({c}) REFERENCES {n.existing()} (id)",
        f"UPDATE {t} SET {c} = 0 WHERE {c} IS NULL",
        f"INSERT INTO {t} (id, {c}) VALUES (1, 'default'), (2, 'other') ON CONFLICT DO NOTHING",
        f"COMMENT ON COLUMN {t}.{c} IS 'what this {c} holds'",
        f"DROP INDEX IF EXISTS {t}_{c}_idx",
        f"CREATE TYPE {c}_kind AS ENUM ('new', 'active', 'closed')",
        f"GRANT SELECT ON {t} TO readonly",
    ])


def _statement_count(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.54:
        return 1
    if r < 0.74:
        return 2
    if r < 0.88:
        return rng.randint(3, 5)
    if r < 0.96:
        return rng.randint(6, 24)
    return rng.randint(25, 67)


def _body(n: _Names, statements: int, functions: bool) -> str:
    out = []
    for _ in range(statements):
        if n.rng.random() < (0.5 if statements > 24 else 0.3 if statements > 5 else 0.1) or not n.tables:
            out.append(_create_table(n, n.rng.randint(2, 9)))
        else:
            out.append(_statement(n))
    if functions:
        out.insert(n.rng.randrange(len(out) + 1), _function(n))
    return ";\n\n".join(out) + ";\n"


def _initial_schema(n: _Names, target: int = 30_000) -> str:
    parts: list[str] = []
    size = 0
    while size < target:
        s = _create_table(n, n.rng.randint(4, 14)) if n.rng.random() < 0.5 else _statement(n)
        parts.append(s)
        size += len(s) + 3
    return ";\n\n".join(parts) + ";\n"


def generate_sql(directory: Path, files: int = 1968, seed: int = 1968) -> list[Path]:
    """``files`` migration files in four projects: flat numbered files, diesel pairs, Flyway
    names and dbmate sections; each project starts with a ~30 KB initial schema."""
    rng = random.Random(seed)
    paths: list[Path] = []
    projects = ["flat", "diesel", "flyway", "dbmate"]
    share = [0.35, 0.35, 0.15, 0.15]
    for project, part in zip(projects, share):
        n = _Names(rng)
        root = directory / project
        root.mkdir(parents=True, exist_ok=True)
        count = int(files * part) if project != "dbmate" else files - len(paths)
        i = 0
        while i < count:
            first = i == 0
            text = _initial_schema(n) if first else _body(n, _statement_count(rng), rng.random() < 0.063)
            if project == "flat":
                p = root / f"{i + 1:04d}_{rng.choice(_WORDS)}.sql"
                p.write_text(text)
                paths.append(p)
                i += 1
            elif project == "diesel":
                d = root / f"2023-{1 + i // 150 % 12:02d}-{1 + i % 28:02d}-{i:06d}_{rng.choice(_WORDS)}"
                d.mkdir(exist_ok=True)
                (d / "up.sql").write_text(text)
                down = ";\n".join(f"DROP TABLE IF EXISTS {t}" for t in n.tables[-2:]) + ";\n"
                (d / "down.sql").write_text(down)
                paths += [d / "up.sql", d / "down.sql"]
                i += 2
            elif project == "flyway":
                p = root / f"V{i + 1}__{rng.choice(_WORDS)}.sql"
                p.write_text(text)
                paths.append(p)
                i += 1
            else:
                p = root / f"2024{i:010d}_{rng.choice(_WORDS)}.sql"
                p.write_text(f"-- migrate:up\n{text}\n-- migrate:down\nSELECT 1;\n")
                paths.append(p)
                i += 1
    return paths


def describe(paths: list[Path]) -> str:
    sizes = sorted(p.stat().st_size for p in paths)
    texts = [p.read_text() for p in paths]
    bodies = sum("$$" in t for t in texts)
    statements = sum(t.count(";") for t in texts)

    def q(f: float) -> int:
        return sizes[min(len(sizes) - 1, int(f * len(sizes)))]

    return (f"{len(paths)} files, {sum(sizes) / 1e6:.2f} MB; size median {q(0.5)} B, p90 {q(0.9)} B, "
            f"p99 {q(0.99)} B, max {sizes[-1]} B; ~{statements} statements; {bodies} with $$ bodies")


_REVISION = '''"""{message}

Revision ID: {rev}
Revises: {down}
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "{rev}"
down_revision = {down_repr}
branch_labels = None
depends_on = None

phase = "{phase}"
release = "{release}"


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def _alembic_ops(rng: random.Random, tables: list[str], i: int) -> tuple[list[str], list[str]]:
    t = rng.choice(tables)
    c = f"{rng.choice(_WORDS)}_{i}"
    kind = rng.random()
    if kind < 0.15 or not tables:
        name = f"{rng.choice(_WORDS)}s_{i}"
        tables.append(name)
        cols = ",\n".join(f"        sa.Column('{rng.choice(_WORDS)}_{k}', sa.{rng.choice(['Text()', 'Integer()', 'Boolean()', 'DateTime(timezone=True)', 'String(length=255)'])}, nullable={rng.choice(['True', 'False'])})"
                          for k in range(rng.randint(2, 8)))
        return ([f"    op.create_table(\n        '{name}',\n        sa.Column('id', sa.BigInteger(), primary_key=True),\n{cols},\n    )",
                 f"    op.create_index('ix_{name}_id', '{name}', ['id'], unique=False)"],
                [f"    op.drop_index('ix_{name}_id', table_name='{name}')", f"    op.drop_table('{name}')"])
    if kind < 0.55:
        return ([f"    op.add_column('{t}', sa.Column('{c}', sa.Text(), nullable=True))"],
                [f"    op.drop_column('{t}', '{c}')"])
    if kind < 0.7:
        return ([f"    op.create_index(op.f('ix_{t}_{c}'), '{t}', ['{c}'], unique=False, postgresql_concurrently=True)"],
                [f"    op.drop_index(op.f('ix_{t}_{c}'), table_name='{t}')"])
    if kind < 0.8:
        return ([f"    op.alter_column('{t}', '{c}', existing_type=sa.VARCHAR(length=100), type_=sa.Text(), existing_nullable=True)"],
                [f"    op.alter_column('{t}', '{c}', existing_type=sa.Text(), type_=sa.VARCHAR(length=100))"])
    if kind < 0.9:
        return ([f"    op.execute(\"UPDATE {t} SET {c} = 'x' WHERE {c} IS NULL\")"], ["    pass"])
    return ([f"    op.create_foreign_key('fk_{t}_{c}', '{t}', '{rng.choice(tables)}', ['{c}'], ['id'])"],
            [f"    op.drop_constraint('fk_{t}_{c}', '{t}', type_='foreignkey')"])


def generate_alembic(directory: Path, revisions: int = 1000, seed: int = 1000) -> Path:
    """An Alembic project (alembic.ini, env.py, versions/) with a linear history of
    ``revisions`` revisions; returns the project directory."""
    rng = random.Random(seed)
    versions = directory / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (directory / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nsqlalchemy.url = postgresql://localhost/app\n")
    (directory / "migrations" / "env.py").write_text(
        "from alembic import context\n\nif context.is_offline_mode():\n"
        "    context.configure(url=context.config.get_main_option('sqlalchemy.url'), literal_binds=True)\n"
        "    with context.begin_transaction():\n        context.run_migrations()\n")
    tables = ["users"]
    down = None
    for i in range(revisions):
        rev = f"{rng.getrandbits(48):012x}"
        ups, downs = [], []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
            u, d = _alembic_ops(rng, tables, i)
            ups += u
            downs = d + downs
        phase = "contract" if any("drop" in u for u in ups) else "expand"
        text = _REVISION.format(message=f"change {i}", rev=rev, down=down or "", down_repr=repr(down),
                                phase=phase, release=f"1.{i // 20}.0", upgrade="\n".join(ups),
                                downgrade="\n".join(downs))
        (versions / f"{rev}_change_{i}.py").write_text(text)
        down = rev
    return directory
