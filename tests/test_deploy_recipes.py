"""The deploy recipes in docs/deploy/ are runnable as written: every YAML parses, each recipe has
the structure its tool needs, and the ``migrator`` command lines in it run, in order, against a
real database with the sample project (the release substituted for the recipe's variable)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import click
import pytest
import yaml

from tests.test_gate_support import ROOT, SAMPLE, run_cli

DEPLOY = ROOT / "docs" / "deploy"
YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))
RELEASE = "1.1.0"
VARIABLES = {"RELEASE": RELEASE, "CI_COMMIT_TAG": RELEASE, "READY_WAIT": "30", "CONTRACT_WAIT": "30"}


def documents(path: Path) -> list:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def strings(node):
    """Every string in a YAML tree in document order; a list starting with "migrator" (an exec
    form ``command: [...]``) is one command line."""
    if isinstance(node, dict):
        for v in node.values():
            yield from strings(v)
    elif isinstance(node, list):
        if node and node[0] == "migrator" and all(isinstance(x, str) for x in node):
            yield shlex.join(node)
        else:
            for v in node:
                yield from strings(v)
    elif isinstance(node, str):
        yield node


def migrator_commands(path: Path) -> list[list[str]]:
    """The migrator command lines of a file, as argument lists (continuations joined)."""
    out = []
    for doc in documents(path):
        for s in strings(doc):
            for line in s.replace("\\\n", " ").splitlines():
                m = re.search(r"(?:^|[\s;&|(])(migrator\s+[a-z].*)$", line.strip())
                if m:
                    out.append(shlex.split(m.group(1), comments=True)[1:])
    return out


def substitute(args: list[str]) -> list[str]:
    def expand(token: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: VARIABLES.get(m.group(1), m.group(0)), token)

    args = [expand(a) for a in args]
    for flag, value in (("--wait", "30"), ("--interval", "0.2")):
        if flag in args:
            args[args.index(flag) + 1] = value
    return args


def recipe_dirs() -> list[str]:
    """Recipes with commands to run (``serve`` only is not: it is parsed, not run)."""
    return sorted({p.relative_to(DEPLOY).parts[0] for p in YAML_FILES
                   if any(a[0] != "serve" for a in migrator_commands(p))})


def test_the_recipes_with_commands_are_all_there():
    assert recipe_dirs() == ["argocd", "flux", "github", "gitlab", "helm"]


def test_every_yaml_file_parses_and_the_readme_lists_it():
    assert len(YAML_FILES) >= 10
    readme = (DEPLOY / "README.md").read_text()
    for path in YAML_FILES:
        assert documents(path), path
        if path.name not in ("Chart.yaml", "values.yaml", "kustomization.yaml", "contract-job.yaml",
                             "expand-job.yaml"):
            assert str(path.relative_to(DEPLOY)) in readme, f"{path} is not described in README.md"


def test_every_migrator_command_line_parses_with_the_real_cli():
    from migrator.cli import cli

    seen = set()
    for path in YAML_FILES:
        for args in migrator_commands(path):
            args = substitute(args)
            seen.add(args[0])
            command = cli.get_command(click.Context(cli), args[0])
            assert command is not None, f"{path}: unknown command migrator {args[0]}"
            if isinstance(command, click.Group):
                continue
            command.make_context(args[0], args[1:])  # raises on an unknown option or bad value
    assert {"expand", "gate", "contract", "lint", "serve", "status"} <= seen


def test_helm_hooks():
    expand = documents(DEPLOY / "helm/templates/db-expand-job.yaml")[0]
    contract = documents(DEPLOY / "helm/templates/db-contract-job.yaml")[0]
    assert expand["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert contract["metadata"]["annotations"]["helm.sh/hook"] == "post-upgrade"
    assert [a[:2] for a in migrator_commands(DEPLOY / "helm/templates/db-expand-job.yaml")] == \
        [["expand", "--release"], ["gate", "ready"]]
    assert expand["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_argo_rollouts_analysis_uses_the_decision_endpoint():
    (template,) = documents(DEPLOY / "argo-rollouts/analysis-template.yaml")
    assert template["kind"] == "AnalysisTemplate"
    metric = template["spec"]["metrics"][0]
    assert metric["successCondition"] == 'result == "pass"'
    assert metric["provider"]["web"]["jsonPath"] == "{$.result}"
    assert "/v1/gate/{{args.gate}}?release={{args.release}}" in metric["provider"]["web"]["url"]
    canary = documents(DEPLOY / "argo-rollouts/rollout-canary.yaml")[0]
    steps = canary["spec"]["strategy"]["canary"]["steps"]
    assert steps[0]["analysis"]["templates"][0]["templateName"] == "migrator-schema-gate"
    bluegreen = documents(DEPLOY / "argo-rollouts/rollout-bluegreen.yaml")[0]
    assert bluegreen["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"]["templates"][0][
        "templateName"] == "migrator-schema-gate"


def test_argocd_hooks_are_presync_and_postsync():
    docs = documents(DEPLOY / "argocd/db-hooks.yaml")
    assert [d["metadata"]["annotations"]["argocd.argoproj.io/hook"] for d in docs] == ["PreSync", "PostSync"]


def test_flux_chain_is_expand_then_app_then_contract():
    docs = {d["metadata"]["name"]: d for d in documents(DEPLOY / "flux/clusters/app-kustomizations.yaml")}
    assert "dependsOn" not in docs["db-expand"]["spec"]
    assert docs["app"]["spec"]["dependsOn"] == [{"name": "db-expand"}]
    assert docs["db-contract"]["spec"]["dependsOn"] == [{"name": "app"}]
    assert all(d["spec"]["wait"] is True for d in docs.values())
    for name in ("db-expand", "db-contract"):
        path = DEPLOY / "flux" / docs[name]["spec"]["path"].replace("./deploy/", "")
        kustomization = documents(path / "kustomization.yaml")[0]
        for resource in kustomization["resources"]:
            assert documents(path / resource)[0]["kind"] == "Job"


def test_github_workflow_lints_with_sarif_on_pull_requests_and_releases_in_order():
    (wf,) = documents(DEPLOY / "github/migrations.yml")
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in on
    lint = wf["jobs"]["lint"]
    assert lint["permissions"]["security-events"] == "write"
    upload = [s for s in lint["steps"] if "upload-sarif" in s.get("uses", "")]
    assert upload and upload[0]["if"] == "always()" and upload[0]["with"]["sarif_file"] == "migrator.sarif"
    runs = [s.get("run", "") for s in wf["jobs"]["release"]["steps"]]
    order = [next(i for i, r in enumerate(runs) if key in r) for key in
             ("migrator expand", "migrator gate ready", "kubectl rollout status",
              "migrator gate contract", "migrator contract")]
    assert order == sorted(order)


def test_gitlab_pipeline_reports_code_quality_and_serializes_releases():
    (ci,) = documents(DEPLOY / "gitlab/.gitlab-ci.yml")
    assert ci["stages"] == ["lint", "expand", "deploy", "contract"]
    assert ci["lint-migrations"]["artifacts"]["reports"]["codequality"] == "gl-code-quality-report.json"
    assert ci[".release"]["resource_group"]


@pytest.mark.parametrize("recipe", recipe_dirs())
def test_recipe_commands_run_in_order_against_the_sample_project(recipe, pg_server, tmp_path, monkeypatch, capsys):
    files = sorted((p for p in YAML_FILES if p.relative_to(DEPLOY).parts[0] == recipe),
                   key=lambda p: ("contract" in p.name, str(p)))
    commands = [substitute(a) for p in files for a in migrator_commands(p)]
    runnable = [a for a in commands if a[0] != "serve"]  # serve is a server: parsed above
    project = tmp_path / "project"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("*.db", "__pycache__"))
    url = pg_server.new_database()
    try:
        monkeypatch.chdir(project)
        monkeypatch.setenv("MIGRATOR_DATABASE_URL", url)
        ran = []
        for args in runnable:
            code, out, err = run_cli(args, capsys)
            assert code == 0, f"{recipe}: migrator {' '.join(args)} exited {code}\n{out}\n{err}"
            assert "s3cret" not in out + err
            ran.append(args[0] if args[0] != "gate" else f"gate {args[1]}")
            if args[0] == "lint" and "--output" in args:
                report = json.loads((project / args[args.index("--output") + 1]).read_text())
                if "sarif" in args:
                    assert report["version"] == "2.1.0" and report["runs"]
                else:
                    assert isinstance(report, list)  # Code Quality: a list of issues (none here)
        if "expand" in ran:
            assert ran.index("expand") < ran.index("gate ready")
        if "contract" in ran:
            assert ran.index("deployed") < ran.index("gate contract") < ran.index("contract")
        code, out, _ = run_cli(["gate", "ready", "--release", RELEASE, "--format", "json"], capsys)
        assert code == 0 and json.loads(out)["verdict"] == "pass"
    finally:
        pg_server.drop_database(url)
