"""A revision file's header read without importing it: the module-level assignments of
``revision``, ``down_revision``, ``depends_on``, ``branch_labels``, ``phase`` and ``release``,
each with its line, and the docstring.

One ``ast`` parse per file; nothing in the file runs. A value that is not a literal (computed,
imported) is :data:`NOT_LITERAL`: only then does the catalog import the module to learn it.
"""

from __future__ import annotations

import ast
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError

NAMES = ("revision", "down_revision", "depends_on", "branch_labels", "phase", "release")


class _NotLiteral:
    def __repr__(self) -> str:
        return "<not a literal>"


NOT_LITERAL = _NotLiteral()


@dataclass
class Header:
    """What a revision file declares, as written."""

    path: Path  # resolved
    checksum: str  # sha256 of the file's bytes
    values: dict[str, object] = field(default_factory=dict)  # name -> literal or NOT_LITERAL
    lines: dict[str, int] = field(default_factory=dict)  # name -> line of its assignment
    doc: str = ""

    def line(self, name: str) -> int:
        return self.lines.get(name, self.lines.get("revision", 1))

    @property
    def literal(self) -> bool:
        return not any(v is NOT_LITERAL for v in self.values.values())


def parse_header(data: bytes, path: Path) -> Header:
    """The header of one revision file's bytes. A syntax error (or bytes that are not source)
    is a UsageError naming the file and line."""
    try:
        tree = ast.parse(data, str(path))
    except SyntaxError as e:
        raise UsageError(f"syntax error in revision script: {e.msg}", path=str(path),
                         line=e.lineno) from None
    except ValueError as e:  # null bytes
        raise UsageError(f"unreadable revision script: {e}", path=str(path)) from None
    header = Header(path, hashlib.sha256(data).hexdigest(), doc=ast.get_docstring(tree) or "")
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for t in targets:
            if isinstance(t, ast.Name) and t.id in NAMES:
                try:
                    header.values[t.id] = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    header.values[t.id] = NOT_LITERAL
                header.lines[t.id] = node.lineno
    return header


def read_header(path: Path) -> Header:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read revision script: {e.strerror or e}", path=str(path)) from None
    return parse_header(data, path)
