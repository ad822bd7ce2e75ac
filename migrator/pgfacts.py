"""PostgreSQL dialect facts as data: volatile functions, version thresholds, type names and
binary-coercible type changes.

Everything that depends on what PostgreSQL does (rather than on what a statement says) lives
here, so rules and the parser read one table instead of scattering conditions.
"""

from __future__ import annotations

import functools
import re

# -- server-version thresholds (major versions) ------------------------------------------------
# ADD COLUMN ... DEFAULT <non-volatile> no longer rewrites the table.
FAST_DEFAULT_SINCE = 11
# SET NOT NULL skips its full-table scan when a validated CHECK (col IS NOT NULL) exists.
SET_NOT_NULL_VIA_CHECK_SINCE = 12
# ALTER TYPE ... ADD VALUE may run inside a transaction block (the new value is unusable
# until commit).
ENUM_ADD_VALUE_IN_TRANSACTION_SINCE = 12
REINDEX_CONCURRENTLY_SINCE = 12
# DETACH PARTITION ... CONCURRENTLY.
DETACH_PARTITION_CONCURRENTLY_SINCE = 14
# CREATE OR REPLACE TRIGGER.
CREATE_OR_REPLACE_TRIGGER_SINCE = 14
# GENERATED ALWAYS AS (expr) without STORED (or with VIRTUAL) is computed on read.
VIRTUAL_GENERATED_COLUMNS_SINCE = 18
DEFAULT_SERVER_VERSION = 15

# Lock levels that block writes (SHARE and stronger), and ACCESS EXCLUSIVE, which blocks reads;
# LOCK TABLE's modes from weakest to strongest.
ACCESS_EXCLUSIVE = "ACCESS EXCLUSIVE"
SHARE_ROW_EXCLUSIVE = "SHARE ROW EXCLUSIVE"
SHARE = "SHARE"
LOCK_MODES = ("ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE", SHARE,
              SHARE_ROW_EXCLUSIVE, "EXCLUSIVE", ACCESS_EXCLUSIVE)
LOCK_RANK = {SHARE: 1, SHARE_ROW_EXCLUSIVE: 2, "EXCLUSIVE": 3, ACCESS_EXCLUSIVE: 4}  # blocking writes


def lock_mode(op) -> str:
    """The mode of a LOCK TABLE operation, normalised (ACCESS EXCLUSIVE when none is given)."""
    mode = " ".join((op.value or ACCESS_EXCLUSIVE).upper().split())
    return mode if mode in LOCK_MODES else ACCESS_EXCLUSIVE


def lock_blocks(mode: str) -> str | None:
    """What a held lock of ``mode`` blocks for the running release: "reads and writes",
    "writes" or None (only DDL and maintenance)."""
    if mode == ACCESS_EXCLUSIVE:
        return "reads and writes"
    if mode in LOCK_RANK:
        return "writes"
    return None

# Objects no query of an application names: renaming them changes nothing a release refers to.
NEUTRAL_RENAMES = frozenset({"index", "trigger", "policy", "constraint", "rule", "statistics"})

# -- volatility ----------------------------------------------------------------------------------
# Functions whose result changes per row (pg_proc.provolatile = 'v'). A column default that
# calls one is evaluated per existing row, so ADD COLUMN ... DEFAULT rewrites the table.
# now(), current_timestamp, statement_timestamp(), transaction_timestamp() and txid_current()
# are STABLE (checked against pg_proc of PostgreSQL 15): a default of now() is a fast default.
VOLATILE_FUNCTIONS = frozenset(
    {
        # randomness
        "random", "random_normal", "setseed", "gen_random_uuid", "gen_random_bytes",
        "uuidv4", "uuidv7",
        # uuid-ossp
        "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
        # clocks that move inside a statement
        "clock_timestamp", "timeofday",
        # sequences
        "nextval", "currval", "lastval", "setval",
        # side effects
        "pg_sleep", "pg_advisory_lock", "pg_try_advisory_lock", "dblink", "pg_current_wal_lsn",
    }
)

# Functions listed above that are not built into PostgreSQL (extensions, newer versions).
EXTENSION_OR_NEWER_FUNCTIONS = frozenset(
    {"gen_random_bytes", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
     "uuidv4", "uuidv7", "random_normal", "pg_try_advisory_lock", "dblink"}
)

_CALL = re.compile(r"([a-z_][a-z0-9_$]*)\s*\(")
_STRING = re.compile(r"'(?:[^']|'')*'")


def volatile_calls(expression_sql: str) -> list[str]:
    """Names of the volatile functions an expression's SQL calls (schema prefixes ignored)."""
    text = _STRING.sub("''", expression_sql.lower())
    return [name for name in _CALL.findall(text) if name in VOLATILE_FUNCTIONS]


