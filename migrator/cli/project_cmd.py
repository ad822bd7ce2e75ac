"""``migrator init`` and ``migrator revision``: the two-branch Alembic layout (docs/alembic.md)."""

from __future__ import annotations

import io
import json
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import click

from ..config import load_config
from ..errors import UsageError
from ..releases import parse_release

TEMPLATE_MARK = "migrator_phase"
TEMPLATE_LINES = '''
# migrator: the phase this migration belongs to and the release it ships with.
phase = ${repr(config.attributes.get("migrator_phase", "expand"))}
release = ${repr(config.attributes.get("migrator_release", "0.0.0"))}
'''

ENV_PY = '''"""Alembic environment, laid out for migrator (expand / contract branches).

The cookbook pattern: a connection handed in through ``config.attributes["connection"]`` (as
migrator does) is used as is; otherwise an engine is made from ``sqlalchemy.url``. One transaction
per migration, so an ``autocommit_block()`` in one revision never commits half of another.
"""

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
target_metadata = None  # your models' MetaData, for autogenerate


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection", None)
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

MIGRATOR_TOML = '''# migrator's settings (docs/configuration.md); MIGRATOR_* variables and flags override them.
alembic_ini = "alembic.ini"
# database_url: --database-url, MIGRATOR_DATABASE_URL or DATABASE_URL, else sqlalchemy.url in alembic.ini
lock_timeout_ms = 2000        # no migration statement waits longer than this for a lock
retry_attempts = 8            # then retry with exponential backoff and jitter ...
retry_max_total = 120.0       # ... for at most this many seconds
lock_wait = 600.0             # how long a second runner waits for the first one
'''

PYPROJECT_SECTION = '''
[tool.migrator]
alembic_ini = "alembic.ini"
lock_timeout_ms = 2000
retry_attempts = 8
retry_max_total = 120.0
'''


def patch_template(mako: Path) -> bool:
    """Add the phase/release attributes to script.py.mako; False when already there."""
    text = mako.read_text(encoding="utf-8")
    if TEMPLATE_MARK in text:
        return False
    m = re.search(r"^depends_on\b.*$", text, re.MULTILINE)
    if m:
        text = text[:m.end()] + "\n" + TEMPLATE_LINES + text[m.end():]
    else:
        m = re.search(r"^def upgrade", text, re.MULTILINE)
        at = m.start() if m else len(text)
        text = text[:at] + TEMPLATE_LINES.lstrip("\n") + "\n\n" + text[at:]
    mako.write_text(text, encoding="utf-8")
    return True


def _untagged(versions: Path) -> list[Path]:
    out = []
    for f in sorted(versions.glob("*.py")) if versions.is_dir() else []:
        text = f.read_text(encoding="utf-8", errors="replace")
        if not (re.search(r"^phase\s*=", text, re.MULTILINE) and re.search(r"^release\s*=", text, re.MULTILINE)):
            out.append(f)
    return out


def _hints(directory: Path) -> str | None:
    """Write [tool.migrator] hints: into pyproject.toml when it has none, else migrator.toml."""
    pyproject = directory / "pyproject.toml"
    if (directory / "migrator.toml").exists():
        return None
    if pyproject.is_file():
        text = pyproject.read_text(encoding="utf-8")
        if re.search(r"^\[tool\.migrator\]", text, re.MULTILINE):
            return None
        pyproject.write_text(text.rstrip("\n") + "\n" + PYPROJECT_SECTION, encoding="utf-8")
        return f"added [tool.migrator] to {pyproject}"
    (directory / "migrator.toml").write_text(MIGRATOR_TOML, encoding="utf-8")
    return f"wrote {directory / 'migrator.toml'}"


def init_project(directory: Path) -> list[str]:
    """Add the layout to the Alembic project in ``directory`` or create one. Returns what was done."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    from ..script.project import from_alembic_ini

    directory = directory.resolve()
    done: list[str] = []
    ini = directory / "alembic.ini"
    if ini.is_file():
        project = from_alembic_ini(ini)
        if project is None:
            raise UsageError("no script_location in the [alembic] section", path=str(ini))
        script_location = project.script_dir
        done.append(f"found the Alembic project {ini} (scripts in {script_location})")
    else:
        directory.mkdir(parents=True, exist_ok=True)
        script_location = directory / "migrations"
        if script_location.exists() and any(script_location.iterdir()):
            raise UsageError("directory exists and is not empty", path=str(script_location))
        cfg = AlembicConfig(str(ini), stdout=io.StringIO())
        with redirect_stdout(io.StringIO()):
            command.init(cfg, str(script_location), template="generic")
        text = ini.read_text(encoding="utf-8")
        text = re.sub(r"^script_location\s*=.*$", "script_location = %(here)s/migrations", text,
                      count=1, flags=re.MULTILINE)
        ini.write_text(text, encoding="utf-8")
        (script_location / "env.py").write_text(ENV_PY, encoding="utf-8")
        done.append(f"created the Alembic project {ini} with {script_location}/env.py (cookbook "
                    "pattern: config.attributes['connection'])")
    (script_location / "versions").mkdir(exist_ok=True)
    mako = script_location / "script.py.mako"
    if mako.is_file() and patch_template(mako):
        done.append(f"added phase/release to the revision template {mako}")
    env_py = script_location / "env.py"
    if env_py.is_file() and 'attributes.get("connection"' not in env_py.read_text(encoding="utf-8") \
            and "attributes.get('connection'" not in env_py.read_text(encoding="utf-8"):
        done.append(f"hint: {env_py} does not use config.attributes['connection']; migrator then hands "
                    "it sqlalchemy.url with lock_timeout in the connection options (that works too)")
    hint = _hints(directory)
    if hint:
        done.append(hint)
    untagged = _untagged(script_location / "versions")
    if untagged and not load_config(directory).baseline:
        # an existing project: its history is released, not something to tag file by file
        done.append(f"{len(untagged)} existing revision(s) have no phase/release (e.g. {untagged[0].name}): "
                    "record them as released history with `migrator adopt` (docs/alembic.md, "
                    "\"Adopting an existing project\")")
        done.append("next: migrator adopt")
        return done
    done.append("next: migrator revision --phase expand --release 1.0.0 -m 'create tables'")
    return done


def create_revision(config, *, phase: str, release: str, message: str,
                    rev_id: str | None = None) -> dict:
    """Write a correctly placed, tagged revision: the first of a branch gets the branch label; a
    contract revision depends on the current expand head."""
    from alembic import command

    from ..runner.alembic_run import alembic_config
    from ..script import load_catalog

    if phase not in ("expand", "contract"):
        raise UsageError(f"--phase must be expand or contract, got {phase!r}")
    v = parse_release(release)
    catalog = load_catalog(config)
    branch = catalog.of_phase(phase)
    if branch and branch[-1].release > v:
        raise UsageError(f"release {v} is older than the {phase} branch's head {branch[-1].id} "
                         f"(release {branch[-1].release}): releases must not go down along a branch")
    head = catalog.heads[phase]
    kwargs: dict = {"head": head or "base"}
    if not any(phase in r.branch_labels for r in branch):
        # the first revision of the branch carries its label (after an adopted baseline too), so
        # plain Alembic can name the branch: `alembic revision --head expand@head`
        kwargs["branch_label"] = phase
    depends_on = catalog.heads["expand"] if phase == "contract" else None
    if depends_on:
        kwargs["depends_on"] = depends_on
    cfg = alembic_config(catalog)
    cfg.attributes["migrator_phase"] = phase
    cfg.attributes["migrator_release"] = release.strip()
    try:
        with redirect_stdout(io.StringIO()):
            script = command.revision(cfg, message=message, rev_id=rev_id, **kwargs)
    except Exception as e:  # noqa: BLE001 - alembic's CommandError and friends: one clear line
        raise UsageError(f"alembic could not create the revision: {e}") from None
    if isinstance(script, list):
        script = script[0]
    path = Path(script.path)
    text = path.read_text(encoding="utf-8")
    if not re.search(r"^phase\s*=", text, re.MULTILINE):
        m = re.search(r"^def upgrade", text, re.MULTILINE)
        at = m.start() if m else len(text)
        tags = f'# migrator: the phase this migration belongs to and the release it ships with.\n' \
               f'phase = "{phase}"\nrelease = "{release.strip()}"\n\n\n'
        path.write_text(text[:at] + tags + text[at:], encoding="utf-8")
    load_catalog(config)  # the new file must leave a valid catalog
    return {"revision": script.revision, "path": str(path), "phase": phase, "release": release.strip(),
            "down_revision": head, "branch_label": kwargs.get("branch_label"), "depends_on": depends_on}


@click.command()
@click.option("-d", "--directory", default=".", type=click.Path(file_okay=False),
              help="The project directory (created if missing).")
def init(directory):
    """Add the expand/contract layout to an Alembic project (or create one)."""
    for line in init_project(Path(directory)):
        click.echo(line)


@click.command()
@click.option("--at", "at", default=None, metavar="REV",
              help="The last revision of the released history (default: the project's head).")
@click.option("-d", "--script-location", default=None, help="Project or script directory.")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def adopt(at, script_location, config_file, fmt):
    """Adopt migrator on an existing Alembic project: record its revisions up to the head (or
    --at REV) as a baseline of released history.

    Baseline revisions need no phase/release tags; they run as expand of release "baseline",
    before every version; `migrator lint` reads them for the schema state but does not report
    them (--include-baseline does); the runner never refuses them. Later revisions are tagged
    (`migrator revision`). Exit status: 0 recorded (or already recorded), 2 no project, several
    heads, an unknown --at, or an untagged revision after the baseline (the file is named)."""
    from ..script.adopt import adopt as adopt_project
    from .runner_cmd import build_config

    config = build_config(script_location=script_location, config_file=config_file)
    result = adopt_project(config, at=at, patch_template=patch_template)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    for line in adoption_report(result):
        click.echo(line)


def adoption_report(a) -> list[str]:
    """What adopting did, and what the team changes, in words."""
    verb = "recorded" if a.changed else "already recorded"
    out = [f"{verb}: baseline = \"{a.baseline}\" in {a.config_file}",
           f"  {a.revisions} of the project's {a.total} revisions are released history: no phase/release "
           "tags needed; they run as expand of release \"baseline\" (before every version); "
           "`migrator lint` reads them for the schema state but reports only later revisions "
           "(--include-baseline shows them); the runner never refuses them"]
    if a.later:
        out.append(f"  {len(a.later)} revision(s) after the baseline are tagged: {', '.join(a.later[:5])}"
                   + (" ..." if len(a.later) > 5 else ""))
    if a.template:
        out.append(f"added phase/release lines to the revision template {a.template}")
    out += [
        "what changes for the team:",
        "  - new revisions: `migrator revision --phase expand|contract --release X.Y.Z -m '...'` places "
        "and tags them (plain `alembic revision --head expand@head` works too once the first "
        "expand revision carries the branch label; fill in phase/release)",
        "  - the first contract revision starts a second branch, so Alembic then has two heads: "
        "`alembic upgrade head` fails; use `alembic upgrade heads` (development databases, the "
        "Recreate strategy) or, for zero downtime, `migrator expand` / `deployed` / `contract`",
    ]
    if a.upgrade_head_lines:
        out.append(f"  - `alembic upgrade head` found in {len(a.upgrade_head_lines)} place(s): change "
                   "each to `alembic upgrade heads`:")
        out += [f"      {line}" for line in a.upgrade_head_lines[:20]]
        if len(a.upgrade_head_lines) > 20:
            out.append(f"      ... and {len(a.upgrade_head_lines) - 20} more")
    out += [
        "  - a database already at the baseline needs nothing: the next `migrator expand` records "
        "what Alembic applied in migrator's history; a new database gets the baseline from "
        "`migrator expand --release R` (or `alembic upgrade heads`)",
        "next: migrator revision --phase expand --release X.Y.Z -m '...'",
    ]
    return out


@click.command()
@click.option("--phase", required=True, type=click.Choice(["expand", "contract"]))
@click.option("--release", "-r", required=True, help="The release it ships with, e.g. 1.4.0.")
@click.option("-m", "--message", required=True, help="What it does.")
@click.option("--rev-id", default=None, help="The revision id (default: generated).")
@click.option("-d", "--script-location", default=None, help="Project or script directory.")
@click.option("--config", "config_file", default=None, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def revision(phase, release, message, rev_id, script_location, config_file, fmt):
    """Create a correctly placed, tagged revision."""
    from .runner_cmd import build_config

    config = build_config(script_location=script_location, config_file=config_file)
    info = create_revision(config, phase=phase, release=release, message=message, rev_id=rev_id)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, **info}, indent=2))
        return
    where = f"on top of {info['down_revision']}" if info["down_revision"] else \
        f"first of the {phase} branch (label {info['branch_label']!r})"
    dep = f", depends on {info['depends_on']}" if info["depends_on"] else ""
    click.echo(f"created {info['path']}: {info['revision']} ({phase} {info['release']}), {where}{dep}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(init())
