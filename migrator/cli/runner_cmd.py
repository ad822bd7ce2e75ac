"""``migrator expand | contract | rollback | status | plan``: the phase runner's commands."""

from __future__ import annotations

import json
import sys
from functools import wraps
from pathlib import Path

import click

from ..config import Config, load_config
from ..errors import MigratorError, UsageError
from ..backfill.progress import make_progress
from ..releases import BASELINE_LABEL
from .plural import count

# -- shared options -----------------------------------------------------------------------------


def release_arg(ctx, param, value):
    """Check a --release value before anything heavy is imported: a bad one is exit 2 at once."""
    if value is None:
        return value
    from ..releases import parse_release

    try:
        parse_release(value)
    except UsageError as e:
        raise click.BadParameter(e.message) from None
    return value



def common_options(fn):
    """Where the project and the database are, and how patient to be."""
    opts = [
        click.option("--database-url", envvar=None, default=None,
                     help="Database URL (else MIGRATOR_DATABASE_URL, DATABASE_URL, the config file, sqlalchemy.url in alembic.ini)."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
                     help="migrator.toml or pyproject.toml to read."),
        click.option("-d", "--script-location", default=None,
                     help="Project directory (with alembic.ini) or Alembic script directory."),
        click.option("--lock-wait", type=float, default=None,
                     help="Seconds to wait for another runner to finish (exit 3 after)."),
        click.option("--lock-timeout", type=int, default=None,
                     help="lock_timeout per migration statement, in milliseconds."),
        click.option("--statement-timeout", type=int, default=None,
                     help="statement_timeout per statement, in milliseconds."),
        click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
                     show_default=True),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def build_config(database_url=None, config_file=None, script_location=None, lock_wait=None,
                 lock_timeout=None, statement_timeout=None, **_ignored) -> Config:
    start = Path.cwd()
    if script_location:
        loc = Path(script_location).expanduser()
        if not loc.exists():
            raise UsageError("no such directory", path=str(loc))
        script_location = str(loc.resolve())
        if not config_file:
            start = loc.resolve()
    config = load_config(start, config_file=Path(config_file) if config_file else None)
    return config.with_overrides(database_url=database_url, script_location=script_location,
                                 lock_wait=lock_wait, lock_timeout_ms=lock_timeout,
                                 statement_timeout_ms=statement_timeout)


def json_errors(command: str):
    """With --format json, a refusal or error is a JSON document too (same exit code)."""

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except MigratorError as e:
                if kwargs.get("fmt") != "json":
                    raise
                from ..dburl import redact_text

                click.echo(json.dumps({"version": 1, "command": command, "ok": False,
                                       "error": redact_text(e.render()), "exit_code": e.exit_code},
                                      indent=2))
                sys.exit(e.exit_code)
        return wrapper
    return deco


def _pairs(revs: tuple[str, ...], reason: str | None, flag: str) -> dict[str, str]:
    if revs and not (reason and reason.strip()):
        raise UsageError(f"{flag} needs --reason '...' (it is recorded in the history)")
    return {r: reason.strip() for r in revs}


# -- printing -----------------------------------------------------------------------------------


def _err(text: str) -> None:
    click.echo(text, err=True)


def _events(fmt: str, quiet: bool = False):
    def emit(event: str, data: dict) -> None:
        if quiet and event == "backfill":
            return
        if event == "lock_wait":
            _err(f"another migrator run holds the runner lock; waiting up to {data['wait']:g}s ...")
        elif event == "retry":
            _err(f"  lock timeout in {data['revision']} (attempt {data['attempt']}); retrying after backoff")
        elif event == "repaired":
            _err(f"  dropped INVALID index {data['index']} on {data['table']} (left by an "
                 "interrupted CREATE INDEX CONCURRENTLY); building it again")
        elif event == "backfill" and fmt == "text":
            _err(f"  backfilling {data['table']} for {data['revision']} ...")
    return emit


def _ms(ms: float) -> str:
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def window_text(window) -> str:
    """C <= V <= E in words."""
    if window is None:
        return "window: unknown"
    c, e, pending = window.min_release, window.max_release, window.first_pending_expand
    head = f"window [C={c if c is not None else '-'}, E={e if e is not None else '-'}"
    if window.open_ended:
        who = f"releases >= {c}" if c is not None else "any release"
        return f"{head}, no expand pending]: {who} may run"
    if window.empty:
        return (f"{head}, expand of {pending} pending]: no release may run (contract {c} is applied "
                f"but expand {pending} is not: run `migrator expand --release {c}`)")
    who = f"releases >= {c} and below {pending}" if c is not None else f"releases below {pending}"
    return f"{head}, expand of {pending} pending]: {who} may run"


