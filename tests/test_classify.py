"""The phase classifier: one operation's phase, one migration's phase, and the promise that the
rules and the classifier never disagree about what is rejected."""

from __future__ import annotations

import pytest

from migrator.lint.classify import base_phase, evaluate, migration_phase, operation_phase
from migrator.lint.context import MigrationContext
from migrator.lint.engine import parse_source
from migrator.lint.state import SchemaState
from migrator.model import (ColumnSpec, ConstraintSpec, Location, MigrationPhase, Operation,
                            Phase, Severity)
from migrator.sources.sqlfiles import sql_source
from tests.cases.harness import lint_text, load_cases

E, C, N, R, U = Phase.EXPAND, Phase.CONTRACT, Phase.NEUTRAL, Phase.REJECTED, Phase.UNKNOWN
LOC = Location("m.sql", 3, 1)


def op(kind, **facts) -> Operation:
    return Operation(kind=kind, loc=LOC, sql="...", **facts)


def walk(ctx: MigrationContext, *ops: Operation) -> list[Phase]:
    out = []
    for o in ops:
        ctx.before(o)
        out.append(operation_phase(o, ctx))
        ctx.after(o)
    return out


# --- migration phase --------------------------------------------------------------------------

@pytest.mark.parametrize("phases,declared,expected", [
    ([], None, MigrationPhase.EMPTY),
    ([], "contract", MigrationPhase.EMPTY),
    ([N, N], None, MigrationPhase.EXPAND),
    ([N], "expand", MigrationPhase.EXPAND),
    ([N, U], "contract", MigrationPhase.CONTRACT),
    ([E, N], "contract", MigrationPhase.EXPAND),
    ([C, N, C], None, MigrationPhase.CONTRACT),
    ([E, C], None, MigrationPhase.MIXED),
    ([E, R], None, MigrationPhase.EXPAND),
    ([R], "contract", MigrationPhase.CONTRACT),
])
def test_migration_phase_ignores_neutral_and_defaults_to_declared(phases, declared, expected):
    assert migration_phase(phases, declared) is expected


def test_migration_phase_of_operations_skips_transaction_control():
    begin, commit = op("begin"), op("commit")
    begin.phase = commit.phase = N
    assert migration_phase([begin, commit]) is MigrationPhase.EMPTY


def test_a_file_of_comments_only_is_empty():
    assert lint_text("-- nothing here yet\n").migrations[0].phase is MigrationPhase.EMPTY


# --- one operation, straight from the model ---------------------------------------------------

def test_index_on_a_table_created_earlier_is_expand_and_marked():
    ctx = MigrationContext()
    create = op("create_table", table="t", columns=[ColumnSpec("a", "int")])
    index = op("create_index", table="t", name="t_a", columns=[ColumnSpec("a")])
    assert walk(ctx, create, index) == [E, E]
    assert index.table_created_here and not create.table_created_here


def test_unique_index_concurrently_on_a_new_column_of_an_old_table_is_expand():
    ctx = MigrationContext()
    add = op("add_column", table="users", column="h", columns=[ColumnSpec("h", "text")],
             in_transaction=False)
    idx = op("create_index", table="users", name="k", unique=True, concurrently=True,
             columns=[ColumnSpec("h")], in_transaction=False)
    assert walk(ctx, add, idx) == [E, E]
    assert idx.column_created_here and not idx.table_created_here


def test_unique_index_concurrently_on_an_existing_column_is_contract():
    idx = op("create_index", table="users", name="k", unique=True, concurrently=True,
             columns=[ColumnSpec("email")], in_transaction=False)
    assert walk(MigrationContext(), idx) == [C]


def test_not_valid_check_on_an_existing_column_is_contract_and_on_a_new_one_expand():
    chk = ConstraintSpec("c", "check", columns=["qty"], check_sql="qty > 0", not_valid=True)  # as parsed
    assert walk(MigrationContext(), op("add_constraint", table="o", constraint=chk)) == [C]
    ctx = MigrationContext()
    add = op("add_column", table="o", column="qty", columns=[ColumnSpec("qty", "int")])
    assert walk(ctx, add, op("add_constraint", table="o", constraint=chk)) == [E, E]


def test_validate_is_neutral_unless_the_transaction_holds_a_blocking_lock():
    validate = op("validate_constraint", table="o", name="c")
    assert walk(MigrationContext(), validate) == [N]
    ctx = MigrationContext()
    add = op("add_constraint", table="o", constraint=ConstraintSpec("c", "check", not_valid=True))
    assert walk(ctx, add, op("validate_constraint", table="o", name="c")) == [C, R]
    # after COMMIT the lock is gone
    ctx = MigrationContext()
    assert walk(ctx, op("begin"), add, op("commit"),
                op("validate_constraint", table="o", name="c", in_transaction=False))[-1] is N


def test_an_autocommit_statement_releases_the_locks_taken_before_it():
    ctx = MigrationContext()
    add = op("add_constraint", table="o", constraint=ConstraintSpec("c", "check", not_valid=True))
    idx = op("create_index", table="x", name="i", concurrently=True, in_transaction=False)
    validate = op("validate_constraint", table="o", name="c")
    assert walk(ctx, add, idx, validate) == [C, E, N]


