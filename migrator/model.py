"""What a change is: the operation model, plain data shared by every reader.

Sources (``migrator.sources``) turn files into :class:`MigrationSource` objects holding
:class:`Statement` s with the location in the file the user wrote. The parser
(``migrator.sql.parse``) turns each statement, once, into :class:`Operation` s. The rules,
the phase classifier and the runner all read these objects and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum


class Phase(str, Enum):
    """The phase one operation belongs to (docs/phases.md)."""

    EXPAND = "expand"
    CONTRACT = "contract"
    NEUTRAL = "neutral"
    REJECTED = "rejected"  # rejected in any phase; a rule says why
    UNKNOWN = "unknown"  # could not be understood; a warning says where


class MigrationPhase(str, Enum):
    """The phase a whole migration gets from its operations."""

    EXPAND = "expand"
    CONTRACT = "contract"
    MIXED = "mixed"
    EMPTY = "empty"


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Location:
    """1-based line and column in the file the user wrote (.sql or the revision's .py)."""

    path: str
    line: int = 1
    column: int = 1


@dataclass
class Statement:
    """One SQL statement as a source produced it, before parsing."""

    sql: str
    loc: Location
    # False when the statement runs outside a transaction block: inside Alembic's
    # autocommit_block(), or a plain .sql file's statement outside BEGIN ... COMMIT when the
    # file is not wrapped in one transaction by the runner.
    in_transaction: bool = True
    # Something the source could not see hides behind this statement (e.g. a data migration
    # that reads results); rendered as a warning at loc.
    note: str | None = None
    # The altered column's type before this statement, when the source states it (Alembic's
    # alter_column(existing_type=...)).
    previous_type: str | None = None


@dataclass
class ColumnSpec:
    """A column as declared by CREATE TABLE or ADD COLUMN."""

    name: str
    type: str | None = None  # normalized PostgreSQL type text, e.g. "varchar(20)", "text"
    not_null: bool = False
    has_default: bool = False
    default_sql: str | None = None
    default_volatile: bool = False
    generated_stored: bool = False
    identity: bool = False  # GENERATED ... AS IDENTITY
    serial: bool = False  # serial / bigserial / smallserial
    primary_key: bool = False
    unique: bool = False
    references: str | None = None  # inline FK target table
    check_sql: str | None = None  # inline CHECK
    check_not_null: bool = False  # the inline CHECK proves this column NOT NULL


@dataclass
class ConstraintSpec:
    """A table constraint as declared by ADD CONSTRAINT (or inline in CREATE TABLE)."""

    name: str | None
    type: str  # "check" | "foreign_key" | "unique" | "primary_key" | "exclude" | "not_null"
    columns: list[str] = field(default_factory=list)
    not_valid: bool = False
    using_index: str | None = None  # ADD CONSTRAINT ... UNIQUE/PRIMARY KEY USING INDEX idx
    check_sql: str | None = None
    # For CHECK (col IS NOT NULL), NOT (col IS NULL), or an AND with either: the column proven
    # not null once the check is validated (filled by the parser, from its one parse).
    not_null_column: str | None = None
    references: str | None = None


# Operation kinds: one member per kind of change; the parser emits only these. A StrEnum, so a
# kind compares equal to (and prints as) its name: op.kind == "add_column".
class OpKind(StrEnum):
    # tables and columns
    CREATE_TABLE = "create_table"
    CREATE_TABLE_AS = "create_table_as"
    DROP_TABLE = "drop_table"
    RENAME_TABLE = "rename_table"
    ADD_COLUMN = "add_column"
    DROP_COLUMN = "drop_column"
    RENAME_COLUMN = "rename_column"
    ALTER_COLUMN_TYPE = "alter_column_type"
    SET_NOT_NULL = "set_not_null"
    DROP_NOT_NULL = "drop_not_null"
    SET_DEFAULT = "set_default"
    DROP_DEFAULT = "drop_default"
    ADD_CONSTRAINT = "add_constraint"
    VALIDATE_CONSTRAINT = "validate_constraint"
    DROP_CONSTRAINT = "drop_constraint"
    RENAME_CONSTRAINT = "rename_constraint"
    SET_LOGGED = "set_logged"
    SET_UNLOGGED = "set_unlogged"
    SET_TABLESPACE = "set_tablespace"
    ALTER_TABLE_OTHER = "alter_table_other"
    ALTER_IDENTITY = "alter_identity"
    SET_GENERATED_EXPRESSION = "set_generated_expression"
    DROP_GENERATED_EXPRESSION = "drop_generated_expression"
    INHERIT = "inherit"
    NO_INHERIT = "no_inherit"
    # partitions, triggers and row-level security on a table
    ATTACH_PARTITION = "attach_partition"
    DETACH_PARTITION = "detach_partition"
    ENABLE_TRIGGER = "enable_trigger"
    DISABLE_TRIGGER = "disable_trigger"
    ROW_SECURITY = "row_security"
    # indexes
    CREATE_INDEX = "create_index"
    DROP_INDEX = "drop_index"
    REINDEX = "reindex"
    RENAME_INDEX = "rename_index"
    # other objects: object_type says which (view, materialized_view, function,
    # procedure, trigger, sequence, type, domain, schema, extension, policy, role, ...)
    CREATE_OBJECT = "create_object"
    DROP_OBJECT = "drop_object"
    ALTER_OBJECT = "alter_object"
    RENAME_OBJECT = "rename_object"
    ALTER_TYPE_ADD_VALUE = "alter_type_add_value"
    ALTER_SEQUENCE = "alter_sequence"
    ADD_DOMAIN_CONSTRAINT = "add_domain_constraint"
    VALIDATE_DOMAIN_CONSTRAINT = "validate_domain_constraint"
    DROP_SCHEMA = "drop_schema"
    DROP_DATABASE = "drop_database"
    CREATE_DATABASE = "create_database"
    # maintenance and locking
    VACUUM = "vacuum"
    VACUUM_FULL = "vacuum_full"
    ANALYZE = "analyze"
    CLUSTER = "cluster"
    LOCK_TABLE = "lock_table"
    REFRESH_MATERIALIZED_VIEW = "refresh_materialized_view"
    # data
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    TRUNCATE = "truncate"
    SELECT = "select"
    COPY = "copy"
    # privileges, comments, session
    GRANT = "grant"
    REVOKE = "revoke"
    COMMENT = "comment"
    SET_SESSION = "set_session"
    # transaction control
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    SAVEPOINT = "savepoint"
    # bodies that cannot be seen, and statements that could not be understood
    DO_BLOCK = "do_block"
    UNPARSED = "unparsed"


KINDS = frozenset(OpKind)
_KIND_OF = {k.value: k for k in OpKind}  # OpKind("x") goes through EnumType.__call__: slow


@dataclass
class Operation:
    """One normalized change parsed from one SQL statement, with its facts."""

    kind: OpKind  # a plain name is accepted and checked: Operation(kind="add_column", ...)
    loc: Location
    sql: str
    table: str | None = None  # unqualified lower-case name as PostgreSQL folds it
    schema: str | None = None
    column: str | None = None
    name: str | None = None  # index, constraint or object name
    new_name: str | None = None  # renames
    object_type: str | None = None  # for *_object kinds
    names: list[str] = field(default_factory=list)  # DROP INDEX a, b / DROP TABLE a, b
    columns: list[ColumnSpec] = field(default_factory=list)  # create_table, add_column
    constraint: ConstraintSpec | None = None  # add_constraint
    new_type: str | None = None  # alter_column_type
    using: str | None = None  # alter_column_type USING expression
    default_volatile: bool = False  # set_default
    concurrently: bool = False
    unique: bool = False  # create_index
    if_exists: bool = False
    if_not_exists: bool = False
    cascade: bool = False
    has_where: bool = False  # update / delete
    where_sql: str | None = None
    in_transaction: bool = True  # copied from the Statement
    # Set by the linter's context pass, not the parser:
    table_created_here: bool = False  # table created earlier in the same migration
    column_created_here: bool = False  # column added earlier in the same migration
    # Why the parser could not fully understand the statement (unparsed / do_block).
    reason: str | None = None
    # A literal fact the statement carries: the value of SET (set_session), the enum label of
    # ALTER TYPE ... ADD VALUE, the mode of LOCK TABLE ("ACCESS EXCLUSIVE").
    value: str | None = None
    # Set by the linter: the phase the classifier gave this operation (None: not linted yet).
    phase: Phase | None = None
    # alter_column_type: the column's type before, as the source states it (None: not stated).
    previous_type: str | None = None
    # Part of a rollback (a down migration): it does not change the forward schema state.
    rollback: bool = False
    # CREATE FUNCTION (VOLATILE when it says nothing) / ALTER FUNCTION: "immutable" | "stable"
    # | "volatile"; None when the statement does not set it.
    volatility: str | None = None
    # alter_table_other: the parser recognised the action as one no release can observe that
    # takes only a brief lock (OWNER TO, SET (fillfactor ...), SET STATISTICS ...); False: the
    # linter does not know what the action does.
    brief: bool = False
    # alter_identity: "by default" (ADD/SET GENERATED BY DEFAULT), "always" (ADD/SET GENERATED
    # ALWAYS), "drop" (DROP IDENTITY), "options" (RESTART, SET INCREMENT ...).
    identity: str | None = None

    def __post_init__(self) -> None:
        kind = self.kind
        if type(kind) is not OpKind:
            found = _KIND_OF.get(kind) if type(kind) is str else None
            # an unknown kind is a parser bug: ValueError
            self.kind = found if found is not None else OpKind(kind)


@dataclass
class Finding:
    rule: str
    severity: Severity
    loc: Location
    message: str
    fix: str = ""

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.loc.path,
            "line": self.loc.line,
            "column": self.loc.column,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class MigrationSource:
    """One migration as found on disk, before parsing: an Alembic revision or a .sql file."""

    path: str  # as the user named it (repo-relative where possible)
    statements: list[Statement] = field(default_factory=list)
    revision: str | None = None
    down_revisions: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    release: str | None = None
    declared_phase: str | None = None
    kind: str = "sql"  # "sql" | "alembic" | "stdin"
    # The raw text of the file the user wrote, for suppression comments.
    text: str = ""
    # Problems the source itself has (import failure, hidden statements, bad header...).
    diagnostics: list[Finding] = field(default_factory=list)
    # Content hash of everything that decides the lint result of this file.
    checksum: str = ""
    # .sql files: how the runner runs the file ("file": one transaction, "statement": each
    # statement commits alone), whether something declared it, and what (or why assumed).
    transaction: str | None = None
    transaction_declared: bool = True
    transaction_reason: str = ""
    # "up" (a forward step) or "down" (a rollback part: diesel down.sql, Flyway U__, goose
    # `-- +goose Down`, dbmate `-- migrate:down`, *.down.sql). A down part is linted for
    # dangerous operations, but it is not a step of the forward history: it does not advance
    # the schema state and has no phase to declare.
    direction: str = "up"
    # What rendering an Alembic revision read besides its own file: the project's Python files
    # it imported (absolute paths) and the environment variables it looked up. A result cache
    # must key on these too (their content and values), or not cache the revision.
    read_files: tuple[str, ...] = ()
    read_env: tuple[str, ...] = ()


@dataclass
class LintedMigration:
    source: MigrationSource
    operations: list[Operation]
    phase: MigrationPhase
    findings: list[Finding]

    @property
    def rejected(self) -> bool:
        return any(f.severity is Severity.ERROR for f in self.findings)

    def as_dict(self) -> dict:
        doc = {
            "path": self.source.path,
            "revision": self.source.revision,
            "release": self.source.release,
            "declared_phase": self.source.declared_phase,
            "phase": self.phase.value,
            "rejected": self.rejected,
            "findings": [f.as_dict() for f in self.findings],
        }
        if self.source.transaction is not None:  # .sql files: the mode assumed, and why
            doc["transaction"] = {"mode": self.source.transaction,
                                  "declared": self.source.transaction_declared,
                                  "reason": self.source.transaction_reason}
        if self.source.direction != "up":
            doc["direction"] = self.source.direction
        return doc


@dataclass
class LintReport:
    migrations: list[LintedMigration]
    files: int = 0
    baseline_hidden: int = 0  # revisions of an adopted baseline linted but left out of the report

    @property
    def errors(self) -> int:
        return sum(1 for m in self.migrations for f in m.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return sum(1 for m in self.migrations for f in m.findings if f.severity is Severity.WARNING)

    def as_dict(self) -> dict:
        return {
            "version": 1,
            "migrations": [m.as_dict() for m in self.migrations],
            "summary": {
                "files": self.files,
                "migrations": len(self.migrations),
                "errors": self.errors,
                "warnings": self.warnings,
            },
        }


def table_key(table: str | None, schema: str | None = None) -> str:
    """One key per table: lower case, ``public`` (the default schema) left out."""
    t = (table or "").lower()
    s = (schema or "").lower()
    return f"{s}.{t}" if s and s != "public" else t


def qualified_key(name: str | None, schema: str | None = None) -> str:
    """table_key of a name that may carry its own schema (``archive.t``)."""
    if name and "." in name:
        s, _, t = name.partition(".")
        return table_key(t, s)
    return table_key(name, schema)
