"""Reading expressions with sqlglot: identifiers as PostgreSQL folds them, the columns an
expression reads, and what a CHECK expression proves. The tree parser
(:mod:`migrator.sql.parse`) and the word reader (:mod:`migrator.sql.fallback_ddl`) both ask
here, so a CHECK is read one way whichever path parsed its statement."""

from __future__ import annotations

import threading

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

_DIALECT = sqlglot.Dialect.get_or_raise("postgres")

_LOCAL = threading.local()


def parse_one(sql: str):
    """``sqlglot.parse_one(sql, read="postgres")`` with one tokenizer and one parser per thread:
    both reset themselves on every call, and building them (as ``parse_one`` does each time)
    costs about a fifth of parsing a short statement."""
    local = _LOCAL
    try:
        tokenizer, parser = local.tokenizer, local.parser
    except AttributeError:
        tokenizer = local.tokenizer = _DIALECT.tokenizer()
        parser = local.parser = _DIALECT.parser()
    result = parser.parse(tokenizer.tokenize(sql), sql)
    if not result or result[0] is None:
        raise ParseError(f"No expression was parsed from '{sql}'")
    return exp.Block(expressions=result) if len(result) > 1 else result[0]


def tokenize(sql: str) -> list:
    """sqlglot's PostgreSQL tokens of ``sql`` (the thread's tokenizer; raises TokenError)."""
    try:
        tokenizer = _LOCAL.tokenizer
    except AttributeError:
        tokenizer = _LOCAL.tokenizer = _DIALECT.tokenizer()
    return tokenizer.tokenize(sql)


def ident(node) -> str | None:
    """PostgreSQL's folding of an identifier node: unquoted lower-cased, quoted kept."""
    if node is None:
        return None
    if isinstance(node, exp.Identifier):
        return node.this if node.quoted else node.this.lower()
    if isinstance(node, (exp.Column, exp.Table)):
        return ident(node.this)
    if isinstance(node, exp.Dot):
        return ident(node.expression)
    if isinstance(node, str):
        return node.lower()
    return None


def column_refs(nodes) -> list[str]:
    """Names of the columns the expressions refer to, in order, without repeats (the operator
    class and collation of an index element are not columns)."""
    out: list[str] = []
    for node in nodes:
        for col in node.find_all(exp.Column):
            if isinstance(col.parent, exp.Opclass) and col.parent.args.get("expression") is col:
                continue
            name = ident(col)
            if name and name not in out:
                out.append(name)
    return out


def not_null_proof(tree) -> str | None:
    """The column a CHECK expression proves NOT NULL the way PostgreSQL's SET NOT NULL reads
    it: ``col IS NOT NULL``, ``NOT (col IS NULL)``, or either as one conjunct of an AND
    (the constraint implies each conjunct); ``t.col`` counts too (a CHECK can only name its own
    table). Checked against PostgreSQL 15 in tests/test_pg_facts_real.py."""
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if isinstance(tree, exp.And):
        return not_null_proof(tree.this) or not_null_proof(tree.expression)
    negated = False
    if isinstance(tree, exp.Not):
        negated, tree = True, tree.this
        while isinstance(tree, exp.Paren):
            tree = tree.this
    if isinstance(tree, exp.Is) and isinstance(tree.expression, exp.Null) \
            and isinstance(tree.this, exp.Column):
        if bool(tree.args.get("negate")) != negated:
            return ident(tree.this)
    return None


def check_facts(sql: str | None) -> tuple[list[str], str | None]:
    """(columns read, column proven NOT NULL) of a CHECK expression's text, from one parse;
    ([], None) when sqlglot cannot read it (an unreadable check proves nothing)."""
    if not sql:
        return [], None
    try:
        tree = parse_one(sql)
    except Exception:  # noqa: BLE001
        return [], None
    if tree is None:
        return [], None
    return column_refs([tree]), not_null_proof(tree)


def is_plain_cast_of(using_sql: str | None, column: str | None, new_type: str | None,
                     normalize) -> bool:
    """``USING col`` or ``USING col::new_type`` (``CAST(col AS new_type)``, parentheses, repeated
    casts to the new type): the same coercion ALTER COLUMN ... TYPE applies without USING, so
    it decides nothing (checked on PostgreSQL 15: no rewrite where the plain change has none).
    ``normalize`` spells types canonically (pgfacts.normalize_type)."""
    if not using_sql or not column or not new_type:
        return False
    try:
        tree = parse_one(using_sql)
    except Exception:  # noqa: BLE001 - unreadable: not provably plain
        return False
    target = normalize(new_type)
    while True:
        if isinstance(tree, exp.Paren):
            tree = tree.this
        elif isinstance(tree, exp.Cast):
            if normalize(tree.args["to"].sql(dialect=_DIALECT)) != target:
                return False
            tree = tree.this
        else:
            break
    return isinstance(tree, exp.Column) and ident(tree) == column
