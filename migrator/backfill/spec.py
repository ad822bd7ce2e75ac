"""A declared backfill as plain data: which table, which columns get which SQL expression, which
rows still need filling, and how to walk the table. Serialised as JSON into migrator_backfills."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..errors import UsageError


@dataclass(frozen=True)
class BackfillSpec:
    table: str
    set: dict[str, str] = field(default_factory=dict)  # column -> SQL expression over the row
    where: str | None = None  # SQL predicate selecting rows still to fill
    key: tuple[str, ...] | None = None  # walk order; None: the primary key from the catalog
    batch_size: int | None = None  # a fixed batch size; None: adapt to the target duration
    name: str | None = None  # unique name; None: derived from revision, table and columns
    schema: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.table, str) or not self.table.strip():
            raise UsageError(f"backfill: table must be a non-empty string, got {self.table!r}")
        if not isinstance(self.set, dict) or not self.set:
            raise UsageError(f"backfill of {self.table!r}: set= must map column -> SQL expression")
        for col, expr in self.set.items():
            if not isinstance(col, str) or not col or not isinstance(expr, str) or not expr.strip():
                raise UsageError(f"backfill of {self.table!r}: set= needs column -> SQL expression "
                                 f"strings, got {col!r}: {expr!r}")
        if self.where is not None and (not isinstance(self.where, str) or not self.where.strip()):
            raise UsageError(f"backfill of {self.table!r}: where= must be a SQL predicate string")
        if self.key is not None:
            if isinstance(self.key, str) or not all(isinstance(k, str) and k for k in self.key) \
                    or not self.key:
                raise UsageError(f"backfill of {self.table!r}: key= must be a list of column names")
            object.__setattr__(self, "key", tuple(self.key))
        if self.batch_size is not None and (not isinstance(self.batch_size, int)
                                            or isinstance(self.batch_size, bool)
                                            or self.batch_size < 1):
            raise UsageError(f"backfill of {self.table!r}: batch_size must be a positive integer")
        object.__setattr__(self, "set", dict(self.set))

    @property
    def qualified_table(self) -> str:
        return f"{self.schema}.{self.table}" if self.schema else self.table

    def resolved_name(self, revision: str | None = None) -> str:
        """The row's name in migrator_backfills: the declared one, else revision:table(columns)."""
        if self.name:
            return self.name
        cols = ",".join(self.set)
        prefix = f"{revision}:" if revision else ""
        return f"{prefix}{self.qualified_table}({cols})"

    def to_json(self) -> str:
        d = asdict(self)
        d["key"] = list(self.key) if self.key else None
        return json.dumps(d, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "BackfillSpec":
        try:
            d = json.loads(text)
        except (TypeError, ValueError):
            raise UsageError(f"stored backfill spec is not valid JSON: {text!r}") from None
        return cls(table=d["table"], set=d["set"], where=d.get("where"), key=d.get("key"),
                   batch_size=d.get("batch_size"), name=d.get("name"), schema=d.get("schema"))
