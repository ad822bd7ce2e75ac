"""The models against the live database (``gate ready --models``), and the refusal of a contract
that would break the models of the release that runs (``migrator contract`` with ``models``
configured)."""

from __future__ import annotations

from ..config import Config
from ..errors import RefusedError
from ..model import Finding, Severity
from ..releases import parse_release
from ..runner.db import check_reachable, make_engine
from .api import check_models, import_root, models_spec
from .compare import compare
from .models import load_models


def check_live(config: Config, url: str, release: str, *, models: str | None = None) -> list[Finding]:
    """Release ``release``'s models (the working tree) against the schema of the database at
    ``url``, read only."""
    spec = models_spec(config, models)
    current = load_models(spec, import_root(config, spec), label=f"release {parse_release(release)}")
    engine = make_engine(config.with_overrides(database_url=url))
    try:
        check_reachable(engine)
        with engine.connect() as conn:
            found = compare(current, conn, step="live", schema_label="the live schema",
                            rules=config.rules)
    finally:
        engine.dispose()
    return [k.finding for k in found if k.finding is not None]


def refuse_breaking_contract(config: Config, release: str) -> None:
    """Raise :class:`RefusedError` when the contract migrations of releases <= ``release``,
    replayed on a scratch database, drop or tighten what the release's models still map."""
    report = check_models(config, release, previous=None, database_url=config.models_database_url)
    contract = next(c for c in report.comparisons if c.name == "contract")
    errors = [f for f in contract.findings if f.severity is Severity.ERROR]
    if errors:
        lines = "\n".join(f"  {f.loc.path}:{f.loc.line}: {f.rule}: {f.message}" for f in errors[:10])
        raise RefusedError(f"contract {report.release} refused: it would break release {report.release}'s "
                           f"models ({report.models}):\n{lines}\nstop mapping what the contract drops "
                           "(or mark it info={\"migrator\": \"deprecated\"} with deferred=True), or move "
                           "the drop to a later release's contract")
