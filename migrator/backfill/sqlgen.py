"""The SQL of one backfill batch, per dialect. Keyset pagination on the key: ``key > last ORDER BY
key LIMIT n`` (never OFFSET); identifiers quoted by the dialect's preparer; values bound.

PostgreSQL: one statement per batch. A CTE selects the next n keys (whether or not they match
``where``, so the walk always advances); the UPDATE touches the rows matching ``where`` in the key
range (last, batch's last key] -- a bounded index range scan, no join, no scan from the start of
the table -- and the statement returns the batch's last key, how many keys it saw and how many
rows it changed.
SQLite: the same two steps as two statements (bounds, then a key-range UPDATE).
The walk ends at the highest key found when the run starts (:stop_i): rows inserted later come
from the new release, which writes the new columns itself, so a steady stream of inserts can
never keep a backfill from finishing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Dialect

from .spec import BackfillSpec

BATCH = "migrator_batch"
UPDATED = "migrator_updated"
LAST = "migrator_last"


def get_dialect(dialect: Dialect | str) -> Dialect:
    if isinstance(dialect, Dialect):
        return dialect
    name = str(dialect).split("+")[0]
    if name in ("postgres", "postgresql"):
        from sqlalchemy.dialects import postgresql

        return postgresql.dialect()
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.dialect()
    from sqlalchemy.dialects import registry

    return registry.load(name)()


def _escape(sql: str) -> str:
    """Developer SQL inside a text() construct: a colon is never a bind parameter."""
    return sql.replace(":", "\\:")


@dataclass(frozen=True)
class BatchSQL:
    """The statements of one batch. ``first`` has no lower bound (the walk's start)."""

    dialect: str
    key: tuple[str, ...]
    first: tuple[str, ...]  # statements for the first batch
    next: tuple[str, ...]  # statements for the following batches (bound by :after_i)
    end: str = ""  # the highest key now; every batch is bound by it (:stop_i)

    def statements(self, has_last: bool) -> tuple[str, ...]:
        return self.next if has_last else self.first


class _Gen:
    def __init__(self, spec: BackfillSpec, dialect: Dialect, key: tuple[str, ...], display: bool):
        self.spec, self.key = spec, key
        prep = dialect.identifier_preparer
        self.q = prep.quote
        self.table = (prep.quote_schema(spec.schema) + "." if spec.schema else "") + prep.quote(spec.table)
        self.raw = (lambda s: s) if display else _escape
        self.kq = [self.q(k) for k in key]
        self.ka = [f"mb_k{i}" for i in range(len(key))]

    def set_clause(self) -> str:
        return ", ".join(f"{self.q(c)} = ({self.raw(e)})" for c, e in self.spec.set.items())

    def where_clause(self) -> str:
        return f" AND ({self.raw(self.spec.where)})" if self.spec.where else ""

    def order(self, cols: list[str], desc: bool = False) -> str:
        return ", ".join(c + (" DESC" if desc else "") for c in cols)

    def row_cmp(self, cols: list[str], prefix: str, op: str) -> str:
        """(a, b) > (:after_0, :after_1) as a row-value comparison (PostgreSQL)."""
        params = [f":{prefix}_{i}" for i in range(len(cols))]
        if len(cols) == 1:
            return f"{cols[0]} {op} {params[0]}"
        return f"({', '.join(cols)}) {op} ({', '.join(params)})"

    def end(self) -> str:
        """The highest key now: the walk stops there (later rows come from the new code)."""
        return f"SELECT {', '.join(self.kq)} FROM {self.table} ORDER BY {self.order(self.kq, desc=True)} LIMIT 1"

    def or_form(self, cols: list[str], prefix: str, op: str, last_op: str) -> str:
        """(a op :p0) OR (a = :p0 AND b last_op :p1) ... the portable expansion."""
        terms = []
        for i in range(len(cols)):
            eqs = [f"{cols[j]} = :{prefix}_{j}" for j in range(i)]
            cmp = f"{cols[i]} {last_op if i == len(cols) - 1 else op} :{prefix}_{i}"
            terms.append(" AND ".join([*eqs, cmp]))
        if len(terms) == 1:
            return terms[0]
        return "(" + " OR ".join(f"({t})" for t in terms) + ")"

    def postgresql(self, with_after: bool) -> str:
        sel = ", ".join(f"{k} AS {a}" for k, a in zip(self.kq, self.ka))
        after = self.row_cmp(self.kq, "after", ">")
        walk = f"{after} AND {self.row_cmp(self.kq, 'stop', '<=')}" if with_after \
            else self.row_cmp(self.kq, "stop", "<=")
        # the batch's last key; ORDER BY, not max(): max() does not exist for every key type (uuid)
        last = f"SELECT {', '.join(self.ka)} FROM {BATCH} ORDER BY {self.order(self.ka, desc=True)} LIMIT 1"
        if len(self.kq) == 1:
            upto = f"{self.kq[0]} <= (SELECT {self.ka[0]} FROM {LAST})"
        else:
            bound = ", ".join(f"(SELECT {a} FROM {LAST})" for a in self.ka)
            upto = f"({', '.join(self.kq)}) <= ({bound})"
        cond = f"{after} AND {upto}" if with_after else upto
        return (
            f"WITH {BATCH} AS MATERIALIZED (SELECT {sel} FROM {self.table} WHERE {walk}"
            f" ORDER BY {self.order(self.kq)} LIMIT :batch_size),"
            f" {LAST} AS MATERIALIZED ({last}),"
            f" {UPDATED} AS (UPDATE {self.table} SET {self.set_clause()}"
            f" WHERE {cond}{self.where_clause()} RETURNING 1)"
            f" SELECT {', '.join(self.ka)}, (SELECT count(*) FROM {BATCH}) AS scanned,"
            f" (SELECT count(*) FROM {UPDATED}) AS updated FROM {LAST}"
        )

    def sqlite(self, with_after: bool) -> tuple[str, str]:
        sel = ", ".join(f"{k} AS {a}" for k, a in zip(self.kq, self.ka))
        after = self.or_form(self.kq, "after", ">", ">")
        stop = self.or_form(self.kq, "stop", "<", "<=")
        walk = f"{after} AND {stop}" if with_after else stop
        bounds = (
            f"WITH {BATCH} AS (SELECT {sel} FROM {self.table} WHERE {walk}"
            f" ORDER BY {self.order(self.kq)} LIMIT :batch_size)"
            f" SELECT {', '.join(self.ka)}, (SELECT count(*) FROM {BATCH}) AS scanned"
            f" FROM {BATCH} ORDER BY {self.order(self.ka, desc=True)} LIMIT 1"
        )
        upto = self.or_form(self.kq, "upto", "<", "<=")
        cond = f"{after} AND {upto}" if with_after else upto
        update = f"UPDATE {self.table} SET {self.set_clause()} WHERE {cond}{self.where_clause()}"
        return bounds, update


def build(spec: BackfillSpec, dialect: Dialect | str, key: tuple[str, ...] | list[str], *,
          display: bool = False) -> BatchSQL:
    d = get_dialect(dialect)
    g = _Gen(spec, d, tuple(key), display)
    if d.name == "postgresql":
        return BatchSQL(d.name, tuple(key), (g.postgresql(False),), (g.postgresql(True),), g.end())
    return BatchSQL(d.name, tuple(key), g.sqlite(False), g.sqlite(True), g.end())


def batch_statement(spec: BackfillSpec, dialect: Dialect | str,
                    key: tuple[str, ...] | list[str] | None = None) -> str:
    """The SQL of one (non-first) batch as a plan shows it, with :after_i / :upto_i / :stop_i /
    :batch_size placeholders. The key is ``key``, else the spec's, else ``id`` (the catalog is not read here)."""
    k = tuple(key or spec.key or ("id",))
    return ";\n".join(build(spec, dialect, k, display=True).next)
