"""Release strings: ordered as versions (packaging), never as strings. A leading ``v`` is allowed."""

from __future__ import annotations

from typing import Union

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


# -- release labels that are not versions --------------------------------------------------------

BASELINE_LABEL = "baseline"


class Baseline:
    """The release of an adopted project's history (revisions up to the recorded baseline):
    older than every version, equal only to itself. Compares with :class:`Version` both ways,
    so records of baseline and versioned releases sort together."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "BASELINE"

    def __str__(self) -> str:
        return BASELINE_LABEL

    def __hash__(self) -> int:
        return hash(BASELINE_LABEL)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Baseline)

    def __lt__(self, other: object) -> bool:
        return isinstance(other, Version)

    def __le__(self, other: object) -> bool:
        return isinstance(other, (Version, Baseline))

    def __gt__(self, other: object) -> bool:
        return False if isinstance(other, (Version, Baseline)) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return isinstance(other, Baseline) or (False if isinstance(other, Version) else NotImplemented)


BASELINE = Baseline()
Release = Union[Version, Baseline]  # what a migration's release orders as


def release_label(text: object) -> Version | Baseline | None:
    """A migration's release as it orders: a version, :data:`BASELINE` for the label
    ``"baseline"``, or None for anything else (a history row written by hand, say)."""
    if isinstance(text, (Version, Baseline)):
        return text
    if isinstance(text, str) and text.strip().lower() == BASELINE_LABEL:
        return BASELINE
    try:
        return parse_release(text)
    except UsageError:
        return None
