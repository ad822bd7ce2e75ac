"""Which migration removed or changed what a finding is about: read from the operation model the
linter builds (each statement parsed once), and only when a finding asks."""

from __future__ import annotations

from packaging.version import Version

from ..config import Config
from ..lint.engine import parse_source
from ..model import Location, Operation
from ..script import Catalog
from ..sources.discover import load_sources

# finding kind -> operation kinds that explain it, and the verb that says so
_EXPLAINS = {
    "missing": {"drop_column": "dropped", "rename_column": "renamed", "drop_table": "dropped",
                "rename_table": "renamed"},
    "model-type-mismatch": {"alter_column_type": "changed"},
    "unwritten-not-null-column": {"add_column": "added", "set_not_null": "made NOT NULL",
                                  "drop_default": "default dropped", "create_table": "created"},
}


class Blame:
    """The operations of the migrations of releases <= V, parsed on first use."""

    def __init__(self, config: Config, catalog: Catalog, upto: Version):
        self.config, self.catalog, self.upto = config, catalog, upto
        self._ops: list[tuple[str, Operation]] | None = None

    def _operations(self) -> list[tuple[str, Operation]]:
        if self._ops is None:
            wanted = {r.id: r.phase for r in self.catalog.revisions if r.release <= self.upto}
            sources = load_sources([str(self.catalog.script_location)], self.config)
            self._ops = [(wanted[s.revision], op) for s in sources if s.revision in wanted
                         for op in parse_source(s, self.config.server_version)]
        return self._ops

    def explain(self, kind: str, table: str, column: str | None, phase: str | None = None) -> str:
        """`` (dropped by versions/x.py:12)`` for the last operation of ``phase`` that explains a
        finding about ``table``/``column``, or ""."""
        verbs = _EXPLAINS.get(kind)
        if not verbs:
            return ""
        name = table.rsplit(".", 1)[-1].lower()
        found: tuple[str, Location] | None = None
        for op_phase, op in self._operations():
            if phase and op_phase != phase or op.kind not in verbs:
                continue
            if _about(op, name, column):
                found = (verbs[op.kind], op.loc)
        if found is None:
            return ""
        verb, loc = found
        return f" ({verb} by {loc.path}:{loc.line})"


def _about(op: Operation, table: str, column: str | None) -> bool:
    if op.kind in ("drop_table", "rename_table", "create_table"):
        return table in ([n.lower() for n in op.names] or [(op.table or "").lower()]) and (
            op.kind != "create_table" or any(c.name == column for c in op.columns))
    if (op.table or "").lower() != table:
        return False
    if op.kind == "add_column":
        return any(c.name == column for c in op.columns)
    return (op.column or "") == column
