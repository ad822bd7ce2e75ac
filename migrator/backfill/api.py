"""Declaring a backfill inside an expand revision's ``upgrade()``::

    from migrator import backfill

    def upgrade():
        op.add_column("users", sa.Column("full_name", sa.Text()))
        backfill("users", set={"full_name": "first_name || ' ' || last_name"},
                 where="full_name IS NULL")

Under migrator's runner (inside ``collecting()``) the declaration is only recorded: the runner
runs it after the revision's DDL transaction commits, one batch per short transaction. Under
plain ``alembic upgrade`` it runs inline, batched, on the migration's connection; with
``alembic upgrade --sql`` it writes the batch statement to the script.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator

from .spec import BackfillSpec


@dataclasses.dataclass
class _Collector:
    specs: list[BackfillSpec]
    revision: str | None
    release: str | None


_collector: contextvars.ContextVar[_Collector | None] = contextvars.ContextVar(
    "migrator_backfills_collector", default=None)


@contextlib.contextmanager
def collecting(revision: str | None = None, release: str | None = None) -> Iterator[list[BackfillSpec]]:
    """Record the backfills declared inside the block instead of running them. Given the
    revision and release, each declaration is also registered as pending in the migration's own
    transaction, so a runner that dies after the DDL commits leaves it visible to the gate."""
    collector = _Collector([], revision, release)
    token = _collector.set(collector)
    try:
        yield collector.specs
    finally:
        _collector.reset(token)


def backfill(table: str, *, set: dict[str, str], where: str | None = None,
             key: list[str] | None = None, batch_size: int | None = None, name: str | None = None,
             schema: str | None = None) -> BackfillSpec:
    """Declare a batched backfill of ``table``: ``set`` maps column -> SQL expression over the
    row's columns, ``where`` selects the rows still to fill. Returns the declaration."""
    spec = BackfillSpec(table=table, set=set, where=where, key=tuple(key) if key else None,
                        batch_size=batch_size, name=name, schema=schema)
    collector = _collector.get()
    if collector is not None:
        collector.specs.append(spec)
        if collector.revision is not None:
            from alembic import op

            from .run import declare

            declare(op.get_bind(), spec, revision=collector.revision, release=collector.release or "")
        return spec
    from .inline import run_in_alembic

    run_in_alembic(spec)
    return spec
