"""How migrations are applied: the phase runner on Alembic.

- :mod:`.alembic_run` Alembic driven from the catalog (:mod:`migrator.script`): one ScriptDirectory
  per run, revisions imported only when applied
- :mod:`.history`  migrator_history: every attempt, and the state it implies per revision
- :mod:`.db`       runner connections (lock_timeout in the URL, transactional DDL on SQLite)
- :mod:`.apply`    one revision through the project's env.py, one transaction, repaired indexes
- :mod:`.api`      expand / contract / rollback / status / plan
- :mod:`.result`   what a run reports (plain data)

Shared below the runner (the backfill and the gate use them too): :mod:`migrator.tables`
(migrator's tables), :mod:`migrator.locks` (runner and backfill locks), :mod:`migrator.retry`
(lock_timeout retries).
"""
