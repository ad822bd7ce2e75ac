"""One comparison: one release's models against one schema (a live connection).

Alembic's ``compare_metadata`` says which mapped tables and columns the schema lacks and which
schema columns the models do not map; the inspector's column facts then answer what it leaves
open: a type narrower than the model's or of another kind, a NOT NULL column without a default
that the release's inserts leave empty, a server default the model relies on that is missing.
Each finding points at the model attribute (or the class, for a table) that relies on the object.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from ..model import Finding, Location
from .models import MappedColumn, ModelSet
from .rules import MISSING_RULES, finding
from .typefamily import narrowing

UNWRITTEN = "unwritten-not-null-column"
TYPE = "model-type-mismatch"
DEFAULT = "model-server-default-missing"


@dataclass(frozen=True)
class Keyed:
    """A finding with what it is about, so the same problem seen by two comparisons is told once."""

    key: tuple
    finding: Finding | None  # None: the rule is turned off (the key still counts as seen)


def _table_key(schema: str | None, name: str) -> str:
    return f"{schema}.{name}" if schema else name


def _flatten(diffs) -> list[tuple]:
    out = []
    for d in diffs:
        if isinstance(d, list):
            out.extend(d)
        else:
            out.append(d)
    return out


def compare(models: ModelSet, conn: sa.Connection, *, step: str, schema_label: str,
            rules: dict[str, str] | None = None) -> list[Keyed]:
    """Findings of ``models`` against the schema ``conn`` sees. ``step`` names the comparison
    ("expand", "previous", "contract", "live") and so the rule for a missing object."""
    mapped = {t.name for t in models.metadata.tables.values()}
    schemas = {t.schema for t in models.metadata.tables.values() if t.schema}

    def include(obj, name, type_, reflected, compare_to):
        if type_ == "table":
            return name in mapped
        return type_ == "column"

    mc = MigrationContext.configure(conn, opts={
        "compare_type": False, "compare_server_default": False,
        "include_schemas": bool(schemas), "include_object": include,
    })
    diffs = _flatten(compare_metadata(mc, models.metadata))
    inspector = sa.inspect(conn)
    views = set(inspector.get_view_names())
    for s in schemas:
        views |= {f"{s}.{v}" for v in inspector.get_view_names(schema=s)}
    dialect = conn.dialect.name
    out: list[Keyed] = []
    missing_tables: set[str] = set()
    missing_rule = MISSING_RULES[step]

    def add(key: tuple, rule: str, loc: Location, message: str) -> None:
        out.append(Keyed(key, finding(rule, loc, message, rules)))

    for d in diffs:
        kind = d[0]
        if kind == "add_table":
            t = d[1]
            if t.key in views:
                continue
            missing_tables.add(t.key)
            if all(models.unused(t.key, c.name) for c in t.columns):
                continue
            add(("missing", t.key, None), missing_rule, models.tables.get(t.key, Location(models.spec)),
                f"{models.label} maps table {t.key} ({models.table_names.get(t.key, t.name)}), "
                f"but {schema_label} has no such table")
        elif kind == "add_column":
            key = _table_key(d[1], d[2])
            col = models.column(key, d[3].name)
            if col is None or models.unused(key, col.name):
                continue
            extra = (" (it is marked deprecated, but queries still load it: make it deferred=True so "
                     "no SELECT names it)") if col.deprecated else ""
            add(("missing", key, col.name), missing_rule, col.loc,
                f"{models.label} maps column {key}.{col.name} ({col.attribute}), but {schema_label} "
                f"has no such column{extra}")
        elif kind == "remove_column":
            key = _table_key(d[1], d[2])
            c = d[3]
            if _needs_value(c.nullable, c.server_default, c.primary_key, c.identity, c.computed):
                add((UNWRITTEN, key, c.name), UNWRITTEN, models.tables.get(key, Location(models.spec)),
                    f"{schema_label} has {key}.{c.name} NOT NULL without a default, and {models.label} "
                    f"does not map it: every insert into {key} it makes fails")
    for key, table in models.metadata.tables.items():
        if key in missing_tables:
            continue
        try:
            reflected = {c["name"]: c for c in inspector.get_columns(table.name, schema=table.schema)}
        except sa.exc.NoSuchTableError:
            continue
        view = key in views
        if view:  # compare_metadata does not look at views: their columns are checked here
            for c in table.columns:
                col = models.column(key, c.name)
                if c.name not in reflected and col is not None and not models.unused(key, c.name):
                    add(("missing", key, c.name), missing_rule, col.loc,
                        f"{models.label} maps column {key}.{c.name} ({col.attribute}), but the view "
                        f"{key} in {schema_label} has no such column")
        for name, info in reflected.items():
            col = models.column(key, name)
            if col is None or models.unused(key, name):
                continue
            _column_checks(col, info, dialect, models, schema_label, add, view=view)
    return out


def _needs_value(nullable, default, primary_key, identity, computed) -> bool:
    return (not nullable and default is None and not primary_key and identity is None
            and computed is None)


def _column_checks(col: MappedColumn, info: dict, dialect: str, models: ModelSet,
                   schema_label: str, add, *, view: bool = False) -> None:
    model = col.column
    where = f"{col.table}.{col.name}"
    reason = narrowing(model.type, info["type"], dialect)
    if reason:
        add((TYPE, col.table, col.name, str(info["type"])), TYPE, col.loc,
            f"{models.label} maps {where} ({col.attribute}) as {_type_text(model.type)}, but in "
            f"{schema_label} {reason}")
    if view:
        return  # nothing is inserted into a view: NOT NULL and defaults are its tables' business
    db_default = info.get("default")
    db_not_null = not info.get("nullable", True)
    if db_not_null and db_default is None and not model.primary_key and not info.get("identity") \
            and not info.get("computed") and not _writes(model):
        why = "relies on a server default the column does not have" if model.server_default is not None \
            else "lets it be NULL"
        add((UNWRITTEN, col.table, col.name), UNWRITTEN, col.loc,
            f"{schema_label} has {where} NOT NULL without a default, but {models.label}'s model "
            f"{why} ({col.attribute}): its inserts that leave it unset fail")
    elif model.server_default is not None and db_default is None and not info.get("identity") \
            and not info.get("computed"):
        add((DEFAULT, col.table, col.name), DEFAULT, col.loc,
            f"{models.label}'s model relies on a server default for {where} ({col.attribute}), but "
            f"in {schema_label} the column has none: rows it inserts get NULL there")


def _writes(model: sa.Column) -> bool:
    """The release's inserts always give the column a value: a Python-side default, or a model
    that declares it NOT NULL with no server default to fall back on."""
    return model.default is not None or (not model.nullable and model.server_default is None)


def _type_text(t) -> str:
    try:
        return repr(t)
    except Exception:  # noqa: BLE001
        return type(t).__name__
