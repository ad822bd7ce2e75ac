"""Environment variables for an offline render.

Revisions read settings from the environment at import (a tenant schema, a feature flag). In CI
those are often not set. :class:`LenientEnviron` notes every read of a variable that is not set;
a revision that fails on one is rendered again with unset variables reading as "" (a warning),
instead of failing to import. (``op.get_bind()`` offline is :mod:`.offline_engine`.)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any, Callable


class LenientEnviron(MutableMapping):
    """``os.environ`` for the time of an offline render. Reading a variable that is not set is
    reported through ``on_missing(name)``; it raises KeyError as usual unless ``lenient`` is
    set, when it reads as ""."""

    def __init__(self, real: MutableMapping, on_missing: Callable[[str], None]):
        self._real = real
        self._on_missing = on_missing
        self.lenient = False
        self.read: set[str] = set()  # every variable looked up, set or not (for cache keys)

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        try:
            return self._real[key]
        except KeyError:
            self._on_missing(key)
            if not self.lenient:
                raise
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
        self.read.add(key)
        return self._real.get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.read.add(key)
        return key in self._real

    def copy(self) -> dict:
        return dict(self._real)

    def __getattr__(self, name: str) -> Any:  # encodekey, putenv, ... of os._Environ
        return getattr(self._real, name)


def swap_environ(on_missing: Callable[[str], None]) -> tuple[LenientEnviron, Callable[[], None]]:
    """Install a LenientEnviron as os.environ; returns it and the function restoring the real one."""
    real = os.environ
    lenient = LenientEnviron(real, on_missing)
    os.environ = lenient  # type: ignore[assignment]

    def restore() -> None:
        os.environ = real  # type: ignore[assignment]

    return lenient, restore
