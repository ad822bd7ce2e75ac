"""SQL statement -> operations: parse once with sqlglot, map the tree to the operation model.

sqlglot returns an unstructured ``exp.Command`` (or raises) for a few percent of real
migration statements (CREATE FUNCTION, ALTER TYPE ... ADD VALUE, VALIDATE CONSTRAINT, ...);
those, and statements whose first word sqlglot is known to misread, are classified from
their words by :mod:`migrator.sql.fallback`. Nothing raises: a statement that cannot be
understood becomes one ``unparsed`` operation with the reason.

Conventions of the facts (both paths fill them the same way):

- ``table`` / ``schema``: the table the operation changes, unqualified, folded as PostgreSQL
  folds names (unquoted lower-cased, quoted kept); ``names``: every target of a multi-target
  DROP / TRUNCATE / LOCK / VACUUM.
- ``name``: the index, constraint or object; for ``set_session`` the parameter; for
  ``savepoint`` the savepoint (``value`` says savepoint / release / rollback_to).
- ``value``: the SET value, the enum label of ADD VALUE, the LOCK mode, the tablespace of SET
  TABLESPACE, the new schema of ``ALTER TABLE ... SET SCHEMA`` (a ``rename_table``).
- ``if_exists``: the statement tolerates a missing target (table-level or action-level).
- ``create_index``: ``columns`` lists every column the index covers, expressions included
  (``lower(email)`` covers ``email``); ``column`` is set only when there is exactly one.
  ``add_constraint`` likewise: ``constraint.columns`` (for a CHECK, the columns it reads).
- ``alter_table_other``: ``reason`` names the action by its leading words in upper case
  (``OWNER TO BOB``, ``ALTER COLUMN SET STATISTICS 100``, ``SET (storage parameters)``), for
  messages; ``brief`` says the parser recognised an action no release can observe that takes
  only a brief lock. ``alter_identity``: ``identity`` says which identity action.
- ``do_block``: DO blocks, CALL, EXECUTE, and queries calling a function not built into
  PostgreSQL (``SELECT create_hypertable(...)``); ``reason`` says what cannot be seen.
- ``has_where``: the UPDATE / DELETE has a WHERE that reads a column (``WHERE true`` does not
  bound anything); ``where_sql`` is the condition either way.
- ``default_sql`` / ``check_sql`` / ``where_sql`` / ``using``: SQL text of the expression
  (rendered by sqlglot, or the source text when the word classifier read it).
"""

from __future__ import annotations

import contextvars
import logging
import re
import threading

import sqlglot
import sqlglot.parser
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from migrator import pgfacts
from migrator.model import ColumnSpec, ConstraintSpec, Operation, Statement
from migrator.sql import fallback
from migrator.sql.expressions import column_refs as _column_refs
from migrator.sql.expressions import ident as _ident
from migrator.sql.expressions import is_plain_cast_of
from migrator.sql.expressions import not_null_proof as _not_null_proof
from migrator.sql.expressions import parse_one as _parse_one
from migrator.sql.expressions import tokenize as _tokenize

# sqlglot logs a warning for every statement it falls back to a Command for; we classify
# those ourselves, so the warning is noise on the user's terminal.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_DIALECT = sqlglot.Dialect.get_or_raise("postgres")

# sqlglotc ships mypyc-compiled builds of sqlglot's modules as extension modules beside the
# .py files of the sqlglot package; the import system prefers an extension module over a .py
# of the same name, so `import sqlglot` picks them up with no code change (about 4-5x faster
# parsing here). False means the pure-Python parser is running.
SQLGLOT_COMPILED = not getattr(sqlglot.parser, "__file__", "").endswith(".py")
_FIRST_WORD = re.compile(r"[A-Za-z_]+")

# First words sqlglot misreads (START TRANSACTION as an alias, CLUSTER as a column ...) or
# only returns as a Command: go straight to the word classifier.
_BY_WORDS = frozenset(
    {
        "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE",
        "PREPARE", "VACUUM", "CLUSTER", "REINDEX", "DO", "LOCK", "REFRESH", "CALL", "RESET",
        "CHECKPOINT", "DISCARD", "LISTEN", "UNLISTEN", "NOTIFY", "LOAD", "DEALLOCATE",
        "EXECUTE", "SECURITY", "IMPORT", "GRANT", "REVOKE", "COMMENT", "REASSIGN", "ANALYZE", "ANALYSE",
    }
)


def parse_statement(stmt: Statement, server_version: int = pgfacts.DEFAULT_SERVER_VERSION) -> list[Operation]:
    """The operations one statement performs, in order. Never raises.

    ``server_version`` (a major version) only matters where the same text means different
    things: ``GENERATED ALWAYS AS (expr)`` without STORED is a virtual column from PG 18 on.
    """
    token = _SERVER_VERSION.set(server_version)
    try:
        return _parse(stmt, server_version)
    except Exception as e:  # noqa: BLE001 - a parser bug must not stop a lint run
        return [fallback.make(stmt, "unparsed", reason=f"internal parser error: {type(e).__name__}: {e}")]
    finally:
        _SERVER_VERSION.reset(token)


