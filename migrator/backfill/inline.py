"""A backfill under plain Alembic (no migrator runner): batched on the migration's own
connection and transaction (a development database, the Recreate strategy), or, offline
(``--sql``), the batch statement written into the script for the reader and the linter."""

from __future__ import annotations

from .spec import BackfillSpec
from .sqlgen import batch_statement


def offline_text(spec: BackfillSpec, dialect) -> str:
    head = (f"-- migrator backfill {spec.resolved_name()}: batched by key, one batch per "
            "transaction, run by `migrator backfill`; one batch:")
    return f"{head}\n{batch_statement(spec, dialect)}"


def run_in_alembic(spec: BackfillSpec) -> int:
    """Run the whole backfill now in Alembic's context; returns rows updated (0 offline)."""
    from alembic import op

    ctx = op.get_context()
    if ctx.as_sql:
        ctx.impl.static_output(offline_text(spec, ctx.dialect) + ctx.impl.command_terminator)
        return 0
    return run_inline(op.get_bind(), spec)


def run_inline(conn, spec: BackfillSpec, batch_size: int | None = None) -> int:
    """Walk the table in key order on ``conn`` inside its current transaction."""
    from .batch import Batcher
    from .catalog import resolve_key

    key = resolve_key(conn, spec)
    batcher = Batcher(spec, conn.dialect, key)
    size = batch_size or spec.batch_size or 5000
    stop = batcher.end_key(conn)
    last, total = None, 0
    while stop is not None:
        last, walked, changed = batcher.run(conn, last, size, stop)
        if walked == 0:
            return total
        total += changed
    return total
