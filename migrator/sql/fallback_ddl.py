"""Word-level reading of CREATE, DROP and ALTER, for statements sqlglot cannot structure.

The grammar is PostgreSQL's at the level of keywords: enough to name the object, the table,
the columns and constraints, and the flags the rules read (IF [NOT] EXISTS, CONCURRENTLY,
NOT VALID, USING INDEX, CASCADE). :mod:`migrator.sql.fallback` dispatches here.
"""

from __future__ import annotations

from typing import Callable

from migrator import pgfacts
from migrator.model import ColumnSpec, ConstraintSpec, Operation, Statement
from migrator.sql.expressions import check_facts, is_plain_cast_of
from migrator.sql.words import Cursor, split_commas, tokenize

Reparse = Callable[[Statement, str], "list[Operation] | None"]


def make(stmt: Statement, kind: str, **facts) -> Operation:
    return Operation(kind=kind, loc=stmt.loc, sql=stmt.sql, in_transaction=stmt.in_transaction,
                     **facts)


# -- CREATE ---------------------------------------------------------------------------------------

_CREATE_OBJECTS = {
    "SEQUENCE": "sequence", "TYPE": "type", "DOMAIN": "domain", "SCHEMA": "schema",
    "EXTENSION": "extension", "POLICY": "policy", "ROLE": "role", "USER": "role",
    "GROUP": "role", "COLLATION": "collation", "OPERATOR": "operator", "CAST": "cast",
    "PUBLICATION": "publication", "SUBSCRIPTION": "subscription", "SERVER": "server",
    "RULE": "rule", "STATISTICS": "statistics", "CONVERSION": "conversion",
    "LANGUAGE": "language", "TABLESPACE": "tablespace", "AGGREGATE": "aggregate",
    "TRANSFORM": "transform", "ACCESS": "access_method", "TEXT": "text_search",
    "FOREIGN": "foreign_table", "EVENT": "event_trigger", "USER MAPPING": "user_mapping",
}


def read_create(stmt, c, reparse):
    c.skip()
    c.accept("OR", "REPLACE")
    unique = bool(c.accept("UNIQUE"))
    # table persistence and other prefixes
    while c.peek() in ("TEMP", "TEMPORARY", "UNLOGGED", "GLOBAL", "LOCAL", "RECURSIVE",
                       "TRUSTED", "PROCEDURAL", "CONSTRAINT", "DEFAULT"):
        c.skip()
    w = c.peek()
    if w == "INDEX":
        return _create_index(stmt, c, unique)
    if w == "TABLE":
        c.skip()
        ine = bool(c.accept("IF", "NOT", "EXISTS"))
        schema, table = c.qualified()
        as_select = any(t.up == "AS" and t.depth == 0 for t in c.toks[c.i:c.end])
        if as_select:
            return [make(stmt, "create_table_as", table=table, schema=schema, if_not_exists=ine)]
        return [make(stmt, "create_table", table=table, schema=schema, if_not_exists=ine,
                     columns=_table_elements(c))]
    if w == "MATERIALIZED" or w == "VIEW":
        materialized = bool(c.accept("MATERIALIZED"))
        c.accept("VIEW")
        ine = bool(c.accept("IF", "NOT", "EXISTS"))
        schema, name = c.qualified()
        return [make(stmt, "create_object", object_type="materialized_view" if materialized else "view",
                     name=name, schema=schema, if_not_exists=ine)]
    if w in ("FUNCTION", "PROCEDURE"):
        c.skip()
        schema, name = c.qualified()
        return [make(stmt, "create_object", object_type=w.lower(), name=name, schema=schema,
                     reason=f"the {w.lower()} body cannot be seen",
                     volatility=pgfacts.routine_volatility(stmt.sql, creating=True)
                     if w == "FUNCTION" else None)]
    if w == "TRIGGER":
        c.skip()
        name = c.ident()
        words = c.words_left()
        schema = table = None
        if "ON" in words:
            c.i += words.index("ON") + 1
            schema, table = c.qualified()
        return [make(stmt, "create_object", object_type="trigger", name=name, table=table, schema=schema)]
    if w == "DATABASE":
        c.skip()
        return [make(stmt, "create_database", name=c.ident())]
    if w in _CREATE_OBJECTS:
        c.skip()
        object_type = _rest_of_object_type(c, w, _CREATE_OBJECTS, ("IF", "NOT", "EXISTS"))
        ine = bool(c.accept("IF", "NOT", "EXISTS"))
        if object_type == "schema" and c.accept("AUTHORIZATION"):
            schema, name = None, c.ident()  # CREATE SCHEMA AUTHORIZATION role: named for the role
        else:
            schema, name = c.qualified() if c.is_name() else (None, None)
        table = None
        if object_type in ("policy", "rule"):
            words = c.words_left()
            if "ON" in words:
                c.i += words.index("ON") + 1
                schema, table = c.qualified()
        return [make(stmt, "create_object", object_type=object_type, name=name, schema=schema,
                     table=table, if_not_exists=ine)]
    return None


