"""Split a PostgreSQL script into statements, the way psql does.

One linear scan: a regular expression jumps to the next character that can change the lexical
state (quote, comment start, dollar tag, semicolon) and each quoted or commented region is
skipped with ``str.find``, so the cost is proportional to the file size. The expression has no
look-behind, so the regex engine can skip to the next of those characters in C; the two
look-behind conditions (``E'`` and a dollar tag must not continue a word) are checked on the
few candidates it stops at.
"""

from __future__ import annotations

import re

from migrator.model import Location, Statement

# The next token that matters for splitting. A quote right after an ``e``/``E`` that does not
# continue a word opens an E'...' string; a dollar tag right after a word character or ``$``
# (``a$b$``) is part of an identifier: both checked with _WORDISH where the scan stops.
# A tag's first character is a letter, _ or any non-ASCII character, the rest also digits: the
# classes name the ASCII characters left out ([A-Za-z_\x80-\U0010ffff] and
# [\w\x80-\U0010ffff] match the same, but compiling those cost ~4 ms on every start).
_NEXT = re.compile(
    r"""--|/\*|'|"|\$(?:[^\x00-@\[-^`{-\x7f][^\x00-/:-@\[-^`{-\x7f]*)?\$|;"""
)
_WORDISH = re.compile(r"[\w$]")
# White space and -- comments (up to and including their newline), in one match; /* comments
# nest, so _skip_space_and_comments skips them with _skip_block_comment.
_GAP = re.compile(r"(?:\s++|--[^\n]*+\n?)*+")
_COMMENT_EDGE = re.compile(r"/\*|\*/")
_ESTRING_EDGE = re.compile(r"[\\']")
_FIRST_WORDS = re.compile(r"[A-Za-z_]+")
# SQL-standard function bodies (PG 14+) hold bare semicolons between BEGIN ATOMIC and END.
_ROUTINE_HEAD = re.compile(
    r"\s*create\s+(?:or\s+replace\s+)?(?:function|procedure)\b", re.IGNORECASE
)
_BEGIN_ATOMIC = re.compile(r"\bbegin\s+atomic\b", re.IGNORECASE)
_BLOCK_OPEN = re.compile(r"\b(?:begin|case)\b", re.IGNORECASE)
_BLOCK_CLOSE = re.compile(r"\bend\b", re.IGNORECASE)


def _skip_block_comment(text: str, pos: int) -> int:
    """pos is just after '/*'; returns the index after the matching '*/' (comments nest)."""
    depth = 1
    while depth:
        m = _COMMENT_EDGE.search(text, pos)
        if m is None:
            return len(text)
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
    return pos


