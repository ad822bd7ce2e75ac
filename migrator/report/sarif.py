"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning reads it."""

from __future__ import annotations

from pathlib import Path

from .fingerprint import fingerprints
from .json import encode
from .. import __version__
from .paths import relative_uri, repo_root
from .rulemeta import RuleMeta, catalog_meta, fallback

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/migrator-dev/migrator"
_LEVEL = {"error": "error", "warning": "warning"}


def _version() -> str:
    return __version__


def _rule_entry(meta: RuleMeta) -> dict:
    text = meta.summary
    full = meta.why.strip() or meta.summary
    help_text = "\n\n".join(p for p in (meta.summary, meta.why.strip(),
                                         f"Fix:\n{meta.fix.strip()}" if meta.fix.strip() else "") if p)
    return {
        "id": meta.name,
        "name": "".join(part.capitalize() for part in meta.name.replace("_", "-").split("-")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": full},
        "help": {"text": help_text, "markdown": meta.markdown or help_text},
        "defaultConfiguration": {"level": _LEVEL.get(meta.severity, "warning")},
        "properties": {"tags": ["migration", "postgresql"]},
    }


def build(report, *, root: Path | None = None, rules: list[RuleMeta] | None = None) -> dict:
    """The SARIF log as a dict. ``root``: what URIs are relative to (git top-level or cwd)."""
    root = (root or repo_root()).resolve()
    metas = list(catalog_meta() if rules is None else rules)
    index = {m.name: i for i, m in enumerate(metas)}
    for m in report.migrations:
        for f in m.findings:
            if f.rule not in index:
                index[f.rule] = len(metas)
                metas.append(fallback(f.rule, f.severity.value, f.message))

    def rel(p: str) -> str:
        return relative_uri(p, root)

    prints = fingerprints(report, rel)
    results = []
    for m in report.migrations:
        for f in m.findings:
            message = f.message + (f"\nFix: {f.fix}" if f.fix else "")
            results.append({
                "ruleId": f.rule,
                "ruleIndex": index[f.rule],
                "level": _LEVEL[f.severity.value],
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": rel(f.loc.path), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": max(1, f.loc.line), "startColumn": max(1, f.loc.column)},
                    }
                }],
                "partialFingerprints": {"migratorFindingHash/v1": prints[id(f)]},
            })
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "migrator",
                "informationUri": INFORMATION_URI,
                "version": _version(),
                "rules": [_rule_entry(m) for m in metas],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root.as_uri().rstrip("/") + "/"}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render(report, *, root: Path | None = None, rules: list[RuleMeta] | None = None, **_context) -> str:
    return encode(build(report, root=root, rules=rules), indent=True) + "\n"