_TABLE_CONSTRAINT_START = frozenset({"CONSTRAINT", "CHECK", "PRIMARY", "UNIQUE", "FOREIGN",
                                     "EXCLUDE", "LIKE"})


def _table_elements(c: Cursor) -> list[ColumnSpec]:
    """Columns of CREATE TABLE's parenthesized element list (table constraints on one column
    mark it, as in the tree mapping)."""
    if c.peek() != "(":
        return []
    start = c.i + 1
    c.skip_parens()
    cols: list[ColumnSpec] = []
    by_name: dict[str, ColumnSpec] = {}
    for a, b in split_commas(c.toks, start, c.i - 1):
        sub = Cursor(c.toks, c.sql, a, b)
        if sub.peek() in _TABLE_CONSTRAINT_START:
            if sub.peek() == "LIKE":
                continue
            spec = _constraint(sub)
            if spec is not None and len(spec.columns) == 1 and spec.columns[0] in by_name:
                col = by_name[spec.columns[0]]
                if spec.type == "primary_key":
                    col.primary_key = col.not_null = True
                elif spec.type == "unique":
                    col.unique = True
                elif spec.type == "foreign_key":
                    col.references = spec.references
            if spec is not None and spec.type == "check" and spec.columns:
                col = by_name.get(spec.columns[0])
                if col is not None and col.check_sql is None:
                    col.check_sql = spec.check_sql
                    col.check_not_null = spec.not_null_column == col.name
            continue
        col = _column(sub)
        if col is not None:
            cols.append(col)
            by_name[col.name] = col
    return cols


def _create_index(stmt, c, unique):
    c.accept("INDEX")
    concurrently = bool(c.accept("CONCURRENTLY"))
    ine = bool(c.accept("IF", "NOT", "EXISTS"))
    name = None
    if c.peek() != "ON":
        name = c.ident()
    if not c.accept("ON"):
        return None
    c.accept("ONLY")
    schema, table = c.qualified()
    if c.accept("USING"):
        c.ident()
    names: list[str] = []
    if c.peek() == "(":
        start = c.i + 1
        c.skip_parens()
        for a, b in split_commas(c.toks, start, c.i - 1):
            t = c.toks[a]
            if t.kind in ("word", "qid") and (b - a == 1 or c.toks[a + 1].text != "("):
                found = [t.value]  # a plain column, maybe with opclass / ASC / NULLS LAST
            else:
                found = _expression_columns(c.text_from(a, b))
            names.extend(n for n in found if n not in names)
    cols = [ColumnSpec(name=n) for n in names]
    has_where = False
    where_sql = None
    for j in range(c.i, c.end):
        if c.toks[j].up == "WHERE" and c.toks[j].depth == 0:
            has_where = True
            where_sql = c.text_from(j + 1)
            break
    return [make(stmt, "create_index", name=name, table=table, schema=schema, unique=unique,
                 concurrently=concurrently, if_not_exists=ine, columns=cols,
                 column=names[0] if len(names) == 1 else None, has_where=has_where,
                 where_sql=where_sql)]


# -- DROP -----------------------------------------------------------------------------------------

