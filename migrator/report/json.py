"""``--format json``: exactly the document of DESIGN section 6 (``LintReport.as_dict()``)."""

from __future__ import annotations

import json


def render(report, **_context) -> str:
    return json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
