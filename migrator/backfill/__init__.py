"""Batched, resumable backfills.

``from migrator import backfill`` names both this package and the declaring function
(``migrator.backfill.api.backfill``): once the package is imported, Python binds the attribute
``migrator.backfill`` to the package, so the package itself is made callable and forwards to the
function. ``backfill("users", set={...})`` works whichever import happened first.
"""

from __future__ import annotations

import sys
import types


class _CallablePackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        from .api import backfill

        return backfill(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
