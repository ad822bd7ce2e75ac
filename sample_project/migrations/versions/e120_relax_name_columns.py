"""let first_name and last_name be NULL: release 1.2.0 writes only full_name

Revision ID: e120_relax_name_columns
Revises: e111_index_full_name
"""
from alembic import op
import sqlalchemy as sa

revision = "e120_relax_name_columns"
down_revision = "e111_index_full_name"
branch_labels = None
depends_on = None

phase = "expand"
release = "1.2.0"


def upgrade() -> None:
    # ALTER COLUMN ... DROP NOT NULL on PostgreSQL; a table copy on SQLite.
    with op.batch_alter_table("users") as batch:
        batch.alter_column("first_name", existing_type=sa.Text, nullable=True)
        batch.alter_column("last_name", existing_type=sa.Text, nullable=True)


def downgrade() -> None:
    # rows release 1.2.0 wrote carry only full_name: give the old columns a value first
    op.execute("UPDATE users SET first_name = coalesce(first_name, full_name, ''), "
               "last_name = coalesce(last_name, '') WHERE first_name IS NULL OR last_name IS NULL")
    with op.batch_alter_table("users") as batch:
        batch.alter_column("first_name", existing_type=sa.Text, nullable=False)
        batch.alter_column("last_name", existing_type=sa.Text, nullable=False)
