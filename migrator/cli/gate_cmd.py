"""``migrator gate``, ``migrator instances``, ``migrator serve``: the readiness gate for pipelines,
the instance registry for people, the gate over HTTP for probes and analysis runs."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from ..errors import EXIT_INDETERMINATE, UsageError

GATE_KINDS = ("ready", "contract", "rollback")


def _config(config_file: str | None, **flags):
    from ..config import load_config

    config = load_config(config_file=Path(config_file) if config_file else None)
    config = config.with_overrides(**flags)
    from ..gate.notify import validate_webhooks

    validate_webhooks(config.webhooks, path=str(config.config_path) if config.config_path else None)
    return config


def _location(script_location: str | None) -> str | None:
    if script_location is None:
        return None
    loc = Path(script_location).expanduser()
    if not loc.is_dir():
        raise UsageError("no such directory", path=str(loc))
    return str(loc.resolve())


def _database_url(config) -> str:
    """The URL to connect with (from the flag, MIGRATOR_DATABASE_URL, DATABASE_URL, the config
    file or alembic.ini), checked before any waiting: a malformed one is a usage error."""
    import psycopg.conninfo

    from ..config import find_database_url
    from ..dburl import normalize_url, redact, redact_text, to_text
    from ..gate.snapshot import libpq_url

    given, source = find_database_url(config)
    url = to_text(normalize_url(given))
    libpq = libpq_url(url)
    if libpq is not None:
        try:
            psycopg.conninfo.conninfo_to_dict(libpq)
        except psycopg.Error as e:
            raise UsageError(f"cannot read database URL {redact(given)!r} (from {source}): "
                             f"{redact_text(str(e).strip().splitlines()[0])}") from None
    return url


def _text_report(result) -> str:
    w = result.window
    lines = [f"gate {result.gate} {result.release}: {result.verdict.upper()}"]
    if w is not None:
        lines.append(f"  window: {w.span()}")
        if w.pending_expand:
            lines.append("  pending expand: " + ", ".join(f"{r.revision} ({r.release}, {r.state})" for r in w.pending_expand[:10]))
        if w.pending_contract:
            lines.append("  pending contract: " + ", ".join(f"{r.revision} ({r.release})" for r in w.pending_contract[:10]))
    for r in result.reasons:
        lines.append(f"  {r.severity:<8} {r.code}: {r.message}")
    lines.append(f"  ({result.total_ms:.0f} ms)")
    return "\n".join(lines) + "\n"


@click.command("gate")
@click.argument("kind", type=click.Choice(GATE_KINDS), metavar="ready|contract|rollback")
@click.option("--release", "-r", required=True, help="The application release to check (e.g. 1.4.0).")
@click.option("--database-url", default=None,
              help="SQLAlchemy or libpq URL (default: MIGRATOR_DATABASE_URL, DATABASE_URL, the config file, sqlalchemy.url in alembic.ini).")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True,
              help="json prints the versioned gate document.")
@click.option("--wait", "wait", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="Poll until the gate passes, at most SECONDS (exit 3 on timeout).")
@click.option("--interval", type=click.FloatRange(0.05), default=2.0, show_default=True,
              help="Seconds between polls with --wait.")
@click.option("--require-registry/--no-require-registry", default=None,
              help="contract: fail when no application instance ever registered (default: pass with a warning).")
@click.option("--instance-ttl", type=click.FloatRange(0, min_open=True), default=None,
              help="Seconds of silence after which an instance counts as gone (default 60).")
@click.option("-d", "--script-location", default=None,
              help="Alembic project directory (with alembic.ini) or script directory, for pending migrations.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Configuration file (default: migrator.toml or pyproject.toml, searched upwards).")
@click.option("--models", "models", is_flag=False, flag_value="", default=None, metavar="MODULE:ATTR",
              help="ready: also compare RELEASE's models (default: `models` in [tool.migrator]) "
                   "with the live schema; a table, column or type they need that is missing fails.")
def gate(kind, release, database_url, fmt, wait, interval, require_registry, instance_ttl, script_location,
         config_file, models):
    """The readiness gate for RELEASE.

    \b
    ready     RELEASE is inside the compatibility window; nothing failed or half-applied; no
              INVALID index; no backfill it needs unfinished.
    contract  ready, and no live application instance runs an older release.
    rollback  the schema still supports RELEASE (no newer contract applied).

    Exit status: 0 pass, 1 fail, 2 usage or configuration error, 3 unknown (database
    unreachable) or --wait timed out.
    """
    from ..gate.core import NO_CATALOG, Reason, evaluate, load_catalog_if_any, wait_for
    from ..releases import parse_release

    config = _config(config_file, database_url=database_url, require_registry=require_registry,
                     instance_ttl=instance_ttl, script_location=_location(script_location))
    parse_release(release)
    url = _database_url(config)
    catalog = load_catalog_if_any(config)
    kwargs = dict(url=url, config=config, catalog=NO_CATALOG if catalog is None else catalog)
    timed_out = False
    if wait is None:
        result = evaluate(kind, release, **kwargs)
    else:
        last: list[str] = []

        def progress(r):  # one line per change, not one per poll
            line = f"waiting for gate {kind} {release}: {r.verdict}: {r.summary()}"
            if not r.passed and line not in last[-1:]:
                click.echo(line, err=True)
                last.append(line)

        result, timed_out = wait_for(kind, release, timeout=wait, interval=interval, on_attempt=progress, **kwargs)
        if timed_out:
            result.reasons.append(Reason("wait_timed_out", f"the gate did not pass within {wait:g}s"))
    if models is not None and result.verdict != "unknown":
        _models_verdict(result, config, url, release, models or None)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        click.echo(_text_report(result), nl=False)
    sys.exit(EXIT_INDETERMINATE if timed_out else result.exit_code)


def _models_verdict(result, config, url: str, release: str, models: str | None) -> None:
    """``--models``: the release's models against the live schema, as gate reasons."""
    from ..check.live import check_live
    from ..gate.core import FAIL, Reason

    for f in check_live(config, url, release, models=models):
        result.reasons.append(Reason("models_mismatch", f"{f.loc.path}:{f.loc.line}: {f.rule}: {f.message}",
                                     severity=f.severity.value))
    if any(r.severity == "error" for r in result.reasons):
        result.verdict = FAIL


