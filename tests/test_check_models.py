"""`migrator check --models`: every release's models of the sample project (in a git history the
test builds, one commit and tag per release) against the schema its migrations leave, replayed
into a scratch SQLite file or a scratch PostgreSQL database; seeded mistakes caught with the file
and line of the model attribute that relies on what is missing."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from migrator.check.api import check_models
from migrator.errors import UsageError
from tests.support.models_repo import RELEASES, config_of, example_repo, git, sample_repo
from tests.support.sample import cli, engine

MODELS = "app.models:Base"


@pytest.fixture(params=["sqlite", "postgres"])
def scratch(request):
    """None: the default temporary SQLite file; else a PostgreSQL server URL."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return sample_repo(tmp_path_factory.mktemp("models"))


@pytest.fixture
def project(tmp_path):
    """A fresh sample repository, working tree at release 1.3.0, for seeding mistakes."""
    return sample_repo(tmp_path)


def check(project: Path, release: str = "1.3.0", scratch: str | None = None, **kw):
    return check_models(config_of(project), release, models=MODELS, database_url=scratch, **kw)


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text().splitlines()
    found = [i for i, text in enumerate(lines, 1) if needle in text]
    assert len(found) == 1, (needle, found)
    return found[0]


def by_rule(report) -> dict[str, list]:
    out: dict[str, list] = {}
    for c in report.comparisons:
        for f in c.findings:
            out.setdefault(f.rule, []).append((c.name, f))
    return out


