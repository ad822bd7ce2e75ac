"""Type narrowing between a model's type and the column the schema has (pure)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from migrator.check.typefamily import narrowing


class Money(sa.types.TypeDecorator):
    impl = sa.Numeric(12, 2)
    cache_ok = True


@pytest.mark.parametrize("model,schema,dialect", [
    (sa.String(50), sa.String(50), "postgresql"),
    (sa.String(50), sa.Text(), "postgresql"),            # wider
    (sa.String(50), sa.VARCHAR(), "postgresql"),         # unbounded varchar
    (sa.Integer(), sa.BigInteger(), "postgresql"),
    (sa.BigInteger(), sa.Integer(), "sqlite"),           # SQLite keeps 8 bytes in any INTEGER
    (sa.Numeric(10, 2), sa.Numeric(12, 2), "postgresql"),
    (sa.Numeric(10, 2), sa.Numeric(), "postgresql"),     # unconstrained numeric
    (sa.Enum("a", "bb", name="e"), sa.String(2), "sqlite"),
    (sa.Enum("a", "bb", name="e"), pg.ENUM("a", "bb", "c", name="e"), "postgresql"),
    (sa.Uuid(), sa.CHAR(32), "sqlite"),
    (sa.Boolean(), sa.Integer(), "sqlite"),
    (sa.DateTime(timezone=True), sa.DateTime(), "sqlite"),  # SQLite keeps no time zone
    (Money(), sa.Numeric(14, 2), "postgresql"),          # a TypeDecorator is judged by its impl
    (sa.JSON(), pg.JSONB(), "postgresql"),
    (sa.Text(), sa.types.NullType(), "postgresql"),      # the inspector could not name it
])
def test_a_column_that_holds_every_model_value_is_fine(model, schema, dialect):
    assert narrowing(model, schema, dialect) is None


@pytest.mark.parametrize("model,schema,dialect,words", [
    (sa.String(255), sa.String(100), "postgresql", "shorter"),
    (sa.Text(), sa.String(100), "sqlite", "shorter"),
    (sa.BigInteger(), sa.Integer(), "postgresql", "smaller integers"),
    (sa.Integer(), sa.SmallInteger(), "postgresql", "smaller integers"),
    (sa.Numeric(12, 2), sa.Numeric(10, 2), "postgresql", "fewer digits"),
    (sa.Numeric(12, 4), sa.Numeric(12, 2), "postgresql", "fewer digits"),
    (sa.Numeric(), sa.Numeric(10, 2), "postgresql", "bounded"),
    (sa.Double(), sa.REAL(), "postgresql", "precision"),
    (sa.Enum("a", "bb", "c", name="e"), pg.ENUM("a", "bb", name="e"), "postgresql", "'c'"),
    (sa.Enum("small", "enormous", name="e"), sa.String(5), "sqlite", "shorter"),
    (sa.Integer(), sa.Text(), "postgresql", "not of the model's kind"),
    (sa.Uuid(), sa.CHAR(32), "postgresql", "not of the model's kind"),
    (sa.DateTime(timezone=True), sa.DateTime(), "postgresql", "time zone"),
    (Money(), sa.Numeric(8, 2), "postgresql", "fewer digits"),
])
def test_a_narrower_column_or_another_kind_is_named(model, schema, dialect, words):
    reason = narrowing(model, schema, dialect)
    assert reason and words in reason
