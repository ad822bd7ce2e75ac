NAME = "hidden-body"
SEVERITY = "warning"
SUMMARY = "Code whose effect the linter cannot see: a DO block, a function body, a data migration."
WHY = """\
The statements inside a `DO` block, a function or procedure body, or Python code of a revision
that reads results from the database run (or may run) without the linter seeing them. They
may rename a column or rewrite a table; the linter cannot tell, and will not call them safe."""
FIX = "move the DDL out of the body into plain statements, or review it and suppress with the reason"
FIX_SQL = """\
-- instead of DO $$ BEGIN EXECUTE 'ALTER TABLE ...'; END $$;
ALTER TABLE orders ADD COLUMN note text;"""
FIX_ALEMBIC = """\
# instead of reading rows and deciding in Python, emit plain operations:
op.add_column("orders", sa.Column("note", sa.Text(), nullable=True))"""
BAD = [
    "DO $$ BEGIN EXECUTE 'ALTER TABLE orders RENAME COLUMN a TO b'; END $$;",
    "CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$ LANGUAGE plpgsql;",
]
GOOD = ["ALTER TABLE orders ADD COLUMN note text;"]

_BODIES = frozenset({"function", "procedure"})


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"do_block", "create_object"})


def check(op, ctx):
    from migrator.rules._helpers import named

    if op.kind == "do_block":
        what = op.reason or "the body of this DO block cannot be seen"
        yield f"{what}: what it changes was not checked, and its phase is unknown"
    elif op.kind == "create_object" and (op.object_type or "") in _BODIES:
        yield (f"the body of {op.object_type}{named(op.name)} cannot be seen: creating it is expand, "
               "but whatever it does when called was not checked")
