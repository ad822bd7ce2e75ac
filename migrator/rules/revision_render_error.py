NAME = "revision-render-error"
SEVERITY = "warning"
SUMMARY = "A revision could not be rendered offline: some or all of it was not checked."
WHY = """\
The revision imported, but running its `upgrade()` against the recording connection failed
(or there is no `upgrade()`). Statements emitted before the failure were checked; the rest
were not. (Reported by the Alembic source reader.)

It is an error when the isolated renderer had to stop the revision: it ran past
`render_timeout`, emitted more than `render_max_statements`, printed more than 10 MB or wrote
straight to file descriptor 1, called `os._exit()`, tried to open a network connection, or its
renderer process died (a signal, a crash, running out of memory). Such a revision is never
reported clean."""
FIX = "make upgrade() run without a live database (no reads it depends on), or review it by hand"
FIX_SQL = """\
-- not applicable to .sql migrations"""
FIX_ALEMBIC = """\
def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
from alembic import op

revision = "r5"
down_revision = None
phase = "expand"
''']
GOOD = ['''\
from alembic import op

revision = "r5"
down_revision = None
phase = "expand"


def upgrade():
    op.execute("COMMENT ON TABLE users IS 'people'")
''']
ENGINE = True
