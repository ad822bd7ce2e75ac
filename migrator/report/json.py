"""``--format json``: exactly the document of docs/json.md (``LintReport.as_dict()``)."""

from __future__ import annotations

import json


PRETTY_UP_TO = 200  # migrations; larger reports are one line (the C encoder is ~5x faster)


def render(report, **_context) -> str:
    indent = 2 if len(report.migrations) <= PRETTY_UP_TO else None
    return json.dumps(report.as_dict(), indent=indent, ensure_ascii=False) + "\n"
