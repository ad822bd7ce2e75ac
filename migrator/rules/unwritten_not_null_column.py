NAME = "unwritten-not-null-column"
SEVERITY = "error"
SUMMARY = "A NOT NULL column without a default that a release's inserts leave empty: the release does not map it, or maps it as nullable."
WHY = """\
An INSERT that does not name a column gives it its default, or NULL. When the column is NOT NULL
and has no default, every such insert fails. `migrator check --models` looks for these columns
in each comparison: a NOT NULL column without a default that release V-1's models do not map
(an expand of V added it: the old pods can no longer insert while V rolls out), or that release
V's models declare nullable or leave to a server default the schema lacks. ORM inserts name
only the columns the model maps and has a value for."""
FIX = "give the column a server default (or leave it nullable) until every release that inserts without it is gone; tighten it in a contract migration"
FIX_SQL = """\
-- expand: a NOT NULL column with a constant default (no rewrite since PostgreSQL 11)
ALTER TABLE users ADD COLUMN plan text NOT NULL DEFAULT 'free';"""
FIX_ALEMBIC = """\
phase = "expand"


def upgrade():
    op.add_column("users", sa.Column("plan", sa.Text(), nullable=False, server_default="free"))"""
EXAMPLE_KIND = "models"
BAD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("email", sa.Text, nullable=False))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)

# release 1.1.0 expand
with op.batch_alter_table("users") as batch:
    batch.add_column(sa.Column("plan", sa.Text, nullable=False))

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)
    plan: Mapped[str] = mapped_column(sa.Text)
''']
GOOD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("email", sa.Text, nullable=False))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)

# release 1.1.0 expand
op.add_column("users", sa.Column("plan", sa.Text, nullable=False, server_default="free"))

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)
    plan: Mapped[str] = mapped_column(sa.Text, server_default="free")
''']
ENGINE = True