_DROP_OBJECTS = {
    "VIEW": "view", "FUNCTION": "function", "PROCEDURE": "procedure", "ROUTINE": "routine",
    "TRIGGER": "trigger", "SEQUENCE": "sequence", "TYPE": "type", "DOMAIN": "domain",
    "EXTENSION": "extension", "POLICY": "policy", "ROLE": "role", "USER": "role",
    "GROUP": "role", "AGGREGATE": "aggregate", "COLLATION": "collation", "OPERATOR": "operator",
    "CAST": "cast", "PUBLICATION": "publication", "SUBSCRIPTION": "subscription",
    "SERVER": "server", "RULE": "rule", "STATISTICS": "statistics", "LANGUAGE": "language",
    "TABLESPACE": "tablespace", "CONVERSION": "conversion", "OWNED": "owned",
    "TRANSFORM": "transform", "ACCESS": "access_method", "TEXT": "text_search",
    "FOREIGN": "foreign_table", "EVENT": "event_trigger",
}


def _rest_of_object_type(c: Cursor, w: str, types: dict[str, str] | None = None,
                         if_words: tuple[str, ...] = ("IF", "EXISTS")) -> str | None:
    """The object type named by keyword ``w`` (just consumed) in ``types`` (CREATE's or DROP's),
    consuming the words that complete it: FOREIGN TABLE, FOREIGN DATA WRAPPER, EVENT TRIGGER,
    TEXT SEARCH ..., ACCESS METHOD, USER MAPPING [IF [NOT] EXISTS] FOR, OWNED BY."""
    object_type = (_DROP_OBJECTS if types is None else types).get(w)
    if w == "FOREIGN":
        if c.accept("DATA", "WRAPPER"):
            object_type = "foreign_data_wrapper"
        else:
            c.accept("TABLE")
    elif w == "EVENT":
        c.accept("TRIGGER")
    elif w == "TEXT":
        c.accept("SEARCH")
        c.accept_any("CONFIGURATION", "DICTIONARY", "PARSER", "TEMPLATE")
    elif w == "ACCESS":
        c.accept("METHOD")
    elif w == "OWNED":
        c.accept("BY")
    elif w == "LARGE":
        c.accept("OBJECT")
    elif w == "USER" and c.accept("MAPPING"):
        object_type = "user_mapping"
        c.accept(*if_words)
        c.accept("FOR")
    return object_type


def read_drop(stmt, c, _):
    c.skip()
    materialized = bool(c.accept("MATERIALIZED"))
    w = c.accept_any("TABLE", "INDEX", "SCHEMA", "DATABASE", *_DROP_OBJECTS)
    if w is None:
        return None
    object_type = _rest_of_object_type(c, w)
    concurrently = bool(c.accept("CONCURRENTLY"))
    if_exists = bool(c.accept("IF", "EXISTS"))
    names: list[str] = []
    schema = None
    table = None
    while not c.done():
        s, n = c.qualified()
        if n is None:
            break
        schema = schema if names else s
        names.append(n)
        c.skip_parens()  # DROP FUNCTION f(int)
        if w in ("TRIGGER", "POLICY", "RULE") and c.accept("ON"):
            schema, table = c.qualified()
        if not c.accept(","):
            break
    cascade = "CASCADE" in c.words_left()
    first = names[0] if names else None
    common = dict(names=names, if_exists=if_exists, cascade=cascade)
    if w == "TABLE":
        return [make(stmt, "drop_table", table=first, schema=schema, **common)]
    if w == "INDEX":
        return [make(stmt, "drop_index", name=first, schema=schema, concurrently=concurrently, **common)]
    if w == "SCHEMA":
        return [make(stmt, "drop_schema", name=first, **common)]
    if w == "DATABASE":
        return [make(stmt, "drop_database", name=first, **common)]
    if w == "VIEW" and materialized:
        object_type = "materialized_view"
    return [make(stmt, "drop_object", object_type=object_type, name=first, schema=schema,
                 table=table, **common)]


# -- ALTER ----------------------------------------------------------------------------------------


