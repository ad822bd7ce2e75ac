NAME = "expand-breaks-previous-models"
SEVERITY = "error"
SUMMARY = "An expand migration of release V removes or renames a table or column that release V-1, still running, maps."
WHY = """\
Expand migrations run before the new code deploys, while the previous release serves all the
traffic and, during the rollout, part of it. `migrator check --models` reads release V-1's
models from git (the last release tag, or `--previous REF`), replays the migrations up to
expand V into a scratch database and compares: a table or column V-1 maps that is gone (dropped
or renamed) breaks every query the old pods make, and an instant rollback to V-1 finds it
missing too. Removing belongs to the contract phase, after no V-1 runs any more."""
FIX = "keep the column through expand V; stop mapping it in release V and drop it in a contract migration of release V (or later)"
FIX_SQL = """\
-- contract migration of release 1.1.0 (runs once no 1.0.0 is left)
ALTER TABLE users DROP COLUMN nickname;"""
FIX_ALEMBIC = """\
phase = "contract"
release = "1.1.0"


def upgrade():
    op.drop_column("users", "nickname")"""
EXAMPLE_KIND = "models"
BAD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("nickname", sa.Text))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str | None] = mapped_column(sa.Text)

# release 1.1.0 expand
with op.batch_alter_table("users") as batch:
    batch.drop_column("nickname")

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
''']
GOOD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("nickname", sa.Text))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    nickname: Mapped[str | None] = mapped_column(sa.Text)

# release 1.1.0 contract
with op.batch_alter_table("users") as batch:
    batch.drop_column("nickname")

# release 1.1.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
''']
ENGINE = True
