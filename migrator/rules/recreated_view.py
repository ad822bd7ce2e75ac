NAME = "recreated-view"
SEVERITY = "warning"
SUMMARY = "A view dropped and created again must keep every column the running release reads."
WHY = """\
`DROP VIEW v; CREATE VIEW v AS ...` in one transaction redefines the view in one step (it is how
a view is changed when `CREATE OR REPLACE VIEW` cannot: a column type changes, or a column goes).
Readers never see it missing, so the pair is neither an addition nor a removal: it fits an expand
or a contract migration, which keeps the phase of what else it does. But the release still running queries the new definition: if a column it
reads is gone or renamed, or its type changed incompatibly, those queries fail. `CASCADE`, or a
`COMMIT` between the two statements, leaves the view (or its dependents) missing for a while: that
is a removal, judged as a contract change."""
FIX = ("keep every column the running release reads (add new ones at the end); drop a column "
       "from the view in a contract migration, once no release reads it")
FIX_SQL = """\
-- expand: the old columns stay, the new one is added
DROP VIEW active_users;
CREATE VIEW active_users AS SELECT id, email, display_name FROM users WHERE active;
-- contract, once no release reads email through the view
DROP VIEW active_users;
CREATE VIEW active_users AS SELECT id, display_name FROM users WHERE active;"""
FIX_ALEMBIC = """\
# expand revision
op.execute("DROP VIEW active_users")
op.execute("CREATE VIEW active_users AS SELECT id, email, display_name FROM users WHERE active")"""
BAD = ["DROP VIEW active_users;\nCREATE VIEW active_users AS SELECT id, display_name FROM users WHERE active;"]
GOOD = ["CREATE OR REPLACE VIEW active_users AS SELECT id, email, display_name FROM users WHERE active;"]


# The operation kinds check() looks at (the engine sends it no others).
KINDS = frozenset({"drop_object"})


def check(op, ctx):
    if op.kind == "drop_object" and ctx.view_redefined(op):
        what = "materialized view" if op.object_type == "materialized_view" else "view"
        names = ", ".join(op.names or [op.name])
        yield (f"{what} {names} is dropped and created again: the running release reads the new "
               "definition, so it must keep every column that release reads")
