"""``check_models``: the three comparisons of one release (the CLI is a thin layer over it).

1. release V's models against the schema after expand V (every expand <= V, every contract < V):
   everything V maps exists;
2. release V-1's models (from git) against that same schema: nothing the running release maps is
   gone, no NOT NULL column it does not write appeared;
3. release V's models against the schema after contract V: the contract drops only what V no
   longer maps.
"""

from __future__ import annotations

import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path

from ..config import Config
from ..errors import RefusedError, UsageError
from ..releases import parse_release
from ..script import load_catalog
from .blame import Blame
from .compare import Keyed, compare
from .models import ModelSet, PathDisplay, load_models, parse_spec
from .previous import exported, last_release_tag, release_of, repo_top
from .report import CheckReport, Comparison
from .scratch import Plan, Replay, scratch_url

AUTO = "auto"  # --previous default: the last release tag below V


def import_root(config: Config, spec: str) -> Path:
    """Where the models' top-level package lives: the project root, or its ``src/``."""
    top = parse_spec(spec)[0].split(".")[0]
    for base in (config.root, config.root / "src"):
        if (base / top).is_dir() or (base / f"{top}.py").is_file():
            return base.resolve()
    return config.root.resolve()


def models_spec(config: Config, models: str | None) -> str:
    spec = models or config.models
    if not spec:
        raise UsageError("no models to check: pass --models MODULE:ATTRIBUTE (e.g. app.models:Base) "
                         "or set models = \"...\" in [tool.migrator]")
    parse_spec(spec)
    return spec


def check_models(config: Config, release: str, *, models: str | None = None,
                 previous: str | None = AUTO, database_url: str | None = None) -> CheckReport:
    """Replay the migrations of releases <= ``release`` into a scratch database and compare.
    ``previous``: a git ref, ``"auto"`` (the last release tag below ``release``) or None (skip)."""
    t0 = time.perf_counter()
    spec = models_spec(config, models)
    v = parse_release(release)
    # caches (the catalog's, the gate's) go to a temporary directory: the check writes nothing
    # into the project
    # what migrations and models print goes to stderr: standard output carries the report
    with tempfile.TemporaryDirectory(prefix="migrator-check-cache-") as cache, redirect_stdout(sys.stderr):
        report = _check(config.with_overrides(cache_dir=cache), spec, v, previous, database_url)
    report.seconds = time.perf_counter() - t0
    return report


def _check(config: Config, spec: str, v, previous: str | None, database_url: str | None) -> CheckReport:
    catalog = load_catalog(config)
    root = import_root(config, spec)
    current = load_models(spec, root, label=f"release {v}")
    report = CheckReport(str(v), spec, "postgresql" if database_url else "sqlite")
    older = sorted({r.release for r in catalog.revisions if r.release < v})
    prev_models, skipped = None, None
    if previous is None:
        skipped = "skipped (--no-previous)"
    else:
        top = repo_top(root)
        ref = previous
        if previous == AUTO:
            found = last_release_tag(top, v)
            if found is None and older:
                raise UsageError(f"no release tag below {v} in {top} (releases {', '.join(map(str, older))} "
                                 "have migrations): pass --previous REF, or --no-previous")
            ref = found[0] if found else None
        if ref is None:
            skipped = f"skipped: no release before {v}"
        else:
            pv = release_of(top, ref)
            report.previous_ref, report.previous_release = ref, str(pv) if pv else None
            label = f"release {pv} (at {ref})" if pv else f"the code at {ref}"
            with exported(top, ref, root.relative_to(top)) as d:
                prev_models = load_models(spec, d / root.relative_to(top), label=label,
                                          display=PathDisplay(d, top))
    plan = Plan.of(catalog, v)
    blame = Blame(config, catalog, v)

    def _comparison(name: str, models: ModelSet, schema: str, found: list[Keyed]) -> Comparison:
        return _made(name, models, schema, found, blame)

    with scratch_url(database_url) as url:
        replay = Replay(config, url)
        try:
            if plan.prior_contract is not None:
                replay.expand(plan.prior_contract, catalog)
                replay.contract(plan.prior_contract, catalog)
            if plan.expand is not None:
                replay.expand(plan.expand, catalog)
            after_expand = f"the schema after expand {v}"
            with replay.connect() as conn:
                first = compare(current, conn, step="expand", schema_label=after_expand, rules=config.rules)
                report.comparisons.append(_comparison("expand", current, after_expand, first))
                if prev_models is not None:
                    found = compare(prev_models, conn, step="previous", schema_label=after_expand,
                                    rules=config.rules)
                    report.comparisons.append(_comparison("previous", prev_models, after_expand, found))
                else:
                    report.comparisons.append(Comparison("previous", f"release before {v}", after_expand,
                                                         skipped=skipped))
            after_contract = f"the schema after contract {v}"
            if plan.contract is None or plan.contract < v:
                report.comparisons.append(Comparison("contract", current.label, after_contract,
                                                     skipped=f"release {v} has no contract migrations"))
            else:
                replay.contract(plan.contract, catalog)
                with replay.connect() as conn:
                    found = compare(current, conn, step="contract", schema_label=after_contract,
                                    rules=config.rules)
                seen = {k.key for k in first}
                report.comparisons.append(_comparison("contract", current, after_contract,
                                                      [k for k in found if k.key not in seen]))
        except RefusedError as e:
            raise UsageError(f"cannot build the scratch schema: {e.message}") from None
    return report


def _made(name: str, models: ModelSet, schema: str, found: list[Keyed], blame: Blame) -> Comparison:
    """A comparison's findings, each told which migration removed or changed what it is about."""
    for k in found:
        if k.finding is not None:
            k.finding.message += blame.explain(k.key[0], k.key[1], k.key[2],
                                               phase="contract" if name == "contract" else None)
    findings = sorted((k.finding for k in found if k.finding is not None),
                      key=lambda f: (f.loc.path, f.loc.line, f.loc.column, f.rule, f.message))
    return Comparison(name, models.label, schema, findings)
