"""What we tell the user: one module per output format, each a pure function
``render(report, **context) -> str`` over a :class:`migrator.model.LintReport`."""

from __future__ import annotations

import importlib

FORMATS = ("text", "json", "sarif", "github", "gitlab")


def render(report, fmt: str, **context) -> str:
    """Render ``report`` in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    module = importlib.import_module(f"{__name__}.{fmt}")
    return module.render(report, **context)
