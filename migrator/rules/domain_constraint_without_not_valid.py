NAME = "domain-constraint-without-not-valid"
SEVERITY = "error"
SUMMARY = "ALTER DOMAIN ... ADD CONSTRAINT (or SET NOT NULL) scans every column of the domain while blocking writes."
WHY = """\
A new domain constraint is checked against every value of every table column of that domain,
holding a SHARE lock on each of those tables: their INSERTs, UPDATEs and DELETEs wait for the
whole scan. `ADD CONSTRAINT ... NOT VALID` skips the scan (new and updated values are checked
from then on); it tightens what the running release may write, so it is a contract operation.
`SET NOT NULL` on a domain has no NOT VALID form: use `CHECK (VALUE IS NOT NULL) NOT VALID`.
A domain created earlier in the same migration has no columns yet and is fine."""
FIX = "ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID (contract); for SET NOT NULL use CHECK (VALUE IS NOT NULL) NOT VALID"
FIX_SQL = """\
-- contract
ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0) NOT VALID;"""
FIX_ALEMBIC = """\
op.execute("ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check "
           "CHECK (VALUE > 0) NOT VALID")"""
BAD = [
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0);",
    "ALTER DOMAIN positive_amount SET NOT NULL;",
]
GOOD = [
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0) NOT VALID;",
    "CREATE DOMAIN positive_amount AS numeric;\n"
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"add_domain_constraint"})


def check(op, ctx):
    if op.kind != "add_domain_constraint" or op.constraint is None or op.constraint.not_valid:
        return
    if ctx.created_here("domain", op.name):
        return
    if op.constraint.type == "not_null":
        yield (f"ALTER DOMAIN {op.name} SET NOT NULL scans every column of the domain under a SHARE "
               "lock on each table using it (writes wait); it has no NOT VALID form")
    else:
        name = f" {op.constraint.name}" if op.constraint.name else ""
        yield (f"ALTER DOMAIN {op.name} ADD CONSTRAINT{name} without NOT VALID scans every column of "
               "the domain under a SHARE lock on each table using it (writes wait)")