def is_volatile_expression(expression_sql: str | None) -> bool:
    return bool(expression_sql) and bool(volatile_calls(expression_sql))


# Words followed by "(" in an expression that are SQL syntax, not calls of catalog functions.
_SYNTAX_CALLS = frozenset({
    "coalesce", "nullif", "greatest", "least", "cast", "array", "row", "exists", "in", "and",
    "or", "not", "any", "all", "some", "values", "varying", "character", "extract", "overlay",
    "position", "substring", "trim", "treat", "collate", "is", "like", "ilike", "similar",
    "between", "then", "else", "when", "case", "over", "filter", "within", "distinct", "select",
    "from", "where", "on", "using", "as", "by",
})


def unseen_calls(expression_sql: str | None) -> list[str]:
    """Functions an expression calls whose volatility cannot be known from here (user-defined or
    extension functions, schema-qualified ones outside pg_catalog)."""
    if not expression_sql:
        return []
    text = _STRING.sub("''", expression_sql.lower())
    out = []
    for m in _QUALIFIED_CALL.finditer(text):
        schema, name = m.group(1), m.group(2)
        if name in _SYNTAX_CALLS or name in KNOWN_TYPES or name in _TYPE_ALIASES:
            continue
        if not is_builtin_function(name, schema):
            out.append(f"{schema}.{name}" if schema else name)
    return out


_DOLLAR_BODY = re.compile(r"(\$[A-Za-z_0-9]*\$).*?\1", re.DOTALL)
_VOLATILITY = re.compile(r"\b(immutable|stable|volatile)\b", re.IGNORECASE)


def routine_volatility(sql: str, *, creating: bool) -> str | None:
    """The volatility a CREATE / ALTER FUNCTION statement gives (its body and string literals
    are not read). CREATE FUNCTION without one makes a VOLATILE function (PostgreSQL's
    default); ALTER FUNCTION without one leaves it unchanged (None)."""
    text = _STRING.sub("''", _DOLLAR_BODY.sub("''", sql))
    m = _VOLATILITY.search(text)
    if m:
        return m.group(1).lower()
    return "volatile" if creating else None


_QUALIFIED_CALL = re.compile(r"(?:([a-z_][a-z0-9_$]*)\.)?([a-z_][a-z0-9_$]*)\s*\(")


def is_builtin_function(name: str, schema: str | None = None) -> bool:
    """Whether a called function is built into PostgreSQL (its effect is known), as opposed
    to a user-defined or extension function whose body the linter cannot see."""
    if schema is not None and schema.lower() != "pg_catalog":
        return False
    from migrator.pg_builtin_functions import NAMES

    return name in NAMES or name.lower() in NAMES


# -- type names ---------------------------------------------------------------------------------
# Canonical spelling of each built-in type name (all aliases PostgreSQL accepts).
_TYPE_ALIASES = {
    "int": "int", "integer": "int", "int4": "int",
    "bigint": "bigint", "int8": "bigint",
    "smallint": "smallint", "int2": "smallint",
    "serial": "serial", "serial4": "serial",
    "bigserial": "bigserial", "serial8": "bigserial",
    "smallserial": "smallserial", "serial2": "smallserial",
    "real": "real", "float4": "real",
    "double precision": "float8", "double": "float8", "float8": "float8", "float": "float8",
    "numeric": "numeric", "decimal": "numeric", "dec": "numeric",
    "varchar": "varchar", "character varying": "varchar", "char varying": "varchar",
    "char": "char", "character": "char", "bpchar": "bpchar", "nchar": "char",
    "national character": "char", "national character varying": "varchar",
    "text": "text",
    "bool": "bool", "boolean": "bool",
    "timestamp": "timestamp", "timestamp without time zone": "timestamp",
    "timestamptz": "timestamptz", "timestamp with time zone": "timestamptz",
    "time": "time", "time without time zone": "time",
    "timetz": "timetz", "time with time zone": "timetz",
    "date": "date", "interval": "interval",
    "bytea": "bytea", "uuid": "uuid", "json": "json", "jsonb": "jsonb", "xml": "xml",
    "bit": "bit", "bit varying": "varbit", "varbit": "varbit",
    "inet": "inet", "cidr": "cidr", "macaddr": "macaddr", "macaddr8": "macaddr8",
    "money": "money", "oid": "oid", "regclass": "regclass", "name": "name",
    "tsvector": "tsvector", "tsquery": "tsquery",
    "point": "point", "line": "line", "lseg": "lseg", "box": "box", "path": "path",
    "polygon": "polygon", "circle": "circle",
    "int4range": "int4range", "int8range": "int8range", "numrange": "numrange",
    "tsrange": "tsrange", "tstzrange": "tstzrange", "daterange": "daterange",
    "int4multirange": "int4multirange", "int8multirange": "int8multirange",
    "nummultirange": "nummultirange", "tsmultirange": "tsmultirange",
    "tstzmultirange": "tstzmultirange", "datemultirange": "datemultirange",
    '"char"': '"char"',
    # the citext extension's type: its casts to and from text and varchar are binary
    "citext": "citext",
}
KNOWN_TYPES = frozenset(_TYPE_ALIASES.values())