def read_alter(stmt, c, reparse):
    c.skip()
    w = c.peek()
    if w == "TABLE":
        return _alter_table(stmt, c, reparse)
    if w == "INDEX":
        return _alter_index(stmt, c)
    if w == "TYPE":
        return _alter_type(stmt, c)
    if w == "SEQUENCE":
        c.skip()
        ie = bool(c.accept("IF", "EXISTS"))
        schema, name = c.qualified()
        if c.accept("RENAME", "TO"):
            return [make(stmt, "rename_object", object_type="sequence", name=name, schema=schema,
                         new_name=c.qualified()[1], if_exists=ie)]
        return [make(stmt, "alter_sequence", name=name, schema=schema, if_exists=ie)]
    if w == "DOMAIN":
        return _alter_domain(stmt, c)
    materialized = bool(c.accept("MATERIALIZED"))
    w = c.peek()
    others = {"DATABASE": "database", "SCHEMA": "schema", "SYSTEM": "system",
              "DEFAULT": "default_privileges", "LARGE": "large_object"}
    if w not in _DROP_OBJECTS and w not in others:
        return None
    c.skip()
    object_type = _rest_of_object_type(c, w) or others.get(w)
    if w == "VIEW" and materialized:
        object_type = "materialized_view"
    if w in ("SYSTEM", "DEFAULT"):
        return [make(stmt, "alter_object", object_type=object_type)]
    ie = bool(c.accept("IF", "EXISTS"))
    schema, name = c.qualified()
    c.skip_parens()  # ALTER FUNCTION f(int)
    table = None
    if w in ("TRIGGER", "POLICY", "RULE") and c.accept("ON"):
        schema, table = c.qualified()
    if c.accept("RENAME", "TO"):
        return [make(stmt, "rename_object", object_type=object_type, name=name, schema=schema,
                     table=table, new_name=c.qualified()[1], if_exists=ie)]
    if object_type == "materialized_view" and c.accept("SET", "TABLESPACE"):
        return [make(stmt, "set_tablespace", object_type=object_type, name=name, schema=schema,
                     value=c.ident(), if_exists=ie)]
    return [make(stmt, "alter_object", object_type=object_type, name=name, schema=schema,
                 table=table, if_exists=ie, reason=" ".join(c.words_left()[:3]) or None,
                 volatility=pgfacts.routine_volatility(stmt.sql, creating=False)
                 if object_type == "function" else None)]


def _alter_domain(stmt, c):
    """ALTER DOMAIN: constraints scan every column of the domain, like a table's."""
    c.skip()
    schema, name = c.qualified()
    base = dict(object_type="domain", name=name, schema=schema)
    if c.accept("ADD"):
        spec = _constraint(c)
        if spec is not None:
            return [make(stmt, "add_domain_constraint", constraint=spec, **base)]
        return [make(stmt, "unparsed", reason="ALTER DOMAIN ... ADD: constraint not understood", **base)]
    if c.accept("SET", "NOT", "NULL"):
        return [make(stmt, "add_domain_constraint", constraint=ConstraintSpec(name=None, type="not_null"),
                     **base)]
    if c.accept("VALIDATE", "CONSTRAINT"):
        return [make(stmt, "validate_domain_constraint",
                     constraint=ConstraintSpec(name=c.ident(), type="check"), **base)]
    if c.accept("DROP", "CONSTRAINT"):
        ie = bool(c.accept("IF", "EXISTS"))
        return [make(stmt, "drop_constraint", object_type="domain", schema=schema, name=c.ident(),
                     value=name, if_exists=ie, cascade="CASCADE" in c.words_left())]
    if c.accept("DROP", "NOT", "NULL"):
        return [make(stmt, "drop_not_null", **base)]
    if c.accept("SET", "DEFAULT"):
        return [make(stmt, "set_default", **base)]
    if c.accept("DROP", "DEFAULT"):
        return [make(stmt, "drop_default", **base)]
    if c.accept("RENAME", "TO"):
        return [make(stmt, "rename_object", new_name=c.qualified()[1], **base)]
    if c.accept("RENAME", "CONSTRAINT"):
        old = c.ident()
        c.accept("TO")
        return [make(stmt, "rename_constraint", object_type="domain", schema=schema, name=old,
                     new_name=c.ident(), value=name)]
    return [make(stmt, "alter_object", reason=" ".join(c.words_left()[:3]) or None, **base)]


def _alter_index(stmt, c):
    c.skip()
    if c.accept("ALL", "IN", "TABLESPACE"):
        return [make(stmt, "set_tablespace", object_type="index", value=c.text_from() or None)]
    ie = bool(c.accept("IF", "EXISTS"))
    schema, name = c.qualified()
    if c.accept("RENAME", "TO"):
        return [make(stmt, "rename_index", name=name, schema=schema, new_name=c.qualified()[1],
                     if_exists=ie)]
    if c.accept("SET", "TABLESPACE"):
        return [make(stmt, "set_tablespace", object_type="index", name=name, schema=schema,
                     value=c.ident(), if_exists=ie)]
    return [make(stmt, "alter_object", object_type="index", name=name, schema=schema, if_exists=ie)]


