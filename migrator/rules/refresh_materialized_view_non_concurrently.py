NAME = "refresh-materialized-view-non-concurrently"
SEVERITY = "error"
SUMMARY = "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks reads of the view."
WHY = """\
A plain `REFRESH MATERIALIZED VIEW` holds an ACCESS EXCLUSIVE lock on the view for the whole
refresh: every query of the running release that reads it waits. `CONCURRENTLY` (needs a
unique index on the view, and a populated view) lets reads continue. A materialized view
created in the same migration may be refreshed plainly."""
FIX = "REFRESH MATERIALIZED VIEW CONCURRENTLY (after creating a unique index on the view)"
FIX_SQL = """\
CREATE UNIQUE INDEX CONCURRENTLY sales_summary_key ON sales_summary (day);  -- once
REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;"""
FIX_ALEMBIC = """\
op.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary")"""
BAD = ["REFRESH MATERIALIZED VIEW sales_summary;"]
GOOD = [
    "REFRESH MATERIALIZED VIEW CONCURRENTLY sales_summary;",
    "CREATE MATERIALIZED VIEW daily AS SELECT 1 AS one WITH NO DATA;\nREFRESH MATERIALIZED VIEW daily;",
]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"refresh_materialized_view"})


def check(op, ctx):
    if op.kind == "refresh_materialized_view" and not op.concurrently and not op.table_created_here:
        name = op.name or op.table or ""
        if name.lower().split(".")[-1] in ctx.created_views:
            return
        yield (f"REFRESH MATERIALIZED VIEW {name} without CONCURRENTLY holds an ACCESS EXCLUSIVE lock "
               "on the view: the running release's reads of it wait for the whole refresh")
