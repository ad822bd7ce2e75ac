NAME = "revision-graph"
SEVERITY = "error"
SUMMARY = "The revision graph is broken: a revision follows nothing, itself, a cycle, or shares its id."
WHY = """\
Linting replays the revisions in the order the runner applies them, and the runner follows
`down_revision` and `depends_on`. A reference to a revision or branch label that is not in the
project (a typo, a deleted file), a revision that names itself, a cycle, or two files with the
same `revision` id leave no single order to apply: Alembic refuses such a graph at deploy time.
Every revision is still linted, but the history it is checked against may not be the one that
will run. (Reported by the revision reader, on the `revision`, `down_revision` or `depends_on`
line that causes it.)"""
FIX = "point down_revision / depends_on at an existing revision id or branch label, and give each revision its own id"
FIX_SQL = """\
-- not applicable to .sql migrations (they run in file-name order)"""
FIX_ALEMBIC = """\
revision = "3f2a"
down_revision = "1c9e"  # the id of the revision this one follows, as in that file
phase = "expand"

def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))"""
EXAMPLE_KIND = "alembic"
BAD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "3f2a"
down_revision = "1c9f"
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''', '''\
from alembic import op
import sqlalchemy as sa

revision = "3f2a"
down_revision = "3f2a"
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
GOOD = ['''\
from alembic import op
import sqlalchemy as sa

revision = "3f2a"
down_revision = None
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("note", sa.Text(), nullable=True))
''']
ENGINE = True
