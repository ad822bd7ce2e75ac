"""Errors migrator reports to the user, each with its documented exit code (docs/cli.md)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1  # definitive fail: findings, not ready, refused
EXIT_USAGE = 2  # usage or configuration error, unreadable input
EXIT_INDETERMINATE = 3  # database unreachable, lock or wait timed out: retry
EXIT_INTERNAL = 4


class MigratorError(Exception):
    """An error with a clear message for the user and an exit code. Never shows a traceback."""

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class UsageError(MigratorError):
    """Bad flags, bad configuration, a broken revision script, a bad release string."""

    exit_code = EXIT_USAGE


class RefusedError(MigratorError):
    """A definitive no: contract before expand, rollback after contract, a rejected migration."""

    exit_code = EXIT_FAIL


class IndeterminateError(MigratorError):
    """The answer could not be had now: database unreachable, lock wait or gate wait timed out."""

    exit_code = EXIT_INDETERMINATE