def _alter_type(stmt, c):
    c.skip()
    schema, name = c.qualified()
    if c.accept("ADD", "VALUE"):
        ine = bool(c.accept("IF", "NOT", "EXISTS"))
        t = c.tok()
        value = t.value if t is not None and t.kind == "str" else None
        return [make(stmt, "alter_type_add_value", object_type="type", name=name, schema=schema,
                     value=value, if_not_exists=ine)]
    if c.accept("RENAME", "TO"):
        return [make(stmt, "rename_object", object_type="type", name=name, schema=schema,
                     new_name=c.qualified()[1])]
    if c.accept("RENAME", "VALUE"):
        t = c.tok()
        old = t.value if t is not None else None
        c.skip()
        c.accept("TO")
        t = c.tok()
        return [make(stmt, "rename_object", object_type="enum_value", name=name, schema=schema,
                     value=old, new_name=t.value if t is not None else None)]
    if c.accept("RENAME", "ATTRIBUTE"):
        old = c.ident()
        c.accept("TO")
        return [make(stmt, "rename_object", object_type="type_attribute", name=name,
                     schema=schema, value=old, new_name=c.ident())]
    return [make(stmt, "alter_object", object_type="type", name=name, schema=schema)]


def _alter_table(stmt, c, reparse):
    c.skip()
    if c.accept("ALL", "IN", "TABLESPACE"):
        return [make(stmt, "set_tablespace", object_type="table", value=c.text_from() or None)]
    ie = bool(c.accept("IF", "EXISTS"))
    c.accept("ONLY")
    name_start = c.i
    schema, table = c.qualified()
    if table is None:
        return None
    name_sql = c.text_from(name_start, c.i)
    head = "ALTER TABLE " + ("IF EXISTS " if ie else "") + name_sql + " "
    actions = split_commas(c.toks, c.i, c.end)
    base = dict(table=table, schema=schema)
    ops: list[Operation] = []
    for a, b in actions:
        action_sql = c.text_from(a, b)
        parsed = None
        if reparse is not None and len(actions) > 1:
            parsed = reparse(stmt, head + action_sql)
        if parsed:
            for o in parsed:
                o.if_exists = o.if_exists or ie
            ops.extend(parsed)
            continue
        ops.append(_alter_table_action(stmt, Cursor(c.toks, stmt.sql, a, b), base, ie))
    return ops or None


_CONSTRAINT_WORDS = ("CHECK", "FOREIGN", "UNIQUE", "PRIMARY", "EXCLUDE", "NOT")
_COLUMN_END = frozenset(
    {"CONSTRAINT", "NOT", "NULL", "DEFAULT", "PRIMARY", "UNIQUE", "REFERENCES", "CHECK",
     "GENERATED", "COLLATE", "COMPRESSION", "STORAGE"}
)


