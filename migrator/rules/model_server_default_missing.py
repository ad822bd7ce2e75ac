NAME = "model-server-default-missing"
SEVERITY = "warning"
SUMMARY = "The model relies on a server default the column does not have: the rows the release inserts get NULL instead."
WHY = """\
A model column declared with `server_default=` is left out of the release's INSERTs, trusting
the database to fill it. When the migrations never created that default, the rows get NULL
(and when the column is NOT NULL, the inserts fail: `unwritten-not-null-column`). Nothing
fails at deploy time; the data is quietly wrong."""
FIX = "set the default in an expand migration (ALTER COLUMN ... SET DEFAULT is expand), or give the model a Python-side default"
FIX_SQL = """\
-- expand
ALTER TABLE orders ALTER COLUMN created_at SET DEFAULT now();"""
FIX_ALEMBIC = """\
phase = "expand"


def upgrade():
    op.alter_column("orders", "created_at", server_default=sa.func.now())"""
EXAMPLE_KIND = "models"
BAD = ['''\
# release 1.0.0 expand
op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("created_at", sa.DateTime))

# release 1.0.0 models
class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at = mapped_column(sa.DateTime, server_default=sa.func.now())
''']
GOOD = ['''\
# release 1.0.0 expand
op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("created_at", sa.DateTime, server_default=sa.func.now()))

# release 1.0.0 models
class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at = mapped_column(sa.DateTime, server_default=sa.func.now())
''']
ENGINE = True
