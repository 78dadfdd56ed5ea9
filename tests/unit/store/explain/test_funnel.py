"""The per-group and tree funnels on hand-built universes (no database)."""

from __future__ import annotations

from allotment.store.candidates.assemble import generate_over
from allotment.store.candidates.request import ISOLATE, CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider, Universe
from allotment.store.explain import funnel, trees


def _cn(pid: int, **kwargs) -> Provider:
    kwargs.setdefault("inventories", {"VCPU": Inventory(8)})
    return Provider(id=pid, uuid=f"u{pid}", root_id=kwargs.pop("root_id", pid), **kwargs)


def _steps(found: funnel.GroupFunnel) -> dict[str, int]:
    return dict(found.funnel)


def test_a_provider_is_counted_out_at_its_first_failing_step() -> None:
    # p1 fails forbidden (and any-of): it leaves at forbidden_traits, not later.
    universe = Universe(
        [
            _cn(1, traits=frozenset({"CUSTOM_BAD"})),
            _cn(2, traits=frozenset({"CUSTOM_A"})),
        ]
    )
    group = RequestGroup(
        suffix="1",
        resources={"VCPU": 1},
        required=(frozenset({"CUSTOM_A", "CUSTOM_B"}),),
        forbidden=frozenset({"CUSTOM_BAD"}),
    )
    found = funnel.group_funnel(universe, group, None)
    steps = _steps(found)
    assert steps[funnel.REQUIRED] == 2
    assert steps[funnel.FORBIDDEN] == 1
    assert steps[funnel.ANY_OF] == 1
    assert found.zero_step is None


def test_outside_member_of_is_counted_before_a_forbidden_aggregate() -> None:
    # p1 is outside the requested aggregate and in a forbidden one: member_of
    # comes first, as in the explained failures.
    universe = Universe([_cn(1, aggregates=frozenset({"f"})), _cn(2, aggregates=frozenset({"a"}))])
    for suffix in ("", "1"):
        group = RequestGroup(
            suffix=suffix,
            resources={"VCPU": 1},
            member_of=(frozenset({"a"}),),
            forbidden_aggs=frozenset({"f"}),
        )
        steps = _steps(funnel.group_funnel(universe, group, None))
        assert steps[funnel.MEMBER_OF] == 1
        assert steps[funnel.FORBIDDEN_AGGS] == 1


def test_units_are_counted_apart_from_capacity() -> None:
    universe = Universe(
        [
            _cn(1, inventories={"VCPU": Inventory(8, max_unit=2)}),
            _cn(2, inventories={"VCPU": Inventory(8, step_size=3)}),
            _cn(3, inventories={"VCPU": Inventory(64, allocation_ratio=16.0, used=1018)}),
        ]
    )
    found = funnel.group_funnel(universe, RequestGroup(resources={"VCPU": 8}), None)
    steps = _steps(found)
    assert [steps[s] for s in (funnel.MAX_UNIT, funnel.STEP_SIZE, funnel.CAPACITY)] == [2, 1, 0]
    assert found.zero_step == funnel.CAPACITY
    assert [m.provider.id for m in found.misses] == [3]
    assert found.misses[0].lacks == [
        "VCPU: needs 8, has 6 free of 64 (ratio 16.0, reserved 0, used 1018)"
    ]


def test_unnumbered_group_counts_each_class() -> None:
    universe = Universe(
        [
            _cn(1),
            Provider(id=2, uuid="u2", root_id=1, parent_id=1, inventories={"PCPU": Inventory(1)}),
        ]
    )
    group = RequestGroup(resources={"VCPU": 1, "PCPU": 2})
    found = funnel.group_funnel(universe, group, None)
    assert found.by_class["VCPU"][-1] == 1
    assert found.by_class["PCPU"][-1] == 0
    assert (found.zero_step, found.zero_class) == (funnel.CAPACITY, "PCPU")
    assert [m.provider.id for m in found.misses] == [2]


def test_isolate_is_the_tree_step_that_empties() -> None:
    pf = {"SRIOV_NET_VF": Inventory(4)}
    universe = Universe([_cn(1), Provider(id=2, uuid="u2", root_id=1, parent_id=1, inventories=pf)])
    request = CandidateRequest(
        groups=(
            RequestGroup(suffix="1", resources={"SRIOV_NET_VF": 1}),
            RequestGroup(suffix="2", resources={"SRIOV_NET_VF": 1}),
        ),
        group_policy=ISOLATE,
    )
    watcher = trees.Watcher()
    assert generate_over(iter([universe]), request, {}, observer=watcher) == []
    assert watcher.planned_anchors == {1}
    found = trees.tree_funnel(universe, request, {}, watcher)
    assert dict(found.funnel) == {
        trees.TREES: 1,
        trees.SHARING_JOINED: 1,
        trees.ROOT_REQUIRED: 1,
        trees.COMBINATION: 1,
        trees.SAME_SUBTREE: 1,
        trees.ISOLATE_STEP: 0,
    }
    assert [m.root for m in found.removed[trees.ISOLATE_STEP]] == [1]
