"""drop first_name and last_name; full_name becomes NOT NULL

Revision ID: c130_drop_name_columns
Revises: c121_validate_full_name_check
"""
from alembic import op
import sqlalchemy as sa

revision = "c130_drop_name_columns"
down_revision = "c121_validate_full_name_check"
branch_labels = None
depends_on = "e120_relax_name_columns"

phase = "contract"
release = "1.3.0"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        # PostgreSQL >= 12 proves NOT NULL from the validated check: no table scan.
        batch.alter_column("full_name", existing_type=sa.Text, nullable=False)
        batch.drop_column("first_name")
        batch.drop_column("last_name")
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE users DROP CONSTRAINT ck_users_full_name_not_null")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("first_name", sa.Text, nullable=True))
        batch.add_column(sa.Column("last_name", sa.Text, nullable=True))
        batch.alter_column("full_name", existing_type=sa.Text, nullable=True)
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE users ADD CONSTRAINT ck_users_full_name_not_null "
                   "CHECK (full_name IS NOT NULL) NOT VALID")
