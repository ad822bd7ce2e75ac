"""add users.full_name and backfill it from first_name and last_name

Revision ID: e110_add_full_name
Revises: e100_create_tables
"""
from alembic import op
import sqlalchemy as sa

revision = "e110_add_full_name"
down_revision = "e100_create_tables"
branch_labels = None
depends_on = None

phase = "expand"
release = "1.1.0"


def upgrade() -> None:
    # Nullable: release 1.0.0 keeps inserting users without it while 1.1.0 rolls out.
    op.add_column("users", sa.Column("full_name", sa.Text, nullable=True))
    _backfill_full_name()


def _backfill_full_name() -> None:
    """Declared as a batched backfill: migrator runs it in key order, in small transactions,
    after this migration commits (plain ``alembic upgrade`` runs it inline)."""
    try:
        from migrator.backfill.api import backfill
    except ImportError:  # migrator without the backfill module: one bounded statement
        op.execute("UPDATE users SET full_name = first_name || ' ' || last_name "
                   "WHERE full_name IS NULL")
        return
    backfill("users", set={"full_name": "first_name || ' ' || last_name"},
             where="full_name IS NULL", key=["id"], name="users_full_name_1_1_0")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("full_name")
