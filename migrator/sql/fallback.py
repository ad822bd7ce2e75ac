"""Classify a statement from its words when sqlglot gives no structured tree.

sqlglot answers ``exp.Command`` (or raises) for CREATE FUNCTION with a plpgsql body, ALTER
TYPE ... ADD VALUE, VALIDATE CONSTRAINT, USING INDEX, REINDEX, DO blocks and more. This module
(with :mod:`migrator.sql.fallback_ddl` for CREATE / DROP / ALTER) reads PostgreSQL's grammar
for those statements at the level of keywords, so no statement is lost: whatever is still not
understood becomes an ``unparsed`` operation with the reason.
"""

from __future__ import annotations

from migrator.model import OpKind, Operation, Statement
from migrator.sql.fallback_ddl import Reparse, make, read_alter, read_create, read_drop
from migrator.sql.words import Cursor, tokenize

__all__ = ["classify", "make"]


def classify(stmt: Statement, reparse: Reparse | None = None, why: str | None = None) -> list[Operation]:
    toks = tokenize(stmt.sql)
    if not toks:
        return []
    c = Cursor(toks, stmt.sql)
    first = c.peek()
    handler = _HANDLERS.get(first)
    ops = None
    if any(t.kind == "op" and t.text == "{" for t in toks):
        # ``{{ .Schema }}``, ``${schema}``: a template the tool that runs the file fills in. What
        # it stands for is unknown, so the statement is not judged (never judged on a wrong name).
        why = "a template placeholder ({...}) stands where SQL is expected"
    elif handler is not None:
        ops = handler(stmt, c, reparse)
    if ops and not any(_target_missing(op) for op in ops):
        return ops
    if ops:
        why = why or "the object it acts on is not a name"
    reason = "statement not understood"
    if why:
        reason = f"{reason} ({why})"
    return [make(stmt, "unparsed", reason=reason)]


# What each kind acts on: an operation of these kinds without it was read from something that is
# not SQL's grammar (a template, a typo), and a verdict on it would name the wrong object.
_NEEDS_TABLE = frozenset({
    OpKind.CREATE_TABLE, OpKind.CREATE_TABLE_AS, OpKind.ADD_COLUMN, OpKind.DROP_COLUMN,
    OpKind.RENAME_COLUMN, OpKind.ALTER_COLUMN_TYPE, OpKind.SET_NOT_NULL, OpKind.DROP_NOT_NULL,
    OpKind.SET_DEFAULT, OpKind.DROP_DEFAULT, OpKind.ADD_CONSTRAINT, OpKind.VALIDATE_CONSTRAINT,
    OpKind.DROP_CONSTRAINT, OpKind.CREATE_INDEX})


def _target_missing(op: Operation) -> bool:
    return op.kind in _NEEDS_TABLE and not op.table and op.object_type is None  # domains have none


# -- transaction control and session ------------------------------------------------------------


def _begin(stmt, c, _):
    c.skip()
    if c.peek() == "ATOMIC":
        return None
    return [make(stmt, "begin")]


def _start(stmt, c, _):
    if c.accept("START", "TRANSACTION"):
        return [make(stmt, "begin")]
    return None


def _commit(stmt, c, _):
    if c.accept("COMMIT", "PREPARED"):
        return [make(stmt, "commit", name=_string_or_name(c))]
    return [make(stmt, "commit")]


def _rollback(stmt, c, _):
    c.skip()
    c.accept_any("WORK", "TRANSACTION")
    if c.accept("TO"):
        c.accept("SAVEPOINT")
        return [make(stmt, "savepoint", name=c.ident(), value="rollback_to")]
    if c.accept("PREPARED"):
        return [make(stmt, "rollback", name=_string_or_name(c))]
    return [make(stmt, "rollback")]


def _savepoint(stmt, c, _):
    c.skip()
    return [make(stmt, "savepoint", name=c.ident(), value="savepoint")]


def _release(stmt, c, _):
    c.skip()
    c.accept("SAVEPOINT")
    return [make(stmt, "savepoint", name=c.ident(), value="release")]


def _prepare(stmt, c, _):
    if c.accept("PREPARE", "TRANSACTION"):
        return [make(stmt, "commit", name=_string_or_name(c), value="prepare")]
    c.skip()
    return [make(stmt, "set_session", name="prepare", value=c.ident())]


def _string_or_name(c) -> str | None:
    t = c.tok()
    if t is None:
        return None
    c.skip()
    return t.value


