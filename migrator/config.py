"""Configuration: ``[tool.migrator]`` in pyproject.toml (or migrator.toml), overridden by
``MIGRATOR_*`` environment variables, overridden by flags (docs/configuration.md)."""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .dburl import NO_URL
from .errors import UsageError


VOLATILITIES = ("immutable", "stable", "volatile")


@dataclass
class Config:
    # where things are
    root: Path = field(default_factory=Path.cwd)  # directory holding the config file
    config_path: Path | None = None
    script_location: str | None = None  # Alembic script directory (or read from alembic.ini)
    alembic_ini: str | None = None
    # An adopted project's released history: this revision and every one it builds on need no
    # phase/release tags (expand of release "baseline"), and lint leaves them out of its report.
    baseline: str | None = None
    database_url: str | None = None
    database_url_source: str | None = None  # where database_url came from, for messages
    # linter
    server_version: int = 15
    rules: dict[str, str] = field(default_factory=dict)  # rule name -> "error" | "warning" | "off"
    exclude: list[str] = field(default_factory=list)  # glob patterns, relative to root
    cache_dir: str = ".migrator_cache"
    # Whether .sql files run inside one transaction (Flyway's default) rather than statement by
    # statement (psql, squawk's default). A file's "-- migrator: transaction=..." header wins.
    assume_in_transaction: bool = False
    # How .sql files are run: "file" (one transaction each) or "statement" (each statement
    # commits alone); unset, a file's mode comes from its header or its migration tool's marker,
    # else it is judged by harm. Wins over assume_in_transaction.
    sql_transaction: str | None = None
    # Volatility of functions the migrations call that are not built into PostgreSQL and not
    # created (with IMMUTABLE / STABLE / VOLATILE) by a migration: {name = "stable"}.
    functions: dict[str, str] = field(default_factory=dict)
    # Alembic revisions render in child processes that see only these environment variables:
    # "NAME" passes this process's value through, "NAME=value" gives one.
    render_env: list[str] = field(default_factory=list)
    render_timeout: float = 10.0  # seconds one revision may take to render
    render_max_statements: int = 10000  # statements one revision may emit while rendering
    # runner: lock_timeout and retry discipline
    lock_timeout_ms: int = 2000
    statement_timeout_ms: int | None = None
    retry_attempts: int = 8
    retry_base_delay: float = 0.5
    retry_max_delay: float = 10.0
    retry_max_total: float = 120.0
    lock_wait: float = 600.0  # how long a second runner waits for the runner lock
    # gate and instance registry
    instance_ttl: float = 60.0  # seconds of silence after which an instance is gone
    require_registry: bool = False
    # backfills
    backfill_target_ms: float = 100.0
    backfill_min_batch: int = 100
    backfill_max_batch: int = 20000
    backfill_pause_ms: float = 0.0
    backfill_max_rate: float | None = None  # rows per second
    # notifications: [{url=..., format="cloudevents"|"slack", events=[...], timeout=2.0}]
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    # models check (migrator check --models): the release's SQLAlchemy models as MODULE:ATTR, and
    # a PostgreSQL server to build scratch schemas on (default: a temporary SQLite file)
    models: str | None = None
    models_database_url: str | None = None

    def __post_init__(self) -> None:
        _check_all(self, "configuration")

    def with_overrides(self, **flags: Any) -> "Config":
        """Flags win over everything; a flag left at None changes nothing."""
        changes = {k: v for k, v in flags.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UsageError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        for name, value in changes.items():
            if name not in _NOT_FROM_FILE:
                check_setting(name, value, "option")
        if "database_url" in changes and "database_url_source" not in changes:
            changes["database_url_source"] = "--database-url"
        return dataclasses.replace(self, **changes)

    def resolve(self, relpath: str) -> Path:
        p = Path(relpath)
        return p if p.is_absolute() else self.root / p


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_NOT_FROM_FILE = {"root", "config_path", "database_url_source"}


@dataclass(frozen=True)
class Range:
    """The values a numeric setting may take; ``low_open``: the low end itself is excluded."""

    low: float
    high: float
    low_open: bool = False
    why: str = ""

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value) or value > self.high:
            return False
        return value > self.low if self.low_open else value >= self.low

    def describe(self) -> str:
        low = f"> {self.low:g}" if self.low_open else f">= {self.low:g}"
        return f"{low} and <= {self.high:g}" + (f" ({self.why})" if self.why else "")