def print_run(result) -> None:
    for s in result.steps:
        line = (f"  {s.status:<11} {s.revision:<34} {s.phase:<8} {s.release:<8} "
                f"{_ms(s.duration_ms):>8}  {s.attempts} attempt{'s' if s.attempts != 1 else ''}")
        if s.status == "planned":
            line = f"  {s.status:<11} {s.revision:<34} {s.phase:<8} {s.release:<8}  {s.message}"
        click.echo(line)
        for b in s.backfills:
            click.echo(f"              backfill {b.get('name')}: {b.get('status')}, "
                       f"{count(b.get('rows_done', 0), 'row')} in {count(b.get('batches', 0), 'batch')}")
        if s.repaired:
            click.echo(f"              repaired INVALID index(es): {', '.join(s.repaired)}")
        if s.override_reason:
            click.echo(f"              {s.override_reason}")
        if s.error:
            click.echo(f"              error: {s.error}")
    for n in result.notes:
        click.echo(f"  note: {n}")
    d = result.as_dict()["summary"]
    verb = {"rollback": f"{d['rolled_back']} rolled back"}.get(result.command, f"{d['applied']} applied")
    if result.dry_run:
        verb = f"{d['planned']} planned (dry run, nothing applied)"
    if not result.steps:
        verb = "nothing to do"
    click.echo(f"{result.command} {result.release}: {verb}, {d['failed']} failed in "
               f"{_ms(d['duration_ms'])}; {window_text(result.window)}")


