"""The readiness gate (docs/window.md) and what serves it.

- ``core``: the verdicts (``evaluate(kind, release, ...) -> GateResult``), decided from
- ``snapshot``: one read-only read of the history, backfill and instance tables;
- ``registry``: application instances (``register_instance``, ``require_compatible``);
- ``server``: ``migrator serve`` (probe and decision endpoints);
- ``notify``: webhooks for phase and backfill events;
- ``connect``: engines with bounded waits and read-only sessions.
"""
