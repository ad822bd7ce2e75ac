NAME = "missing-phase-tag"
SEVERITY = "warning"
SUMMARY = "An Alembic revision declares no phase = \"expand\" | \"contract\"."
WHY = """\
The phase runner decides when a revision runs (before the new release deploys, or after the
old one is gone) from the revision's `phase` attribute and its branch. A revision without one
cannot be placed: the linter still checks its operations, but neither the runner nor the
phase checks can trust it. (Reported by the Alembic source reader.) It is a warning while a
project's history is untagged; once the project has adopted a baseline (`migrator adopt`), only
baseline revisions may go untagged, and a later revision without a phase is an error."""
FIX = "add phase = \"expand\" or phase = \"contract\" (and release = \"X.Y.Z\") to the revision module"
FIX_SQL = """\
-- the .sql equivalent is the header:
-- migrator: phase=expand release=1.5.0"""
FIX_ALEMBIC = """\
revision = "3f2a"
down_revision = "1c9e"
phase = "expand"
release = "1.5.0"

def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
GOOD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "r1"
down_revision = None
phase = "expand"
release = "1.5.0"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
ENGINE = True
