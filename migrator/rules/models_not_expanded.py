NAME = "models-not-expanded"
SEVERITY = "error"
SUMMARY = "Release V's models map a table or column the schema lacks after expand V: the new release fails when it deploys."
WHY = """\
`migrator check --models` replays the expand migrations of every release up to V (and the
contracts before V) into a scratch database and compares release V's SQLAlchemy models with
the schema they leave. A mapped column the schema does not have makes every query of that
class fail (`no such column`, `column ... does not exist`) the moment the new pods start,
while the old release is still serving: a broken deploy. `gate ready --models` asks the same
question of the live database. The finding points at the model attribute (or the class, for
a table) and names the missing object."""
FIX = "add an expand migration of release V that creates the table or column (nullable, or with a non-volatile default), or stop mapping it"
FIX_SQL = """\
-- expand migration of release 1.1.0, applied before 1.1.0 deploys
ALTER TABLE users ADD COLUMN nickname text;"""
FIX_ALEMBIC = """\
phase = "expand"
release = "1.1.0"


def upgrade():
    op.add_column("users", sa.Column("nickname", sa.Text(), nullable=True))"""
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

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)
    nickname: Mapped[str | None] = mapped_column(sa.Text)
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
op.add_column("users", sa.Column("nickname", sa.Text, nullable=True))

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.Text)
    nickname: Mapped[str | None] = mapped_column(sa.Text)
''']
ENGINE = True
