"""A small PostgreSQL word tokenizer and cursor, for the statements sqlglot cannot structure.

Tokens keep what a keyword matcher needs: the upper-cased word, the folded identifier value
(unquoted names fold to lower case, quoted ones keep their case), string contents, and
parenthesis depth. Comments are dropped; strings and dollar-quoted bodies are single tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"""
     (?P<ws>\s+)
    |(?P<lc>--[^\n]*)
    |(?P<bc>/\*)
    |(?P<dollar>\$(?:[^\W\d][\w]*)?\$)
    |(?P<estr>[eE]'(?:[^'\\]|\\.|'')*'?)
    |(?P<str>(?:[bBxXnN]|[uU]&)?'(?:[^']|'')*'?)
    |(?P<qid>(?:[uU]&)?"(?:[^"]|"")*"?)
    |(?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
    |(?P<word>[^\W\d][\w$]*)
    |(?P<param>\$\d+)
    |(?P<op>::|<>|!=|>=|<=|=>|\|\||[^\s\w])
    """,
    re.VERBOSE | re.DOTALL,
)
_COMMENT_EDGE = re.compile(r"/\*|\*/")


@dataclass(slots=True)
class Token:
    kind: str  # word | qid | str | dollar | num | param | op
    text: str  # the source text
    up: str  # upper-cased word, or the text itself for other kinds
    value: str  # folded identifier (word/qid), string contents (str/dollar), else text
    depth: int  # parenthesis depth before this token
    start: int  # offset in the statement


def tokenize(sql: str) -> list[Token]:
    out: list[Token] = []
    pos, n, depth = 0, len(sql), 0
    match = _TOKEN.match
    while pos < n:
        m = match(sql, pos)
        if m is None:  # pragma: no cover - the op group matches any non-space character
            pos += 1
            continue
        kind = m.lastgroup
        text = m.group()
        start = pos
        pos = m.end()
        if kind in ("ws", "lc"):
            continue
        if kind == "bc":
            level = 1
            while level and pos < n:
                e = _COMMENT_EDGE.search(sql, pos)
                if e is None:
                    pos = n
                    break
                level += 1 if e.group() == "/*" else -1
                pos = e.end()
            continue
        if kind == "dollar":
            close = sql.find(text, pos)
            end = n if close < 0 else close
            body = sql[pos:end]
            pos = n if close < 0 else close + len(text)
            out.append(Token("dollar", sql[start:pos], sql[start:pos], body, depth, start))
            continue
        if kind == "word":
            out.append(Token("word", text, text.upper(), text.lower(), depth, start))
        elif kind == "qid":
            inner = text[text.index('"') + 1:]
            inner = inner[:-1] if inner.endswith('"') else inner
            out.append(Token("qid", text, text, inner.replace('""', '"'), depth, start))
        elif kind == "str" or kind == "estr":
            inner = text[text.index("'") + 1:]
            inner = inner[:-1] if inner.endswith("'") else inner
            out.append(Token("str", text, text, inner.replace("''", "'"), depth, start))
        else:
            if text == ")":
                depth = max(0, depth - 1)
            out.append(Token(kind, text, text, text, depth, start))
            if text == "(":
                depth += 1
    return out


class Cursor:
    """Reads a token list left to right with keyword look-ahead."""

    def __init__(self, tokens: list[Token], sql: str = "", start: int = 0, end: int | None = None):
        self.toks = tokens
        self.i = start
        self.end = len(tokens) if end is None else end
        self.sql = sql

    def done(self) -> bool:
        return self.i >= self.end

    def peek(self, k: int = 0) -> str:
        """Upper-cased text of the token k ahead ('' past the end; quoted names never match a
        keyword because their text keeps the quotes)."""
        j = self.i + k
        return self.toks[j].up if j < self.end else ""

    def tok(self, k: int = 0) -> Token | None:
        j = self.i + k
        return self.toks[j] if j < self.end else None

    def accept(self, *words: str) -> bool:
        """Consume the keyword sequence if the next tokens are exactly it."""
        for k, w in enumerate(words):
            if self.peek(k) != w:
                return False
        self.i += len(words)
        return True

    def accept_any(self, *words: str) -> str | None:
        w = self.peek()
        if w in words:
            self.i += 1
            return w
        return None

    def skip(self, k: int = 1) -> None:
        self.i += k

    def is_name(self, k: int = 0) -> bool:
        t = self.tok(k)
        return t is not None and t.kind in ("word", "qid")

    def ident(self) -> str | None:
        t = self.tok()
        if t is None or t.kind not in ("word", "qid"):
            return None
        self.i += 1
        return t.value

    def qualified(self) -> tuple[str | None, str | None]:
        """(schema, name) of a possibly qualified name; a three-part name drops its database."""
        parts: list[str] = []
        name = self.ident()
        if name is None:
            return None, None
        parts.append(name)
        while self.peek() == "." and self.is_name(1):
            self.i += 1
            parts.append(self.ident())  # type: ignore[arg-type]
        if self.peek() == "*":  # ALTER TABLE t * (descendants)
            self.i += 1
        if len(parts) == 1:
            return None, parts[0]
        return parts[-2], parts[-1]

    def skip_parens(self) -> None:
        """Skip a parenthesized group starting at the cursor, if any."""
        if self.peek() != "(":
            return
        depth = self.toks[self.i].depth
        self.i += 1
        while self.i < self.end and not (self.toks[self.i].text == ")" and
                                         self.toks[self.i].depth == depth):
            self.i += 1
        self.i += 1

    def words_left(self) -> list[str]:
        """Upper-cased tokens from the cursor on; string and dollar-quoted literals read as
        ``'?'`` so that text built from them never repeats a literal (a password)."""
        return [t.up if t.kind not in ("str", "dollar") else "'?'" for t in self.toks[self.i:self.end]]

    def text_from(self, k: int | None = None, end: int | None = None) -> str:
        """Source text from token index k (default: cursor) to token index end (default: end)."""
        k = self.i if k is None else k
        end = self.end if end is None else end
        if k >= end or not self.sql:
            return ""
        last = self.toks[end - 1]
        return self.sql[self.toks[k].start:last.start + len(last.text)]


def split_commas(tokens: list[Token], start: int, end: int) -> list[tuple[int, int]]:
    """Token ranges separated by commas at the depth of tokens[start]."""
    if start >= end:
        return []
    depth = tokens[start].depth
    ranges = []
    s = start
    for j in range(start, end):
        t = tokens[j]
        if t.text == "," and t.depth == depth and t.kind == "op":
            ranges.append((s, j))
            s = j + 1
    ranges.append((s, end))
    return [(a, b) for a, b in ranges if a < b]
