"""index users.full_name (concurrently on PostgreSQL)

Revision ID: e111_index_full_name
Revises: e110_add_full_name
"""
from alembic import op

revision = "e111_index_full_name"
down_revision = "e110_add_full_name"
branch_labels = None
depends_on = None

phase = "expand"
release = "1.1.0"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # CREATE INDEX CONCURRENTLY cannot run in a transaction block. IF NOT EXISTS makes a
        # retry after a lock timeout safe (migrator drops an INVALID leftover before retrying).
        with op.get_context().autocommit_block():
            op.create_index("ix_users_full_name", "users", ["full_name"],
                            postgresql_concurrently=True, if_not_exists=True)
    else:
        op.create_index("ix_users_full_name", "users", ["full_name"], if_not_exists=True)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index("ix_users_full_name", table_name="users",
                          postgresql_concurrently=True, if_exists=True)
    else:
        op.drop_index("ix_users_full_name", table_name="users", if_exists=True)
