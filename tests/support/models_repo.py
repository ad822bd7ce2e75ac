"""Git repositories for the models check: the sample project with each release's models
committed and tagged (1.0.0 ... 1.3.0), and small projects built from a rule's example text
(``# release X expand|contract|models`` sections)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from migrator.config import load_config
from tests.support.sample import SAMPLE

GIT = ["git", "-c", "user.name=migrator tests", "-c", "user.email=tests@example.invalid",
       "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main"]

RELEASES = ("1.0.0", "1.1.0", "1.2.0", "1.3.0")

_HEAD = '''"""The sample application's models as release {release} sees them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, Numeric, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

RELEASE = "{release}"


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
'''

_ORDER = '''

class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    total: Mapped[float] = mapped_column(Numeric(12, 2), nullable=False)
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), server_default=func.now())
    user: Mapped[User] = relationship(back_populates="orders")
'''

_USER_COLUMNS = {
    # 1.0.0 writes the two name columns
    "1.0.0": '''    first_name: Mapped[str] = mapped_column(Text, nullable=False)
    last_name: Mapped[str] = mapped_column(Text, nullable=False)
''',
    # 1.1.0 writes both shapes while the backfill fills full_name for older rows
    "1.1.0": '''    first_name: Mapped[str] = mapped_column(Text, nullable=False)
    last_name: Mapped[str] = mapped_column(Text, nullable=False)
    full_name: Mapped[str | None] = mapped_column(Text, index=True)
''',
    # 1.2.0 writes only full_name (expand 1.2.0 let the old columns be NULL)
    "1.2.0": '''    full_name: Mapped[str] = mapped_column(Text, nullable=False, index=True)
''',
}

_USER_TAIL = '''    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    orders: Mapped[list["Order"]] = relationship(back_populates="user")
'''


def sample_models(release: str) -> str:
    """The sample's models of ``release`` (1.3.0: the file in sample_project/app)."""
    if release == "1.3.0":
        return (SAMPLE / "app" / "models.py").read_text()
    return _HEAD.format(release=release) + _USER_COLUMNS[release] + _USER_TAIL + _ORDER


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run([*GIT, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return out.stdout


def _release_of(revision: Path) -> str:
    m = re.search(r'^release\s*=\s*"([^"]+)"', revision.read_text(), re.M)
    assert m, revision
    return m.group(1)


def sample_repo(tmp_path: Path, releases: tuple[str, ...] = RELEASES) -> Path:
    """A git repository holding the sample project in ``sample_project/``; per release, its
    migrations and models committed and tagged ``v<release>``. Returns the project directory."""
    top = tmp_path / "repo"
    project = top / "sample_project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns(
        "*.db", "*.lock", "__pycache__", ".migrator_cache", "versions"))
    versions = project / "migrations" / "versions"
    versions.mkdir()
    git(top, "init", "-q")
    for release in releases:
        for rev in sorted((SAMPLE / "migrations" / "versions").glob("*.py")):
            if _release_of(rev) == release:
                shutil.copy(rev, versions / rev.name)
        (project / "app" / "models.py").write_text(sample_models(release))
        git(top, "add", "-A")
        git(top, "commit", "-q", "-m", f"release {release}")
        git(top, "tag", f"v{release}")
    return project


def config_of(project: Path, **overrides):
    return load_config(project, environ={}).with_overrides(**overrides)


# -- rule examples ----------------------------------------------------------------------------------

MODELS_PREAMBLE = '''import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


'''

_ENV = '''from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def _run(connection):
    context.configure(connection=connection, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    _run(config.attributes["connection"])
else:
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
'''

_INI = '''[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
path_separator = os
sqlalchemy.url = sqlite:///%(here)s/app.db
'''

_REVISION = '''from alembic import op
import sqlalchemy as sa

revision = "{rid}"
down_revision = {down!r}
branch_labels = {labels!r}
depends_on = {depends!r}
phase = "{phase}"
release = "{release}"


def upgrade():
{body}


def downgrade():
    pass
'''

_SECTION = re.compile(r"^# release (\S+) (expand|contract|models)\s*$", re.M)


def example_sections(text: str) -> list[tuple[str, str, str]]:
    """(release, kind, body) per ``# release X kind`` section, in order."""
    marks = list(_SECTION.finditer(text))
    return [(m.group(1), m.group(2), text[m.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)].strip("\n"))
            for i, m in enumerate(marks)]


def example_repo(tmp_path: Path, text: str) -> tuple[Path, str]:
    """A git project built from an example; (project dir, the last release)."""
    project = tmp_path / "example"
    versions = project / "migrations" / "versions"
    versions.mkdir(parents=True)
    (project / "app").mkdir()
    (project / "app" / "__init__.py").write_text("")
    (project / "migrations" / "env.py").write_text(_ENV)
    shutil.copy(SAMPLE / "migrations" / "script.py.mako", project / "migrations" / "script.py.mako")
    (project / "alembic.ini").write_text(_INI)
    (project / "migrator.toml").write_text('alembic_ini = "alembic.ini"\nmodels = "app.models:Base"\n')
    git(project, "init", "-q")
    heads = {"expand": None, "contract": None}
    releases: list[str] = []
    sections = example_sections(text)
    for n, (release, kind, body) in enumerate(sections):
        if release not in releases:
            releases.append(release)
        if kind == "models":
            (project / "app" / "models.py").write_text(MODELS_PREAMBLE + body + "\n")
        else:
            rid = f"{kind[0]}{n:03d}"
            (versions / f"{rid}.py").write_text(_REVISION.format(
                rid=rid, down=heads[kind], labels=None if heads[kind] else (kind,),
                depends=heads["expand"] if kind == "contract" and heads["expand"] else None,
                phase=kind, release=release, body="\n".join("    " + ln for ln in body.splitlines())))
            heads[kind] = rid
        last_of_release = all(r != release for r, _, _ in sections[n + 1:])
        if last_of_release:
            git(project, "add", "-A")
            git(project, "commit", "-q", "-m", f"release {release}")
            git(project, "tag", f"v{release}")
    return project, releases[-1]
