"""The assembler on hand-built trees, and against the brute-force reference."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store.candidates.assemble import BREADTH_FIRST, DEPTH_FIRST, generate
from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider, Universe
from tests.unit.store.candidates.reference import reference, requests, worlds


def _in_tree_roots(providers: list[Provider], request: CandidateRequest) -> dict:
    root_of = {p.uuid: p.root_id for p in providers}
    return {g.suffix: root_of.get(g.in_tree) for g in request.groups if g.in_tree}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_engine_matches_brute_force(data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    expected = reference(providers, request)
    found = generate(Universe(providers), request, _in_tree_roots(providers, request))
    keys = [c.key() for c in found]
    assert len(keys) == len(set(keys)), "duplicate candidates"
    assert set(keys) == expected


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_strategies_and_caps_select_from_the_same_set(data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    roots = _in_tree_roots(providers, request)
    universe = Universe(providers)
    every = {c.key() for c in generate(universe, request, roots)}
    cap = data.draw(st.integers(1, 5))
    for strategy in (DEPTH_FIRST, BREADTH_FIRST):
        capped = generate(universe, request, roots, strategy=strategy, stop_after=cap)
        assert len(capped) == min(cap, len(every))
        assert {c.key() for c in capped} <= every
    again = generate(universe, request, roots, strategy=BREADTH_FIRST)
    assert [c.key() for c in again] == [
        c.key() for c in generate(universe, request, roots, strategy=BREADTH_FIRST)
    ]


# ---------------------------------------------------------------------------
# Hand-built trees


def _p(
    pid: int,
    root: int,
    parent: int | None = None,
    inv: dict | None = None,
    traits: tuple = (),
    aggs: tuple = (),
) -> Provider:
    return Provider(
        id=pid,
        uuid=f"u{pid}",
        root_id=root,
        parent_id=parent,
        traits=frozenset(traits),
        aggregates=frozenset(aggs),
        inventories={
            rc: Inventory(total=n) if isinstance(n, int) else n for rc, n in (inv or {}).items()
        },
    )


def _wide(children: int, vf_each: int = 8) -> list[Provider]:
    tree = [_p(1, 1, inv={"VCPU": 64})]
    tree += [_p(i + 2, 1, parent=1, inv={"SRIOV_NET_VF": vf_each}) for i in range(children)]
    return tree


def _vf_groups(n: int, policy: str = "isolate") -> CandidateRequest:
    return CandidateRequest(
        groups=tuple(
            RequestGroup(suffix=str(i + 1), resources={"SRIOV_NET_VF": 1}) for i in range(n)
        ),
        group_policy=policy,
    )


def test_wide_tree_isolate_stops_at_the_cap() -> None:
    # 8! = 40320 valid candidates; the search stops after the first 1000
    # (its speed is measured by benchmarks/wide_tree.py, not asserted here).
    universe = Universe(_wide(8))
    found = generate(universe, _vf_groups(8), stop_after=1000)
    assert len(found) == 1000
    assert len({c.key() for c in found}) == 1000


def test_wide_tree_without_solution_is_refuted_immediately() -> None:
    # Without pruning this would walk 12 ** 13 partial combinations.
    universe = Universe(_wide(12))
    assert generate(universe, _vf_groups(13)) == []
    # 13 one-unit groups on 12 one-unit children under policy none: the
    # capacity bound refutes it before searching as well.
    assert generate(Universe(_wide(12, vf_each=1)), _vf_groups(13, "none")) == []


def test_wide_tree_counts() -> None:
    # 4 children, 3 isolated groups: 4 * 3 * 2 ordered choices.
    assert len(generate(Universe(_wide(4)), _vf_groups(3))) == 24
    # Policy none lets groups share a child (capacity 8 each): 4 ** 3.
    assert len(generate(Universe(_wide(4)), _vf_groups(3, "none"))) == 64
    # Capacity 1 per child under none: the sums exclude sharing a child.
    assert len(generate(Universe(_wide(4, vf_each=1)), _vf_groups(3, "none"))) == 24


def test_merged_amounts_respect_max_unit() -> None:
    inventory = Inventory(total=8, max_unit=1)
    universe = Universe([_p(1, 1, inv={"SRIOV_NET_VF": inventory})])
    assert len(generate(universe, _vf_groups(2, "none"))) == 0
    assert len(generate(universe, _vf_groups(1))) == 1


def test_breadth_first_alternates_anchors() -> None:
    providers = [
        _p(1, 1, inv={"VCPU": 4}),
        _p(2, 1, parent=1, inv={"VCPU": 4}),
        _p(3, 3, inv={"VCPU": 4}),
        _p(4, 3, parent=3, inv={"VCPU": 4}),
    ]
    request = CandidateRequest(groups=(RequestGroup(suffix="1", resources={"VCPU": 1}),))
    universe = Universe(providers)
    assert [c.anchor for c in generate(universe, request, strategy=DEPTH_FIRST)] == [1, 1, 3, 3]
    assert [c.anchor for c in generate(universe, request, strategy=BREADTH_FIRST)] == [1, 3, 1, 3]
    assert [
        c.anchor for c in generate(universe, request, strategy=BREADTH_FIRST, stop_after=2)
    ] == [1, 3]


def test_sharing_candidates_are_not_repeated_per_anchor() -> None:
    shares = "MISC_SHARES_VIA_AGGREGATE"
    providers = [
        _p(1, 1, inv={"VCPU": 4}, aggs=("a",)),
        _p(2, 2, inv={"VCPU": 4}, aggs=("a",)),
        _p(3, 3, inv={"DISK_GB": 100}, traits=(shares,), aggs=("a",)),
    ]
    disk_only = CandidateRequest(groups=(RequestGroup(resources={"DISK_GB": 10}),))
    found = generate(Universe(providers), disk_only)
    assert [(c.anchor, c.allocations) for c in found] == [(1, {3: {"DISK_GB": 10}})]
    both = CandidateRequest(groups=(RequestGroup(resources={"DISK_GB": 10, "VCPU": 1}),))
    assert sorted(c.mappings[""] for c in generate(Universe(providers), both)) == [(3, 1), (3, 2)]


def test_unnumbered_required_trait_needs_a_used_provider() -> None:
    providers = [_p(1, 1, inv={"VCPU": 4}), _p(2, 1, parent=1, inv={"VF": 4}, traits=("T",))]
    only_cpu = CandidateRequest(
        groups=(RequestGroup(resources={"VCPU": 1}, required=(frozenset({"T"}),)),)
    )
    assert generate(Universe(providers), only_cpu) == []
    with_vf = CandidateRequest(
        groups=(RequestGroup(resources={"VCPU": 1, "VF": 1}, required=(frozenset({"T"}),)),)
    )
    assert [c.allocations for c in generate(Universe(providers), with_vf)] == [
        {1: {"VCPU": 1}, 2: {"VF": 1}}
    ]


def test_not_nested_aware_keeps_one_provider_per_tree() -> None:
    providers = [_p(1, 1, inv={"VCPU": 4}), _p(2, 1, parent=1, inv={"VF": 4})]
    request = CandidateRequest(
        groups=(RequestGroup(resources={"VCPU": 1, "VF": 1}),), nested_aware=False
    )
    assert generate(Universe(providers), request) == []
