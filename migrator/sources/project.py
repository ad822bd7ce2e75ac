"""Where an Alembic project keeps its revisions: ``alembic.ini`` or ``pyproject.toml``.

Read without Alembic's env.py: ``script_location`` (with ``%(here)s``, or ``package:path``)
and ``version_locations`` from ``[alembic]`` in alembic.ini, or from ``[tool.alembic]`` /
``[tool.migrator]`` in pyproject.toml.
"""

from __future__ import annotations

import configparser
import importlib.util
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import UsageError


@dataclass
class AlembicProject:
    script_dir: Path
    version_dirs: list[Path] = field(default_factory=list)
    ini_path: Path | None = None
    # alembic.ini prepend_sys_path: where the revisions' own imports (the app's models) live
    sys_path: list[Path] = field(default_factory=list)


def _resolve_location(value: str, base: Path, here: Path, source: str) -> Path:
    value = value.strip().replace("%(here)s", str(here))
    m = re.fullmatch(r"([A-Za-z_][\w.]*):(.+)", value)
    if m and not Path(value).exists():  # package:path, Alembic's package resource form
        try:
            spec = importlib.util.find_spec(m.group(1))
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise UsageError(f"script_location {value!r}: package {m.group(1)!r} not found",
                             path=source)
        return Path(list(spec.submodule_search_locations)[0]) / m.group(2)
    p = Path(os.path.expanduser(value))
    return p if p.is_absolute() else base / p


def _split_locations(value: str, separator: str | None) -> list[str]:
    if separator in (None, "", "space"):
        parts = re.split(r"[\s,]+", value)
    elif separator == "os":
        parts = value.split(os.pathsep)
    elif separator == "newline":
        parts = value.splitlines()
    else:
        parts = value.split({"colon": ":", "semicolon": ";"}.get(separator, separator))
    return [p.strip() for p in parts if p.strip()]


def _project(script_location: str, version_locations: str | None, separator: str | None,
             base: Path, source: str) -> AlembicProject:
    script_dir = _resolve_location(script_location, base, base, source)
    if not script_dir.is_dir():
        raise UsageError(f"script_location {script_location!r} is not a directory "
                         f"({script_dir})", path=source)
    if version_locations:
        dirs = [_resolve_location(v, base, base, source)
                for v in _split_locations(version_locations, separator)]
    else:
        dirs = [script_dir / "versions"]
    return AlembicProject(script_dir=script_dir, version_dirs=dirs)


def from_alembic_ini(ini: Path, display: str | None = None) -> AlembicProject | None:
    """The project an alembic.ini describes; None if it has no script_location."""
    source = display or str(ini)
    parser = configparser.ConfigParser(defaults={"here": str(ini.parent.resolve())},
                                       interpolation=configparser.BasicInterpolation())
    try:
        with open(ini, encoding="utf-8") as fh:
            parser.read_file(fh)
        if not parser.has_option("alembic", "script_location"):
            return None
        location = parser.get("alembic", "script_location")
        versions = parser.get("alembic", "version_locations", fallback=None)
        separator = parser.get("alembic", "version_path_separator", fallback=None)
        prepend = parser.get("alembic", "prepend_sys_path", fallback=None)
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror or e}", path=source) from None
    except configparser.Error as e:
        raise UsageError(f"invalid alembic.ini: {e}".splitlines()[0], path=source) from None
    project = _project(location, versions, separator, ini.parent.resolve(), source)
    project.ini_path = ini
    if prepend:
        base = ini.parent.resolve()
        project.sys_path = [p if p.is_absolute() else base / p
                            for p in map(Path, _split_locations(prepend, separator))]
    return project


def from_pyproject(pyproject: Path, display: str | None = None) -> AlembicProject | None:
    """``[tool.alembic]`` or ``[tool.migrator]`` script_location; None if neither has one."""
    source = display or str(pyproject)
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror or e}", path=source) from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"invalid TOML: {e}", path=source) from None
    tool = data.get("tool", {})
    for table in (tool.get("alembic", {}), tool.get("migrator", {})):
        location = table.get("script_location") or table.get("script-location")
        if location:
            versions = table.get("version_locations")
            if isinstance(versions, list):
                versions = " ".join(versions)
            return _project(str(location), versions, table.get("version_path_separator"),
                            pyproject.parent.resolve(), source)
    return None


def project_in_directory(directory: Path) -> AlembicProject | None:
    """The Alembic project rooted at ``directory`` (alembic.ini first, then pyproject.toml)."""
    ini = directory / "alembic.ini"
    if ini.is_file():
        project = from_alembic_ini(ini)
        if project is not None:
            return project
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        return from_pyproject(pyproject)
    return None
