"""What the SQL migration tools say about a file: whether it runs in one transaction, and which
part of it is a rollback.

Tools recognised (their own markers and defaults):

- goose: ``-- +goose Up`` / ``-- +goose Down`` sections, ``-- +goose NO TRANSACTION``; a
  migration runs in one transaction otherwise.
- dbmate: ``-- migrate:up`` / ``-- migrate:down`` sections, ``transaction:false`` on the
  section's marker line; one transaction otherwise.
- Flyway: ``V<version>__name.sql`` (``U<version>__`` undo), script configuration
  ``V1__x.sql.conf`` with ``executeInTransaction=false``; one transaction by default, except
  that Flyway runs a migration of statements that cannot run in one (CONCURRENTLY) without it.
- diesel: ``<dir>/up.sql`` and ``down.sql``, ``metadata.toml`` with ``run_in_transaction =
  false``; one transaction otherwise.
- sqlx: ``-- no-transaction`` on the first line; ``<n>_name.up.sql`` / ``.down.sql``.
- ory/popx: ``.autocommit.`` in the file name runs without a transaction.
- golang-migrate (``<n>_name.up.sql`` / ``.down.sql``): no transaction unless the file writes
  BEGIN ... COMMIT, which the splitter already follows. Its layout is the same as sqlx's (which
  wraps), so a bare ``.up.sql`` says nothing: the file is judged as undeclared.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePath

_GOOSE = re.compile(r"^[ \t]*--[ \t]*\+goose[ \t]+(up|down)\b", re.IGNORECASE | re.MULTILINE)
_GOOSE_NO_TX = re.compile(r"^[ \t]*--[ \t]*\+goose[ \t]+no[ \t]+transaction\b", re.IGNORECASE | re.MULTILINE)
_DBMATE = re.compile(r"^[ \t]*--[ \t]*migrate:(up|down)\b([^\n]*)$", re.IGNORECASE | re.MULTILINE)
_DBMATE_NO_TX = re.compile(r"\btransaction[ \t]*:[ \t]*false\b", re.IGNORECASE)
_SQLX_NO_TX = re.compile(r"\A(?:\ufeff)?[ \t]*--[ \t]*no-transaction[ \t]*$", re.IGNORECASE | re.MULTILINE)
_FLYWAY_VERSIONED = re.compile(r"^[VU]\d+(?:[._]\d+)*__", re.IGNORECASE)
_FLYWAY_UNDO = re.compile(r"^U\d+(?:[._]\d+)*__", re.IGNORECASE)
_FLYWAY_CONF = re.compile(r"^\s*executeInTransaction\s*=\s*(\w+)\s*$", re.IGNORECASE | re.MULTILINE)
_DIESEL_RUN_IN_TX = "run_in_transaction"
# Where a section marker can be: "--" then the tool's word. The scan looks for the literal "--"
# (fast), and _GOOSE / _DBMATE then read the marker line where one may be.
_MARKER_HINT = re.compile(r"--[ \t]*(?i:\+goose|migrate:)")


class DirFacts:
    """What the tools' files beside a migration say, read once per directory for one load
    (diesel ``metadata.toml`` and its up/down pair): a history of many diesel directories costs
    one look per directory, not one per file. Not for reuse across loads: files may change."""

    def __init__(self) -> None:
        self._diesel: dict[str, tuple[str | None, str]] = {}

    def diesel(self, directory: str) -> tuple[str | None, str]:
        found = self._diesel.get(directory)
        if found is None:
            found = self._diesel[directory] = _diesel(directory)
        return found


@dataclass(frozen=True)
class Part:
    """One direction of a migration file: its text (the other direction's lines blanked, so
    line numbers stay the file's), and what the tool says about its transaction."""

    direction: str  # "up" | "down"
    text: str
    mode: str | None = None  # "file" | "statement" | None (the tool says nothing)
    reason: str = ""


def is_down_file(name: str) -> bool:
    """diesel ``down.sql``, sqlx / golang-migrate / popx ``*.down.sql``, Flyway ``U1__x.sql``."""
    lower = name.lower()
    return lower == "down.sql" or lower.endswith(".down.sql") or bool(_FLYWAY_UNDO.match(name))


def _blank_except(text: str, keep: list[tuple[int, int]]) -> str:
    """``text`` with every line outside the ``keep`` line ranges (0-based, end exclusive)
    emptied."""
    lines = text.split("\n")
    out = [""] * len(lines)
    for a, b in keep:
        b = min(b, len(lines))
        if a < b:
            out[a:b] = lines[a:b]
    return "\n".join(out)


def _sections(text: str, pattern: re.Pattern) -> list[tuple[str, int, int, str]]:
    """(direction, first line, end line, marker rest) of each marker-delimited section."""
    marks = [(m.group(1).lower(), text.count("\n", 0, m.start()), m.group(m.lastindex or 1))
             for m in pattern.finditer(text)]
    out = []
    total = text.count("\n") + 1
    for i, (direction, line, rest) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else total
        out.append((direction, line, end, rest))
    return out


def split_parts(text: str, name: str, path: Path | str | None = None,
                facts: DirFacts | None = None) -> list[Part]:
    """The up part (always first) and, when the file has one, its down part. ``facts``
    caches what sibling files say across the files of one load."""
    # _GOOSE and _DBMATE run only where a "--" marker of goose or dbmate may start.
    marked = _MARKER_HINT.search(text) is not None
    if marked and _GOOSE.search(text):
        no_tx = bool(_GOOSE_NO_TX.search(text))
        mode = "statement" if no_tx else "file"
        reason = ("goose: -- +goose NO TRANSACTION" if no_tx
                  else "goose runs a migration in one transaction (no -- +goose NO TRANSACTION)")
        return _marked_parts(text, _sections(text, _GOOSE), lambda rest: (mode, reason))
    if marked and _DBMATE.search(text):
        def dbmate(rest: str) -> tuple[str, str]:
            if _DBMATE_NO_TX.search(rest or ""):
                return "statement", "dbmate: transaction:false on the section's marker"
            return "file", "dbmate runs a migration in one transaction (no transaction:false)"
        return _marked_parts(text, _sections(text, _DBMATE), dbmate)
    mode, reason = file_mode(text, name, path, facts)
    return [Part("down" if is_down_file(name) else "up", text, mode, reason)]


def _marked_parts(text: str, sections, mode_of) -> list[Part]:
    up = [(0, sections[0][1])] + [(a, b) for d, a, b, _ in sections if d == "up"]
    down = [(a, b) for d, a, b, _ in sections if d == "down"]
    up_rest = next((r for d, _, _, r in sections if d == "up"), "")
    down_rest = next((r for d, _, _, r in sections if d == "down"), "")
    parts = [Part("up", _blank_except(text, up), *mode_of(up_rest))]
    if down:
        parts.append(Part("down", _blank_except(text, down), *mode_of(down_rest)))
    return parts


def file_mode(text: str, name: str, path: Path | str | None,
              facts: DirFacts | None = None) -> tuple[str | None, str]:
    """The transaction mode the tool of a single-direction file says, with the reason, or
    (None, "") when nothing says it."""
    if _SQLX_NO_TX.search(text[:text.find("\n")] if "\n" in text else text):
        return "statement", "sqlx: -- no-transaction on the first line"
    if ".autocommit." in name.lower():
        return "statement", "ory/popx: .autocommit. in the file name"
    if path is not None:
        path = os.fspath(path)
        if _FLYWAY_VERSIONED.match(name):
            conf = path + ".conf"  # beside it: its name plus .conf
            conf_name = os.path.basename(conf)
            if os.path.isfile(conf):
                m = _FLYWAY_CONF.search(_read(conf))
                if m and m.group(1).lower() in ("true", "false"):
                    return (("file", f"Flyway: executeInTransaction={m.group(1)} in {conf_name}")
                            if m.group(1).lower() == "true" else
                            ("statement", f"Flyway: executeInTransaction={m.group(1)} in {conf_name}"))
        if name.lower() in ("up.sql", "down.sql"):
            return (facts or DirFacts()).diesel(os.path.dirname(path))
    return None, ""


def flyway_named(name: str) -> bool:
    return bool(_FLYWAY_VERSIONED.match(name if "/" not in name and os.sep == "/"
                                        else PurePath(name).name))


def _diesel(directory: str) -> tuple[str | None, str]:
    meta = os.path.join(directory, "metadata.toml")
    if os.path.isfile(meta):
        import tomllib  # only for a diesel metadata.toml

        try:
            value = tomllib.loads(_read(meta)).get(_DIESEL_RUN_IN_TX)
        except tomllib.TOMLDecodeError:
            value = None
        if value is False:
            return "statement", "diesel: run_in_transaction = false in metadata.toml"
        if value is True:
            return "file", "diesel: run_in_transaction = true in metadata.toml"
    if (os.path.isfile(os.path.join(directory, "up.sql"))
            and os.path.isfile(os.path.join(directory, "down.sql"))):
        return "file", "diesel runs a migration in one transaction (no run_in_transaction = false)"
    return None, ""


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