@pytest.mark.parametrize("version,validated,expected", [
    (15, True, C), (12, True, C), (11, True, R), (15, False, R),
])
def test_set_not_null_needs_a_validated_check_and_postgresql_12(version, validated, expected):
    state = SchemaState()
    state.apply(op("add_constraint", table="users", constraint=ConstraintSpec(
        "nn", "check", not_valid=True, not_null_column="email")))
    if validated:
        state.apply(op("validate_constraint", table="users", name="nn"))
    ctx = MigrationContext(state=state, server_version=version)
    assert walk(ctx, op("set_not_null", table="users", column="email")) == [expected]


def test_bounded_update_is_neutral_and_unbounded_rejected():
    assert walk(MigrationContext(), op("update", table="u", has_where=True)) == [N]
    assert walk(MigrationContext(), op("delete", table="u")) == [R]


def test_unknown_kinds_and_unparsed_statements_are_unknown():
    assert walk(MigrationContext(), op("unparsed", reason="x"), op("do_block")) == [U, U]


def test_binary_coercible_widening_is_expand_from_the_state():
    state = SchemaState()
    state.apply(op("create_table", table="u", columns=[ColumnSpec("e", "varchar(20)")]))
    ctx = MigrationContext(state=state)
    assert walk(ctx, op("alter_column_type", table="u", column="e", new_type="varchar(50)")) == [E]
    assert walk(ctx, op("alter_column_type", table="u", column="e", new_type="int")) == [R]


# --- rules and classifier agree ---------------------------------------------------------------

def test_rejected_exactly_when_an_error_rule_fires_on_the_operation():
    checked = 0
    for case in load_cases():
        state = SchemaState()
        for i, chunk in enumerate(case.sql.split("--next--")):
            source = sql_source(chunk.encode(), f"m{i}.sql", kind="stdin")
            ctx = MigrationContext(state=state, server_version=case.server_version)
            for o in parse_source(source, case.server_version):
                ctx.before(o)
                phase, findings = evaluate(o, ctx)
                errors = [f for f in findings if f.severity is Severity.ERROR]
                assert (phase is R) == bool(errors), (case.line, o.kind, phase, findings)
                assert base_phase(o, ctx) is not R
                if phase is U:
                    assert any(f.severity is Severity.WARNING for f in findings), (case.line, o.kind)
                ctx.after(o)
                checked += 1
    assert checked > 250


# --- any sequence of operations ----------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from migrator.model import KINDS  # noqa: E402

_names = st.sampled_from(["users", "orders", "t", None])
_cols = st.lists(st.builds(ColumnSpec, name=st.sampled_from(["a", "b", "email"]),
                           type=st.sampled_from(["int", "varchar(20)", "text", None]),
                           not_null=st.booleans(), has_default=st.booleans(),
                           default_volatile=st.booleans(), serial=st.booleans(),
                           identity=st.booleans(), generated_stored=st.booleans(),
                           unique=st.booleans(), references=st.sampled_from([None, "x"])),
                 max_size=2)
_constraints = st.one_of(st.none(), st.builds(
    ConstraintSpec, name=st.sampled_from(["c", None]),
    type=st.sampled_from(["check", "foreign_key", "unique", "primary_key", "exclude", "not_null"]),
    columns=st.lists(st.sampled_from(["a", "email"]), max_size=2), not_valid=st.booleans(),
    using_index=st.sampled_from([None, "i"]), check_sql=st.sampled_from([None, "a > 0", "email IS NOT NULL"]),
    not_null_column=st.sampled_from([None, "email"]), references=st.sampled_from([None, "x"])))
_ops = st.builds(
    Operation, kind=st.sampled_from(sorted(KINDS)), loc=st.just(LOC), sql=st.just("..."),
    table=_names, column=st.sampled_from([None, "a", "email"]), name=st.sampled_from([None, "c", "i"]),
    new_name=st.sampled_from([None, "n"]), object_type=st.sampled_from([None, "view", "function", "index", "type"]),
    columns=_cols, constraint=_constraints, new_type=st.sampled_from([None, "text", "bigint", "varchar(50)"]),
    using=st.sampled_from([None, "a::int"]), concurrently=st.booleans(), unique=st.booleans(),
    cascade=st.booleans(), has_where=st.booleans(), in_transaction=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_ops, max_size=8), st.sampled_from([10, 11, 12, 15]))
def test_any_sequence_of_operations_is_classified_without_disagreement(ops, version):
    ctx = MigrationContext(server_version=version)
    phases = []
    for o in ops:
        ctx.before(o)
        phase, found = evaluate(o, ctx)
        assert (phase is R) == any(f.severity is Severity.ERROR for f in found)
        assert all(f.message and f.fix for f in found)
        phases.append(phase)
        ctx.after(o)
    assert migration_phase(phases) in set(MigrationPhase)
    SchemaState.from_dict(ctx.state.to_dict())


def test_not_null_constraint_without_not_valid_is_rejected_and_with_it_contract():
    spec = ConstraintSpec("nn", "not_null", columns=["email"])
    assert walk(MigrationContext(), op("add_constraint", table="users", constraint=spec)) == [R]
    spec = ConstraintSpec("nn", "not_null", columns=["email"], not_valid=True)
    assert walk(MigrationContext(), op("add_constraint", table="users", constraint=spec)) == [C]
