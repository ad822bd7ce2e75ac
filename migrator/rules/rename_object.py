NAME = "rename-object"
SEVERITY = "error"
SUMMARY = "Renaming a function, type, schema or other named object breaks the running release."
WHY = """\
The release still running calls functions, casts to types and qualifies names with schemas by
name. After `ALTER FUNCTION/TYPE/SCHEMA ... RENAME TO` those references fail until the new code
is everywhere (and again after an instant rollback). Renaming indexes, triggers, policies and
constraints is not flagged: application SQL does not name them, and neither is renaming an
object created earlier in the same migration (or a value of an enum created there): no
release refers to it yet."""
FIX = "create the object under the new name (expand), switch the code, drop the old one (contract)"
FIX_SQL = """\
-- expand
CREATE FUNCTION compute_total_v2(order_id bigint) RETURNS numeric AS $$ ... $$ LANGUAGE sql;
-- contract, once no release calls the old one
DROP FUNCTION compute_total(bigint);"""
FIX_ALEMBIC = """\
# expand revision
op.execute("CREATE FUNCTION compute_total_v2(order_id bigint) RETURNS numeric ...")
# contract revision
op.execute("DROP FUNCTION compute_total(bigint)")"""
BAD = [
    "ALTER FUNCTION compute_total(bigint) RENAME TO order_total;",
    "ALTER TYPE mood RENAME TO feeling;",
]
GOOD = [
    "ALTER INDEX users_email_idx RENAME TO users_email_key_idx;",
    "CREATE TYPE mood AS ENUM ('happy', 'sad');\nALTER TYPE mood RENAME VALUE 'sad' TO 'unhappy';",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"rename_object"})


def check(op, ctx):
    from migrator.pgfacts import NEUTRAL_RENAMES
    from migrator.rules.rename_table import RELATIONS

    ot = op.object_type or ""
    if op.kind != "rename_object" or ot in RELATIONS or ot in NEUTRAL_RENAMES:
        return
    # An object created earlier in this migration (or a value or attribute of a type created
    # here): no release refers to it yet.
    if ctx.renamed_object_created_here(op):
        return
    kind = (ot or "object").replace("_", " ")
    yield (f"renaming {kind} {op.name} to {op.new_name}: the running release still refers to "
           "it by the old name")
