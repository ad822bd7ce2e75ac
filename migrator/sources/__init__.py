"""Where migrations come from: files on disk turned into :class:`~migrator.model.MigrationSource`.

- :mod:`.discover` -- ``load_sources(paths, config, stdin_text)``: command-line paths (or the
  configured project) to sources in migration order.
- :mod:`.sqlfiles` -- one ``.sql`` file (or stdin) is one migration; header and directory phases.
- :mod:`.alembic_offline` -- Alembic revisions rendered to SQL with no env.py and no database,
  each statement on the line of the ``op.*`` call that emitted it (in the calling process).
- :mod:`.isolated` -- the same in a pool of child processes (:mod:`.render_child`): scrubbed
  environment, no network, output and time budgets. ``migrator lint`` and the runner use it.
- :mod:`.offline_engine` -- ``op.get_bind()`` offline: a real SQLAlchemy connection to an empty
  PostgreSQL. :mod:`.offline_environ` -- unset environment variables during a render.
Finding the project and the order revisions run in belong to :mod:`migrator.script` (the
one revision catalog); :func:`.discover.order_revisions` applies that order to what it renders.
"""

import sys


def warn_on_stderr(path: str, why: str) -> None:
    """How a file that cannot be a migration (a FIFO, a device, a broken link) is reported by
    default: one warning line on stderr, after which the run goes on without it."""
    sys.stderr.write(f"warning: {path}: skipped: {why}\n")