def _set(stmt, c, _):
    c.skip()
    c.accept_any("SESSION", "LOCAL")
    if c.peek() in ("ROLE", "TIME"):
        name = "role" if c.peek() == "ROLE" else "timezone"
        c.skip()
        c.accept("ZONE")
        return [make(stmt, "set_session", name=name, value=c.text_from() or None)]
    if c.accept("SESSION", "AUTHORIZATION") or c.accept("AUTHORIZATION"):
        return [make(stmt, "set_session", name="session_authorization", value=c.text_from() or None)]
    if c.accept("CONSTRAINTS") or c.accept("TRANSACTION") or c.accept("CHARACTERISTICS"):
        return [make(stmt, "set_session", name="transaction", value=c.text_from() or None)]
    parts = []
    while c.is_name():
        parts.append(c.ident())
        if not c.accept("."):
            break
    name = ".".join(parts) or None
    c.accept_any("TO", "=")
    values = [t.value if t.kind == "str" else t.text for t in c.toks[c.i:c.end] if t.text != ","]
    value = ", ".join(values) if len(values) > 1 else (values[0] if values else None)
    return [make(stmt, "set_session", name=name, value=value)]


def _reset(stmt, c, _):
    c.skip()
    return [make(stmt, "set_session", name=(c.ident() or "all"), value="DEFAULT")]


def _session_misc(stmt, c, _):
    return [make(stmt, "set_session", name=c.peek().lower(), value=c.text_from(c.i + 1) or None)]


# -- bodies that cannot be seen ---------------------------------------------------------------


def _do(stmt, c, _):
    return [make(stmt, "do_block", reason="the DO block's body cannot be seen")]


def _call(stmt, c, _):
    c.skip()
    _, name = c.qualified()
    return [make(stmt, "do_block", name=name, object_type="procedure",
                 reason=f"CALL {name or ''}: the procedure body cannot be seen".replace("  ", " "))]


def _execute(stmt, c, _):
    c.skip()
    return [make(stmt, "do_block", name=c.ident(),
                 reason="EXECUTE of a prepared statement: its SQL cannot be seen")]


# -- maintenance and locking --------------------------------------------------------------------


def _paren_options(c) -> list[str]:
    """Upper-cased words of a leading (OPTION, ...) list; the cursor moves past it."""
    if c.peek() != "(":
        return []
    start = c.i
    c.skip_parens()
    return [t.up for t in c.toks[start:c.i] if t.kind == "word"]


def _option_on(words: list[str], option: str) -> bool:
    """FULL / CONCURRENTLY in an option list, unless followed by FALSE/OFF/0."""
    if option not in words:
        return False
    i = words.index(option)
    return not (i + 1 < len(words) and words[i + 1] in ("FALSE", "OFF"))


def _table_list(c) -> list[tuple[str | None, str]]:
    out = []
    while not c.done():
        c.accept("ONLY")
        schema, name = c.qualified()
        if name is None:
            break
        out.append((schema, name))
        c.skip_parens()  # ANALYZE t (col, ...)
        if not c.accept(","):
            break
    return out


def _vacuum(stmt, c, _):
    c.skip()
    opts = _paren_options(c)
    full = _option_on(opts, "FULL")
    while c.peek() in ("FULL", "FREEZE", "VERBOSE", "ANALYZE", "ANALYSE"):
        full = full or c.peek() == "FULL"
        c.skip()
    tables = _table_list(c)
    return [make(stmt, "vacuum_full" if full else "vacuum",
                 table=tables[0][1] if tables else None, schema=tables[0][0] if tables else None,
                 names=[n for _, n in tables])]


def _analyze(stmt, c, _):
    c.skip()
    _paren_options(c)
    c.accept("VERBOSE")
    tables = _table_list(c)
    return [make(stmt, "analyze", table=tables[0][1] if tables else None,
                 schema=tables[0][0] if tables else None, names=[n for _, n in tables])]


def _cluster(stmt, c, _):
    c.skip()
    _paren_options(c)
    c.accept("VERBOSE")
    schema, table = c.qualified()
    index = None
    if c.accept("USING"):
        index = c.qualified()[1]
    elif c.accept("ON"):  # pre-8.3 spelling: CLUSTER index ON table
        index, (schema, table) = table, c.qualified()
    return [make(stmt, "cluster", table=table, schema=schema, name=index)]