_WS = re.compile(r"\s+")
_INTERVAL_BARE_PRECISION = re.compile(r"^interval (\d+)((?:\[\d*\])*)$")
_PARAMS = re.compile(r"^(.*?)\s*\(([^()]*)\)\s*(.*)$")
_ARRAY = re.compile(r"(\s*\[\s*\d*\s*\]\s*)+$")


_QUOTED_OR_NOT = re.compile(r'"[^"]*"|[^"]+')


def _fold_unquoted(m: re.Match) -> str:
    """Quoted identifiers keep their case; unquoted parts fold to lower case."""
    part = m.group()
    return part if part.startswith('"') else part.lower()


@functools.lru_cache(maxsize=4096)  # a pure function of a few hundred distinct spellings a run
def normalize_type(text: str | None) -> str | None:
    """Canonical spelling of a type, for comparing types.

    ``character varying(20)`` -> ``varchar(20)``, ``INTEGER``/``int4`` -> ``int``,
    ``int8`` -> ``bigint``, ``timestamp(3) with time zone`` -> ``timestamptz(3)``,
    ``numeric(10, 2)`` -> ``numeric(10,2)``, ``integer[]`` / ``integer array`` -> ``int[]``,
    ``pg_catalog.text`` -> ``text``. Unknown (user-defined) types come back lower-cased with
    spaces removed, except inside double quotes.
    """
    if text is None:
        return None
    t = _WS.sub(" ", text.strip())
    if not t:
        return None
    t = t.lower() if '"' not in t else _QUOTED_OR_NOT.sub(_fold_unquoted, t)
    m = _INTERVAL_BARE_PRECISION.match(t)
    if m:  # sqlglot renders interval(3) as "INTERVAL 3"
        t = f"interval({m.group(1)}){m.group(2)}"
    array = ""
    if t.endswith(" array"):
        t, array = t[: -len(" array")], "[]"
    m = _ARRAY.search(t)
    if m:
        array = "[]" * m.group().count("[")
        t = t[: m.start()]
    params = ""
    suffix = ""
    m = _PARAMS.match(t)
    if m:
        t, params, suffix = m.group(1), m.group(2), m.group(3)
        params = "(" + ",".join(p.strip() for p in params.split(",")) + ")"
        if suffix:
            t = f"{t} {suffix}"  # timestamp(3) with time zone
    if t.startswith("pg_catalog."):
        t = t[len("pg_catalog."):]
    if t.startswith("interval ") and " ".join(t.split()[1:]) in _INTERVAL_FIELDS:
        return f"interval {' '.join(t.split()[1:])}{params}{array}"  # interval day to second(3)
    if t == "float" and params:
        # float(p): p <= 24 is real, otherwise double precision.
        try:
            return ("real" if int(params[1:-1]) <= 24 else "float8") + array
        except ValueError:
            return "float8" + array
    base = _TYPE_ALIASES.get(t)
    if base is None:
        base = t.replace(" ", "") if '"' not in t else t
    elif base == "char" and not params:
        params = "(1)"  # char / character without a length is char(1); bpchar is unlimited
    return f"{base}{params}{array}"


def split_type(normalized: str) -> tuple[str, tuple[int, ...] | None, int]:
    """(base name, numeric type modifiers or None, array dimensions) of a normalized type."""
    dims = 0
    while normalized.endswith("[]"):
        normalized = normalized[:-2]
        dims += 1
    mods: tuple[int, ...] | None = None
    if normalized.endswith(")") and "(" in normalized:
        base, _, rest = normalized.partition("(")
        try:
            mods = tuple(int(p) for p in rest[:-1].split(","))
        except ValueError:
            return normalized, None, dims
        normalized = base
    return normalized, mods, dims


# Types whose unconstrained form accepts every value of any constrained form, and whose
# length/precision increase needs no rewrite (PostgreSQL's typmod "support" functions:
# varchar_support, numeric_support, TemporalSimplify, interval_support).
_WIDENABLE = frozenset({"varchar", "numeric", "varbit", "timestamp", "timestamptz", "time",
                        "timetz", "interval"})
