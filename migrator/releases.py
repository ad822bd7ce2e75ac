"""Release strings: ordered as versions (packaging), never as strings. A leading ``v`` is allowed."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from .errors import UsageError


def parse_release(text: object, *, path: str | None = None) -> Version:
    """Parse ``"1.4.0"`` or ``"v1.4.0"``; anything else is a usage error naming where it came from."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"release must be a version string like '1.4.0', got {text!r}", path=path)
    try:
        return Version(text.strip())
    except (InvalidVersion, ValueError):  # ValueError: a component longer than 4300 digits
        raise UsageError(f"release {text!r} is not a valid version (expected e.g. '1.4.0')", path=path) from None


def is_release(text: object) -> bool:
    try:
        parse_release(text)
        return True
    except UsageError:
        return False