_SERVER_VERSION: contextvars.ContextVar[int] = contextvars.ContextVar(
    "server_version", default=pgfacts.DEFAULT_SERVER_VERSION)


def _parse(stmt: Statement, server_version: int) -> list[Operation]:
    sql = stmt.sql
    if ";" in sql:
        parts = _split_more(stmt)
        if parts is not None:
            return [op for part in parts for op in _parse(part, server_version)]
    first = _first_word(sql)
    if first is None:
        return []  # only comments
    if first in _BY_WORDS:
        return fallback.classify(stmt, reparse=_reparse)
    key = (sql, server_version) if len(sql) <= _SEEN_CHARS else None
    cached = _SEEN.get(key) if key else None
    if cached:  # a statement the run has parsed before (a repeated ALTER, SET, DROP ...)
        return [_clone(o, stmt) for o in cached]
    if first == "INSERT" and len(sql) > _BULK_INSERT_CHARS:
        # Seed data: a bulk INSERT's only facts are in its head; parsing megabytes of VALUES
        # would cost seconds.
        head = Statement(sql[:2000], stmt.loc, stmt.in_transaction, stmt.note)
        ops = fallback.classify(head)
        for o in ops:
            o.sql = sql
        return ops
    try:
        tree = _parse_one(sql)
    except (ParseError, TokenError) as e:
        broken = _malformed(sql)
        if broken:  # not a shape sqlglot lacks, but broken SQL: its words prove nothing
            return [fallback.make(stmt, "unparsed", reason=broken)]
        return fallback.classify(stmt, reparse=_reparse, why=_short_error(e, stmt))
    except Exception as e:  # noqa: BLE001 - sqlglot bugs (RecursionError, ...) too
        return fallback.classify(stmt, reparse=_reparse, why=f"{type(e).__name__}")
    if tree is None or isinstance(tree, exp.Command):
        broken = _malformed(sql)
        if broken:
            return [fallback.make(stmt, "unparsed", reason=broken)]
        return fallback.classify(stmt, reparse=_reparse)
    ops = _map(tree, stmt)
    if ops is None:
        return fallback.classify(stmt, reparse=_reparse)
    if key:
        _remember(key, cached, ops)
    return ops


# Operations of short statements mapped from a tree, by (text, server version): the first
# sighting stores an empty tuple, the second a copy of the operations, later ones are copied from
# it (so a statement seen once costs one dict entry, not a copy). Only the tree path is kept: its
# operations depend on nothing else (the word classifier's reasons quote the file position).
_SEEN: dict[tuple[str, int], tuple] = {}
_SEEN_MAX = 20_000
_SEEN_CHARS = 1_000


def _remember(key, cached, ops: list[Operation]) -> None:
    if len(_SEEN) >= _SEEN_MAX:
        _SEEN.clear()
        cached = None
    _SEEN[key] = () if cached is None else tuple(_clone(o, None) for o in ops)


def _clone(op: Operation, stmt: Statement | None) -> Operation:
    """A copy of ``op`` sharing no mutable part with it, placed at ``stmt``."""
    new = object.__new__(Operation)
    d = new.__dict__
    d.update(op.__dict__)
    d["names"] = list(op.names)
    d["columns"] = [_copy_spec(c) for c in op.columns]
    if op.constraint is not None:
        d["constraint"] = _copy_spec(op.constraint)
    if stmt is not None:
        d["loc"] = stmt.loc
        d["in_transaction"] = stmt.in_transaction
    return new


def _copy_spec(spec):
    new = object.__new__(type(spec))
    new.__dict__.update(spec.__dict__)
    if isinstance(spec, ConstraintSpec):
        new.columns = list(spec.columns)
    return new


def _malformed(sql: str) -> str | None:
    """Why ``sql`` cannot be valid SQL at all (unterminated quote, unbalanced parentheses), so
    that the keyword fallback never vouches for a statement PostgreSQL would reject."""
    from sqlglot.tokens import TokenType

    try:
        tokens = _tokenize(sql)
    except TokenError:
        return "unterminated string, identifier or comment"
    depth = 0
    for t in tokens:
        if t.token_type == TokenType.L_PAREN:
            depth += 1
        elif t.token_type == TokenType.R_PAREN:
            depth -= 1
            if depth < 0:
                return "unbalanced parentheses"
    return "unbalanced parentheses" if depth else None


