NAME = "contract-breaks-models"
SEVERITY = "error"
SUMMARY = "A contract migration of release V drops or tightens what release V's models still map."
WHY = """\
The contract of release V runs while release V serves all the traffic. `migrator check --models`
replays the migrations through contract V into a scratch database and compares release V's
models with what is left: a table or column V still maps that the contract dropped breaks every
query V makes, at once and with no rollback (the data is gone). A contract may drop only what V
no longer maps. A column the code stopped using may stay declared, marked
`info={"migrator": "deprecated"}` and `deferred=True` so no query selects it (the equivalent of
GitLab's `ignore_column`). With `models` configured, `migrator contract` refuses a contract
that would break the release's models, before applying anything."""
FIX = "stop mapping the column in release V (or mark it info={\"migrator\": \"deprecated\"} with deferred=True), or move the drop to the contract of the first release that no longer maps it"
FIX_SQL = """\
-- contract migration of release 1.2.0: the first release whose models no longer map nickname
ALTER TABLE users DROP COLUMN nickname;"""
FIX_ALEMBIC = """\
phase = "contract"
release = "1.2.0"


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

# release 1.1.0 contract
with op.batch_alter_table("users") as batch:
    batch.drop_column("nickname")
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
''', '''\
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
    # no longer used; never selected (deferred), dropped by the contract of 1.1.0
    nickname: Mapped[str | None] = mapped_column(sa.Text, deferred=True,
                                                 info={"migrator": "deprecated"})
''']
ENGINE = True
