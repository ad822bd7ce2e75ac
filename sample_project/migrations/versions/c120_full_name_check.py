"""require full_name for new rows: CHECK (full_name IS NOT NULL) NOT VALID

Revision ID: c120_full_name_check
Revises:
Depends on: e120_relax_name_columns
"""
from alembic import op

revision = "c120_full_name_check"
down_revision = None
branch_labels = ("contract",)
depends_on = "e120_relax_name_columns"

phase = "contract"
release = "1.2.0"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        # NOT VALID: checks new writes only, so no scan under ACCESS EXCLUSIVE.
        op.execute("ALTER TABLE users ADD CONSTRAINT ck_users_full_name_not_null "
                   "CHECK (full_name IS NOT NULL) NOT VALID")
    _second_backfill_pass()


def _second_backfill_pass() -> None:
    """Rows release 1.0.0 inserted after the first backfill still lack full_name."""
    try:
        from migrator.backfill.api import backfill
    except ImportError:
        op.execute("UPDATE users SET full_name = first_name || ' ' || last_name "
                   "WHERE full_name IS NULL")
        return
    backfill("users", set={"full_name": "first_name || ' ' || last_name"},
             where="full_name IS NULL", key=["id"], name="users_full_name_1_2_0")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE users DROP CONSTRAINT IF EXISTS ck_users_full_name_not_null")
