NAME = "missing-environment-variable"
SEVERITY = "warning"
SUMMARY = "A revision reads an environment variable that is not set where the linter runs."
WHY = """\
Revisions that read `os.environ` at import or in `upgrade()` render differently depending on
where they run. The linter substituted an empty value, so the SQL it checked may not be the
SQL that runs in production. (Reported by the Alembic source reader, on the line that reads.)"""
FIX = "set the variable for the lint run, or read configuration from context.config instead of the environment"
FIX_SQL = """\
-- not applicable to .sql migrations"""
FIX_ALEMBIC = """\
schema = op.get_context().config.get_main_option("app_schema")  # or set APP_SCHEMA for lint runs
op.add_column("users", sa.Column("note", sa.Text(), nullable=True), schema=schema)"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
import os
from alembic import op
import sqlalchemy as sa

revision = "r4"
down_revision = None
phase = "expand"
SCHEMA = os.environ["MIGRATOR_EXAMPLE_UNSET_SCHEMA"]


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True), schema=SCHEMA)
''']
GOOD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "r4"
down_revision = None
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True), schema="app")
''']
ENGINE = True
