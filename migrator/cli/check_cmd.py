"""``migrator check --models MODULE:ATTR --release V``: each release's models against the schema
its migrations leave (a thin layer over :func:`migrator.check.api.check_models`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..errors import EXIT_FAIL, EXIT_OK, UsageError
from .lint_cmd import FORMATS, _use_color, _write
from .runner_cmd import release_arg


@click.command("check")
@click.option("--models", "models", metavar="MODULE:ATTR",
              help="The release's models: a declarative Base, registry or MetaData "
                   "(else `models` in [tool.migrator]).")
@click.option("--release", required=True, callback=release_arg, help="The release V to check.")
@click.option("--previous", metavar="REF", default=None,
              help="Git ref of release V-1's code (default: the last release tag below V).")
@click.option("--no-previous", is_flag=True, help="Skip the comparison with release V-1's models.")
@click.option("--database-url", default=None,
              help="A PostgreSQL server to create the throwaway scratch database on (else "
                   "models_database_url in [tool.migrator], else a temporary SQLite file). The "
                   "database it names is never written to.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--strict", is_flag=True, help="Warnings fail the run too (exit 1).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="migrator.toml or pyproject.toml to read.")
@click.option("-d", "--script-location", default=None,
              help="Project directory (with alembic.ini) or Alembic script directory.")
def check(models, release, previous, no_previous, database_url, fmt, output, strict, config_file,
          script_location):
    """Check release V's SQLAlchemy models (and V-1's, from git) against the schema the
    migrations leave after expand V and after contract V, replayed into a scratch database.

    Exit status: 0 clean (warnings allowed), 1 findings (or warnings with --strict), 2 usage,
    configuration, an unimportable model or a migration that cannot be replayed, 3 the scratch
    server is unreachable.
    """
    from ..check.api import AUTO, check_models
    from .runner_cmd import build_config

    if previous and no_previous:
        raise UsageError("--previous and --no-previous exclude each other")
    config = build_config(config_file=config_file, script_location=script_location)
    report = check_models(config, release, models=models,
                          previous=None if no_previous else (previous or AUTO),
                          database_url=database_url or config.models_database_url)
    if fmt == "text":
        from ..report.models_text import render
    else:
        from ..report import render as generic

        def render(report, **kw):
            return generic(report, fmt, **kw)
    if output == "-":
        output = None
    _write(render(report, color=fmt == "text" and not output and _use_color(sys.stdout)), output)
    if output:
        click.echo(f"migrator: models check of {report.release}: {report.errors} errors, "
                   f"{report.warnings} warnings; report written to {output}", err=True)
    sys.exit(EXIT_FAIL if report.errors or (strict and report.warnings) else EXIT_OK)
