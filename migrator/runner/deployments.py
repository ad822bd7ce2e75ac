"""The record of deployments (``migrator_deployments``) and the release-typo guard.

A pipeline runs ``migrator deployed --release V`` once the rollout of V has finished. The record
serves two checks before anything is contracted:

- a release nobody knows is refused: ``contract --release 1.30.0`` where no revision declares
  1.30.0, no deployment of it is recorded and no application instance reported it is almost
  certainly a typo for 1.3.0, and it would apply every contract migration up to 1.30.0;
- with no instance registry, the gate needs the latest recorded deployment to be V or newer
  (``migrator.gate.core.decide_contract``): otherwise nothing says the old release is gone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from packaging.version import InvalidVersion, Version

from .history import now, who
from ..tables import deployments, instances


@dataclass(frozen=True)
class Deployment:
    release: str
    recorded_at: datetime
    recorded_by: str | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        return {"release": self.release, "recorded_at": self.recorded_at.isoformat(),
                "recorded_by": self.recorded_by, "note": self.note}


def record(conn, release_text: str, note: str | None = None) -> Deployment:
    """Insert one deployment row; the caller commits."""
    d = Deployment(release_text, now(), who(), note)
    conn.execute(sa.insert(deployments).values(release=d.release, recorded_at=d.recorded_at,
                                               recorded_by=d.recorded_by, note=d.note))
    return d


def recorded(conn) -> list[Deployment]:
    """Every recorded deployment, oldest first (none when the table does not exist yet)."""
    if not sa.inspect(conn).has_table(deployments.name):
        return []
    q = sa.select(deployments).order_by(deployments.c.id)
    return [Deployment(r.release, r.recorded_at, r.recorded_by, r.note) for r in conn.execute(q)]


def registered_releases(conn) -> set[str]:
    """The releases application instances reported to the registry (live or not)."""
    if not sa.inspect(conn).has_table(instances.name):
        return set()
    return {r[0] for r in conn.execute(sa.select(instances.c.release).distinct())}


def _versions(texts) -> set[Version]:
    out = set()
    for t in texts:
        try:
            out.add(Version(str(t).strip()))
        except InvalidVersion:
            continue
    return out


def undeclared_note(v: Version, declared: set, what: str) -> str | None:
    """Said when no revision declares release V (``what`` the command does with the releases
    below it); None when one does."""
    if v in declared:
        return None
    newest = max(declared, default=None)
    beyond = f"; the newest release the catalog declares is {newest}" if newest else ""
    return f"no revision declares release {v}: {what} of releases <= {v} (none of its own){beyond}"


def unknown_release_message(v: Version, declared: set[Version], recorded_releases: set[str],
                            registered: set[str]) -> str | None:
    """Why contract V is refused as an unknown release, or None when V is known: declared by a
    revision, recorded as deployed, or reported by an application instance."""
    if v in declared or v in _versions(recorded_releases) or v in _versions(registered):
        return None
    known = sorted({d for d in declared if isinstance(d, Version)} | _versions(recorded_releases)
                   | _versions(registered))
    close = difflib.get_close_matches(str(v), [str(k) for k in known], n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]}?" if close else ""
    listed = ", ".join(str(k) for k in known[-8:]) or "none"
    return (f"contract {v} refused: release {v} is unknown. No revision declares it, no deployment "
            f"of it is recorded and no application instance reported it (known releases: {listed})."
            f"{hint} A mistyped release would apply every contract migration up to it. If {v} is "
            f"really deployed, record it first: `migrator deployed --release {v}`; or pass "
            "--release-unknown-ok to contract up to it anyway.")