def _split_more(stmt: Statement) -> list[Statement] | None:
    """A source handed over several statements in one string (op.execute("a; b"))."""
    from migrator.sql.split import split_sql

    parts = split_sql(stmt.sql, stmt.loc.path)
    if len(parts) <= 1:
        if parts and parts[0].sql != stmt.sql:
            return [Statement(parts[0].sql, stmt.loc, stmt.in_transaction, stmt.note)]
        return None
    return [Statement(p.sql, stmt.loc, stmt.in_transaction, stmt.note) for p in parts]


_BULK_INSERT_CHARS = 50_000

_LEADING = re.compile(r"(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", re.DOTALL)


def _first_word(sql: str) -> str | None:
    m = _FIRST_WORD.match(sql)
    if m is None:
        pos = _LEADING.match(sql).end()
        if pos >= len(sql):
            return None
        m = _FIRST_WORD.match(sql, pos)
        if m is None:
            return ""
    return m.group().upper()


_ERROR_AT = re.compile(r"Line (\d+), Col: (\d+)")


def _short_error(e: Exception, stmt: Statement) -> str:
    """Where sqlglot stopped, in the user's file. Its message is not repeated: it quotes
    tokens of the statement, which may be a password."""
    m = _ERROR_AT.search(str(e))
    if m is None:
        return "syntax not recognised"
    line, col = int(m.group(1)), int(m.group(2))
    if line == 1:
        col += stmt.loc.column - 1
    return f"syntax not recognised near line {stmt.loc.line + line - 1}, column {col}"


def _reparse(stmt: Statement, sql: str) -> list[Operation] | None:
    """Parse one ALTER TABLE action on its own (used when a multi-action ALTER TABLE came back
    as a Command because one of its actions is unsupported)."""
    try:
        tree = _parse_one(sql)
    except Exception:  # noqa: BLE001
        return None
    if not isinstance(tree, exp.Alter):
        return None
    return _map(tree, Statement(sql, stmt.loc, stmt.in_transaction, stmt.note), full_sql=stmt.sql)


# -- tree helpers -----------------------------------------------------------------------------


