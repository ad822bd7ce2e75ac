NAME = "create-index-non-concurrently"
SEVERITY = "error"
SUMMARY = "CREATE INDEX without CONCURRENTLY blocks all writes to an existing table while it builds."
WHY = """\
A plain `CREATE INDEX` takes a SHARE lock on the table: every INSERT, UPDATE and DELETE waits
until the whole index is built, which on a large table means minutes of failed requests.
`CREATE INDEX CONCURRENTLY` takes only SHARE UPDATE EXCLUSIVE and lets writes continue. An
index on a table created earlier in the same migration is fine as it is."""
FIX = "CREATE INDEX CONCURRENTLY, outside a transaction block (Alembic: inside autocommit_block())"
FIX_SQL = """\
-- outside BEGIN ... COMMIT (a file the runner does not wrap in a transaction)
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
-- if it fails it leaves an INVALID index: DROP INDEX CONCURRENTLY it and retry"""
FIX_ALEMBIC = """\
with op.get_context().autocommit_block():
    op.create_index("orders_customer_id_idx", "orders", ["customer_id"],
                    postgresql_concurrently=True, if_not_exists=True)"""
BAD = ["CREATE INDEX orders_customer_id_idx ON orders (customer_id);"]
GOOD = [
    "COMMIT;\nCREATE INDEX CONCURRENTLY orders_customer_id_idx ON orders (customer_id);",
    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint);\n"
    "CREATE INDEX orders_customer_id_idx ON orders (customer_id);",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"create_index"})


def check(op, ctx):
    if op.kind == "create_index" and not op.concurrently and not op.table_created_here:
        from migrator.rules._helpers import named, table_name

        yield (f"CREATE INDEX{named(op.name)} on existing table {table_name(op)} without "
               "CONCURRENTLY holds a SHARE lock: all writes to the table wait until the index is built")
