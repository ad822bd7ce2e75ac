NAME = "unparsed-statement"
SEVERITY = "warning"
SUMMARY = "A statement the linter could not understand: it was not checked."
WHY = """\
The statement could not be parsed (a syntax error, or syntax the parser does not know), so no
rule looked at it and its phase is unknown. It may be perfectly safe, or it may take a lock
that stops all traffic; the linter will not guess "safe"."""
FIX = "check the statement by hand (or rewrite it in plainer SQL), then suppress with the reason"
FIX_SQL = """\
-- migrator: ignore[unparsed-statement] reviewed: only touches the new staging table
ALTER TABLE staging ATTACH PARTITION staging_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');"""
FIX_ALEMBIC = """\
# migrator: ignore[unparsed-statement] reviewed: only touches the new staging table
op.execute("...")"""
BAD = [
    "FROBNICATE the orders;",
    "ALTER TABLE orders FROBNICATE everything;",
    "ALTER TABLE measurements OF reading_type;",
]
GOOD = ["ALTER TABLE orders ADD COLUMN note text;", "ALTER TABLE orders SET (fillfactor = 70);"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"unparsed", "alter_table_other"})


def check(op, ctx):
    from migrator.rules._helpers import unchecked_alter_table

    if op.kind == "unparsed":
        yield (f"could not understand this statement ({op.reason or 'unknown syntax'}): it was not "
               "checked, and its phase is unknown")
    elif unchecked_alter_table(op):
        action = " ".join(x for x in ("ALTER TABLE", op.table, op.reason) if x)
        yield (f"{action}: the linter does not know what lock "
               "this action takes or what it changes; it was not checked, and its phase is unknown")