def _reindex(stmt, c, _):
    c.skip()
    opts = _paren_options(c)
    what = c.accept_any("INDEX", "TABLE", "SCHEMA", "DATABASE", "SYSTEM")
    concurrently = _option_on(opts, "CONCURRENTLY") or bool(c.accept("CONCURRENTLY"))
    schema, name = c.qualified()
    object_type = (what or "").lower() or None
    return [make(stmt, "reindex", object_type=object_type, concurrently=concurrently,
                 schema=schema, name=name, table=name if what == "TABLE" else None)]


def _lock(stmt, c, _):
    c.skip()
    c.accept("TABLE")
    tables = _table_list(c)
    mode = "ACCESS EXCLUSIVE"
    if c.accept("IN"):
        words = []
        while not c.done() and c.peek() not in ("MODE",):
            words.append(c.peek())
            c.skip()
        mode = " ".join(words) or mode
        c.accept("MODE")
    return [make(stmt, "lock_table", table=tables[0][1] if tables else None,
                 schema=tables[0][0] if tables else None, names=[n for _, n in tables], value=mode)]


def _refresh(stmt, c, _):
    if not c.accept("REFRESH", "MATERIALIZED", "VIEW"):
        return None
    concurrently = bool(c.accept("CONCURRENTLY"))
    schema, name = c.qualified()
    return [make(stmt, "refresh_materialized_view", name=name, schema=schema,
                 object_type="materialized_view", concurrently=concurrently)]


# -- privileges and comments --------------------------------------------------------------------


def _grant(stmt, c, _):
    kind = c.peek().lower()
    c.skip()
    table = schema = None
    object_type = None
    names: list[str] = []
    words = c.words_left()
    if "ON" in words:
        c.i += words.index("ON") + 1
        kw = c.accept_any("TABLE", "SEQUENCE", "FUNCTION", "PROCEDURE", "ROUTINE", "SCHEMA",
                          "DATABASE", "TYPE", "DOMAIN", "LANGUAGE", "TABLESPACE", "ALL",
                          "FOREIGN", "LARGE")
        if kw == "ALL":
            object_type = "all_in_schema"
        elif kw in (None, "TABLE"):
            object_type = "table"
            schema, table = c.qualified()
        else:
            object_type = kw.lower()
            if kw in _NAMED_SECURABLES:
                names = _securable_names(c)
    else:
        object_type = "role"
    return [make(stmt, kind, table=table, schema=schema, object_type=object_type,
                 name=names[0] if names else None, names=names)]


# Securables named like schema-level objects: GRANT/REVOKE ... ON FUNCTION f(int), g
_NAMED_SECURABLES = ("SEQUENCE", "FUNCTION", "PROCEDURE", "ROUTINE", "SCHEMA", "TYPE", "DOMAIN")


def _securable_names(c) -> list[str]:
    """The object names of ON FUNCTION a(int), s.b ... up to TO/FROM (argument lists skipped)."""
    names: list[str] = []
    while not c.done():
        _, name = c.qualified()
        if name is None:
            break
        names.append(name)
        c.skip_parens()
        if not c.accept(","):
            break
    return names


def _comment(stmt, c, _):
    if not c.accept("COMMENT", "ON"):
        return None
    words = []
    while not c.done() and not c.is_name() or c.peek() in _OBJECT_WORDS:
        if c.done():
            break
        words.append(c.peek())
        c.skip()
        if len(words) > 3:
            break
    object_type = "_".join(w.lower() for w in words) or None
    schema, name = c.qualified()
    table = column = None
    if object_type == "column":
        # COMMENT ON COLUMN [schema.]table.column: qualified() kept the last two parts.
        table, column = schema, name
        schema = None
    elif object_type == "table":
        table = name
    return [make(stmt, "comment", object_type=object_type, name=name, schema=schema,
                 table=table, column=column)]


_OBJECT_WORDS = frozenset(
    {"TABLE", "COLUMN", "INDEX", "VIEW", "MATERIALIZED", "SEQUENCE", "FUNCTION", "PROCEDURE",
     "TRIGGER", "TYPE", "DOMAIN", "SCHEMA", "EXTENSION", "CONSTRAINT", "POLICY", "ROLE",
     "DATABASE", "FOREIGN", "AGGREGATE", "COLLATION", "OPERATOR", "RULE", "ROUTINE", "EVENT",
     "SERVER", "TABLESPACE", "LARGE", "OBJECT", "ACCESS", "METHOD", "CAST", "CONVERSION",
     "LANGUAGE", "PUBLICATION", "SUBSCRIPTION", "STATISTICS", "TEXT", "SEARCH", "WRAPPER",
     "DATA", "CONFIGURATION", "DICTIONARY", "PARSER", "TEMPLATE", "CLASS", "FAMILY",
     "TRANSFORM", "PROCEDURAL"}
)