def _alter_table_action(stmt, c: Cursor, base: dict, ie: bool) -> Operation:
    def op(kind, **facts):
        return make(stmt, kind, if_exists=facts.pop("if_exists", ie), **base, **facts)

    w = c.peek()
    if w == "ADD":
        c.skip()
        if c.peek() == "CONSTRAINT" or c.peek() in _CONSTRAINT_WORDS:
            spec = _constraint(c)
            if spec is not None:
                return op("add_constraint", name=spec.name, constraint=spec,
                          column=spec.columns[0] if len(spec.columns) == 1 else None)
            return op("alter_table_other", reason="ADD constraint not understood")
        c.accept("COLUMN")
        ine = bool(c.accept("IF", "NOT", "EXISTS"))
        spec = _column(c)
        if spec is None:
            return op("alter_table_other", reason="ADD COLUMN not understood")
        return op("add_column", column=spec.name, columns=[spec], if_not_exists=ine)
    if w == "VALIDATE" and c.accept("VALIDATE", "CONSTRAINT"):
        return op("validate_constraint", name=c.ident())
    if w == "RENAME":
        c.skip()
        if c.accept("CONSTRAINT"):
            old = c.ident()
            c.accept("TO")
            return op("rename_constraint", name=old, new_name=c.ident())
        if c.accept("TO"):
            return op("rename_table", new_name=c.qualified()[1])
        c.accept("COLUMN")
        old = c.ident()
        c.accept("TO")
        return op("rename_column", column=old, new_name=c.ident())
    if w == "DROP":
        c.skip()
        if c.accept("CONSTRAINT"):
            cie = bool(c.accept("IF", "EXISTS"))
            name = c.ident()
            return op("drop_constraint", name=name, if_exists=cie or ie,
                      cascade="CASCADE" in c.words_left())
        c.accept("COLUMN")
        cie = bool(c.accept("IF", "EXISTS"))
        name = c.ident()
        return op("drop_column", column=name, if_exists=cie or ie, cascade="CASCADE" in c.words_left())
    if w == "ALTER":
        c.skip()
        if c.peek() == "CONSTRAINT":
            c.skip()
            return op("alter_table_other", name=c.ident(), brief=True, reason="ALTER CONSTRAINT")
        c.accept("COLUMN")
        col = c.ident()
        if c.accept("TYPE") or c.accept("SET", "DATA", "TYPE"):
            type_start = c.i
            depth = c.tok().depth if c.tok() is not None else 0
            while not c.done() and not (c.peek() in ("USING", "COLLATE") and c.tok().depth == depth):
                c.skip()
            new_type = pgfacts.normalize_type(c.text_from(type_start, c.i))
            if c.accept("COLLATE"):
                c.qualified()
            using = c.text_from(c.i + 1) or None if c.peek() == "USING" else None
            if is_plain_cast_of(using, col, new_type, pgfacts.normalize_type):
                using = None  # USING col::new_type: the coercion the change applies anyway
            return op("alter_column_type", column=col, new_type=new_type, using=using)
        if c.accept("SET", "NOT", "NULL"):
            return op("set_not_null", column=col)
        if c.accept("DROP", "NOT", "NULL"):
            return op("drop_not_null", column=col)
        if c.accept("SET", "DEFAULT"):
            dsql = c.text_from()
            volatile = pgfacts.is_volatile_expression(dsql)
            return op("set_default", column=col, default_volatile=volatile,
                      columns=[ColumnSpec(name=col or "", has_default=True, default_sql=dsql,
                                          default_volatile=volatile)])
        if c.accept("DROP", "DEFAULT"):
            return op("drop_default", column=col)
        if c.accept("SET", "EXPRESSION"):
            c.accept("AS")
            return op("set_generated_expression", column=col, using=_paren_inner(c))
        if c.accept("DROP", "EXPRESSION"):
            return op("drop_generated_expression", column=col, if_exists=bool(c.accept("IF", "EXISTS")) or ie)
        identity = _identity_action(c.words_left())
        if identity is not None:
            return op("alter_identity", column=col, identity=identity,
                      reason="ALTER COLUMN " + " ".join(c.words_left()[:3]))
        return op("alter_table_other", column=col, brief=_brief(c.words_left(), _BRIEF_COLUMN_ACTIONS),
                  reason="ALTER COLUMN " + " ".join(c.words_left()[:3]))
    if w == "SET":
        c.skip()
        if c.accept("LOGGED"):
            return op("set_logged")
        if c.accept("UNLOGGED"):
            return op("set_unlogged")
        if c.accept("TABLESPACE"):
            return op("set_tablespace", value=c.ident())
        if c.accept("SCHEMA"):
            new_schema = c.ident()
            return op("rename_table", new_name=base["table"], value=new_schema,
                      reason=f"moves the table to schema {new_schema}")
        words = c.words_left()
        return op("alter_table_other", brief=_brief(words, _BRIEF_SET_ACTIONS),
                  reason="SET " + " ".join(words[:2]))
    if w in ("ATTACH", "DETACH") and c.peek(1) == "PARTITION":
        c.skip(2)
        pschema, pname = c.qualified()
        rest = c.words_left()
        partition = f"{pschema}.{pname}" if pschema and pname else pname
        if partition is None:  # no partition named: not a statement PostgreSQL accepts
            return op("alter_table_other", reason=f"{w} PARTITION without a partition")
        if w == "ATTACH":
            return op("attach_partition", name=pname, names=[partition] if partition else [],
                      value="DEFAULT" if rest[:1] == ["DEFAULT"] else None)
        return op("detach_partition", name=pname, names=[partition] if partition else [],
                  concurrently="CONCURRENTLY" in rest,
                  value="FINALIZE" if "FINALIZE" in rest else None)
    if w in ("ENABLE", "DISABLE"):
        trigger = _trigger_action(c)
        if trigger is not None and trigger != "":
            return op("enable_trigger" if w == "ENABLE" else "disable_trigger", name=trigger)
        if c.accept(w, "ROW", "LEVEL", "SECURITY"):
            return op("row_security", value=w.lower())
    if c.accept("INHERIT"):
        return op("inherit", name=c.qualified()[1])
    if c.accept("NO", "INHERIT"):
        return op("no_inherit", name=c.qualified()[1])
    if c.accept("FORCE", "ROW", "LEVEL", "SECURITY"):
        return op("row_security", value="force")
    if c.accept("NO", "FORCE", "ROW", "LEVEL", "SECURITY"):
        return op("row_security", value="no force")
    words = c.words_left()
    return op("alter_table_other", brief=_brief(words, _BRIEF_TABLE_ACTIONS),
              reason=" ".join(words[:3]) or None)


