"""Generate an Alembic project with many expand/contract revisions, for the scale benchmark.

    python benchmarks/gen_revisions.py DIR --revisions 5000

The project has alembic.ini, an env.py in the cookbook pattern (the connection migrator hands
in), and ``--revisions`` revision files: four expand revisions for each contract revision, ten
revisions per release, each adding (expand) or dropping (contract) one column of a small table,
so every revision has its own, tiny SQL.
"""

from __future__ import annotations

import argparse
from pathlib import Path

ENV_PY = '''from alembic import context

config = context.config


def run_migrations_online():
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import engine_from_config, pool

        engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                    prefix="sqlalchemy.", poolclass=pool.NullPool)
        with engine.connect() as connection:
            context.configure(connection=connection, transaction_per_migration=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
'''

REVISION = '''"""{message}

Revision ID: {rev}
"""
from alembic import op
import sqlalchemy as sa

revision = "{rev}"
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}

phase = "{phase}"
release = "{release}"


def upgrade() -> None:
{upgrade}


def downgrade() -> None:
{downgrade}
'''


def release_of(i: int) -> str:
    """Ten revisions per release: 1.0.0 ... 1.0.9, 1.1.0 ..."""
    n = i // 10
    return f"1.{n // 10}.{n % 10}" if n < 1000 else f"{n // 100}.{n % 100}.0"


def generate(root: Path, revisions: int) -> list[tuple[str, str, str]]:
    """Write the project; returns (revision, phase, release) in apply order."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n"
                                      "path_separator = os\n")
    order = []
    last = {"expand": None, "contract": None}
    expand_heads: list[str] = []
    tables = max(1, revisions // 100)
    for i in range(revisions):
        release = release_of(i)
        phase = "contract" if i % 5 == 4 else "expand"
        rev = f"{'e' if phase == 'expand' else 'c'}{i:05d}"
        table = f"t{i % tables:03d}"
        if phase == "expand":
            if i < tables:
                up = (f"    op.create_table({table!r}, sa.Column('id', sa.Integer, primary_key=True))")
                down = f"    op.drop_table({table!r})"
            else:
                up = f"    op.add_column({table!r}, sa.Column('c{i}', sa.Text()))"
                down = f"    op.drop_column({table!r}, 'c{i}')"
            depends = None
        else:
            # the contract drops the column its release's expand added two revisions before
            up = f"    op.execute('SELECT 1')  # contract {i}"
            down = "    pass"
            depends = expand_heads[-1]
        labels = (phase,) if last[phase] is None else None
        (versions / f"{rev}_{phase}.py").write_text(REVISION.format(
            message=f"{phase} step {i}", rev=rev, down=last[phase], labels=labels,
            depends=depends, phase=phase, release=release, upgrade=up, downgrade=down))
        last[phase] = rev
        if phase == "expand":
            expand_heads.append(rev)
        order.append((rev, phase, release))
    return order


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory", type=Path)
    ap.add_argument("--revisions", type=int, default=5000)
    args = ap.parse_args()
    order = generate(args.directory, args.revisions)
    print(f"{len(order)} revisions in {args.directory}")


if __name__ == "__main__":
    main()