def _finish(result, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
    else:
        print_run(result)
    if result.exit_code:
        sys.exit(result.exit_code)


# -- commands -----------------------------------------------------------------------------------


EXIT_DOC = ("\n\nExit status: 0 done (or nothing to do), 1 refused or a migration failed, 2 usage "
            "error or broken revision script (the file is named), 3 database unreachable or the "
            "runner lock wait timed out.")


def _apply_command(name: str, doc: str):
    @click.command(name=name, help=doc + EXIT_DOC)
    @click.option("--release", "-r", required=True, callback=release_arg, help="The release, e.g. 1.4.0.")
    @click.option("--dry-run", is_flag=True, help="Say what would be applied; apply nothing.")
    @click.option("--accept-drift", multiple=True, metavar="REV",
                  help="Accept an applied revision's edited file (needs --reason).")
    @click.option("--override-lint", multiple=True, metavar="REV",
                  help="Apply a migration the linter rejects (needs --reason).")
    @click.option("--reason", default=None, help="Why: recorded in the history.")
    @click.option("--quiet", "-q", is_flag=True,
                  help="No progress on standard error (backfills show a bar on a terminal, a "
                       "line every 10 s elsewhere).")
    @common_options
    @json_errors(name)
    def cmd(release, dry_run, accept_drift, override_lint, reason, quiet, fmt, release_unknown_ok=False,
            **kw):
        from ..runner import api

        config = build_config(**kw)
        if name == "contract" and config.models:  # [tool.migrator] models: the release's models
            from ..check.live import refuse_breaking_contract

            refuse_breaking_contract(config, release)
        if fmt == "text":
            click.echo(f"{name} {release}" + (" (dry run)" if dry_run else ""))
        extra = {"release_unknown_ok": release_unknown_ok} if name == "contract" else {}
        result = getattr(api, name)(config, release, dry_run=dry_run,
                                    accept_drift=_pairs(accept_drift, reason, "--accept-drift"),
                                    override_lint=_pairs(override_lint, reason, "--override-lint"),
                                    on_event=_events(fmt, quiet), progress=None if quiet else make_progress,
                                    **extra)
        _finish(result, fmt)

    if name == "contract":
        cmd = click.option("--release-unknown-ok", is_flag=True,
                           help="Contract up to a release that no revision declares and nobody "
                                "recorded as deployed (normally refused: a typo would apply every "
                                "contract migration up to it).")(cmd)
    return cmd


expand = _apply_command("expand", "Apply pending expand migrations with release <= R. A release "
                                  "no revision declares is allowed (it applies what is pending "
                                  "below it) and said so.")
contract = _apply_command("contract", "Gate `contract R`, then apply pending contract migrations "
                                      "with release <= R. R must be declared by a revision or "
                                      "recorded as deployed (`migrator deployed --release R`, or "
                                      "an instance in the registry); with no instance registry, "
                                      "the latest recorded deployment must be R or newer.")


@click.command()
@click.option("--release", "-r", required=True, callback=release_arg,
              help="The release whose rollout has finished.")
@click.option("--note", default=None, help="Free text stored with the record (a pipeline URL).")
@common_options
@json_errors("deployed")
def deployed(release, note, fmt, **kw):
    """Record that the rollout of release R has finished (run it after the deploy, before
    `gate contract` / `contract`). Without an instance registry, `contract R` needs this record;
    record a rollback of the code the same way (its older release then blocks contract).

    Exit status: 0 recorded, 1 refused (the schema does not support R), 2 usage error, 3 database
    unreachable."""
    from ..runner import api

    doc = api.deployed(build_config(**kw), release, note=note)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    click.echo(f"recorded: release {doc['release']} deployed ({doc['recorded_at']}, by {doc['recorded_by']})")
    for n in doc["notes"]:
        click.echo(f"  note: {n}")


@click.command()
@click.option("--release", "-r", required=True, callback=release_arg, help="Undo expand migrations of this release and newer.")
@click.option("--dry-run", is_flag=True, help="Say what would be undone; undo nothing.")
@common_options
@json_errors("rollback")
def rollback(release, dry_run, fmt, **kw):
    """Undo applied expand migrations of releases >= R (refused once a contract >= R is applied).

    Exit status: 0 done, 1 refused or a downgrade failed, 2 usage error, 3 database unreachable
    or the runner lock wait timed out."""
    from ..runner import api

    config = build_config(**kw)
    if fmt == "text":
        click.echo(f"rollback {release}" + (" (dry run)" if dry_run else ""))
    _finish(api.rollback(config, release, dry_run=dry_run, on_event=_events(fmt)), fmt)


@click.command()
@common_options
@json_errors("status")
def status(fmt, **kw):
    """The compatibility window; applied / pending / failed migrations per release."""
    from ..runner import status as readonly

    st = readonly.status(build_config(**kw))
    if fmt == "json":
        click.echo(json.dumps(st.as_dict(), indent=2, default=str))
        return
    click.echo(f"database: {st.database}")
    click.echo(window_text(st.window))
    for release, states in st.releases().items():
        mine = [m for m in st.migrations if m.release == release]
        if release == BASELINE_LABEL and all(m.state == "applied" and not m.drift for m in mine):
            # an adopted project's released history: one line, not a hundred (--format json lists them)
            click.echo(f"release baseline: {len(mine)} revisions of adopted history, all applied "
                       f"({mine[0].revision} .. {mine[-1].revision})")
            continue
        click.echo(f"release {release}")
        for m in mine:
            extra = ""
            if m.drift:
                extra += "  (file changed since applied)"
            if not m.on_disk:
                extra += "  (not on disk)"
            if m.error:
                extra += f"  error: {m.error.splitlines()[0]}"
            click.echo(f"  {m.state:<11} {m.revision:<34} {m.phase:<8}{extra}")


@click.command()
@click.option("--release", "-r", required=True, callback=release_arg, help="The release to plan for.")
@click.option("--phase", type=click.Choice(["all", "expand", "contract"]), default="all", show_default=True)
@click.option("--sql", "sql_only", is_flag=True, help="Print the SQL only.")
@common_options
@json_errors("plan")
def plan(release, phase, sql_only, fmt, **kw):
    """The ordered steps for a release with their SQL (as PostgreSQL runs it); nothing is applied."""
    from ..runner import status as readonly

    result = readonly.plan(build_config(**kw), release, phase=phase)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2, default=str))
        return
    if sql_only:
        for s in result.steps:
            click.echo(f"-- {s.revision} ({s.phase} {s.release})")
            for stmt in s.sql:
                click.echo(stmt)
            click.echo("")
        return
    click.echo(f"plan {result.release}:")
    for i, s in enumerate(result.steps, 1):
        click.echo(f"{i:>3}. {s.phase:<8} {s.release:<8} {s.revision}  {s.message}")
        if s.lint is not None:
            verdict = s.lint["verdict"]
            if verdict == "rejected":
                verdict += f": {s.phase} will refuse it (fix it, or --override-lint {s.revision} --reason '...')"
            elif verdict == "warnings":
                verdict = f"{count(s.lint['warnings'], 'warning')}"
            click.echo(f"       lint: {verdict}")
            for e in s.lint["errors"][:5]:
                click.echo(f"         {e}")
        for stmt in s.sql:
            for line in stmt.splitlines():
                click.echo(f"       {line}")
    if not result.steps:
        click.echo("  nothing to do")
    for n in result.notes:
        click.echo(f"note: {n}")
    if result.window is not None:
        click.echo(window_text(result.window))


