NAME = "hidden-data-migration"
SEVERITY = "warning"
SUMMARY = "A revision reads from the database and decides in Python: what it emits cannot be seen."
WHY = """\
Rendered offline there is no database, so `conn.execute(...).fetchall()` returns nothing and
whatever the revision would do with the rows (UPDATEs per row, DDL chosen at run time) is
invisible to the linter. The statements it does emit are checked; the rest is not.
(Reported by the Alembic source reader, on the line that reads.)"""
FIX = "express the change as set-based SQL (or a declared batched backfill), or review it and suppress with the reason"
FIX_SQL = """\
UPDATE users SET note = 'x' WHERE id BETWEEN 1 AND 10000;   -- per batch"""
FIX_ALEMBIC = """\
def upgrade():
    op.execute("UPDATE users SET note = 'x' WHERE id BETWEEN 1 AND 10000")"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "r3"
down_revision = None
phase = "expand"


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id FROM users WHERE id < 100")).fetchall()
    for (id_,) in rows:
        op.execute(sa.text(f"UPDATE users SET note = 'x' WHERE id = {id_}"))
''']
GOOD = ['''\
from alembic import op

revision = "r3"
down_revision = None
phase = "expand"


def upgrade():
    op.execute("UPDATE users SET note = 'x' WHERE id < 100")
''']
ENGINE = True
