"""Database URLs: libpq or SQLAlchemy spellings in, a SQLAlchemy URL out, passwords never shown.

Accepted: SQLAlchemy URLs (``dialect+driver://``), libpq URIs (``postgres://``,
``postgresql://``: psycopg 3) and libpq keyword/value strings (``host=db dbname=app user=u``).
A raw ``@`` inside the password is allowed: the last ``@`` before the query string separates the
credentials from the host. Every password seen while parsing (userinfo, ``password=`` in the
query or the keyword string, ``PGPASSWORD``) is remembered, and :func:`redact_text` removes it
from any text, whatever its spelling.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import UsageError

if TYPE_CHECKING:  # SQLAlchemy is imported when a URL is parsed, so redact_text stays cheap
    from sqlalchemy.engine import URL

_LIBPQ_SCHEMES = ("postgres://", "postgresql://")
NO_URL = "no database URL: pass --database-url, set MIGRATOR_DATABASE_URL or DATABASE_URL, or set sqlalchemy.url in alembic.ini"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_KEYWORD_DSN = re.compile(r"^\s*[A-Za-z_]+\s*=")
_SCHEME = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
_OPTION_TOKEN = re.compile(r"^(-c\s*\S+=\S*|--[A-Za-z_.-]+=\S*)$")

_secrets: set[str] = set()


def remember_secret(secret: str | None) -> None:
    """Redact ``secret`` (and its URL-encoded spellings) from every text from now on."""
    if not secret or len(secret) < 3:
        return
    for form in (secret, quote(secret, safe=""), quote(secret, safe="+"), quote(secret, safe=" +"),
                 quote(secret), quote(secret).replace("%20", "+")):
        _secrets.add(form)


# what may follow the "@" that ends the credentials: host[:port][,host[:port]...][/db][?query][#...]
_HOST_PART = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]*)(:[0-9]*)?"
                        r"(,(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%-]*)(:[0-9]*)?)*(/[^?#]*)?(\?[^#]*)?(#.*)?$")


def _split(text: str) -> tuple[str, str, str | None, str] | None:
    """(scheme://, user, password or None, what follows the "@") of a URL with credentials; the
    LAST "@" followed by a well-formed host part separates them, so a raw "@", "/", "?" or "#"
    may sit inside the password. None when the URL has no credentials."""
    m = _SCHEME.match(text)
    if not m:
        return None
    rest = text[m.end():]
    for at in [i for i, c in enumerate(rest) if c == "@"][::-1]:
        if _HOST_PART.match(rest[at + 1:]):
            user, colon, password = rest[:at].partition(":")
            return m.group(0), user, (password if colon else None), rest[at + 1:]
    return None


def _split_userinfo(text: str) -> str:
    """The URL with its raw credentials percent-encoded where they would end the userinfo early."""
    parts = _split(text)
    if parts is None:
        return text
    scheme, user, password, after = parts
    fix = lambda s: s.replace("@", "%40").replace("/", "%2F").replace("?", "%3F").replace("#", "%23")
    return scheme + fix(user) + ("" if password is None else ":" + fix(password)) + "@" + after


def _shown(text: str) -> str:
    """A URL as the user gave it, safe to print (even one that cannot be parsed)."""
    parts = _split(text.strip())
    if parts is not None and parts[2] is not None:
        remember_secret(parts[2])
        return redact_text(f"{parts[0]}{parts[1]}:***@{parts[3]}")
    return redact_text(text)


def _from_keywords(text: str) -> URL:
    """A libpq keyword/value string as a SQLAlchemy URL (psycopg 3)."""
    import psycopg.conninfo
    from sqlalchemy.engine import URL

    try:
        params = psycopg.conninfo.conninfo_to_dict(text)
    except psycopg.Error as e:
        raise UsageError(f"cannot read database connection string {redact_text(text)!r}: "
                         f"{redact_text(str(e).strip().splitlines()[0])}") from None
    params = {k: str(v) for k, v in params.items()}
    remember_secret(params.get("password"))
    port = params.pop("port", None)
    return URL.create("postgresql+psycopg", username=params.pop("user", None),
                      password=params.pop("password", None), host=params.pop("host", None),
                      port=_port(port, text) if port else None, database=params.pop("dbname", None),
                      query=params)


def _port(value: str, shown: str) -> int:
    if not value.strip().isdigit() or not 0 < int(value) < 65536:
        raise UsageError(f"cannot read database URL {_shown(shown)!r}: the port must be a number "
                         f"from 1 to 65535, got {value!r}")
    return int(value)


def normalize_url(url: str) -> URL:
    """Return a SQLAlchemy URL; ``postgres://`` and ``postgresql://`` mean psycopg 3. A URL that
    cannot work (bad port, unknown scheme or driver, bad sslmode or options) is a UsageError."""
    if not url or not url.strip():
        raise UsageError(NO_URL)
    text = url.strip()
    remember_secret(os.environ.get("PGPASSWORD"))
    if _KEYWORD_DSN.match(text) and "://" not in text.split("=", 1)[0]:
        sa_url = _from_keywords(text)
    else:
        text = _split_userinfo(text)
        for scheme in _LIBPQ_SCHEMES:
            if text.startswith(scheme):
                text = "postgresql+psycopg://" + text[len(scheme):]
                break
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        if not _SCHEME.match(text) and not text.startswith("sqlite:"):
            raise UsageError(f"cannot read database URL {_shown(url)!r}: expected "
                             "postgresql://user:password@host/db, sqlite:///file.db or host=... dbname=...")
        m = re.match(r"^[^:]+://(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*)(?::(?P<port>[^/?#]*))?", text)
        if m and m.group("port") and "," not in m.group("port"):
            _port(m.group("port"), url)
        try:
            sa_url = make_url(text)
        except (ArgumentError, ValueError):
            raise UsageError(f"cannot read database URL {_shown(url)!r}") from None
    remember_secret(sa_url.password if isinstance(sa_url.password, str) else None)
    for key in ("password",):
        value = sa_url.query.get(key)
        for v in (value if isinstance(value, tuple) else (value,)):
            remember_secret(v)
    _check(sa_url, url)
    return sa_url


def _check(sa_url: URL, given: str) -> None:
    """Refuse what would only fail later, less clearly: an unknown scheme or driver, a bad sslmode,
    libpq ``options`` that are not ``-c name=value`` settings."""
    from sqlalchemy.exc import NoSuchModuleError

    shown = _shown(given)
    try:
        dialect = sa_url.get_dialect()
    except NoSuchModuleError:
        raise UsageError(f"database URL {shown!r}: unknown scheme {sa_url.drivername!r} (use "
                         "postgresql://, postgres://, postgresql+psycopg:// or sqlite://)") from None
    try:
        dialect.import_dbapi()
    except ImportError as e:
        raise UsageError(f"database URL {shown!r}: the driver for {sa_url.drivername!r} is not "
                         f"installed ({e.name or e})") from None
    if sa_url.get_backend_name() != "postgresql":
        return
    query = {k: (v[-1] if isinstance(v, tuple) else v) for k, v in sa_url.query.items()}
    sslmode = query.get("sslmode")
    if sslmode is not None and sslmode not in SSLMODES:
        raise UsageError(f"database URL {shown!r}: sslmode must be one of {', '.join(SSLMODES)}, got {sslmode!r}")
    options = query.get("options")
    if options is not None:
        tokens = re.findall(r"-c\s*\S+|--\S+|\S+", options)
        bad = [t for t in tokens if not _OPTION_TOKEN.match(t)]
        if bad:
            raise UsageError(f"database URL {shown!r}: options must be settings like "
                             f"'-c search_path=app' or '--search_path=app', got {bad[0]!r}")


def to_text(url: URL) -> str:
    """A PostgreSQL URL as text that SQLAlchemy and libpq both read back to the same values:
    every part percent-encoded (SQLAlchemy's own rendering keeps spaces in the password, which
    libpq refuses, and writes a space in the query as "+", which libpq reads as "+")."""
    if url.get_backend_name() != "postgresql":
        return url.render_as_string(hide_password=False)
    enc = lambda v: quote(str(v), safe="")
    creds = ""
    if url.username is not None or url.password is not None:
        creds = enc(url.username or "") + ("" if url.password is None else ":" + enc(url.password)) + "@"
    host = url.host or ""
    host = f"[{host}]" if ":" in host else enc(host).replace("%2C", ",")
    port = f":{url.port}" if url.port else ""
    database = "/" + enc(url.database) if url.database else ""
    query = "&".join(f"{enc(k)}={enc(v)}" for k, values in url.query.items()
                     for v in (values if isinstance(values, tuple) else (values,)))
    return f"{url.drivername}://{creds}{host}{port}{database}" + (f"?{query}" if query else "")


def redact(url: URL | str) -> str:
    """The URL as safe to print: the password replaced by ***."""
    if isinstance(url, str):
        return _shown(url)
    if "password" in url.query:
        url = url.update_query_dict({"password": "***"})
    return redact_text(url.render_as_string(hide_password=True))


# scheme://user:PASSWORD@ (the last @ of the token before whitespace: a raw @ may be inside)
_PASSWORD_IN_URL = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>\S*)(?P<tail>@)")
# password=... as a query parameter or a libpq keyword (quoted with backslash escapes, or bare)
_PASSWORD_KV = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'?|[^\s&'\"]*)", re.IGNORECASE)
_PGPASSWORD = re.compile(r"(?P<head>\bPGPASSWORD\s*[=:]\s*)(?P<pw>\S+)")


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords from any text (error messages from drivers included)."""
    text = _PASSWORD_IN_URL.sub(lambda m: m.group("head") + "***" + m.group("tail"), text)
    text = _PASSWORD_KV.sub(lambda m: m.group("head") + "***", text)
    text = _PGPASSWORD.sub(lambda m: m.group("head") + "***", text)
    for secret in sorted({*secrets, *_secrets}, key=len, reverse=True):
        if not secret or len(secret) < 3 or secret not in text:
            continue
        if secret.isalnum():  # a plain word: not inside a longer one ("postgres" in "postgresql")
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", "***", text)
        else:
            text = text.replace(secret, "***")
    return text


def is_postgres(url: URL) -> bool:
    return url.get_backend_name() == "postgresql"


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


__all__ = ["NO_URL", "is_postgres", "is_sqlite", "normalize_url", "redact", "redact_text", "remember_secret", "to_text"]
