"""migrator: zero-downtime schema migrations with expand/contract phases.

The public Python API is imported lazily so the command line starts fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
DISTRIBUTION = "migrator-zdt"  # the name on the package index (`pip install migrator-zdt`)

_LAZY = {
    "lint_paths": "migrator.lint.engine",
    "register_instance": "migrator.gate.registry",
    "require_compatible": "migrator.gate.registry",
    "IncompatibleSchemaError": "migrator.gate.registry",
    "backfill": "migrator.backfill.api",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'migrator' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