def _skip_line(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end + 1


def _skip_quoted(text: str, pos: int, quote: str) -> int:
    """pos is just after the opening quote. A doubled quote reads the same as two adjacent
    literals for splitting purposes, so finding the next quote is enough."""
    end = text.find(quote, pos)
    return len(text) if end < 0 else end + 1


def _skip_estring(text: str, pos: int) -> int:
    while True:
        m = _ESTRING_EDGE.search(text, pos)
        if m is None:
            return len(text)
        if m.group() == "\\":
            pos = m.end() + 1
        else:
            return m.end()


def _skip_space_and_comments(text: str, pos: int) -> int:
    while True:
        pos = _GAP.match(text, pos).end()
        if not text.startswith("/*", pos):
            return pos
        pos = _skip_block_comment(text, pos + 2)


_COPY_FROM_STDIN = re.compile(r"\s*copy\b[^;]*\bfrom\s+stdin\b", re.IGNORECASE)
_COPY_END = re.compile(r"^\\\.[ \t]*$", re.MULTILINE)


def _skip_copy_data(text: str, pos: int) -> int:
    """pos is just after ``COPY ... FROM stdin;``: psql reads data lines up to a line ``\\.``."""
    line_end = text.find("\n", pos)
    if line_end < 0:
        return len(text)
    m = _COPY_END.search(text, line_end + 1)
    return len(text) if m is None else m.end()


def _inside_atomic_body(text: str, start: int, end: int) -> bool:
    """True when the semicolon at ``end`` is inside a BEGIN ATOMIC ... END routine body."""
    if not _ROUTINE_HEAD.match(text, start):
        return False
    body = text[start:end]
    m = _BEGIN_ATOMIC.search(body)
    if m is None:
        return False
    body = body[m.start():]
    return len(_BLOCK_OPEN.findall(body)) > len(_BLOCK_CLOSE.findall(body))


_TX_BEGIN = {"BEGIN", "START"}
_TX_END = {"COMMIT", "END", "ROLLBACK", "ABORT"}
_TX_WORDS = _TX_BEGIN | _TX_END | {"PREPARE"}


def _transaction_word(sql: str) -> str | None:
    """'begin' / 'end' when the statement opens or closes a transaction block."""
    first = _FIRST_WORDS.search(sql, 0, 40)
    if first is None or first.group().upper() not in _TX_WORDS:
        return None  # most statements: one search, no list of words
    words = _FIRST_WORDS.findall(sql[:40])
    first = words[0].upper()
    second = words[1].upper() if len(words) > 1 else ""
    if first == "BEGIN" and second not in ("ATOMIC",):
        return "begin"
    if first == "START" and second == "TRANSACTION":
        return "begin"
    if first in _TX_END:
        if first == "ROLLBACK" and (
            second == "PREPARED" or "TO" in (w.upper() for w in words[1:3])
        ):
            return None  # ROLLBACK TO SAVEPOINT keeps the block open
        if first == "COMMIT" and second == "PREPARED":
            return None
        return "end"
    if first == "PREPARE" and second == "TRANSACTION":
        return "end"
    return None


def split_sql(text: str, path: str, wrapped: bool = True) -> list[Statement]:
    """Statements of a PostgreSQL script, in order.

    ``loc`` is the 1-based line/column of each statement's first token (leading comments
    skipped); ``sql`` excludes the terminating semicolon. psql meta-commands (``\\connect``)
    are skipped, and so are the data lines after ``COPY ... FROM stdin;`` up to ``\\.``.
    Transaction marking: statements between an explicit BEGIN / START
    TRANSACTION and COMMIT / END / ROLLBACK (both ends included) are ``in_transaction``.
    In a script with no explicit transaction control every statement is ``in_transaction ==
    wrapped`` (the runner wraps a migration in one transaction unless told otherwise); in a
    script that controls its own transactions, statements outside its blocks run in
    autocommit (``in_transaction=False``), except that a wrapped script's statements before its
    first COMMIT are still in the runner's transaction.
    """
    n = len(text)
    found: list[tuple[int, int]] = []  # (start, end) offsets
    pos = line_start = 0
    if text.startswith("\ufeff"):  # a byte-order mark is not a column
        pos = line_start = 1
    start = -1
    c_head = False
    search = _NEXT.search
    gap = _GAP.match
    wordish = _WORDISH.match
    while pos < n:
        if start < 0:
            pos = gap(text, pos).end()
            if text.startswith("/*", pos):
                pos = _skip_space_and_comments(text, pos)
            if pos >= n:
                break
            ch = text[pos]
            if ch == ";":  # empty statement
                pos += 1
                continue
            if ch == "\\":  # psql meta-command: the rest of the line
                pos = _skip_line(text, pos)
                continue
            start = pos
            # Only a statement starting with c/C can be CREATE FUNCTION ... BEGIN ATOMIC or COPY.
            c_head = text[pos] in "cC"
        m = search(text, pos)
        if m is None:
            found.append((start, n))
            start = -1
            break
        tok = m.group()
        end = m.end()
        at = m.start()
        if tok == ";":
            if c_head and _inside_atomic_body(text, start, at):
                pos = end
                continue
            found.append((start, at))
            if c_head and _COPY_FROM_STDIN.match(text, start, at):
                end = _skip_copy_data(text, end)
            start = -1
            pos = end
        elif tok == "--":
            pos = _skip_line(text, end)
        elif tok == "/*":
            pos = _skip_block_comment(text, end)
        elif tok == "'":
            if at > pos and text[at - 1] in "eE" and not (at > 1 and wordish(text, at - 2)):
                pos = _skip_estring(text, end)  # E'...': backslash escapes
            else:
                pos = _skip_quoted(text, end, "'")
        elif tok == '"':
            pos = _skip_quoted(text, end, '"')
        elif at and wordish(text, at - 1):  # a$b$: part of an identifier, not a tag
            pos = at + 1
        else:  # $tag$ ... $tag$
            close = text.find(tok, end)
            pos = n if close < 0 else close + len(tok)
    if start >= 0:
        found.append((start, n))

    statements: list[Statement] = []
    explicit = False
    marks: list[str | None] = []
    # Line and column of each start, counting newlines from the previous start only.
    line, counted = 1, 0
    first_word = _FIRST_WORDS.search
    for s, e in found:
        sql = text[s:e].rstrip()
        if not sql:
            continue
        newlines = text.count("\n", counted, s)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, s) + 1
        counted = s
        word = first_word(sql, 0, 40)
        mark = None
        if word is not None and word.group().upper() in _TX_WORDS:
            mark = _transaction_word(sql)
            explicit = explicit or mark is not None
        marks.append(mark)
        statements.append(Statement(sql, Location(path, line, s - line_start + 1), wrapped))

    if not explicit:
        return statements
    # A wrapped script starts inside the runner's transaction: what runs before its first
    # COMMIT is in that transaction; after it, statements outside BEGIN ... COMMIT autocommit.
    in_block = wrapped
    for st, mark in zip(statements, marks):
        if mark == "begin":
            in_block = True
            st.in_transaction = True
        elif mark == "end":
            st.in_transaction = in_block
            in_block = False
        else:
            st.in_transaction = in_block
    return statements
