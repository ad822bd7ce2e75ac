"""The command line: a thin layer over the Python API. Subcommands live in their own modules and
are imported only when run, so ``migrator --help`` starts fast."""

from __future__ import annotations

import importlib
import os
import sys

import click

from .. import DISTRIBUTION, __version__
from ..errors import EXIT_INTERNAL, MigratorError

# command name -> "module:attribute" (relative to migrator.cli)
COMMANDS = {
    "lint": "lint_cmd:lint",
    "rules": "lint_cmd:rules",
    "explain": "lint_cmd:explain",
    "init": "project_cmd:init",
    "adopt": "project_cmd:adopt",
    "revision": "project_cmd:revision",
    "expand": "runner_cmd:expand",
    "contract": "runner_cmd:contract",
    "deployed": "runner_cmd:deployed",
    "rollback": "runner_cmd:rollback",
    "status": "runner_cmd:status",
    "plan": "runner_cmd:plan",
    "backfill": "backfill_cmd:backfill",
    "gate": "gate_cmd:gate",
    "instances": "gate_cmd:instances",
    "serve": "gate_cmd:serve",
    "check": "check_cmd:check",
}

HELP = {
    "lint": "Classify and check migrations (SQL files, directories, Alembic scripts, - for stdin).",
    "rules": "List the rule catalog.",
    "explain": "Print one rule's documentation.",
    "init": "Add the expand/contract layout to an Alembic project (or create one).",
    "adopt": "Adopt an existing Alembic project: record its history as a baseline.",
    "revision": "Create a correctly placed, tagged revision.",
    "expand": "Apply pending expand migrations with release <= R.",
    "contract": "Gate, then apply pending contract migrations with release <= R.",
    "deployed": "Record that the rollout of release R has finished.",
    "rollback": "Undo applied expand migrations of releases >= R.",
    "status": "The compatibility window, applied / pending / failed per release.",
    "plan": "The ordered plan for a release with its SQL; nothing is applied.",
    "backfill": "Run or resume declared backfills.",
    "gate": "The readiness gate: ready | contract | rollback.",
    "instances": "List registered application instances.",
    "serve": "Serve the readiness gate over HTTP.",
    "check": "Check each release's models against the schema its migrations leave.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        return getattr(module, attr)

    def format_commands(self, ctx, formatter):
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, package_name=DISTRIBUTION,
                      message="%(prog)s %(version)s (distribution " + DISTRIBUTION + ")")
def cli():
    """migrator: zero-downtime schema migrations (expand / contract)."""


def _database_error(e: BaseException) -> bool:
    """A connection lost or refused (psycopg or SQLAlchemy OperationalError), known without
    importing either driver at startup."""
    return any(k.__name__ in ("OperationalError", "InterfaceError")
               and k.__module__.split(".")[0] in ("psycopg", "sqlalchemy") for k in type(e).__mro__)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every error becomes one clear line and its documented exit code."""
    try:
        rv = cli.main(args=argv, prog_name="migrator", standalone_mode=False)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_INTERNAL)
    except click.ClickException as e:
        e.show()
        sys.exit(2 if isinstance(e, click.UsageError) else e.exit_code)
    except MigratorError as e:
        from ..dburl import redact_text

        click.echo(f"error: {redact_text(e.render())}", err=True)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the last line of defence: no traceback for users
        from ..dburl import redact_text

        if os.environ.get("MIGRATOR_DEBUG"):
            raise
        if _database_error(e):  # a driver error no command caught: classified by its SQLSTATE
            from ..dberrors import connection_error

            err = connection_error(e, "database error")
            click.echo(f"error: {redact_text(err.render())}", err=True)
            sys.exit(err.exit_code)
        click.echo(f"internal error: {redact_text(type(e).__name__ + ': ' + str(e))} "
                   "(set MIGRATOR_DEBUG=1 for a traceback)", err=True)
        sys.exit(EXIT_INTERNAL)
    # without standalone mode click returns ctx.exit(n)'s code instead of exiting
    sys.exit(rv if isinstance(rv, int) else 0)