def _table(node) -> tuple[str | None, str | None]:
    """(schema, name) of a Table / Schema(Table) node."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        return None, _ident(node)
    db = node.args.get("db")
    return (_ident(db) if db is not None else None), _ident(node.this)


_LOCAL = threading.local()


def _sql(node) -> str | None:
    """PostgreSQL text of a subtree. The tree is thrown away after mapping, so it is rendered
    in place (no copy) by one reused generator per thread: five times cheaper than
    ``node.sql()``."""
    if node is None or node is False:
        return None
    gen = getattr(_LOCAL, "generator", None)
    if gen is None:
        gen = _LOCAL.generator = _DIALECT.generator()
    return gen.generate(node, copy=False)


def _type_of(dt) -> str | None:
    """The normalized type a DataType node spells. Rendered once per distinct tree shape: a
    migration history spells a few dozen types thousands of times."""
    if dt is None:
        return None
    try:
        key = _type_key(dt)
        if key is None:
            key = _shape(dt)
        return _TYPES[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable argument: render it every time
        return pgfacts.normalize_type(_sql(dt))
    if len(_TYPES) >= _TYPES_MAX:
        _TYPES.clear()
    text = _TYPES[key] = pgfacts.normalize_type(_sql(dt))
    return text


_TYPES: dict = {}
_TYPES_MAX = 4096
_DTYPE = exp.DataType.Type
_TYPE_ARGS = frozenset({"this", "nested", "expressions", "values"})
_LITERAL_ARGS = frozenset({"this", "is_string"})
_PARAM_ARGS = frozenset({"this", "expression"})


def _type_key(node):
    """A cheap key for the usual type trees: type names with number or string parameters and
    array element types (varchar(20), numeric(12,2), text[], ENUM ('a', 'b')); None for
    anything else (a comment, a user-defined or interval type ...). An enum member's hash is a
    Python call, its ``_value_`` a plain attribute."""
    if node.comments:
        return None
    t = type(node)
    args = node.args
    if t is exp.DataType:
        this = args.get("this")
        if type(this) is not _DTYPE or args.get("values") or not args.keys() <= _TYPE_ARGS:
            return None
        params = args.get("expressions")
        if not params:
            return (this._value_, args.get("nested"))
        keys = [this._value_, args.get("nested")]
        for p in params:
            k = _type_key(p)
            if k is None:
                return None
            keys.append(k)
        return tuple(keys)
    if t is exp.DataTypeParam:
        if args.get("expression") is not None or not args.keys() <= _PARAM_ARGS:
            return None
        k = _type_key(args["this"])
        return None if k is None else ("param", k)  # tags: no type's name is lower case
    if t is exp.Literal and args.keys() <= _LITERAL_ARGS:
        return ("literal", str(args.get("this")), bool(args.get("is_string")))
    return None


def _shape(node):
    """Everything the generator renders of a subtree (node types, arguments, comments), as a
    hashable key."""
    if isinstance(node, exp.Expr):
        args = node.args
        items = tuple([(k, _shape(v)) for k, v in args.items()]) if args else ()
        comments = node.comments
        return (type(node), items, tuple(comments) if comments else None)
    if isinstance(node, list):
        return tuple([_shape(v) for v in node])
    return node if type(node) is str else (type(node), node)  # True == 1, but renders apart


_SERIALS = frozenset({"serial", "bigserial", "smallserial"})


def _names(ids) -> list[str]:
    return [n for n in (_ident(i) for i in ids or []) if n is not None]


# -- mapping ----------------------------------------------------------------------------------


def _map(tree, stmt: Statement, full_sql: str | None = None) -> list[Operation] | None:
    """Operations of a structured tree, or None to hand the statement to the word classifier."""
    sql = full_sql or stmt.sql

    def op(kind: str, **facts) -> Operation:
        return Operation(kind=kind, loc=stmt.loc, sql=sql, in_transaction=stmt.in_transaction,
                         **facts)

    for types, mapper in _MAPPERS:  # in order: the first type that matches decides
        if isinstance(tree, types):
            return mapper(tree, op)
    return None


def _map_dml(tree, op) -> list[Operation]:
    return _cte_writes(tree, op) + [_dml(tree, op)]


def _map_merge(tree, op) -> list[Operation]:
    schema, table = _table(tree.this)
    on = tree.args.get("on")
    return [op("update", table=table, schema=schema, has_where=on is not None,
               where_sql=_sql(on), reason="MERGE")]


def _map_truncate(tree, op) -> list[Operation]:
    tables = [_table(t) for t in tree.expressions]
    option = str(tree.args.get("option") or "").upper()
    return [op("truncate", table=tables[0][1] if tables else None,
               schema=tables[0][0] if tables else None,
               names=[t for _, t in tables if t], cascade=option == "CASCADE")]


def _map_copy(tree, op) -> list[Operation]:
    schema, table = _table(tree.this)
    return [op("copy", table=table, schema=schema)]


def _map_analyze(tree, op) -> list[Operation]:
    tables = [_table(t) for t in tree.args.get("tables") or []] if "tables" in tree.args else []
    t = tables[0] if tables else (None, None)
    return [op("analyze", table=t[1], schema=t[0], names=[n for _, n in tables if n])]


def _map_rollback(tree, op) -> list[Operation]:
    sp = tree.args.get("savepoint")
    if sp:
        return [op("savepoint", name=_ident(sp))]
    return [op("rollback")]


def _map_comment(tree, op) -> list[Operation]:
    return [op("comment", object_type=str(tree.args.get("kind") or "").lower() or None)]


def _dml(tree, op) -> Operation:
    schema, table = _table(tree.this)
    if isinstance(tree, exp.Insert):
        return op("insert", table=table, schema=schema)
    where = tree.args.get("where")
    kind = "update" if isinstance(tree, exp.Update) else "delete"
    # A condition that reads no column (WHERE true, WHERE 1 = 1, an uncorrelated EXISTS)
    # bounds nothing: it is the same as no WHERE.
    bounded = where is not None and next(where.find_all(exp.Column), None) is not None
    return op(kind, table=table, schema=schema, has_where=bounded,
              where_sql=_sql(where.this) if where is not None else None)


def _cte_writes(tree, op) -> list[Operation]:
    """Data-modifying WITH queries: WITH moved AS (DELETE FROM a ... RETURNING *) INSERT ..."""
    with_ = tree.args.get("with_") or tree.args.get("with")
    if with_ is None:
        return []
    return [_dml(cte.this, op) for cte in with_.expressions
            if isinstance(cte.this, (exp.Update, exp.Delete, exp.Insert))]


def _securable(tree) -> dict:
    sec = tree.args.get("securable")
    if isinstance(sec, exp.Table):
        schema, table = _table(sec)
        return {"table": table, "schema": schema}
    return {}


def _map_query(tree, op) -> list[Operation]:
    writes = _cte_writes(tree, op)
    if writes:
        return writes + [op("select")]
    into = tree.args.get("into") if isinstance(tree, exp.Select) else None
    if into is not None:
        schema, table = _table(into.this)
        return [op("create_table_as", table=table, schema=schema)]
    if isinstance(tree, exp.Select):
        # SELECT set_config('lock_timeout', '5s', false) is how some tools set a session value.
        for e in tree.expressions:
            if isinstance(e, exp.Dot) and _ident(e.this) == "pg_catalog":
                e = e.expression
            if isinstance(e, exp.Anonymous) and str(e.this).lower() == "set_config":
                args = e.expressions
                if args and isinstance(args[0], exp.Literal) and args[0].is_string:
                    value = args[1].this if len(args) > 1 and isinstance(args[1], exp.Literal) else None
                    return [op("set_session", name=args[0].this.lower(), value=value)]
    hidden = _hidden_calls(tree)
    if hidden:
        # SELECT create_hypertable(...), SELECT partman.create_parent(...), SELECT my_backfill():
        # the function may change anything, and its body is not in the migration.
        return [op("do_block", name=hidden[0], object_type="function",
                   reason=f"SELECT calls {', '.join(h + '()' for h in hidden)}, whose body cannot "
                          "be seen (a user-defined or extension function)")]
    return [op("select")]


def _hidden_calls(tree) -> list[str]:
    """Functions a query calls that are not built into PostgreSQL (schema-qualified names
    keep their schema)."""
    out: list[str] = []
    for fn in tree.find_all(exp.Anonymous):
        name = str(fn.this)
        schema = None
        parent = fn.parent
        if isinstance(parent, exp.Dot) and parent.expression is fn:
            schema = _ident(parent.this) if isinstance(parent.this, exp.Identifier) else _sql(parent.this)
        if pgfacts.is_builtin_function(name, schema):
            continue
        shown = f"{schema}.{name}" if schema else name
        if shown not in out:
            out.append(shown)
    return out


def _map_set(tree, op) -> list[Operation]:
    ops = []
    for item in tree.expressions:
        target = item.this
        name = value = None
        if isinstance(target, exp.EQ):
            name = _ident(target.this) if not isinstance(target.this, exp.Dot) else _sql(target.this).lower()
            v = target.expression
            value = v.this if isinstance(v, exp.Literal) else _sql(v)
        else:
            name = (_sql(target) or "").lower() or None
        ops.append(op("set_session", name=name, value=value))
    return ops or [op("set_session")]


# -- CREATE -----------------------------------------------------------------------------------


def _column_spec(cd) -> ColumnSpec:
    spec = ColumnSpec(name=_ident(cd.this) or "")
    dt = cd.args.get("kind")
    spec.type = _type_of(dt) if dt is not None else None
    if spec.type is not None and spec.type.split("[", 1)[0] in _SERIALS:
        spec.serial = True
    for cc in cd.args.get("constraints") or []:
        k = cc.args.get("kind") if isinstance(cc, exp.ColumnConstraint) else cc
        if isinstance(k, exp.NotNullColumnConstraint):
            if not k.args.get("allow_null"):
                spec.not_null = True
        elif isinstance(k, exp.DefaultColumnConstraint):
            spec.has_default = True
            spec.default_sql = _sql(k.this)
            spec.default_volatile = pgfacts.is_volatile_expression(spec.default_sql)
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            spec.primary_key = True
            spec.not_null = True
        elif isinstance(k, exp.UniqueColumnConstraint):
            spec.unique = True
        elif isinstance(k, exp.Reference):
            spec.references = _table(k.this)[1]
        elif isinstance(k, exp.CheckColumnConstraint):
            spec.check_sql = _sql(k.this)
            spec.check_not_null = _not_null_proof(k.this) == spec.name
        elif isinstance(k, exp.ComputedColumnConstraint):
            spec.generated_stored = True
            spec.has_default = True
            spec.default_sql = _sql(k.this)
        elif isinstance(k, exp.GeneratedAsIdentityColumnConstraint):
            if k.args.get("expression") is not None:
                # GENERATED ALWAYS AS (expr) without STORED: virtual from PG 18 (nothing is
                # written), a syntax error before (assume stored, the unsafe reading).
                virtual = _SERVER_VERSION.get() >= pgfacts.VIRTUAL_GENERATED_COLUMNS_SINCE
                spec.generated_stored = not virtual
                spec.default_sql = _sql(k.args["expression"])
            else:
                spec.identity = True
                spec.not_null = True
    return spec


def _map_create(tree, op) -> list[Operation] | None:
    kind = str(tree.args.get("kind") or "").upper()
    target = tree.this
    exists = bool(tree.args.get("exists"))
    props = tree.args.get("properties")
    prop_list = props.expressions if props is not None else []
    if kind == "TABLE":
        schema, table = _table(target)
        if tree.args.get("expression") is not None:
            return [op("create_table_as", table=table, schema=schema, if_not_exists=exists)]
        cols: list[ColumnSpec] = []
        if isinstance(target, exp.Schema):
            by_name = {}
            table_constraints = []
            for e in target.expressions:
                if isinstance(e, exp.ColumnDef):
                    spec = _column_spec(e)
                    cols.append(spec)
                    by_name[spec.name] = spec
                else:
                    table_constraints.append(e)
            for e in table_constraints:  # after every column: PRIMARY KEY (id) may come first
                _mark_table_constraint(e, by_name)
        return [op("create_table", table=table, schema=schema, columns=cols, if_not_exists=exists)]
    if kind == "INDEX":
        return [_create_index(tree, op)]
    if kind in ("VIEW", "MATERIALIZED VIEW"):
        materialized = kind != "VIEW" or any(isinstance(p, exp.MaterializedProperty) for p in prop_list)
        schema, name = _table(target)
        return [op("create_object", object_type="materialized_view" if materialized else "view",
                   name=name, schema=schema, if_not_exists=exists)]
    if kind in ("FUNCTION", "PROCEDURE"):
        fn = target.this if isinstance(target, exp.UserDefinedFunction) else target
        schema, name = _table(fn)
        o = op("create_object", object_type=kind.lower(), name=name, schema=schema,
               reason=f"the {kind.lower()} body cannot be seen")
        if kind == "FUNCTION":
            o.volatility = pgfacts.routine_volatility(o.sql, creating=True)
        return [o]
    if kind == "TRIGGER":
        trig = next((p for p in prop_list if isinstance(p, exp.TriggerProperties)), None)
        schema, table = _table(trig.args.get("table")) if trig is not None else (None, None)
        return [op("create_object", object_type="trigger", name=_ident(target), table=table,
                   schema=schema)]
    if kind == "SCHEMA":
        name = _ident(target.args.get("db")) if isinstance(target, exp.Table) else _ident(target)
        return [op("create_object", object_type="schema", name=name, if_not_exists=exists)]
    if kind == "DATABASE":
        return [op("create_database", name=_table(target)[1])]
    if kind in ("SEQUENCE", "TYPE", "DOMAIN", "EXTENSION", "ROLE", "USER", "POLICY",
                "COLLATION", "STATISTICS"):
        schema, name = _table(target)
        return [op("create_object", object_type=kind.lower(), name=name, schema=schema,
                   if_not_exists=exists)]
    return None


def _mark_table_constraint(e, by_name: dict) -> None:
    """CREATE TABLE's table constraints on a single column mark that column."""
    inner = e
    if isinstance(e, exp.Constraint):
        inner = e.expressions[0] if e.expressions else None
    if isinstance(inner, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        for n in _names(inner.expressions):
            if n in by_name:
                by_name[n].primary_key = True
                by_name[n].not_null = True
    elif isinstance(inner, exp.UniqueColumnConstraint):
        cols = _names(inner.this.expressions) if isinstance(inner.this, exp.Schema) else []
        if len(cols) == 1 and cols[0] in by_name:
            by_name[cols[0]].unique = True
    elif isinstance(inner, exp.ForeignKey):
        cols = _names(inner.expressions)
        ref = inner.args.get("reference")
        if len(cols) == 1 and cols[0] in by_name and ref is not None:
            by_name[cols[0]].references = _table(ref.this)[1]
    elif isinstance(inner, exp.CheckColumnConstraint):
        # A table CHECK is recorded on the first column it reads (validated as it is created).
        col = next((c for c in _column_refs([inner.this]) if c in by_name), None)
        if col is not None and by_name[col].check_sql is None:
            by_name[col].check_sql = _sql(inner.this)
            by_name[col].check_not_null = _not_null_proof(inner.this) == col


def _create_index(tree, op) -> Operation:
    idx = tree.this
    schema, table = _table(idx.args.get("table"))
    params = idx.args.get("params")
    where = params.args.get("where") if params is not None else None
    # Every column the index covers, in expressions too: lower(email) covers email.
    names = _column_refs(params.args.get("columns") or []) if params is not None else []
    cols = [ColumnSpec(name=n) for n in names]
    return op("create_index", name=_ident(idx.this), table=table, schema=schema,
              unique=bool(tree.args.get("unique")), concurrently=bool(tree.args.get("concurrently")),
              if_not_exists=bool(tree.args.get("exists")), columns=cols,
              column=names[0] if len(names) == 1 else None,
              has_where=where is not None, where_sql=_sql(where.this) if where is not None else None)


# -- DROP -------------------------------------------------------------------------------------

_DROP_OBJECT_TYPES = {
    "VIEW": "view", "FUNCTION": "function", "PROCEDURE": "procedure", "TRIGGER": "trigger",
    "SEQUENCE": "sequence", "TYPE": "type", "DOMAIN": "domain", "EXTENSION": "extension",
    "POLICY": "policy", "ROLE": "role", "USER": "role", "AGGREGATE": "aggregate",
}


def _map_drop(tree, op) -> list[Operation] | None:
    kind = str(tree.args.get("kind") or "").upper()
    targets = tree.args.get("tables") or []
    exists = bool(tree.args.get("exists"))
    cascade = bool(tree.args.get("cascade"))
    if kind == "SCHEMA":
        names = [_ident(t.args.get("db")) if isinstance(t, exp.Table) and t.args.get("db") else _table(t)[1]
                 for t in targets]
        names = [n for n in names if n]
        return [op("drop_schema", name=names[0] if names else None, names=names,
                   if_exists=exists, cascade=cascade)]
    parts = [_table(t) for t in targets]
    names = [n for _, n in parts if n]
    schema = parts[0][0] if parts else None
    first = names[0] if names else None
    common = dict(schema=schema, names=names, if_exists=exists, cascade=cascade)
    if kind == "TABLE":
        return [op("drop_table", table=first, **common)]
    if kind == "INDEX":
        return [op("drop_index", name=first, concurrently=bool(tree.args.get("concurrently")), **common)]
    if kind == "DATABASE":
        return [op("drop_database", name=first, **common)]
    if kind in _DROP_OBJECT_TYPES:
        object_type = _DROP_OBJECT_TYPES[kind]
        if kind == "VIEW" and tree.args.get("materialized"):
            object_type = "materialized_view"
        table = None
        on = tree.args.get("cluster")
        if isinstance(on, exp.OnProperty):
            table = _table(on.this)[1]
        return [op("drop_object", object_type=object_type, name=first, table=table, **common)]
    return None


# -- ALTER ------------------------------------------------------------------------------------


def _map_alter(tree, op) -> list[Operation] | None:
    kind = str(tree.args.get("kind") or "").upper()
    schema, name = _table(tree.this)
    exists = bool(tree.args.get("exists"))
    actions = tree.args.get("actions") or []
    if kind != "TABLE":
        return _map_alter_other(kind, schema, name, exists, actions, op)
    ops: list[Operation] = []
    base = dict(table=name, schema=schema)
    not_valid = bool(tree.args.get("not_valid"))
    for pos, a in enumerate(actions):
        last = pos == len(actions) - 1
        if isinstance(a, exp.ColumnDef):
            spec = _column_spec(a)
            ops.append(op("add_column", column=spec.name, columns=[spec],
                          if_not_exists=bool(a.args.get("exists")), if_exists=exists, **base))
        elif isinstance(a, exp.Drop):
            dkind = str(a.args.get("kind") or "").upper()
            for t in a.args.get("tables") or []:
                if dkind == "CONSTRAINT":
                    ops.append(op("drop_constraint", name=_ident(t), if_exists=exists or bool(a.args.get("exists")),
                                  cascade=bool(a.args.get("cascade")), **base))
                elif dkind in ("COLUMN", ""):
                    ops.append(op("drop_column", column=_ident(t), if_exists=exists or bool(a.args.get("exists")),
                                  cascade=bool(a.args.get("cascade")), **base))
                else:
                    return None
        elif isinstance(a, exp.AlterColumn):
            o = _alter_column(a, op, base)
            if o is None:
                return None
            ops.append(o)
        elif isinstance(a, exp.RenameColumn):
            ops.append(op("rename_column", column=_ident(a.this), new_name=_ident(a.args.get("to")),
                          if_exists=exists, **base))
        elif isinstance(a, exp.AlterRename):
            to_prop = next((p for p in tree.args.get("options") or [] if isinstance(p, exp.ToTableProperty)), None)
            if to_prop is not None:  # RENAME a TO b (COLUMN omitted)
                ops.append(op("rename_column", column=_table(a.this)[1],
                              new_name=_table(to_prop.this)[1], if_exists=exists, **base))
            else:
                ops.append(op("rename_table", new_name=_table(a.this)[1], if_exists=exists, **base))
        elif isinstance(a, exp.AddConstraint):
            for c in a.expressions:
                spec = _constraint_spec(c)
                if spec is None:
                    return None
                spec.not_valid = not_valid and last
                ops.append(op("add_constraint", name=spec.name, constraint=spec,
                              column=spec.columns[0] if len(spec.columns) == 1 else None, **base))
        elif isinstance(a, exp.AlterSet):
            ops.append(_alter_set(a, op, base))
        else:
            return None
    return ops or None


def _alter_column(a, op, base) -> Operation | None:
    column = _ident(a.this)
    if a.args.get("dtype") is not None:
        using = _sql(a.args.get("using")) if a.args.get("using") else None
        new_type = _type_of(a.args["dtype"])
        if is_plain_cast_of(using, column, new_type, pgfacts.normalize_type):
            using = None  # USING col::new_type: the coercion the change applies anyway
        return op("alter_column_type", column=column, new_type=new_type, using=using, **base)
    allow_null = a.args.get("allow_null")
    if allow_null is False:
        return op("set_not_null", column=column, **base)
    if allow_null is True and a.args.get("drop"):
        return op("drop_not_null", column=column, **base)
    if a.args.get("default") is not None:
        dsql = _sql(a.args["default"])
        volatile = pgfacts.is_volatile_expression(dsql)
        return op("set_default", column=column, default_volatile=volatile,
                  columns=[ColumnSpec(name=column or "", has_default=True, default_sql=dsql,
                                      default_volatile=volatile)], **base)
    if a.args.get("drop"):
        return op("drop_default", column=column, **base)
    return None


def _alter_set(a, op, base) -> Operation:
    ts = a.args.get("tablespace")
    if ts is not None:
        return op("set_tablespace", value=_ident(ts), **base)
    option = a.args.get("option")
    word = str(option.this if isinstance(option, exp.Var) else option or "").upper()
    if word == "LOGGED":
        return op("set_logged", **base)
    if word == "UNLOGGED":
        return op("set_unlogged", **base)
    if a.args.get("access_method") is not None:
        return op("alter_table_other", reason="SET ACCESS METHOD", **base)  # rewrites the table
    if word:  # SET WITHOUT CLUSTER / WITHOUT OIDS
        return op("alter_table_other", reason=f"SET {word}", brief=word.startswith("WITHOUT"), **base)
    if a.args.get("expressions"):
        return op("alter_table_other", reason="SET (storage parameters)", brief=True, **base)
    return op("alter_table_other", reason="ALTER TABLE ... SET", brief=True, **base)


def _constraint_spec(c) -> ConstraintSpec | None:
    name = None
    inner = c
    if isinstance(c, exp.Constraint):
        name = _ident(c.this)
        inner = c.expressions[0] if c.expressions else None
    if isinstance(inner, exp.ForeignKey):
        ref = inner.args.get("reference")
        return ConstraintSpec(name=name, type="foreign_key", columns=_names(inner.expressions),
                              references=_table(ref.this)[1] if ref is not None else None)
    if isinstance(inner, exp.CheckColumnConstraint):
        check = inner.this
        return ConstraintSpec(name=name, type="check", check_sql=_sql(check),
                              columns=_column_refs([check]), not_null_column=_not_null_proof(check))
    if isinstance(inner, exp.UniqueColumnConstraint):
        cols = _names(inner.this.expressions) if isinstance(inner.this, exp.Schema) else []
        return ConstraintSpec(name=name, type="unique", columns=cols)
    if isinstance(inner, (exp.PrimaryKey, exp.PrimaryKeyColumnConstraint)):
        return ConstraintSpec(name=name, type="primary_key", columns=_names(inner.expressions))
    if isinstance(inner, exp.ExcludeColumnConstraint):
        params = inner.this
        elements = params.args.get("columns") or [] if isinstance(params, exp.IndexParameters) else []
        return ConstraintSpec(name=name, type="exclude", columns=_column_refs(elements))
    return None


_ALTER_OBJECT_TYPES = {
    "INDEX": "index", "VIEW": "view", "MATERIALIZED VIEW": "materialized_view",
    "SEQUENCE": "sequence", "FUNCTION": "function", "TYPE": "type", "SCHEMA": "schema",
}


def _map_alter_other(kind, schema, name, exists, actions, op) -> list[Operation] | None:
    object_type = _ALTER_OBJECT_TYPES.get(kind)
    if object_type is None or len(actions) != 1:
        return None
    a = actions[0]
    if isinstance(a, exp.AlterRename):
        new_name = _table(a.this)[1]
        if object_type == "index":
            return [op("rename_index", name=name, schema=schema, new_name=new_name, if_exists=exists)]
        return [op("rename_object", object_type=object_type, name=name, schema=schema,
                   new_name=new_name, if_exists=exists)]
    if isinstance(a, exp.AlterSet) and a.args.get("tablespace") is not None:
        return [op("set_tablespace", object_type=object_type, name=name, schema=schema,
                   value=_ident(a.args["tablespace"]), if_exists=exists)]
    if object_type == "sequence":
        return [op("alter_sequence", name=name, schema=schema, if_exists=exists)]
    o = op("alter_object", object_type=object_type, name=name, schema=schema, if_exists=exists)
    if object_type == "function":
        o.volatility = pgfacts.routine_volatility(o.sql, creating=False)
    return [o]


# How each kind of sqlglot tree maps to operations, tried in this order (_map).
_MAPPERS = (
    (exp.Alter, _map_alter),
    (exp.Create, _map_create),
    (exp.Drop, _map_drop),
    ((exp.Update, exp.Delete, exp.Insert), _map_dml),
    (exp.Merge, _map_merge),
    (exp.TruncateTable, _map_truncate),
    (exp.Set, _map_set),
    (exp.Copy, _map_copy),
    (exp.Analyze, _map_analyze),
    (exp.Transaction, lambda tree, op: [op("begin")]),
    (exp.Commit, lambda tree, op: [op("commit")]),
    (exp.Rollback, _map_rollback),
    (exp.Comment, _map_comment),
    (exp.Grant, lambda tree, op: [op("grant", **_securable(tree))]),
    (exp.Revoke, lambda tree, op: [op("revoke", **_securable(tree))]),
    (exp.Query, _map_query),
)