# Fractional-second precision: 6 is the maximum, the same as no limit.
_TEMPORAL = frozenset({"timestamp", "timestamptz", "time", "timetz"})
MAX_TEMPORAL_PRECISION = 6
# old base -> new bases reachable without a rewrite (binary-coercible casts in pg_cast), when the
# new type has no length limit. bpchar is char without a length.
_BINARY_CASTS = {
    "varchar": {"text", "bpchar", "citext"},
    "text": {"varchar", "bpchar", "citext"},
    "citext": {"text", "varchar", "bpchar"},
    "char": {"bpchar"},
    "bit": {"varbit"},
    "cidr": {"inet"},
    "xml": {"text"},
}
# interval field restrictions -> the least field kept (0 SECOND ... 5 YEAR), as PostgreSQL's
# intervaltypmodleastfield() reads them; no restriction keeps seconds.
_INTERVAL_FIELDS = {
    "year": 5, "month": 4, "year to month": 4, "day": 3, "hour": 2, "day to hour": 2,
    "minute": 1, "day to minute": 1, "hour to minute": 1, "second": 0, "day to second": 0,
    "hour to second": 0, "minute to second": 0,
}


def _interval(normalized: str) -> tuple[bool, int, int | None] | None:
    """(constrained, least field, precision) of an interval type, None for another type."""
    base, mods, dims = split_type(normalized)
    if dims or not (base == "interval" or base.startswith("interval ")):
        return None
    fields = base[len("interval"):].strip()
    if fields and fields not in _INTERVAL_FIELDS:
        return None
    precision = mods[0] if mods else None
    return bool(fields) or precision is not None, _INTERVAL_FIELDS.get(fields, 0), precision


def _interval_noop(old: tuple[bool, int, int | None], new: tuple[bool, int, int | None]) -> bool:
    """PostgreSQL 15's interval_support(): no rewrite when the least field stays or grows finer
    while sub-second precision stays or grows (precision only matters when SECOND is kept)."""
    new_constrained, new_least, new_precision = new
    if not new_constrained:
        return True
    old_constrained, old_least, old_precision = old
    old_p = old_precision if old_precision is not None else 0xFFFF
    new_p = new_precision if new_precision is not None else 0xFFFF
    return new_least <= old_least and (old_least > 0 or new_p >= MAX_TEMPORAL_PRECISION
                                       or new_p >= old_p)


def is_binary_coercible(old_type: str | None, new_type: str | None) -> bool | None:
    """Whether ``ALTER COLUMN ... TYPE new`` from ``old`` avoids a table rewrite and a scan.

    True / False when both types are known built-ins, None when either is unknown (a
    user-defined type, a domain, or no type at all). Every answer for the built-in families is
    checked against PostgreSQL 15 (relfilenode before and after) in tests/test_pg_facts_real.py.
    Not modelled, so reported as a rewrite: timestamp <-> timestamptz, which skips the rewrite
    only when the session's TimeZone is UTC (the migration's session is not known here).
    """
    if not old_type or not new_type:
        return None
    old, new = normalize_type(old_type), normalize_type(new_type)
    if old == new:
        return True
    old_iv, new_iv = _interval(old), _interval(new)
    if old_iv is not None and new_iv is not None:
        return _interval_noop(old_iv, new_iv)
    ob, om, od = split_type(old)
    nb, nm, nd = split_type(new)
    if ob not in KNOWN_TYPES or nb not in KNOWN_TYPES:
        return None
    if od != nd or od:
        return False  # array element changes: assume a rewrite
    if ob == nb:
        if ob == "char":
            return False  # a longer char(n) pads every value
        if ob not in _WIDENABLE:
            return False
        if ob in _TEMPORAL:
            old_p = om[0] if om else MAX_TEMPORAL_PRECISION
            new_p = nm[0] if nm else MAX_TEMPORAL_PRECISION
            return new_p >= old_p
        if nm is None:
            return True  # dropping the limit: varchar(n) -> varchar, numeric(p,s) -> numeric
        if om is None:
            return False  # adding a limit checks every row
        if ob == "numeric":
            o_scale = om[1] if len(om) > 1 else 0
            n_scale = nm[1] if len(nm) > 1 else 0
            return nm[0] >= om[0] and n_scale == o_scale
        return nm[0] >= om[0]
    if nb in _BINARY_CASTS.get(ob, ()):
        # a cast that also sets a length checks (and may pad) every value
        return nm is None
    return False