# ALTER TABLE actions no release can observe that take only a brief lock, as word sequences
# (after ALTER TABLE t / ALTER TABLE t SET / ALTER TABLE t ALTER COLUMN c). Not here: SET ACCESS
# METHOD (rewrites the table), INHERIT / NO INHERIT, OF / NOT OF (the linter does not model them).
_BRIEF_TABLE_ACTIONS = (("OWNER",), ("RESET", "("), ("REPLICA", "IDENTITY"), ("CLUSTER", "ON"),
                        ("ENABLE", "RULE"), ("ENABLE", "REPLICA", "RULE"),
                        ("ENABLE", "ALWAYS", "RULE"), ("DISABLE", "RULE"))
_BRIEF_SET_ACTIONS = (("(",), ("WITHOUT", "CLUSTER"), ("WITHOUT", "OIDS"))
_BRIEF_COLUMN_ACTIONS = (("SET", "STATISTICS"), ("SET", "STORAGE"), ("SET", "COMPRESSION"),
                         ("SET", "("), ("RESET", "("))


def _brief(words: list[str], actions: tuple[tuple[str, ...], ...]) -> bool:
    return any(tuple(words[:len(a)]) == a for a in actions)


def _identity_action(words: list[str]) -> str | None:
    """ALTER COLUMN ... ADD/SET GENERATED {ALWAYS | BY DEFAULT}, DROP IDENTITY, RESTART or a
    sequence option (SET INCREMENT BY ...): "always", "by default", "drop", "options"."""
    if words[:2] in (["ADD", "GENERATED"], ["SET", "GENERATED"]):
        return "always" if words[2:3] == ["ALWAYS"] else "by default"
    if words[:2] == ["DROP", "IDENTITY"]:
        return "drop"
    if words[:1] == ["RESTART"] or (words[:1] == ["SET"] and words[1:2] and words[1] in (
            "INCREMENT", "START", "MINVALUE", "MAXVALUE", "NO", "CACHE", "CYCLE", "SEQUENCE")):
        return "options"
    return None


def _trigger_action(c: Cursor) -> str | None:
    """ENABLE [REPLICA | ALWAYS] TRIGGER name|ALL|USER / DISABLE TRIGGER ...: the trigger (or
    ALL / USER, upper case); None (cursor unmoved) for another ENABLE/DISABLE action."""
    start = c.i
    c.skip()
    c.accept_any("REPLICA", "ALWAYS")
    if not c.accept("TRIGGER"):
        c.i = start
        return None
    if c.peek() in ("ALL", "USER"):
        return c.peek()
    name = c.ident()
    if name is None:
        c.i = start
        return ""  # ENABLE/DISABLE TRIGGER without a trigger: not understood
    return name


