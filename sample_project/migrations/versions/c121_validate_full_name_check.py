"""validate the full_name check (a scan under SHARE UPDATE EXCLUSIVE: traffic goes on)

Revision ID: c121_validate_full_name_check
Revises: c120_full_name_check
"""
from alembic import op

revision = "c121_validate_full_name_check"
down_revision = "c120_full_name_check"
branch_labels = None
depends_on = "e120_relax_name_columns"

phase = "contract"
release = "1.2.0"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE users VALIDATE CONSTRAINT ck_users_full_name_not_null")


def downgrade() -> None:
    pass
