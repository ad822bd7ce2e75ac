NAME = "revision-import-error"
SEVERITY = "error"
SUMMARY = "An Alembic revision that cannot be imported: nothing in it was checked."
WHY = """\
The linter renders each revision offline by importing it and running `upgrade()` against a
recording connection. A revision that fails to import (a module that is not installed, a
syntax error) cannot be rendered, so none of its statements were checked; the other revisions
are still linted. (Reported by the Alembic source reader, on the line that failed.)"""
FIX = "run migrator where the project's packages are importable, or import the helper inside upgrade()"
FIX_SQL = """\
-- not applicable to .sql migrations"""
FIX_ALEMBIC = """\
def upgrade():
    from myapp.migration_helpers import backfill_in_batches  # imported when run, not at import
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
from alembic import op
import sqlalchemy as sa
import not_installed_helpers

revision = "r2"
down_revision = None
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
GOOD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "r2"
down_revision = None
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
ENGINE = True