def _column(c: Cursor) -> ColumnSpec | None:
    name = c.ident()
    if name is None:
        return None
    spec = ColumnSpec(name=name)
    type_start = c.i
    while not c.done() and not (c.peek() in _COLUMN_END and c.tok().depth == c.toks[type_start].depth):
        c.skip()
    spec.type = pgfacts.normalize_type(c.text_from(type_start, c.i)) if c.i > type_start else None
    if spec.type and spec.type.split("[", 1)[0] in ("serial", "bigserial", "smallserial"):
        spec.serial = True
    while not c.done():
        w = c.peek()
        if c.accept("CONSTRAINT"):
            c.ident()
        elif c.accept("NOT", "NULL"):
            spec.not_null = True
        elif c.accept("NULL"):
            pass
        elif c.accept("DEFAULT"):
            start = c.i
            while not c.done() and not (c.peek() in _COLUMN_END and c.tok().depth == c.toks[start].depth):
                c.skip()
            spec.has_default = True
            spec.default_sql = c.text_from(start, c.i)
            spec.default_volatile = pgfacts.is_volatile_expression(spec.default_sql)
        elif c.accept("PRIMARY", "KEY"):
            spec.primary_key = spec.not_null = True
        elif c.accept("UNIQUE"):
            spec.unique = True
        elif c.accept("REFERENCES"):
            spec.references = c.qualified()[1]
            c.skip_parens()
        elif c.accept("CHECK"):
            spec.check_sql = _paren_inner(c)
            spec.check_not_null = check_facts(spec.check_sql)[1] == spec.name
        elif c.accept("GENERATED"):
            words = []
            while not c.done() and c.peek() not in ("AS",):
                words.append(c.peek())
                c.skip()
            c.accept("AS")
            if c.accept("IDENTITY"):
                spec.identity = spec.not_null = True
            else:
                spec.default_sql = _paren_inner(c)
                # STORED writes every row; VIRTUAL (PG 18) computes on read.
                spec.generated_stored = not c.accept("VIRTUAL")
                spec.has_default = spec.generated_stored
        else:
            c.skip()
            if w == "":
                break
    return spec


def _constraint(c: Cursor) -> ConstraintSpec | None:
    name = None
    if c.accept("CONSTRAINT"):
        name = c.ident()
    words = c.words_left()
    not_valid = any(words[k] == "NOT" and words[k + 1] == "VALID" and c.toks[c.i + k].depth == 0
                    for k in range(len(words) - 1))
    using_index = None
    for k in range(len(words) - 2):
        if words[k] == "USING" and words[k + 1] == "INDEX" and c.toks[c.i + k].depth == 0 \
                and words[k + 2] != "TABLESPACE":  # USING INDEX TABLESPACE x builds a new index
            t = c.toks[c.i + k + 2]
            using_index = t.value
            break
    if c.accept("CHECK"):
        check_sql = _paren_inner(c)
        if check_sql is None:
            return None
        columns, not_null = check_facts(check_sql)
        return ConstraintSpec(name=name, type="check", not_valid=not_valid, check_sql=check_sql,
                              columns=columns, not_null_column=not_null)
    if c.accept("FOREIGN", "KEY"):
        cols = _paren_names(c)
        references = None
        if c.accept("REFERENCES"):
            references = c.qualified()[1]
        return ConstraintSpec(name=name, type="foreign_key", columns=cols, not_valid=not_valid,
                              references=references)
    if c.accept("UNIQUE") or c.accept("PRIMARY", "KEY"):
        ctype = "unique" if c.toks[c.i - 1].up == "UNIQUE" else "primary_key"
        c.accept("NULLS", "NOT", "DISTINCT") or c.accept("NULLS", "DISTINCT")
        cols = _paren_names(c) if c.peek() == "(" else []
        return ConstraintSpec(name=name, type=ctype, columns=cols, not_valid=not_valid,
                              using_index=using_index)
    if c.accept("EXCLUDE"):
        return ConstraintSpec(name=name, type="exclude", not_valid=not_valid)
    if c.accept("NOT", "NULL"):
        col = c.ident()
        return ConstraintSpec(name=name, type="not_null", columns=[col] if col else [],
                              not_null_column=col)
    return None


def _expression_columns(sql: str) -> list[str]:
    """Columns an expression refers to, read by sqlglot (empty when it cannot)."""
    return check_facts(sql)[0]




def _paren_inner(c: Cursor) -> str | None:
    """Source text inside the parenthesized group at the cursor; the cursor moves past it."""
    if c.peek() != "(":
        return None
    start = c.i
    c.skip_parens()
    return c.text_from(start + 1, c.i - 1) if c.i - start > 2 else ""


def _paren_names(c: Cursor) -> list[str]:
    if c.peek() != "(":
        return []
    start = c.i
    c.skip_parens()
    return [t.value for t in c.toks[start:c.i] if t.kind in ("word", "qid")]


