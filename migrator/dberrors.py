"""What a database error means, read from its SQLSTATE, in one place for the runner, backfills, the
gate and the command line.

- ``REJECTED``: permanent, the user must change something (wrong password 28P01, unknown role or
  no pg_hba entry 28000, missing database 3D000, bad ``options`` 22023/42704, a bad connection
  setting on the client side): exit 2, retrying cannot help;
- ``UNREACHABLE``: the server is gone, restarting, refusing connections or overloaded (class 08,
  57P01-57P03, class 53): exit 3, retry later;
- ``LOCK``: a lock wait or a conflict (55P03 lock_timeout, 40P01 deadlock, 40001 serialization
  failure): retry the step;
- ``CANCELED``: statement_timeout or a cancel request (57014): the statement failed, definitively
  for this run;
- ``FAILED``: anything else the server refused (the statement or the data): definitive.

libpq reports no SQLSTATE for a failed connection attempt (psycopg's ``sqlstate`` is None), so the
server's FATAL message, which carries it, is mapped back to its SQLSTATE here.
"""

from __future__ import annotations

import re

from .dburl import redact_text
from .errors import IndeterminateError, MigratorError, UsageError

REJECTED = "rejected"
UNREACHABLE = "unreachable"
LOCK = "lock"
CANCELED = "canceled"
FAILED = "failed"

# a connection attempt's message -> the SQLSTATE the server sent with it (or libpq's own verdict)
_CONNECT_MESSAGES: list[tuple[re.Pattern[str], str]] = [(re.compile(p, re.IGNORECASE), s) for p, s in [
    (r"password authentication failed", "28P01"),
    (r"(peer|ident|gss|sspi|ldap|radius|pam|cert|scram|md5)\S* authentication failed", "28000"),
    (r"no pg_hba\.conf entry", "28000"),
    (r"role \".*\" does not exist", "28000"),
    (r"no password supplied|password is required|fe_sendauth", "28P01"),
    (r"database \".*\" does not exist", "3D000"),
    (r"permission denied for database", "42501"),
    (r"not permitted to log in|is not permitted to log in", "28000"),
    (r"invalid value for parameter|requires a value|invalid command-line argument", "22023"),
    (r"unrecognized configuration parameter", "42704"),
    (r"parameter \".*\" cannot be (changed|set)", "55P02"),
    (r"invalid (sslmode|gssencmode|target_session_attrs|load_balance_hosts|channel_binding|"
     r"require_auth|sslnegotiation|\w+) value", "CLIENT"),
    (r"invalid connection option|invalid URI|invalid integer value|missing \"=\"|"
     r"unterminated quoted string|invalid percent-encoded", "CLIENT"),
    (r"server does not support SSL, but SSL was required", "CLIENT"),
    (r"the database system is (starting up|shutting down|in recovery mode|not yet accepting)", "57P03"),
    (r"too many (connections|clients)|remaining connection slots are reserved", "53300"),
]]
_REJECTED_STATES = ("28", "3D000", "42501", "22023", "42704", "55P02", "CLIENT")
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53")
_LOCK_STATES = ("55P03", "40P01", "40001")


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a database error anywhere in the exception's chain; for a failed connection
    attempt, the one its message names (``CLIENT`` for a setting libpq itself refused)."""
    for e in _chain(exc):
        code = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(code, str):
            return code
    for e in _chain(exc):
        if type(e).__name__ == "OperationalError" and type(e).__module__.startswith("psycopg"):
            text = str(e)
            for pattern, state in _CONNECT_MESSAGES:
                if pattern.search(text):
                    return state
    return None


def _chain(exc: BaseException):
    """The exception, the driver error it wraps, and what it was raised from or while handling."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        todo.extend(x for x in (getattr(e, "orig", None), e.__cause__, e.__context__) if x is not None)


def classify(exc: BaseException) -> str:
    """REJECTED, UNREACHABLE, LOCK, CANCELED or FAILED (see the module's docstring)."""
    state = sqlstate(exc)
    if state is not None:
        if state.startswith(_REJECTED_STATES):
            return REJECTED
        if state.startswith(_UNREACHABLE_STATES):
            return UNREACHABLE
        if state in _LOCK_STATES:
            return LOCK
        if state == "57014":
            return CANCELED
        return FAILED
    for e in _chain(exc):
        if getattr(e, "connection_invalidated", False):
            return UNREACHABLE
        name, module = type(e).__name__, type(e).__module__
        if "sqlite" in module and name == "OperationalError":
            text = str(e)
            if "database is locked" in text:
                return LOCK
            if "unable to open" in text or "disk I/O error" in text:
                return UNREACHABLE
            return FAILED
        if module.startswith("psycopg") and name in ("OperationalError", "InterfaceError"):
            return UNREACHABLE  # no SQLSTATE and no known message: the network or the server
        if isinstance(e, (ConnectionError, TimeoutError)):
            return UNREACHABLE
    return FAILED


def root_cause(exc: BaseException) -> BaseException:
    """The driver's error behind ``exc``: what the server said, even when SQLAlchemy reports a
    follow-up (a PendingRollbackError raised while the failed transaction was being unwound)."""
    for e in _chain(exc):
        if type(e).__module__.split(".")[0] in ("psycopg", "psycopg2", "sqlite3") or \
                getattr(e, "sqlstate", None) or getattr(e, "pgcode", None):
            return e
    for e in _chain(exc):
        if type(e).__name__ != "PendingRollbackError":
            return getattr(e, "orig", None) or e
    return exc


def reason(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The server's (or driver's) own words: the first line of the database error at the root of
    the chain (so a PendingRollbackError shows what broke the transaction), passwords removed."""
    chosen = root_cause(exc)
    lines = [ln.strip() for ln in str(chosen).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else type(chosen).__name__
    text = re.sub(r"^\(\S+\)\s*", "", text)  # SQLAlchemy's "(psycopg.errors.X) " prefix
    state = sqlstate(exc)
    if state and state != "CLIENT" and state not in text:
        text += f" (SQLSTATE {state})"
    return redact_text(text, secrets)


def connection_error(exc: BaseException, what: str, secrets: tuple[str, ...] = ()) -> MigratorError:
    """The error to raise when ``what`` (e.g. "cannot connect to postgresql://app:***@db/app
    (from DATABASE_URL)") failed: exit 2 when retrying cannot help, else exit 3."""
    kind = classify(exc)
    text = f"{what}: {reason(exc, secrets)}"
    if kind == REJECTED:
        return UsageError(text)
    if kind == UNREACHABLE:
        text += " (database unreachable: retry later)"
    return IndeterminateError(text)