# -- TRUNCATE and data ----------------------------------------------------------------------------


def _truncate(stmt, c, _):
    c.skip()
    c.accept("TABLE")
    tables = _table_list(c)
    words = c.words_left()
    return [make(stmt, "truncate", table=tables[0][1] if tables else None,
                 schema=tables[0][0] if tables else None, names=[n for _, n in tables],
                 cascade="CASCADE" in words)]


def _dml(stmt, c, _):
    # WITH ... : find the data-modifying verb at depth 0.
    j = c.i
    verb = None
    while j < c.end:
        t = c.toks[j]
        if t.depth == 0 and t.up in ("INSERT", "UPDATE", "DELETE", "MERGE", "SELECT", "VALUES", "TABLE"):
            verb = t.up
            break
        j += 1
    if verb is None:
        return None
    c.i = j + 1
    if verb in ("SELECT", "VALUES", "TABLE"):
        return [make(stmt, "select")]
    c.accept_any("INTO", "FROM")
    c.accept("ONLY")
    schema, table = c.qualified()
    if verb == "INSERT":
        return [make(stmt, "insert", table=table, schema=schema)]
    where = None
    for k in range(c.i, c.end):
        if c.toks[k].up in ("WHERE", "ON") and c.toks[k].depth == 0:
            where = k
            break
    if verb == "MERGE":
        return [make(stmt, "update", table=table, schema=schema, has_where=where is not None,
                     where_sql=None, reason="MERGE")]
    where_sql = None
    if where is not None and c.toks[where].up == "WHERE":
        end = c.end
        for k in range(where + 1, c.end):
            if c.toks[k].up == "RETURNING" and c.toks[k].depth == 0:
                end = k
                break
        where_sql = c.text_from(where + 1, end)
    else:
        where = None
    return [make(stmt, verb.lower(), table=table, schema=schema, has_where=where is not None,
                 where_sql=where_sql)]


def _explain(stmt, c, reparse):
    """EXPLAIN only plans; EXPLAIN ANALYZE runs the statement."""
    c.skip()
    options = _paren_options(c)
    analyze = _option_on(options, "ANALYZE") or _option_on(options, "ANALYSE")
    while c.peek() in ("ANALYZE", "ANALYSE", "VERBOSE"):
        analyze = analyze or c.peek() != "VERBOSE"
        c.skip()
    if not analyze:
        return [make(stmt, "select")]
    return _dml(stmt, c, reparse)


def _import(stmt, c, _):
    if not c.accept("IMPORT", "FOREIGN", "SCHEMA"):
        return None
    return [make(stmt, "create_object", object_type="foreign_table", name=c.ident())]


def _reassign(stmt, c, _):
    if not c.accept("REASSIGN", "OWNED", "BY"):
        return None
    return [make(stmt, "alter_object", object_type="owned", name=c.ident())]


def _copy(stmt, c, _):
    c.skip()
    schema, table = c.qualified() if c.peek() != "(" else (None, None)
    return [make(stmt, "copy", table=table, schema=schema)]

_HANDLERS = {
    "BEGIN": _begin, "START": _start, "COMMIT": _commit, "END": _commit, "ROLLBACK": _rollback,
    "ABORT": _rollback, "SAVEPOINT": _savepoint, "RELEASE": _release, "PREPARE": _prepare,
    "SET": _set, "RESET": _reset,
    "CHECKPOINT": _session_misc, "DISCARD": _session_misc, "LISTEN": _session_misc,
    "UNLISTEN": _session_misc, "NOTIFY": _session_misc, "LOAD": _session_misc,
    "DEALLOCATE": _session_misc,
    "DO": _do, "CALL": _call, "EXECUTE": _execute,
    "VACUUM": _vacuum, "ANALYZE": _analyze, "ANALYSE": _analyze, "CLUSTER": _cluster,
    "REINDEX": _reindex, "LOCK": _lock, "REFRESH": _refresh,
    "GRANT": _grant, "REVOKE": _grant, "COMMENT": _comment,
    "CREATE": read_create, "DROP": read_drop, "ALTER": read_alter, "TRUNCATE": _truncate,
    "INSERT": _dml, "UPDATE": _dml, "DELETE": _dml, "MERGE": _dml, "WITH": _dml,
    "SELECT": _dml, "VALUES": _dml, "TABLE": _dml, "EXPLAIN": _explain,
    "IMPORT": _import, "REASSIGN": _reassign,
    "COPY": _copy,
}
