"""Configuration: ``[tool.migrator]`` in pyproject.toml (or migrator.toml), overridden by
``MIGRATOR_*`` environment variables, overridden by flags (DESIGN section 6)."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError


@dataclass
class Config:
    # where things are
    root: Path = field(default_factory=Path.cwd)  # directory holding the config file
    config_path: Path | None = None
    script_location: str | None = None  # Alembic script directory (or read from alembic.ini)
    alembic_ini: str | None = None
    database_url: str | None = None
    # linter
    server_version: int = 15
    rules: dict[str, str] = field(default_factory=dict)  # rule name -> "error" | "warning" | "off"
    exclude: list[str] = field(default_factory=list)  # glob patterns, relative to root
    cache_dir: str = ".migrator_cache"
    # Whether .sql files run inside one transaction (Flyway's default) rather than statement by
    # statement (psql, squawk's default). A file's "-- migrator: transaction=..." header wins.
    assume_in_transaction: bool = False
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

    def with_overrides(self, **flags: Any) -> "Config":
        """Flags win over everything; a flag left at None changes nothing."""
        changes = {k: v for k, v in flags.items() if v is not None}
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise UsageError(f"unknown configuration key(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **changes)

    def resolve(self, relpath: str) -> Path:
        p = Path(relpath)
        return p if p.is_absolute() else self.root / p


_FIELDS = {f.name: f for f in dataclasses.fields(Config)}
_NOT_FROM_FILE = {"root", "config_path"}


def find_config_file(start: Path) -> Path | None:
    """The nearest migrator.toml, or pyproject.toml with a [tool.migrator] table, upwards from start."""
    start = start.resolve()
    for d in [start, *start.parents]:
        m = d / "migrator.toml"
        if m.is_file():
            return m
        p = d / "pyproject.toml"
        if p.is_file():
            try:
                data = tomllib.loads(p.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if "migrator" in data.get("tool", {}):
                return p
    return None


def _kind(name: str) -> str:
    """The base type of a field: 'int', 'float', 'bool', 'str', 'dict' or 'list'."""
    return str(_FIELDS[name].type).split("[")[0].split(" ")[0]


def _convert(name: str, value: Any, source: str) -> Any:
    """Coerce a value from TOML or an environment variable to the field's type."""
    kind = _kind(name)
    optional = "None" in str(_FIELDS[name].type)
    try:
        if isinstance(value, str) and kind != "str":
            text = value.strip()
            if optional and text.lower() in ("", "none", "null"):
                return None
            if kind == "bool":
                return text.lower() in ("1", "true", "yes", "on")
            if kind in ("int", "float"):
                return int(text) if kind == "int" else float(text)
            if kind == "list":
                return [v.strip() for v in text.split(",") if v.strip()]
            raise ValueError
        expected = {"int": int, "float": (int, float), "bool": bool, "str": str, "dict": dict, "list": list}
        if isinstance(value, bool) and kind in ("int", "float"):
            raise ValueError
        if not isinstance(value, expected[kind]):
            raise ValueError
    except ValueError:
        raise UsageError(f"{source}: {name} has a value of the wrong type: {value!r}") from None
    return value


def load_config(start: Path | None = None, *, config_file: Path | None = None,
                environ: dict[str, str] | None = None) -> Config:
    """Read the file (if any), then MIGRATOR_* variables. Flags are applied by the caller."""
    environ = os.environ if environ is None else environ
    start = Path.cwd() if start is None else start
    path = config_file or find_config_file(start)
    values: dict[str, Any] = {}
    root = start.resolve()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError("configuration file not found", path=str(path)) from None
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"invalid TOML: {e}", path=str(path)) from None
        table = data if path.name == "migrator.toml" else data.get("tool", {}).get("migrator", {})
        if path.name == "migrator.toml" and "tool" in data:
            table = data["tool"].get("migrator", table)
        for key, value in table.items():
            name = key.replace("-", "_")
            if name not in _FIELDS or name in _NOT_FROM_FILE:
                raise UsageError(f"unknown key {key!r} in the migrator configuration", path=str(path))
            values[name] = _convert(name, value, str(path))
        root = path.parent.resolve()
    for name in _FIELDS:
        if name in _NOT_FROM_FILE:
            continue
        env = environ.get("MIGRATOR_" + name.upper())
        if env is not None:
            values[name] = _convert(name, env, "MIGRATOR_" + name.upper())
    if "database_url" not in values:
        if environ.get("DATABASE_URL"):
            values["database_url"] = environ["DATABASE_URL"]
    return Config(root=root, config_path=path, **values)
