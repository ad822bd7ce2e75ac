NAME = "rename-table"
SEVERITY = "error"
SUMMARY = "Renaming a table (or view, materialized view, sequence) breaks the running release."
WHY = """\
`ALTER TABLE ... RENAME TO` takes an ACCESS EXCLUSIVE lock (briefly) and then every query of the
release still running names a relation that no longer exists: they fail with
`relation "..." does not exist` until the new code is everywhere, and an instant rollback
fails the same way."""
FIX = "create the new table (or an updatable view under the new name) in expand, move the code, drop the old one in contract"
FIX_SQL = """\
-- expand: the new name as a view over the old table (simple views are updatable)
CREATE VIEW customers AS SELECT * FROM clients;
-- release N uses customers; contract, once no older release runs:
DROP VIEW customers;
ALTER TABLE clients RENAME TO customers;  -- only with every release on the new name: prefer copying the data to a new table"""
FIX_ALEMBIC = """\
# expand revision
op.execute("CREATE VIEW customers AS SELECT * FROM clients")
# contract revision, after the old release is gone: drop the old name
op.execute("DROP VIEW customers")"""
BAD = [
    "ALTER TABLE clients RENAME TO customers;",
    "ALTER VIEW active_users RENAME TO live_users;",
]
GOOD = [
    "CREATE VIEW customers AS SELECT * FROM clients;",
    "CREATE TABLE staging (id int);\nALTER TABLE staging RENAME TO imports;",
]

RELATIONS = frozenset({"table", "view", "materialized_view", "sequence", "foreign_table"})


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"rename_table", "rename_object"})


def check(op, ctx):
    from migrator.rules._helpers import table_name

    if op.kind == "rename_table" and not op.table_created_here and op.value:
        yield (f"moving table {table_name(op)} to schema {op.value}: the running release's queries "
               "name it where it was and fail as soon as this commits")
    elif op.kind == "rename_table" and not op.table_created_here:
        yield (f"renaming table {table_name(op)} to {op.new_name}: the running release's queries "
               "name the old table and fail as soon as this commits")
    elif op.kind == "rename_object" and (op.object_type or "") in RELATIONS:
        kind = (op.object_type or "relation").replace("_", " ")
        yield (f"renaming {kind} {op.name or table_name(op)} to {op.new_name}: the running release "
               "still uses the old name and fails as soon as this commits")
