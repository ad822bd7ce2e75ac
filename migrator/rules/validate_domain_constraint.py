NAME = "validate-domain-constraint"
SEVERITY = "error"
SUMMARY = "ALTER DOMAIN ... VALIDATE CONSTRAINT blocks writes to every table using the domain while it scans."
WHY = """\
Unlike `ALTER TABLE ... VALIDATE CONSTRAINT` (SHARE UPDATE EXCLUSIVE: reads and writes go on),
validating a domain constraint takes a SHARE lock on every table that has a column of the
domain, and holds it while all of their rows are checked: INSERT, UPDATE and DELETE on those
tables wait for the whole scan. A NOT VALID domain constraint already checks every new and
updated value, so validating it only proves the old rows. Prove them per table with an
online-validated table CHECK instead, or validate the domain in a maintenance window (suppress
with the reason). A domain created earlier in the same migration has no columns yet."""
FIX = "leave the domain constraint NOT VALID and prove old rows per table with CHECK ... NOT VALID + VALIDATE CONSTRAINT (online), or validate in a maintenance window"
FIX_SQL = """\
-- the domain constraint stays NOT VALID; per table using it:
ALTER TABLE payments ADD CONSTRAINT payments_amount_positive CHECK (amount > 0) NOT VALID;
-- next migration (SHARE UPDATE EXCLUSIVE: reads and writes continue)
ALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;"""
FIX_ALEMBIC = """\
op.create_check_constraint("payments_amount_positive", "payments", "amount > 0",
                           postgresql_not_valid=True)
# next revision
op.execute("ALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive")"""
BAD = ["ALTER DOMAIN positive_amount VALIDATE CONSTRAINT positive_amount_check;"]
GOOD = [
    "ALTER TABLE payments VALIDATE CONSTRAINT payments_amount_positive;",
    "CREATE DOMAIN positive_amount AS numeric;\n"
    "ALTER DOMAIN positive_amount ADD CONSTRAINT positive_amount_check CHECK (VALUE > 0) NOT VALID;\n"
    "ALTER DOMAIN positive_amount VALIDATE CONSTRAINT positive_amount_check;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"validate_domain_constraint"})


def check(op, ctx):
    if op.kind != "validate_domain_constraint" or ctx.created_here("domain", op.name):
        return
    name = f" {op.constraint.name}" if op.constraint is not None and op.constraint.name else ""
    yield (f"ALTER DOMAIN {op.name} VALIDATE CONSTRAINT{name} holds a SHARE lock on every table "
           "using the domain while it checks all their rows: their writes wait for the whole scan")
