"""Small questions the rule modules share (names for messages, which table a rule applies to)."""

from __future__ import annotations

from migrator.model import Operation


def table_name(op: Operation) -> str:
    name = op.table or op.name or "?"
    return f"{op.schema}.{name}" if op.schema else name


def column_ref(op: Operation) -> str:
    return f"{table_name(op)}.{op.column}" if op.column else table_name(op)


def added_columns(op: Operation, ctx):
    """ADD COLUMN specs on a table that existed before this migration (none for a new table)."""
    if op.kind != "add_column" or op.table_created_here:
        return []
    return list(op.columns)


def named(name: str | None) -> str:
    """`` name`` for a message, or nothing for an unnamed object (no double space)."""
    return f" {name}" if name else ""


def article(word: str) -> str:
    """``a`` or ``an`` before ``word`` as it is read aloud (an ACCESS EXCLUSIVE, a SHARE)."""
    return "an" if word[:1].upper() in "AEIOU" else "a"


def unchecked_alter_table(op: Operation) -> bool:
    """An ALTER TABLE action the linter does not model (and so cannot vouch for)."""
    return op.kind == "alter_table_other" and not op.brief
