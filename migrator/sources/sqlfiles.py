"""Plain ``.sql`` migrations: one file is one migration.

The phase and release come from a header comment in the file's leading comment block::

    -- migrator: phase=expand release=1.4.0

or, for the phase, from a parent directory named ``expand/`` or ``contract/``. A bad header is
a ``bad-migration-header`` error on its line; bytes that are not UTF-8 are a diagnostic too.
Nothing here raises for a bad file; a file that cannot be read at all is a usage error.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from ..errors import MigratorError, UsageError
from ..model import Finding, Location, MigrationSource, Severity
from ..releases import parse_release
from ..sql.split import split_sql
from .sql_layouts import DirFacts, flyway_named, split_parts

PHASES = ("expand", "contract")
_HEADER = re.compile(r"--\s*migrator\s*:(.*)$", re.IGNORECASE)
# "-- migrator: ignore[rule] reason" shares the prefix; it is a suppression, not a header.
_SUPPRESSION = re.compile(r"^\s*ignore(?:-file)?\s*\[", re.IGNORECASE)
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
_SPACE = re.compile(r"\s*")
# Releases every PEP 440 parser takes (v1.4.0, 12, 2024.1.15): most headers write one of these.
_PLAIN_RELEASE = re.compile(r"[vV]?[0-9]{1,50}(?:\.[0-9]{1,50})*\Z")


def phase_from_directory(path: PurePath) -> str | None:
    """The nearest parent directory named expand/ or contract/, if any."""
    return _phase_of_parts(path.parts)


def _phase_of_parts(parts) -> str | None:
    for part in reversed(parts[:-1]):  # (sql_sources skips this when no part can match)
        if part.lower() in PHASES:
            return part.lower()
    return None


def _leading_comment_lines(text: str, lines: list[str] | None = None) -> list[tuple[int, str]]:
    """(line number, text) of the lines before the first statement: blank lines, -- comments
    and /* ... */ blocks (``lines``: ``text.splitlines()``, when the caller has it)."""
    out: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(text.splitlines() if lines is None else lines, start=1):
        stripped = line.strip()
        if in_block:
            out.append((number, stripped))
            if "*/" in stripped:
                in_block = False
            continue
        if not stripped or stripped.startswith("--"):
            out.append((number, stripped))
        elif stripped.startswith("/*"):
            out.append((number, stripped))
            in_block = "*/" not in stripped[2:]
        else:
            break
    return out


def file_name(display: str) -> str:
    """``PurePath(display).name`` without building a path object for the common case."""
    name = display[display.rfind("/") + 1:]
    if not name or name in (".", "..") or os.sep != "/":
        return PurePath(display).name
    return name


def _header_finding(path: str, line: int, column: int, message: str) -> Finding:
    return Finding("bad-migration-header", Severity.ERROR, Location(path, line, column), message,
                   fix="write the header as: -- migrator: phase=expand|contract release=X.Y.Z")


@dataclass
class Header:
    phase: str | None = None
    release: str | None = None
    # Whether whoever runs the file wraps it in one transaction (Flyway does; psql does not).
    # None: not said, so only explicit BEGIN ... COMMIT blocks are transactions (squawk's default).
    transaction: bool | None = None
    findings: list[Finding] = field(default_factory=list)


_WORD = re.compile(r"""(?:[^\s"']+|"[^"]*"|'[^']*')+""")


def _header_words(text: str) -> list[str] | None:
    """Shell-like words (``key="a b"`` is one word, quotes removed); None for an unclosed quote."""
    words = []
    for m in _WORD.finditer(text):
        word = m.group(0)
        words.append(re.sub(r"""["']""", "", word) if ('"' in word or "'" in word) else word)
    rest = _WORD.sub("", text)
    return None if rest.strip() else words


def read_header(text: str, path: str) -> Header:
    """The ``-- migrator: phase=... release=... transaction=...`` header lines of a SQL file."""
    header = Header()
    if not text.startswith(("--", "/*"), _SPACE.match(text).end()):
        return header  # no comment before the first statement, so no header
    findings = header.findings
    lines = text.splitlines()
    for number, line in _leading_comment_lines(text, lines):
        m = _HEADER.search(line)
        if not m or _SUPPRESSION.match(m.group(1)):
            continue
        column = lines[number - 1].find("--") + 1
        for key, value in _header_items(m.group(1)):
            if key == "error":
                findings.append(_header_finding(path, number, column, value))
            else:
                setattr(header, key, value)
    return header


@lru_cache(maxsize=256)  # a history repeats a few header lines on many files
def _header_items(items: str) -> tuple[tuple[str, object], ...]:
    """What one header line's ``key=value`` items say, in order: (``phase`` | ``release`` |
    ``transaction``, value) or (``error``, message)."""
    words = _header_words(items)
    if words is None:
        return (("error", "unreadable migrator header: no closing quotation"),)
    out: list[tuple[str, object]] = []
    for word in words:
        key, eq, value = word.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if not eq or not value:
            out.append(("error", f"migrator header item {word!r} is not key=value"))
        elif key == "phase":
            if value.lower() in PHASES:
                out.append(("phase", value.lower()))
            else:
                out.append(("error", f"phase must be 'expand' or 'contract', got {value!r}"))
        elif key == "release":
            try:
                if not _PLAIN_RELEASE.match(value):  # else a valid version, no need to parse it
                    parse_release(value)
                out.append(("release", value))
            except MigratorError as e:
                out.append(("error", e.message))
        elif key == "transaction" and value.lower() in _TRUE + _FALSE:
            out.append(("transaction", value.lower() in _TRUE))
        elif key == "transaction":
            out.append(("error", f"transaction must be true or false, got {value!r}"))
        else:
            out.append(("error",
                        f"unknown migrator header key {key!r} (known: phase, release, transaction)"))
    return tuple(out)


_BOM = b"\xef\xbb\xbf"


def _decode(data: bytes, path: str) -> tuple[str, list[Finding]]:
    """The text of a file's bytes, as the utf-8-sig codec reads them (a leading byte-order mark
    is not text), and where the first byte that is not UTF-8 is (line, byte column)."""
    body = data[3:] if data.startswith(_BOM) else data
    try:
        return body.decode("utf-8"), []
    except UnicodeDecodeError as e:
        line = body.count(b"\n", 0, e.start) + 1
        column = e.start - (body.rfind(b"\n", 0, e.start) + 1) + 1
        return body.decode("utf-8", errors="replace"), [Finding(
            "undecodable-file", Severity.ERROR, Location(path, line, column),
            f"the file is not valid UTF-8 (byte 0x{body[e.start]:02x}); undecodable bytes were "
            "replaced, so statements on this line may be misread",
            fix="save the file as UTF-8")]


_UNDECLARED = ("not declared (no -- migrator: transaction=... header, no migration-tool marker, no "
               "[tool.migrator] sql_transaction): judged by harm, lock-holding statements as one "
               "transaction, CONCURRENTLY only warned about")


def configured_mode(assume_in_transaction: bool = False, sql_transaction: str | None = None) -> str | None:
    """The transaction mode the configuration declares for .sql files (None: not declared)."""
    if sql_transaction:
        return sql_transaction
    return "file" if assume_in_transaction else None


def sql_sources(data: bytes, display: str, *, kind: str = "sql",
                directory_phase: str | None = None, assume_in_transaction: bool = False,
                sql_transaction: str | None = None, path: Path | str | None = None,
                facts: DirFacts | None = None) -> list[MigrationSource]:
    """The migrations in the bytes of a SQL script: its up part, then its down part when the
    file has one (goose / dbmate sections; a whole down file is one down part).

    The transaction mode comes from, in order: the header (``transaction=true|false``), the
    migration tool's own marker or default (:mod:`migrator.sources.sql_layouts`), the
    configuration (``sql_transaction``, or ``assume_in_transaction``); undeclared, the file is
    judged as one transaction (statements outside an explicit BEGIN ... COMMIT then count as
    wrapped) and the engine only warns about CONCURRENTLY."""
    text, diagnostics = _decode(data, display)
    header = read_header(text, display)
    phase, release = header.phase, header.release
    diagnostics.extend(header.findings)
    if directory_phase and phase and phase != directory_phase:
        diagnostics.append(_header_finding(
            display, 1, 1,
            f"the header says phase={phase} but the file is under a {directory_phase}/ directory"))
    configured = configured_mode(assume_in_transaction, sql_transaction)
    digest = hashlib.sha256(data).hexdigest()
    out = []
    name = file_name(display)
    for part in split_parts(text, name, path, facts):
        declared = True
        if header.transaction is not None:
            mode = "file" if header.transaction else "statement"
            reason = f"the file's -- migrator: transaction={'true' if header.transaction else 'false'} header"
        elif part.mode is not None:
            mode, reason = part.mode, part.reason
        elif configured is not None:
            mode, reason = configured, (f'[tool.migrator] sql_transaction = "{sql_transaction}"'
                                        if sql_transaction else "[tool.migrator] assume_in_transaction = true")
        else:
            mode, declared, reason = "file", False, _UNDECLARED
            if flyway_named(name):
                reason = ("Flyway runs a migration in one transaction unless it holds statements "
                          "that cannot run in one; not declared in a .conf file: " + _UNDECLARED)
        down = part.direction == "down"
        out.append(MigrationSource(
            path=display,
            statements=split_sql(part.text, display, wrapped=mode == "file"),
            release=release,
            declared_phase=None if down else phase or directory_phase,
            kind=kind,
            text=text,
            diagnostics=[] if down else diagnostics,
            checksum=digest,
            transaction=mode, transaction_declared=declared, transaction_reason=reason,
            direction=part.direction,
        ))
    return out


def sql_source(data: bytes, display: str, *, kind: str = "sql",
               directory_phase: str | None = None, assume_in_transaction: bool = False,
               sql_transaction: str | None = None) -> MigrationSource:
    """The first part of :func:`sql_sources` (the up part, or the whole of a down file)."""
    return sql_sources(data, display, kind=kind, directory_phase=directory_phase,
                       assume_in_transaction=assume_in_transaction,
                       sql_transaction=sql_transaction)[0]


@lru_cache(maxsize=8)
def _resolved_cwd(cwd: str) -> Path:
    return Path(cwd).resolve()


def read_file_bytes(path: str | Path) -> bytes:
    """The bytes of a regular file: one open, one fstat, one read of its size (plus one byte,
    to see a file that grew), reading on to the end only when that read was not exactly its
    size (a partial read, or a file that changed since the fstat)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, size + 1)
        if len(data) == size:
            return data
        chunks = [data]
        while more := os.read(fd, 1 << 16):
            chunks.append(more)
        return b"".join(chunks)
    finally:
        os.close(fd)


class SqlFileReader:
    """Reads the ``.sql`` files of one load: the working directory resolved once, what sibling
    files say (diesel metadata.toml) looked up once per directory, no Path objects per file."""

    def __init__(self, *, assume_in_transaction: bool = False,
                 sql_transaction: str | None = None) -> None:
        self.assume_in_transaction = assume_in_transaction
        self.sql_transaction = sql_transaction
        self._cwd_prefix: str | None = None  # resolved on the first file read
        self.facts = DirFacts()

    def load(self, path: str | Path, display: str,
             resolved: str | Path | None = None) -> list[MigrationSource]:
        """The migrations of one file (see :func:`load_sql_migrations`); ``resolved``: its
        real path, when the caller knows it."""
        try:
            data = read_file_bytes(path)
        except OSError as e:
            raise UsageError(f"cannot read: {e.strerror or e}", path=display) from None
        real = os.fspath(resolved) if resolved is not None else str(Path(path).resolve())
        # The phase directory is looked for below the working directory, else in the name given.
        if self._cwd_prefix is None:
            cwd = str(_resolved_cwd(os.getcwd()))
            self._cwd_prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
        below = real.startswith(self._cwd_prefix)
        where = real[len(self._cwd_prefix):] if below else display
        phase = None
        if "expand" in where.lower() or "contract" in where.lower():  # else no part can match
            phase = _phase_of_parts(where.split(os.sep) if below else PurePath(display).parts)
        return sql_sources(data, display, directory_phase=phase,
                           assume_in_transaction=self.assume_in_transaction,
                           sql_transaction=self.sql_transaction, path=path, facts=self.facts)


def load_sql_file(path: Path, display: str, *, assume_in_transaction: bool = False,
                  resolved: Path | None = None, sql_transaction: str | None = None) -> MigrationSource:
    """The first migration of :func:`load_sql_migrations` (kept for callers that want one)."""
    return load_sql_migrations(path, display, assume_in_transaction=assume_in_transaction,
                               resolved=resolved, sql_transaction=sql_transaction)[0]


def load_sql_migrations(path: Path, display: str, *, assume_in_transaction: bool = False,
                        resolved: Path | None = None,
                        sql_transaction: str | None = None) -> list[MigrationSource]:
    """A .sql file: its up part and its down part, if any; a file that cannot be read is a
    usage error naming it (exit 2). The phase directory is looked for below the working
    directory only (``resolved``: the caller's ``path.resolve()``, to save resolving it
    again)."""
    return SqlFileReader(assume_in_transaction=assume_in_transaction,
                         sql_transaction=sql_transaction).load(path, display, resolved)


def load_sql_text(text: str, display: str = "<stdin>", *, assume_in_transaction: bool = False,
                  sql_transaction: str | None = None) -> MigrationSource:
    """SQL read from standard input."""
    return sql_source(text.encode("utf-8", errors="surrogateescape"), display, kind="stdin",
                      assume_in_transaction=assume_in_transaction, sql_transaction=sql_transaction)
