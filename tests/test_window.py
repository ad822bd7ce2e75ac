from packaging.version import Version as V

from migrator.window import MigrationRecord as R, compute_window


def test_window_after_expand_of_next_release_admits_old_and_new_code():
    w = compute_window([
        R("a", "expand", V("1.0.0"), "applied"),
        R("b", "expand", V("1.1.0"), "applied"),
        R("c", "contract", V("1.3.0"), "pending"),
    ])
    assert w.supports(V("1.0.0")) and w.supports(V("1.1.0"))
    # 1.3.0 declares no expand of its own: it is served once every expand before it is applied
    assert w.min_release is None and w.max_release == V("1.3.0") and w.open_ended
    assert w.supports(V("1.3.0")) and w.as_dict()["open_ended"] is True


def test_pending_expand_excludes_its_release_but_not_older_ones():
    w = compute_window([
        R("a", "expand", V("1.0.0"), "applied"),
        R("b", "expand", V("1.1.0"), "pending"),
        R("c", "expand", V("1.2.0"), "applied"),
    ])
    assert w.supports(V("1.0.5")) and not w.supports(V("1.1.0")) and not w.supports(V("1.2.0"))
    assert w.max_release == V("1.0.0") and w.first_pending_expand == V("1.1.0")


def test_applied_contract_excludes_older_code():
    w = compute_window([
        R("a", "expand", V("1.0.0"), "applied"),
        R("c", "contract", V("1.3.0"), "applied"),
    ])
    assert not w.supports(V("1.2.0")) and w.supports(V("1.3.0"))
    assert w.min_release == V("1.3.0")


def test_failed_expand_counts_as_not_applied():
    w = compute_window([R("a", "expand", V("1.0.0"), "failed")])
    assert not w.supports(V("1.0.0")) and w.max_release is None
