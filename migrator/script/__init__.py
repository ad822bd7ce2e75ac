"""The revision scripts on disk: the one catalog every command reads (as Alembic's ``script/``).

- :mod:`.project`  finding the project: alembic.ini, pyproject.toml ``[tool.alembic]`` /
  ``[tool.migrator]``, migrator's ``script_location`` / ``alembic_ini``
- :mod:`.header`   a revision file's header (ids, parents, phase, release, lines) read with ``ast``
- :mod:`.header_cache` headers remembered per file between runs
- :mod:`.graph`    the one apply order (one tie-break), and what is wrong with a graph
- :mod:`.catalog`  :class:`Catalog` / :class:`Revision`: checked, tagged, ordered; ancestors, heads,
  the baseline's place

The linter orders what it renders with :mod:`.graph`; the runner, the gate and the backfill
read :class:`Catalog`. Nothing here imports Alembic or a revision module.
"""

from __future__ import annotations

import importlib

__all__ = ["PHASES", "AlembicProject", "Catalog", "Revision", "find_project", "load_catalog"]

# name -> the submodule defining it, imported on first use: the linter reads SQL files with
# .graph and .project alone and should not load the catalog (headers, their cache) to do it.
_LAZY = {"PHASES": "catalog", "Catalog": "catalog", "Revision": "catalog", "load_catalog": "catalog",
         "AlembicProject": "project", "find_project": "project"}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