# Every numeric setting's range, checked here for the file, MIGRATOR_* variables, flags and the
# Python API alike (Config.__post_init__). None stays allowed where the type is optional.
RANGES: dict[str, Range] = {
    "server_version": Range(9, 99, why="a PostgreSQL major version"),
    "lock_timeout_ms": Range(0, 3_600_000, low_open=True,
                             why="0 would make PostgreSQL wait for locks forever"),
    "statement_timeout_ms": Range(0, 86_400_000, why="0 means no statement timeout"),
    "retry_attempts": Range(1, 1000),
    "retry_base_delay": Range(0, 3600),
    "retry_max_delay": Range(0, 3600),
    "retry_max_total": Range(0, 86_400),
    "lock_wait": Range(0, 86_400),
    "instance_ttl": Range(0, 7 * 86_400, low_open=True),
    "backfill_target_ms": Range(1, 600_000),
    "backfill_min_batch": Range(1, 10_000_000),
    "backfill_max_batch": Range(1, 10_000_000),
    "backfill_pause_ms": Range(0, 3_600_000),
    "backfill_max_rate": Range(0, 1e12, low_open=True, why="rows per second"),
    "render_timeout": Range(0, 3600, low_open=True, why="seconds one revision may take to render"),
    "render_max_statements": Range(1, 10_000_000),
}


def _kind(name: str) -> str:
    """The base type of a field: 'int', 'float', 'bool', 'str', 'dict' or 'list'."""
    return str(_FIELDS[name].type).split("[")[0].split(" ")[0]


def check_setting(name: str, value: Any, source: str) -> Any:
    """Check one setting's type and range; a bad value is a UsageError naming where it came from."""
    if value is None:
        if "None" in str(_FIELDS[name].type):
            return None
        raise UsageError(f"{source}: {name} must have a value")
    kind = _kind(name)
    expected = {"int": int, "float": (int, float), "bool": bool, "str": str, "dict": dict, "list": list}
    if kind in expected and (not isinstance(value, expected[kind])
                             or (isinstance(value, bool) and kind in ("int", "float"))):
        raise UsageError(f"{source}: {name} has a value of the wrong type: {_short(value)}")
    if name in RANGES and value not in RANGES[name]:
        raise UsageError(f"{source}: {name} = {_short(value)} is out of range: it must be "
                         f"{RANGES[name].describe()}")
    if name == "exclude" and not all(isinstance(v, str) for v in value):
        raise UsageError(f"{source}: {name} must be a list of strings (glob patterns), got {_short(value)}")
    if name == "rules" and not all(isinstance(v, str) for v in value.values()):
        raise UsageError(f"{source}: rules must map rule names to \"error\", \"warning\" or \"off\", "
                         f"got {_short(value)}")
    if name == "sql_transaction" and value not in ("file", "statement"):
        raise UsageError(f"{source}: sql_transaction = {_short(value)}: use \"file\" (one "
                         "transaction per file) or \"statement\" (each statement alone)")
    if name == "functions" and not all(str(v).lower() in VOLATILITIES for v in value.values()):
        raise UsageError(f"{source}: functions must map function names to \"immutable\", "
                         f"\"stable\" or \"volatile\", got {_short(value)}")
    if name == "webhooks" and not all(isinstance(v, dict) for v in value):
        raise UsageError(f"{source}: webhooks must be a list of tables like {{url = \"https://...\"}}")
    return value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_all(config: Config, source: str) -> None:
    for name in _FIELDS:
        if name not in _NOT_FROM_FILE:
            check_setting(name, getattr(config, name), source)
    if config.backfill_min_batch > config.backfill_max_batch:
        raise UsageError(f"{source}: backfill_min_batch ({config.backfill_min_batch}) is larger than "
                         f"backfill_max_batch ({config.backfill_max_batch})")


def _convert(name: str, value: Any, source: str) -> Any:
    """Coerce a value from TOML or an environment variable to the field's type, then check it."""
    kind = _kind(name)
    optional = "None" in str(_FIELDS[name].type)
    if isinstance(value, str) and kind != "str":
        text = value.strip()
        try:
            if optional and text.lower() in ("", "none", "null"):
                return None
            if kind == "bool":
                if text.lower() not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                    raise ValueError
                value = text.lower() in ("1", "true", "yes", "on")
            elif kind == "int":
                value = int(text)
            elif kind == "float":
                value = float(text)
            elif kind == "list":
                value = [v.strip() for v in text.split(",") if v.strip()]
            else:
                raise ValueError
        except ValueError:
            raise UsageError(f"{source}: {name} has a value of the wrong type: {_short(value)}") from None
    return check_setting(name, value, source)


def _toml_error(path: Path, error: Exception) -> UsageError:
    """A TOML syntax error as a UsageError at the file and line tomllib names."""
    text = str(error)
    m = re.search(r"\(at line (\d+), column \d+\)", text)
    if m:
        return UsageError(f"invalid TOML: {text[:m.start()].strip()} ({m.group(0)[4:-1]})",
                          path=str(path), line=int(m.group(1)))
    return UsageError(f"invalid TOML: {text}", path=str(path))


