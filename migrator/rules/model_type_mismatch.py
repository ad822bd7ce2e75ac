NAME = "model-type-mismatch"
SEVERITY = "error"
SUMMARY = "A mapped column's type in the schema is narrower than the model's (shorter, smaller, fewer digits, fewer enum values) or of another kind."
WHY = """\
The models decide what the application writes; the schema decides what it accepts. A
`varchar(10)` under a model's `String(50)`, an `integer` under a `BigInteger`, a
`numeric(8,2)` under a `Numeric(12,2)`, an enum type missing a value the model writes, or a
`text` column under an `Integer` attribute: the release's writes fail (value too long, out of
range, invalid input) on the first row that uses the model's full range, long after the deploy
looked healthy. `migrator check --models` compares the types the inspector reads from the
scratch schema with the models' types by family and size; a wider column is fine. On SQLite
integer sizes, float precision, numeric digits and time zones are not compared (SQLite keeps
none of them): use a PostgreSQL scratch server (`--database-url`) for those."""
FIX = "widen the column in an expand migration (varchar(n) to varchar(m>n) or text is binary-coercible), or make the model's type match the column"
FIX_SQL = """\
-- expand: widening varchar is binary-coercible on PostgreSQL (no rewrite, brief lock)
ALTER TABLE users ALTER COLUMN code TYPE varchar(50);"""
FIX_ALEMBIC = """\
phase = "expand"


def upgrade():
    op.alter_column("users", "code", type_=sa.String(50), existing_type=sa.String(10))"""
EXAMPLE_KIND = "models"
BAD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("code", sa.String(10)))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(50))
''', '''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("code", sa.Text))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[int | None] = mapped_column(sa.Integer)
''']
GOOD = ['''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("code", sa.String(50)))

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(10))
''']
ENGINE = True