def add_expand(project: Path, body: str, name: str = "e130_seeded") -> Path:
    path = project / "migrations" / "versions" / f"{name}.py"
    path.write_text(
        "from alembic import op\nimport sqlalchemy as sa\n\n"
        f"revision = {name!r}\ndown_revision = 'e120_relax_name_columns'\nbranch_labels = None\n"
        "depends_on = None\nphase = 'expand'\nrelease = '1.3.0'\n\n\n"
        "def upgrade():\n" + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n\ndef downgrade():\n    pass\n")
    return path


def edit_models(project: Path, old: str, new: str) -> Path:
    path = project / "app" / "models.py"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


# -- the sample project's history passes -------------------------------------------------------------

@pytest.mark.parametrize("release", RELEASES)
def test_every_sample_release_passes_every_comparison(repo, release, scratch):
    git(repo.parent, "checkout", "-q", f"v{release}")
    try:
        report = check(repo, release, scratch)
    finally:
        git(repo.parent, "checkout", "-q", "main")
    assert report.findings == [], [f.as_dict() for f in report.findings]
    names = {c.name: c for c in report.comparisons}
    assert set(names) == {"expand", "previous", "contract"}
    assert names["expand"].skipped is None
    if release == "1.0.0":
        assert names["previous"].skipped and "no release before" in names["previous"].skipped
    else:
        prev = RELEASES[RELEASES.index(release) - 1]
        assert names["previous"].skipped is None and report.previous_ref == f"v{prev}"
        assert names["previous"].models == f"release {prev} (at v{prev})"
    # 1.2.0 and 1.3.0 ship contract migrations; 1.0.0 and 1.1.0 do not
    assert (names["contract"].skipped is None) == (release in ("1.2.0", "1.3.0"))


def test_the_check_leaves_the_working_tree_and_git_state_alone(project):
    before = git(project.parent, "status", "--porcelain", "--untracked-files=all")
    worktrees = git(project.parent, "worktree", "list")
    report = check(project)
    assert report.errors == 0
    assert git(project.parent, "status", "--porcelain", "--untracked-files=all") == before
    assert git(project.parent, "worktree", "list") == worktrees


def test_a_postgres_scratch_database_is_made_beside_the_url_and_dropped(pg_url):
    project_dir = None
    report = None
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        project_dir = sample_repo(Path(d))
        report = check(project_dir, "1.3.0", pg_url)
    assert report.database == "postgresql" and report.errors == 0
    e = engine(pg_url)
    try:
        with e.connect() as c:
            left = c.execute(sa.text("SELECT datname FROM pg_database WHERE datname LIKE 'migrator_check_%'")).all()
            tables = sa.inspect(c).get_table_names()
    finally:
        e.dispose()
    assert left == [] and tables == []  # the named database was never written to


# -- seeded mistakes, each at its file and line ---------------------------------------------------------

def test_a_mapped_attribute_with_no_column_after_expand(project, scratch):
    models = edit_models(project, "    email: Mapped[str]",
                         "    nickname: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    report = check(project, scratch=scratch)
    [(step, f)] = by_rule(report)["models-not-expanded"]
    assert step == "expand" and f.severity.value == "error"
    assert Path(f.loc.path).resolve() == models.resolve()
    assert f.loc.line == line_of(models, "nickname: Mapped") and f.loc.column == 5
    assert "users.nickname" in f.message and "User.nickname" in f.message
    assert set(by_rule(report)) == {"models-not-expanded"}


def test_an_expand_dropping_a_column_the_previous_release_maps(project, scratch):
    add_expand(project, '''\
        with op.batch_alter_table("orders") as batch:
            batch.drop_column("created_at")
    ''')
    edit_models(project, "    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), "
                         "server_default=func.now())\n", "")
    report = check(project, scratch=scratch)
    [(step, f)] = by_rule(report)["expand-breaks-previous-models"]
    assert step == "previous"
    # release 1.2.0's models, at the tag: the repository's path and the line in that version
    previous_text = git(project.parent, "show", "v1.2.0:sample_project/app/models.py")
    expected = next(i for i, t in enumerate(previous_text.splitlines(), 1) if "created_at: Mapped" in t)
    assert Path(f.loc.path).resolve() == (project / "app" / "models.py").resolve()
    assert f.loc.line == expected
    assert "orders.created_at" in f.message and "release 1.2.0 (at v1.2.0)" in f.message
    # and the migration that removed it
    seeded = project / "migrations" / "versions" / "e130_seeded.py"
    # (Alembic renders a batch's statements at its `with` line)
    assert any(f"(dropped by {p}:{line_of(seeded, needle)})" in f.message
               for p in ("migrations/versions/e130_seeded.py", str(seeded))
               for needle in ("batch_alter_table", "drop_column")), f.message
    assert set(by_rule(report)) == {"expand-breaks-previous-models"}


def test_a_contract_dropping_a_column_the_release_still_maps(project, scratch):
    models = edit_models(project, "    email: Mapped[str]",
                         "    first_name: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    report = check(project, scratch=scratch)
    [(step, f)] = by_rule(report)["contract-breaks-models"]
    assert step == "contract"
    assert f.loc.line == line_of(models, "first_name: Mapped")
    assert "users.first_name" in f.message and "after contract 1.3.0" in f.message
    assert "dropped by" in f.message and "c130_drop_name_columns.py:" in f.message
    assert set(by_rule(report)) == {"contract-breaks-models"}


def test_a_deprecated_deferred_column_may_be_dropped_by_the_contract(project):
    edit_models(project, "    email: Mapped[str]",
                "    first_name: Mapped[str | None] = mapped_column(Text, deferred=True, "
                "info={\"migrator\": \"deprecated\"})\n    email: Mapped[str]")
    assert check(project).findings == []


def test_a_deprecated_column_that_queries_still_load_is_still_a_finding(project):
    models = edit_models(project, "    email: Mapped[str]",
                         "    first_name: Mapped[str | None] = mapped_column(Text, "
                         "info={\"migrator\": \"deprecated\"})\n    email: Mapped[str]")
    [(step, f)] = by_rule(check(project))["contract-breaks-models"]
    assert "deferred=True" in f.message and f.loc.line == line_of(models, "first_name: Mapped")


def test_a_not_null_column_without_default_the_previous_release_never_writes(project, scratch):
    add_expand(project, '''\
        with op.batch_alter_table("users") as batch:
            batch.add_column(sa.Column("plan", sa.Text(), nullable=False))
    ''')
    edit_models(project, "    email: Mapped[str]",
                "    plan: Mapped[str] = mapped_column(Text, nullable=False)\n    email: Mapped[str]")
    report = check(project, scratch=scratch)
    [(step, f)] = by_rule(report)["unwritten-not-null-column"]
    assert step == "previous"
    previous_text = git(project.parent, "show", "v1.2.0:sample_project/app/models.py")
    assert f.loc.line == next(i for i, t in enumerate(previous_text.splitlines(), 1) if t.startswith("class User("))
    assert "users.plan NOT NULL without a default" in f.message and "release 1.2.0" in f.message
    assert "added by" in f.message and "e130_seeded.py:" in f.message
    assert set(by_rule(report)) == {"unwritten-not-null-column"}


def test_a_type_narrowed_under_a_mapped_column(project, scratch):
    add_expand(project, '''\
        with op.batch_alter_table("users") as batch:
            batch.alter_column("email", type_=sa.String(100), existing_type=sa.String(255),
                               existing_nullable=False)
    ''')
    models = project / "app" / "models.py"
    report = check(project, scratch=scratch)
    found = by_rule(report)["model-type-mismatch"]
    assert sorted(step for step, _ in found) == ["expand", "previous"]
    for step, f in found:
        assert "users.email" in f.message and "100" in f.message
        assert "changed by" in f.message and "e130_seeded.py:" in f.message
        if step == "expand":
            assert f.loc.line == line_of(models, "email: Mapped")
    assert set(by_rule(report)) == {"model-type-mismatch"}


def test_a_release_that_maps_a_nullable_column_the_contract_makes_not_null(project):
    models = edit_models(project, "full_name: Mapped[str] = mapped_column(Text, nullable=False, index=True)",
                         "full_name: Mapped[str | None] = mapped_column(Text, index=True)")
    [(step, f)] = by_rule(check(project))["unwritten-not-null-column"]
    assert step == "contract" and f.loc.line == line_of(models, "full_name: Mapped")


def test_a_core_table_column_is_located_at_its_column_call(tmp_path):
    project, release = example_repo(tmp_path, '''\
# release 1.0.0 expand
op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))

# release 1.0.0 models
tags = sa.Table(
    "tags", Base.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("label", sa.Text),
)
''')
    report = check_models(config_of(project), release)
    [(step, f)] = by_rule(report)["models-not-expanded"]
    assert f.loc.line == line_of(project / "app" / "models.py", 'sa.Column("label"')
    assert "tags.label" in f.message


# -- configuration and refusals -------------------------------------------------------------------------

def test_models_come_from_tool_migrator_and_a_rule_can_be_turned_off(project):
    (project / "migrator.toml").write_text((project / "migrator.toml").read_text()
                                           + 'models = "app.models:Base"\n[rules]\n')
    edit_models(project, "    email: Mapped[str]",
                "    nickname: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    config = config_of(project)
    assert config.models == MODELS
    assert check_models(config, "1.3.0").errors == 1
    quiet = config.with_overrides(rules={"models-not-expanded": "off"})
    assert check_models(quiet, "1.3.0").findings == []


def test_without_a_release_tag_below_v_the_previous_release_must_be_named(project):
    for tag in ("v1.0.0", "v1.1.0", "v1.2.0"):
        git(project.parent, "tag", "-d", tag)
    with pytest.raises(UsageError, match="no release tag below 1.3.0"):
        check(project)
    report = check(project, previous=None)
    assert report.comparisons[1].skipped == "skipped (--no-previous)"
    report = check(project, previous="HEAD~1")
    assert report.previous_ref == "HEAD~1" and report.comparisons[1].skipped is None


def test_an_unknown_previous_ref_is_a_usage_error(project):
    with pytest.raises(UsageError, match="not a commit"):
        check(project, previous="no-such-ref")


def test_models_that_cannot_be_imported_name_the_file_and_line(project):
    models = edit_models(project, "RELEASE = \"1.3.0\"", "RELEASE = \"1.3.0\"\nimport not_installed_module")
    with pytest.raises(UsageError) as e:
        check(project)
    assert e.value.path.endswith("app/models.py") and e.value.line == line_of(models, "import not_installed")
    assert "not_installed_module" in e.value.message


# -- the command line --------------------------------------------------------------------------------

def test_cli_exit_codes_and_formats(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = cli(["check", "--models", MODELS, "--release", "1.3.0"], capsys)
    assert code == 0, err
    assert "vs the schema after contract 1.3.0: ok" in out and "0 errors" in out
    edit_models(project, "    email: Mapped[str]",
                "    nickname: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    code, out, err = cli(["check", "--models", MODELS, "--release", "1.3.0", "--format", "json"], capsys)
    assert code == 1, err
    doc = json.loads(out)
    assert doc["version"] == 1 and doc["release"] == "1.3.0" and doc["summary"]["errors"] == 1
    assert doc["previous"] == {"ref": "v1.2.0", "release": "1.2.0"}
    [finding] = [f for c in doc["comparisons"] for f in c["findings"]]
    assert finding["rule"] == "models-not-expanded" and finding["path"] == "app/models.py"
    code, out, _ = cli(["check", "--models", MODELS, "--release", "1.3.0", "--format", "sarif"], capsys)
    sarif = json.loads(out)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "models-not-expanded"
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "sample_project/app/models.py"
    code, out, _ = cli(["check", "--models", MODELS, "--release", "1.3.0", "--format", "github"], capsys)
    assert "::error file=sample_project/app/models.py,line=" in out
    code, out, _ = cli(["check", "--models", MODELS, "--release", "1.3.0", "--format", "gitlab"], capsys)
    assert json.loads(out)[0]["check_name"] == "models-not-expanded"


@pytest.mark.parametrize("args,message", [
    (["--models", "app.models"], "MODULE:ATTRIBUTE"),
    (["--models", "app.models:Nope"], "Nope"),
    (["--models", MODELS, "--database-url", "sqlite:///x.db"], "PostgreSQL server"),
    (["--models", MODELS, "--previous", "v1.2.0", "--no-previous"], "exclude each other"),
])
def test_cli_bad_input_is_exit_2_with_one_line(project, capsys, monkeypatch, args, message):
    monkeypatch.chdir(project)
    code, out, err = cli(["check", "--release", "1.3.0", *args], capsys)
    assert code == 2 and message in err and "Traceback" not in err


def test_cli_unreachable_scratch_server_is_exit_3_without_the_password(project, capsys, monkeypatch):
    monkeypatch.chdir(project)
    code, out, err = cli(["check", "--models", MODELS, "--release", "1.3.0", "--database-url",
                          "postgresql://u:hunter2pw@127.0.0.1:1/db"], capsys)
    assert code == 3 and "hunter2pw" not in err + out


# -- gate ready --models and the contract refusal ---------------------------------------------------------

def _sample_with_models(tmp_path: Path, release: str, *, configured: bool = False) -> Path:
    from tests.support.models_repo import sample_models
    from tests.support.sample import copy_sample

    project = copy_sample(tmp_path)
    (project / "app" / "models.py").write_text(sample_models(release))
    if configured:
        (project / "migrator.toml").write_text((project / "migrator.toml").read_text()
                                               + 'models = "app.models:Base"\n')
    return project


def test_gate_ready_with_models_compares_the_live_schema(tmp_path, capsys, monkeypatch):
    from migrator.runner import api
    from tests.support.sample import config_for

    project = _sample_with_models(tmp_path, "1.1.0")
    url = f"sqlite:///{tmp_path / 'live.db'}"
    assert api.expand(config_for(project, url), "1.1.0").ok
    monkeypatch.chdir(project)
    args = ["gate", "ready", "--release", "1.1.0", "--database-url", url, "--format", "json"]
    code, out, err = cli([*args, "--models", MODELS], capsys)
    assert code == 0, out + err
    assert json.loads(out)["verdict"] == "pass"
    models = edit_models(project, "    email: Mapped[str]",
                         "    nickname: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    code, out, err = cli([*args, "--models", MODELS], capsys)
    doc = json.loads(out)
    assert code == 1 and doc["verdict"] == "fail"
    [reason] = [r for r in doc["reasons"] if r["code"] == "models_mismatch"]
    assert f"app/models.py:{line_of(models, 'nickname: Mapped')}: models-not-expanded" in reason["message"]
    code, out, err = cli(args, capsys)  # without --models the gate does not look at them
    assert code == 0


def test_contract_refuses_to_drop_what_the_running_release_still_maps(tmp_path, capsys, monkeypatch):
    from migrator.runner import api
    from tests.support.sample import columns, config_for

    project = _sample_with_models(tmp_path, "1.2.0", configured=True)
    url = f"sqlite:///{tmp_path / 'live.db'}"
    config = config_for(project, url)
    assert api.expand(config, "1.3.0").ok
    api.deployed(config, "1.2.0")
    assert api.contract(config, "1.2.0").ok
    api.deployed(config, "1.3.0")
    models = edit_models(project, "    email: Mapped[str]",
                         "    first_name: Mapped[str | None] = mapped_column(Text)\n    email: Mapped[str]")
    monkeypatch.chdir(project)
    code, out, err = cli(["contract", "--release", "1.3.0", "--database-url", url], capsys)
    assert code == 1, out + err
    assert "contract 1.3.0 refused" in err and "contract-breaks-models" in err
    assert f"app/models.py:{line_of(models, 'first_name: Mapped')}" in err
    assert "first_name" in columns(url, "users")  # nothing was applied
    edit_models(project, "    first_name: Mapped[str | None] = mapped_column(Text)\n", "")
    code, out, err = cli(["contract", "--release", "1.3.0", "--database-url", url], capsys)
    assert code == 0, out + err
    assert "first_name" not in columns(url, "users")


# -- hostile or untidy models --------------------------------------------------------------------------

class _WorkingTreeFinder:
    """What an editable install puts on sys.meta_path: `app` always from one fixed directory."""

    def __init__(self, root: Path):
        self.root = str(root)

    def find_spec(self, name, path=None, target=None):
        import importlib.machinery

        if name == "app":
            return importlib.machinery.PathFinder.find_spec(name, [self.root])
        return None


def test_the_previous_release_is_imported_from_git_even_over_an_editable_install(project, monkeypatch):
    import sys

    add_expand(project, '''\
        with op.batch_alter_table("orders") as batch:
            batch.drop_column("created_at")
    ''')
    edit_models(project, "    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), "
                         "server_default=func.now())\n", "")
    monkeypatch.setattr(sys, "meta_path", [_WorkingTreeFinder(project), *sys.meta_path])
    report = check(project)
    assert [f.rule for f in report.findings] == ["expand-breaks-previous-models"]


def test_what_the_models_print_does_not_spoil_the_json_report(project, capsys, monkeypatch):
    edit_models(project, 'RELEASE = "1.3.0"', 'RELEASE = "1.3.0"\nprint("loading models")')
    monkeypatch.chdir(project)
    code, out, err = cli(["check", "--models", MODELS, "--release", "1.3.0", "--format", "json"], capsys)
    assert code == 0 and json.loads(out)["summary"]["errors"] == 0
    assert "loading models" in err


def test_models_that_exit_at_import_are_a_usage_error(project, capsys, monkeypatch):
    models = edit_models(project, 'RELEASE = "1.3.0"', 'RELEASE = "1.3.0"\nraise SystemExit(0)')
    monkeypatch.chdir(project)
    code, out, err = cli(["check", "--models", MODELS, "--release", "1.3.0"], capsys)
    assert code == 2 and f"models.py:{line_of(models, 'SystemExit')}" in err and "SystemExit" in err


def test_a_model_mapped_on_a_view_is_compared_with_the_view(tmp_path):
    history = '''\
# release 1.0.0 expand
op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("email", sa.Text))
op.execute("CREATE VIEW active_users AS SELECT id, email FROM users")

# release 1.0.0 models
class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.Text)


class ActiveUser(Base):
    __tablename__ = "active_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(sa.Text)
'''
    project, release = example_repo(tmp_path / "ok", history)
    assert check_models(config_of(project), release).findings == []
    project, release = example_repo(tmp_path / "bad", history.replace("SELECT id, email FROM", "SELECT id FROM"))
    [f] = check_models(config_of(project), release).findings
    assert f.rule == "models-not-expanded" and "active_users.email" in f.message
