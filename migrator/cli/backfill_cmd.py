"""``migrator backfill``: run or resume the declared backfills that are not finished;
``--status`` shows how far each one got."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .plural import count



def _config(config_file, **flags):
    from ..config import load_config

    config = load_config(config_file=Path(config_file) if config_file else None)
    return config.with_overrides(**flags)


def _status_text(rows: list[dict]) -> str:
    if not rows:
        return "no backfills declared\n"
    lines = []
    for b in rows:
        pct = f" ({b['percent']:.1f}%)" if b["percent"] is not None else ""
        total = f" of ~{b['rows_total_estimate']}" if b["rows_total_estimate"] else ""
        state = b["status"] + (" (interrupted: no process runs it)" if b.get("alive") is False else "")
        lines.append(f"{b['name']}  release {b['release']}  {state}{pct}: "
                     f"{b['rows_scanned']}{total} rows walked, {b['rows_done']} updated, "
                     f"{count(b['batches'], 'batch')}, last key {b['last_key']}")
        if b["error"]:
            lines.append(f"    error: {b['error']}")
    return "\n".join(lines) + "\n"


@click.command("backfill")
@click.option("--database-url", default=None,
              help="SQLAlchemy or libpq URL (default: MIGRATOR_DATABASE_URL, DATABASE_URL, the config file, sqlalchemy.url in alembic.ini).")
@click.option("--status", "show_status", is_flag=True, help="Show progress; run nothing.")
@click.option("--name", "names", multiple=True, help="Run only this backfill (repeatable).")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text",
              show_default=True)
@click.option("--target-ms", type=click.FloatRange(1), default=None,
              help="Target duration of one batch transaction (default 100).")
@click.option("--pause-ms", type=click.FloatRange(0), default=None, help="Pause between batches.")
@click.option("--max-rate", type=click.FloatRange(0, min_open=True), default=None,
              help="At most this many rows per second.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Configuration file (default: migrator.toml or pyproject.toml, searched upwards).")
@click.option("--quiet", "-q", is_flag=True, help="No progress on standard error.")
def backfill(database_url, show_status, names, fmt, target_ms, pause_ms, max_rate, config_file, quiet):
    """Run or resume the unfinished backfills, one batch per short transaction.

    Exit status: 0 all finished, 1 a batch failed on the data, 2 usage error (bad table, column
    or SQL), 3 database unreachable or lock waits exhausted (run again to resume).
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ..backfill.progress import make_progress
    from ..backfill.run import backfill_status, run_pending
    from ..config import find_database_url
    from ..dberrors import connection_error
    from ..dburl import normalize_url, redact

    config = _config(config_file, database_url=database_url, backfill_target_ms=target_ms,
                     backfill_pause_ms=pause_ms, backfill_max_rate=max_rate)
    given, source = find_database_url(config)
    url = normalize_url(given)
    if show_status:
        from ..backfill.run import _engine

        engine, _ = _engine(url)
        try:
            rows = backfill_status(engine)
        except SQLAlchemyError as e:  # wrong password: exit 2; unreachable database: exit 3
            raise connection_error(e, f"cannot read the database {redact(given)} (from {source})") from None
        finally:
            engine.dispose()
        if fmt == "json":
            click.echo(json.dumps({"version": 1, "backfills": rows}, indent=2))
        else:
            click.echo(_status_text(rows), nl=False)
        return
    results = run_pending(url, config=config, names=list(names) or None,
                          progress_factory=None if quiet else make_progress)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "backfills": [r.as_dict() for r in results]}, indent=2))
    elif not results:
        click.echo("no unfinished backfills")
    else:
        for r in results:
            click.echo(f"{r.name}: {r.status}, {count(r.rows_done, 'row')} updated, {count(r.batches, 'batch')}, "
                       f"longest batch {r.max_batch_ms:.0f} ms")