@click.command("instances")
@click.option("--database-url", default=None,
              help="SQLAlchemy or libpq URL (default: MIGRATOR_DATABASE_URL, DATABASE_URL, the config file, sqlalchemy.url in alembic.ini).")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--live", "live_only", is_flag=True, help="Only instances that are live now.")
@click.option("--instance-ttl", type=click.FloatRange(0, min_open=True), default=None,
              help="Seconds of silence after which an instance counts as expired (default 60).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Configuration file (default: migrator.toml or pyproject.toml, searched upwards).")
def instances(database_url, fmt, live_only, instance_ttl, config_file):
    """List registered application instances: live, expired (silent longer than the ttl) or
    stopped (deregistered). Exit status 3 when the database cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..config import find_database_url
    from ..dberrors import connection_error
    from ..dburl import redact
    from ..gate.registry import list_instances

    config = _config(config_file, database_url=database_url, instance_ttl=instance_ttl)
    url = _database_url(config)
    try:
        rows = list_instances(url, ttl=config.instance_ttl)
    except SQLAlchemyError as e:
        raise connection_error(e, f"cannot read the database {redact(find_database_url(config)[0])} "
                                  f"(from {find_database_url(config)[1]})") from None
    if live_only:
        rows = [r for r in rows if r["state"] == "live"]
    if fmt == "json":
        doc = {"version": 1, "ttl_s": config.instance_ttl,
               "instances": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
                             for r in rows]}
        click.echo(json.dumps(doc, indent=2))
        return
    if not rows:
        click.echo("no instance registered")
        return
    header = ("INSTANCE", "RELEASE", "STATE", "SILENT", "HOST", "PID")
    table = [header] + [(r["instance_id"], r["release"], r["state"], f"{r['silent_s']:g}s",
                         r["hostname"] or "", str(r["pid"] or "")) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 in a pod).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--database-url", default=None,
              help="SQLAlchemy or libpq URL (default: MIGRATOR_DATABASE_URL, DATABASE_URL, the config file, sqlalchemy.url in alembic.ini).")
@click.option("--release", "default_release", default=None,
              help="Release the probe checks when the request names none (e.g. the pod's own).")
@click.option("--cache-ttl", type=click.FloatRange(0), default=1.5, show_default=True,
              help="Seconds an answer is reused, so probes stay fast.")
@click.option("--require-registry/--no-require-registry", default=None)
@click.option("--instance-ttl", type=click.FloatRange(0, min_open=True), default=None)
@click.option("--access-log", is_flag=True, help="Log each request to stderr.")
@click.option("-d", "--script-location", default=None,
              help="Alembic project directory (with alembic.ini) or script directory, for pending migrations.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Configuration file (default: migrator.toml or pyproject.toml, searched upwards).")
def serve(host, port, database_url, default_release, cache_ttl, require_registry, instance_ttl,
          access_log, script_location, config_file):
    """Serve the readiness gate over HTTP (read-only).

    \b
    GET /healthz/schema?release=V[&gate=ready]   probe: 200 pass, 503 fail or unknown
    GET /v1/gate/{ready|contract|rollback}?release=V   decision: always 200, verdict in "result"
    GET /livez                                   the server is up
    """
    import signal

    from ..config import find_database_url
    from ..dburl import redact
    from ..gate.connect import make_engine
    from ..gate.core import load_catalog_if_any
    from ..gate.server import GateService, make_server
    from ..releases import parse_release

    config = _config(config_file, database_url=database_url, require_registry=require_registry,
                     instance_ttl=instance_ttl, script_location=_location(script_location))
    if default_release:
        default_release = str(parse_release(default_release))
    url = _database_url(config)
    catalog = load_catalog_if_any(config)
    engine = make_engine(url, read_only=True, connect_timeout=2, statement_timeout_ms=3000, pool_size=4)
    service = GateService(engine, config, catalog, cache_ttl=cache_ttl, default_release=default_release)
    try:
        server = make_server(service, host, port, access_log=access_log)
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    bound_host, bound_port = server.server_address[:2]
    click.echo(f"migrator serve: http://{bound_host}:{bound_port} (database {redact(find_database_url(config)[0])}, "
               f"cache {cache_ttl:g}s, catalog {'loaded' if catalog is not None else 'none: history only'})",
               err=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        engine.dispose()
        click.echo("migrator serve: stopped", err=True)