def read_toml(path: Path) -> dict:
    """A TOML file's data; unreadable bytes, bad syntax or absurd nesting are UsageErrors naming
    the file (and the line where there is one)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError("configuration file not found", path=str(path)) from None
    except OSError as e:
        raise UsageError(f"cannot read the configuration file: {e.strerror or e}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError("not valid UTF-8 text", path=str(path), line=raw[:e.start].count(b"\n") + 1) from None
    import tomllib  # only when there is a file: every command loads this module

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(path, e) from None
    except RecursionError:
        raise UsageError("invalid TOML: tables or arrays nested too deeply", path=str(path)) from None


# a table header or dotted key naming tool.migrator, found even in a file TOML cannot read
_MENTIONS_MIGRATOR = re.compile(r"""^\s*(\[\s*)?["']?tool["']?\s*\.\s*["']?migrator\b""", re.MULTILINE)


def _migrator_table(data: dict, path: Path) -> dict | None:
    """The [tool.migrator] table of pyproject.toml data (None: there is none)."""
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise UsageError(f"'tool' must be a table, got {_short(tool)}", path=str(path))
    table = tool.get("migrator")
    if table is not None and not isinstance(table, dict):
        raise UsageError(f"[tool.migrator] must be a table, got {_short(table)}", path=str(path))
    return table


def find_config_file(start: Path) -> Path | None:
    """The nearest migrator.toml, or pyproject.toml with a [tool.migrator] table, upwards from
    start. A pyproject.toml that mentions tool.migrator but cannot be read is an error, never
    skipped for a parent's configuration."""
    start = start.resolve()
    for d in [start, *start.parents]:
        m = d / "migrator.toml"
        if m.is_file():
            return m
        p = d / "pyproject.toml"
        if p.is_file():
            try:
                data = read_toml(p)
            except UsageError:
                try:
                    mentions = _MENTIONS_MIGRATOR.search(p.read_bytes().decode("utf-8", "replace"))
                except OSError:
                    mentions = None
                if mentions:
                    raise
                continue
            if _migrator_table(data, p) is not None:
                return p
    return None


def _line_of(text: str, key: str) -> int | None:
    m = re.search(rf"""^\s*["']?{re.escape(key)}["']?\s*=""", text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else None


def load_config(start: Path | None = None, *, config_file: Path | None = None,
                environ: dict[str, str] | None = None) -> Config:
    """Read the file (if any), then MIGRATOR_* variables. Flags are applied by the caller."""
    environ = os.environ if environ is None else environ
    start = Path.cwd() if start is None else start
    path = config_file or find_config_file(start)
    values: dict[str, Any] = {}
    root = start.resolve()
    if path is not None:
        data = read_toml(path)
        if path.name == "migrator.toml":
            table = data
            if "tool" in data:
                table = _migrator_table(data, path) or {}
        else:
            table = _migrator_table(data, path) or {}
        text = path.read_bytes().decode("utf-8")
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in _FIELDS or name in _NOT_FROM_FILE:
                raise UsageError(f"unknown key {key!r} in the migrator configuration", path=str(path),
                                 line=_line_of(text, key))
            try:
                values[name] = _convert(name, value, "configuration")
            except UsageError as e:
                message = e.message.removeprefix("configuration: ")
                raise UsageError(message, path=str(path), line=_line_of(text, key)) from None
        root = path.parent.resolve()
    for name in _FIELDS:
        if name in _NOT_FROM_FILE:
            continue
        env = environ.get("MIGRATOR_" + name.upper())
        if env is not None:
            values[name] = _convert(name, env, "MIGRATOR_" + name.upper())
            if name == "database_url":
                values["database_url_source"] = "MIGRATOR_DATABASE_URL"
    if "database_url" in values and "database_url_source" not in values:
        values["database_url_source"] = str(path)
    if "database_url" not in values:
        if environ.get("DATABASE_URL"):
            values["database_url"] = environ["DATABASE_URL"]
            values["database_url_source"] = "DATABASE_URL"
    return Config(root=root, config_path=path, **values)


# the placeholder `alembic init` writes: a project whose env.py finds the URL elsewhere
_ALEMBIC_PLACEHOLDER = "driver://user:pass@localhost/dbname"


def _alembic_ini(config: Config) -> Path | None:
    if config.alembic_ini:
        return config.resolve(config.alembic_ini)
    if config.script_location:
        loc = config.resolve(config.script_location)
        for candidate in (loc / "alembic.ini", loc.parent / "alembic.ini"):
            if candidate.is_file():
                return candidate
    candidate = config.root / "alembic.ini"
    return candidate if candidate.is_file() else None


def find_database_url(config: Config) -> tuple[str, str]:
    """(URL as the user gave it, where it came from): --database-url, MIGRATOR_DATABASE_URL,
    DATABASE_URL, the configuration file, else ``sqlalchemy.url`` in the project's alembic.ini."""
    if config.database_url and config.database_url.strip():
        return config.database_url, config.database_url_source or "configuration"
    ini = _alembic_ini(config)
    if ini is not None and ini.is_file():
        import configparser  # only here: every command loads this module

        parser = configparser.ConfigParser(defaults={"here": str(ini.parent.resolve())})
        try:
            parser.read(ini, encoding="utf-8")
            url = parser.get("alembic", "sqlalchemy.url", fallback=None)
        except (configparser.Error, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read sqlalchemy.url: {str(e).splitlines()[0]}", path=str(ini)) from None
        if url and url.strip() and url.strip() != _ALEMBIC_PLACEHOLDER:
            return url.strip(), f"sqlalchemy.url in {ini}"
    raise UsageError(NO_URL)
