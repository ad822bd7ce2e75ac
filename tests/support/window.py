"""The window's invariant, asserted in every state a test reaches: C <= E, the window never
empty, ``status`` text and JSON showing the same window as the gate, and ``gate ready V``
passing only inside the window (and, with nothing half-applied, exactly inside it)."""

from __future__ import annotations

from migrator.cli.runner_cmd import window_text
from migrator.gate.core import evaluate
from migrator.releases import release_label
from migrator.runner import api
from migrator.window import Window

# the gate's reasons that are not about the window: they may fail a release the window admits
NOT_WINDOW = {"migration_failed", "migration_running", "invalid_index", "backfill_failed",
              "backfill_unfinished"}


def check_window(w: Window) -> None:
    """C <= E, and the JSON says what the object says."""
    c, e = w.min_release, w.max_release
    if c is not None:
        assert e is not None and c <= e, f"C={c} > E={e}: {w.as_dict()}"
    assert not w.empty, f"empty window {w.as_dict()}"
    if w.first_pending_expand is not None and e is not None:
        assert e < w.first_pending_expand
    doc = w.as_dict()
    assert doc["open_ended"] == (w.first_pending_expand is None)
    assert doc["min_release"] == (None if c is None else str(c))
    assert doc["max_release"] == (None if e is None else str(e))


def check_gate_agrees(w: Window, release, result, *, known: bool = True) -> None:
    """One gate ``ready`` answer against the window it was decided with; ``known``: a release
    some migration declares (then inside the window reads exactly C <= V <= E)."""
    assert result.window.as_dict() == w.as_dict(), (result.window.as_dict(), w.as_dict())
    inside = w.supports(release)
    if result.passed:
        assert inside, f"gate ready {release} passed outside the window {w.span()}"
    elif inside:
        errors = {r.code for r in result.reasons if r.severity == "error"}
        assert errors <= NOT_WINDOW, f"ready {release} inside {w.span()} failed for {errors}"
    if known:
        c, e = w.min_release, w.max_release
        assert inside == ((c is None or c <= release) and e is not None and release <= e), \
            f"{release} inside={inside} but C={c}, E={e}"


def assert_window_invariant(config) -> Window:
    """``status`` (object, JSON, text) and ``gate ready`` for every release the project knows,
    checked against each other. Returns the window."""
    status = api.status(config)
    w = status.window
    check_window(w)
    assert status.as_dict()["window"] == w.as_dict()
    text = window_text(w)
    assert f"C={w.min_release if w.min_release is not None else '-'}" in text
    assert f"E={w.max_release if w.max_release is not None else '-'}" in text
    releases = {release_label(m.release) for m in status.migrations} - {None}
    for v in sorted(releases):
        if str(v) == "baseline":
            continue
        check_gate_agrees(w, v, evaluate("ready", v, url=config.database_url, config=config))
    return w
