"""Stand-ins that let a revision import offline.

:class:`LenientEnviron` lets a revision read environment variables that are not set (a warning,
rendered as an empty string) instead of failing to import. (``op.get_bind()`` offline is
:mod:`migrator.sources.offline_engine`.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any, Callable


class LenientEnviron(MutableMapping):
    """``os.environ`` for the time of an offline render: a variable that is not set reads as ""
    (reported through ``on_missing(name)``) instead of raising KeyError at import."""

    def __init__(self, real: MutableMapping, on_missing: Callable[[str], None]):
        self._real = real
        self._on_missing = on_missing

    def __getitem__(self, key: str) -> str:
        try:
            return self._real[key]
        except KeyError:
            self._on_missing(key)
            return ""

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def get(self, key: str, default: Any = None) -> Any:
        return self._real.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._real

    def copy(self) -> dict:
        return dict(self._real)

    def __getattr__(self, name: str) -> Any:  # encodekey, putenv, ... of os._Environ
        return getattr(self._real, name)


def swap_environ(on_missing: Callable[[str], None]) -> Callable[[], None]:
    """Install a LenientEnviron as os.environ; returns the function that restores the real one."""
    real = os.environ
    os.environ = LenientEnviron(real, on_missing)  # type: ignore[assignment]

    def restore() -> None:
        os.environ = real  # type: ignore[assignment]

    return restore
