"""A realistic Alembic project that never heard of migrator: 120 untagged revisions written over
years (tables, columns, plain indexes, renames, a data migration through an ORM session), models
the revisions import, an env.py that imports them for autogenerate, and the team's scripts
running ``alembic upgrade head``. Used by the adoption tests."""

from __future__ import annotations

import textwrap
from pathlib import Path

REVISIONS = 120
TABLES = ("accounts", "projects", "invoices", "audit_log")

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
path_separator = os
sqlalchemy.url = {url}

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""Alembic environment as `alembic init` writes it, with the app's models for autogenerate."""
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.models import Base

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade():
    ${upgrades if upgrades else "pass"}


def downgrade():
    ${downgrades if downgrades else "pass"}
'''

MODELS = '''\
"""The application's models (what the ORM maps today)."""
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str | None] = mapped_column(sa.Text)
'''

MAKEFILE = """\
migrate:
\talembic upgrade head

test: migrate
\tpytest
"""

DEPLOY_SH = """\
#!/bin/sh
set -e
alembic -c alembic.ini upgrade head
exec gunicorn app:wsgi
"""


def rev_id(i: int) -> str:
    return f"{i:04d}a1b2c3d4"


def _revision(i: int, body: str, down_body: str, message: str, imports: str = "") -> str:
    down = repr(rev_id(i - 1)) if i > 1 else "None"
    return (f'"""{message}\n\nRevision ID: {rev_id(i)}\nRevises: {rev_id(i - 1) if i > 1 else ""}\n"""\n'
            f"from alembic import op\nimport sqlalchemy as sa\n{imports}\n"
            f'revision = "{rev_id(i)}"\ndown_revision = {down}\nbranch_labels = None\ndepends_on = None\n\n\n'
            f"def upgrade():\n{textwrap.indent(body, '    ')}\n\n\n"
            f"def downgrade():\n{textwrap.indent(down_body, '    ')}\n")


def _history() -> list[tuple[str, str, str, str]]:
    """(message, upgrade body, downgrade body, imports) for each revision, oldest first."""
    out = []
    for t in TABLES:
        out.append((f"create {t}", f'op.create_table("{t}", sa.Column("id", sa.Integer, primary_key=True),\n'
                    f'                sa.Column("name", sa.String(100), nullable=True))',
                    f'op.drop_table("{t}")', ""))
    out.append(("accounts email", 'op.add_column("accounts", sa.Column("email", sa.String(255), nullable=True))',
                'op.drop_column("accounts", "email")', ""))
    # a data migration through an ORM session, importing the app's models
    out.append(("backfill account emails",
                'bind = op.get_bind()\n'
                'session = orm.Session(bind=bind)\n'
                'rows = bind.execute(sa.text("SELECT id, name FROM accounts")).fetchall()\n'
                'for row in rows:\n'
                '    account = session.get(models.Account, row.id)\n'
                '    if account is not None:\n'
                '        account.email = f"{row.name}@example.com"\n'
                'session.flush()',
                'pass', "from sqlalchemy import orm\nfrom app import models\n"))
    out.append(("rename accounts.name", 'op.alter_column("accounts", "name", new_column_name="display_name")',
                'op.alter_column("accounts", "display_name", new_column_name="name")', ""))
    # a revision that does online what it does not show offline (a plain index, from years ago)
    out.append(("index account emails online", 'if not op.get_context().as_sql:\n'
                '    op.execute("CREATE INDEX ix_accounts_email ON accounts (email)")',
                'op.execute("DROP INDEX IF EXISTS ix_accounts_email")', ""))
    n = len(out)
    for i in range(n, REVISIONS):
        t = TABLES[1 + i % 3]  # accounts' shape stays what the models say
        col = f"c{i:03d}"
        if i % 4 == 0:
            out.append((f"index {t}.{col}", f'op.add_column("{t}", sa.Column("{col}", sa.Integer, nullable=True))\n'
                        f'op.create_index("ix_{t}_{col}", "{t}", ["{col}"])',
                        f'op.drop_index("ix_{t}_{col}", table_name="{t}")\nop.drop_column("{t}", "{col}")', ""))
        elif i % 7 == 0:
            out.append((f"default for {t}.{col}", f'op.add_column("{t}", sa.Column("{col}", sa.Integer, '
                        f'nullable=False, server_default="0"))', f'op.drop_column("{t}", "{col}")', ""))
        else:
            out.append((f"{t}.{col}", f'op.add_column("{t}", sa.Column("{col}", sa.Text, nullable=True))',
                        f'op.drop_column("{t}", "{col}")', ""))
    return out


def write_project(root: Path, url: str) -> Path:
    """The project in ``root`` (alembic.ini's sqlalchemy.url set to ``url``); returns root."""
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "app").mkdir()
    (root / "alembic.ini").write_text(ALEMBIC_INI.format(url=url.replace("%", "%%")), encoding="utf-8")
    (root / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "migrations" / "script.py.mako").write_text(MAKO, encoding="utf-8")
    (root / "app" / "__init__.py").write_text("", encoding="utf-8")
    (root / "app" / "models.py").write_text(MODELS, encoding="utf-8")
    (root / "Makefile").write_text(MAKEFILE, encoding="utf-8")
    (root / "deploy.sh").write_text(DEPLOY_SH, encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "shop"\nversion = "3.4.1"\n', encoding="utf-8")
    for i, (message, body, down, imports) in enumerate(_history(), 1):
        (root / "migrations" / "versions" / f"{rev_id(i)}_{message.replace(' ', '_').replace('.', '_')}.py"
         ).write_text(_revision(i, body, down, message, imports), encoding="utf-8")
    return root
