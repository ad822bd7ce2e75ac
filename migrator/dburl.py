"""Database URLs: libpq or SQLAlchemy spellings in, a SQLAlchemy URL out, passwords never shown."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:  # SQLAlchemy is imported when a URL is parsed, so redact_text stays cheap
    from sqlalchemy.engine import URL

_LIBPQ_SCHEMES = ("postgres://", "postgresql://")


def normalize_url(url: str) -> URL:
    """Return a SQLAlchemy URL; ``postgres://`` and ``postgresql://`` mean psycopg 3."""
    if not url or not url.strip():
        raise UsageError("no database URL: pass --database-url or set MIGRATOR_DATABASE_URL or DATABASE_URL")
    text = url.strip()
    for scheme in _LIBPQ_SCHEMES:
        if text.startswith(scheme):
            text = "postgresql+psycopg://" + text[len(scheme):]
            break
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(text)
    except ArgumentError:
        raise UsageError(f"cannot read database URL {redact_text(url)!r}") from None


def redact(url: URL | str) -> str:
    """The URL as safe to print: the password replaced by ***."""
    if isinstance(url, str):
        return redact_text(url)
    return url.render_as_string(hide_password=True)


_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)")
_PASSWORD_KV = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords from any text (error messages from drivers included)."""
    text = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***" + m.group("tail"), text)
    text = _PASSWORD_KV.sub(lambda m: m.group("head") + "***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"
