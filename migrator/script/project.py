"""Where an Alembic project keeps its revisions: ``alembic.ini`` or ``pyproject.toml``.

Read without Alembic and without env.py: ``script_location`` (with ``%(here)s``, or
``package:path``), ``version_locations``, ``recursive_version_locations`` and
``prepend_sys_path`` from ``[alembic]`` in alembic.ini, or from ``[tool.alembic]`` /
``[tool.migrator]`` in pyproject.toml. :func:`find_project` turns migrator's configuration
(``script_location``, ``alembic_ini``, or the root directory) into one :class:`AlembicProject`;
every command (lint, plan, status, expand, the gate) finds its project through it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config
from ..errors import UsageError


@dataclass
class AlembicProject:
    script_dir: Path
    version_dirs: list[Path] = field(default_factory=list)
    ini_path: Path | None = None
    # alembic.ini prepend_sys_path: where the revisions' own imports (the app's models) live
    sys_path: list[Path] = field(default_factory=list)
    # a project configured in pyproject.toml ([tool.alembic]): Alembic reads it from there
    toml_path: Path | None = None
    recursive: bool = False  # recursive_version_locations


_TRUE = ("true", "1", "yes", "on")


def _resolve_location(value: str, base: Path, source: str) -> Path:
    value = value.strip().replace("%(here)s", str(base))
    m = re.fullmatch(r"([A-Za-z_][\w.]*):(.+)", value)
    if m and not Path(value).exists():  # package:path, Alembic's package resource form
        try:
            spec = importlib.util.find_spec(m.group(1))
        except (ImportError, ValueError):  # a malformed package name, not our own modules
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise UsageError(f"script_location {value!r}: package {m.group(1)!r} not found",
                             path=source)
        return Path(list(spec.submodule_search_locations)[0]) / m.group(2)
    p = Path(os.path.expanduser(value))
    if p.is_absolute():
        return p
    # Alembic reads a relative location from the working directory; a project run from
    # elsewhere means the directory beside its configuration file.
    return base / p if (base / p).exists() or not (Path.cwd() / p).exists() else Path.cwd() / p


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
    script_dir = _resolve_location(script_location, base, source)
    if not script_dir.is_dir():
        raise UsageError(f"script_location {script_location!r} is not a directory "
                         f"({script_dir})", path=source)
    if version_locations:
        dirs = [_resolve_location(v, base, source)
                for v in _split_locations(version_locations, separator)]
    else:
        dirs = [script_dir / "versions"]
    return AlembicProject(script_dir=script_dir.resolve(), version_dirs=dirs)


def from_alembic_ini(ini: Path, display: str | None = None) -> AlembicProject | None:
    """The project an alembic.ini describes; None if it has no script_location."""
    import configparser  # only for an alembic.ini: linting .sql files imports this module too

    source = display or str(ini)
    here = ini.parent.resolve()
    parser = configparser.ConfigParser(defaults={"here": str(here)},
                                       interpolation=configparser.BasicInterpolation())
    try:
        with open(ini, encoding="utf-8") as fh:
            parser.read_file(fh)
        if not parser.has_option("alembic", "script_location"):
            return None
        location = parser.get("alembic", "script_location")
        versions = parser.get("alembic", "version_locations", fallback=None)
        separator = parser.get("alembic", "path_separator", fallback=None) or \
            parser.get("alembic", "version_path_separator", fallback=None)
        prepend = parser.get("alembic", "prepend_sys_path", fallback=None)
        recursive = parser.get("alembic", "recursive_version_locations", fallback="false")
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror or e}", path=source) from None
    except UnicodeDecodeError:
        raise UsageError("cannot read: not UTF-8 text", path=source) from None
    except configparser.Error as e:
        raise UsageError(f"invalid alembic.ini: {e}".splitlines()[0], path=source) from None
    project = _project(location, versions, separator, here, source)
    project.ini_path = ini.resolve()
    project.recursive = recursive.strip().lower() in _TRUE
    if prepend:
        project.sys_path = [p if p.is_absolute() else here / p
                            for p in map(Path, _split_locations(prepend, separator))]
    return project


def from_pyproject(pyproject: Path, display: str | None = None) -> AlembicProject | None:
    """``[tool.alembic]`` or ``[tool.migrator]`` script_location; None if neither has one."""
    import tomllib  # only for a pyproject.toml: linting .sql files imports this module too

    source = display or str(pyproject)
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except OSError as e:
        raise UsageError(f"cannot read: {e.strerror or e}", path=source) from None
    except UnicodeDecodeError:
        raise UsageError("cannot read: not UTF-8 text", path=source) from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"invalid TOML: {e}", path=source) from None
    tool = data.get("tool", {})
    tool = tool if isinstance(tool, dict) else {}
    for name in ("alembic", "migrator"):
        table = tool.get(name, {})
        if not isinstance(table, dict):
            continue
        location = table.get("script_location") or table.get("script-location")
        if not location:
            continue
        if not isinstance(location, str):
            raise UsageError(f"[tool.{name}] script_location must be a string", path=source)
        versions = table.get("version_locations")
        if isinstance(versions, list):
            versions = " ".join(str(v) for v in versions)
        here = pyproject.parent.resolve()
        project = _project(location, versions, table.get("path_separator")
                           or table.get("version_path_separator"), here, source)
        project.recursive = bool(table.get("recursive_version_locations", False))
        prepend = table.get("prepend_sys_path")
        if isinstance(prepend, str):
            prepend = _split_locations(prepend, table.get("path_separator"))
        if isinstance(prepend, list):
            paths = [Path(str(p).replace("%(here)s", str(here))) for p in prepend]
            project.sys_path = [p if p.is_absolute() else here / p for p in paths]
        if name == "alembic":
            project.toml_path = pyproject.resolve()
        return project
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


def find_ini(start: Path) -> Path | None:
    """An alembic.ini in ``start`` or up to two directories above it."""
    for d in [start.resolve(), *start.resolve().parents][:3]:
        if (d / "alembic.ini").is_file():
            return d / "alembic.ini"
    return None


def script_directory_project(directory: Path) -> AlembicProject:
    """A bare script directory (env.py, versions/): its versions, with the settings (sys.path,
    version table's ini) of an alembic.ini beside it when that one points here."""
    directory = directory.resolve()
    ini = find_ini(directory)
    if ini is not None:
        try:
            project = from_alembic_ini(ini)
        except UsageError:
            project = None
        if project is not None and project.script_dir == directory:
            return project
        sys_path = project.sys_path if project is not None else []
        return AlembicProject(directory, [directory / "versions"], ini, sys_path)
    return AlembicProject(directory, [directory / "versions"])


def _is_script_directory(directory: Path) -> bool:
    return (directory / "env.py").is_file() or (directory / "versions").is_dir()


def find_project(config: Config, *, required: bool = True) -> AlembicProject | None:
    """The Alembic project the configuration names: ``alembic_ini``; else ``script_location``
    (a script directory, or a project directory with alembic.ini or pyproject.toml); else
    alembic.ini or pyproject.toml (``[tool.alembic]`` / ``[tool.migrator]``) in the root
    directory or the working directory. None (or a UsageError when ``required``) if none."""
    if config.alembic_ini:
        ini = config.resolve(config.alembic_ini)
        if not ini.is_file():
            raise UsageError("alembic.ini not found", path=str(ini))
        project = from_alembic_ini(ini)
        if project is None:
            raise UsageError("no script_location in the [alembic] section", path=str(ini))
        return project
    if config.script_location:
        loc = config.resolve(config.script_location)
        if not loc.is_dir():
            raise UsageError("script_location is not a directory", path=str(loc))
        if _is_script_directory(loc):
            return script_directory_project(loc)
        project = project_in_directory(loc)
        if project is None:
            raise UsageError("script_location is neither an Alembic script directory "
                             "(env.py, versions/) nor a project directory with alembic.ini "
                             "or pyproject.toml [tool.alembic]", path=str(loc))
        return project
    for root in dict.fromkeys([Path(config.root).resolve(), Path.cwd().resolve()]):
        project = project_in_directory(root)
        if project is not None:
            return project
    if not required:
        return None
    raise UsageError(f"no Alembic project found in {config.root}: pass --script-location (-d) "
                     "or set script_location / alembic_ini in [tool.migrator] (or "
                     "script_location in alembic.ini or pyproject.toml [tool.alembic])")
