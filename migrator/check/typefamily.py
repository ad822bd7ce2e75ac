"""Type families and narrowing: can every value the model's type holds be stored in the column
the schema has? Pure functions over SQLAlchemy types; dialect facts (SQLite keeps any integer in
8 bytes, stores no time zone, keeps Enum and Uuid as text) in one place.

``narrowing(model_type, schema_type, dialect)`` returns None when the column takes every value
the model's type does (same or wider), else a short reason ("varchar(50) is shorter than
String(255)", "text is not an integer type").
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql import sqltypes

# family -> SQLAlchemy generic class that decides it (checked in this order: Enum before String,
# Double before Float, Uuid before String...)
_FAMILIES: tuple[tuple[str, type], ...] = (
    ("boolean", sqltypes.Boolean),
    ("enum", sqltypes.Enum),
    ("uuid", sqltypes.Uuid),
    ("integer", sqltypes.Integer),
    ("float", sqltypes.Float),
    ("numeric", sqltypes.Numeric),
    ("string", sqltypes.String),
    ("datetime", sqltypes.DateTime),
    ("date", sqltypes.Date),
    ("time", sqltypes.Time),
    ("interval", sqltypes.Interval),
    ("binary", sqltypes._Binary),
    ("json", sqltypes.JSON),
    ("array", sqltypes.ARRAY),
)

# Families a dialect stores in another family's column without loss.
_STORED_AS = {
    "sqlite": {"enum": {"string"}, "uuid": {"string", "binary"}, "boolean": {"integer"},
               "json": {"string"}, "interval": {"datetime"}, "datetime": {"string"},
               "date": {"string"}, "time": {"string"}},
    "postgresql": {"enum": {"string"}},
}


def _base(t: sa.types.TypeEngine) -> sa.types.TypeEngine:
    """The storage type of a TypeDecorator (its impl), else the type itself."""
    seen = 0
    while isinstance(t, sa.types.TypeDecorator) and seen < 8:
        t = t.impl_instance if hasattr(t, "impl_instance") else t.impl
        seen += 1
    return t


def family(t: sa.types.TypeEngine) -> str | None:
    t = _base(t)
    if isinstance(t, sqltypes.NullType):
        return None
    for name, cls in _FAMILIES:
        if isinstance(t, cls):
            return name
    return type(t).__name__.lower()  # a dialect type of its own (INET, TSVECTOR...): by name


def _int_bytes(t, dialect: str) -> int:
    if dialect == "sqlite":
        return 8
    if isinstance(t, sqltypes.BigInteger):
        return 8
    if isinstance(t, sqltypes.SmallInteger):
        return 2
    return 4


def _float_bytes(t) -> int:
    if isinstance(t, sqltypes.Double):
        return 8
    p = getattr(t, "precision", None)
    if isinstance(t, sqltypes.REAL) or (p is not None and p <= 24):
        return 4
    return 8


def _show(t: sa.types.TypeEngine) -> str:
    try:
        return repr(_base(t))
    except Exception:  # noqa: BLE001 - a user type with a broken repr
        return type(t).__name__


def narrowing(model: sa.types.TypeEngine, schema: sa.types.TypeEngine, dialect: str) -> str | None:
    """None when the schema's column holds every value of the model's type; else why not."""
    m, s = _base(model), _base(schema)
    fm, fs = family(m), family(s)
    if fm is None or fs is None:
        return None  # a type the inspector could not name: nothing to say
    if fm != fs:
        if fs in _STORED_AS.get(dialect, {}).get(fm, set()):
            return _length_narrowing(m, s) if fm == "enum" else None
        return f"the column is {_show(s)}, not of the model's kind ({_show(m)})"
    if fm == "integer" and _int_bytes(s, dialect) < _int_bytes(m, dialect):
        return f"{_show(s)} holds smaller integers than the model's {_show(m)}"
    if fm == "float" and dialect != "sqlite" and _float_bytes(s) < _float_bytes(m):
        return f"{_show(s)} has less precision than the model's {_show(m)}"
    if fm == "numeric" and dialect != "sqlite":
        return _numeric_narrowing(m, s)
    if fm in ("string", "binary"):
        return _length_narrowing(m, s)
    if fm == "enum":
        return _enum_narrowing(m, s, dialect)
    if fm == "datetime" and dialect != "sqlite":
        if getattr(m, "timezone", False) and not getattr(s, "timezone", False):
            return f"{_show(s)} drops the time zone the model's {_show(m)} keeps"
    return None


def _numeric_narrowing(m, s) -> str | None:
    mp, ms = getattr(m, "precision", None), getattr(m, "scale", None) or 0
    sp, ss = getattr(s, "precision", None), getattr(s, "scale", None) or 0
    if sp is None:
        return None  # unconstrained numeric holds anything
    if mp is None:
        return f"{_show(s)} is bounded, the model's {_show(m)} is not"
    if ss < ms or (sp - ss) < (mp - ms):
        return f"{_show(s)} holds fewer digits than the model's {_show(m)}"
    return None


def _length_narrowing(m, s) -> str | None:
    ml = getattr(m, "length", None)
    sl = getattr(s, "length", None)
    if isinstance(m, sqltypes.Enum) and ml is None:
        ml = max((len(e) for e in m.enums), default=None)
        if sl is None or ml is None or sl >= ml:
            return None
        return f"{_show(s)} is shorter than the model's longest value ({ml} characters)"
    if sl is None:
        return None
    if ml is None or ml > sl:
        return f"{_show(s)} is shorter than the model's {_show(m)}"
    return None


def _enum_narrowing(m, s, dialect: str) -> str | None:
    mv, sv = list(getattr(m, "enums", []) or []), list(getattr(s, "enums", []) or [])
    if not sv:
        return None  # the inspector did not say: nothing to compare
    missing = [v for v in mv if v not in sv]
    if missing:
        return f"the column's type lacks the value(s) {', '.join(map(repr, missing))} the model writes"
    return None
