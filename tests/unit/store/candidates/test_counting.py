"""Counting candidates (``counting``) against enumerating them (the engine and the reference).

Every count must equal the number of candidates the engine's generator builds
(and the brute-force reference finds), anchor by anchor and in total, with
and without a stop. The random worlds of the assembler tests are drawn with
each feature a counting shortcut has to respect forced on in turn: required
traits of the unnumbered group, ``group_policy=isolate``, ``same_subtree``,
sharing providers, several granular groups; the hand-built trees make each
shortcut (not the fallback to enumeration) carry a large count.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment.store.candidates import assemble, counting, plan
from allotment.store.candidates.request import ISOLATE, NONE, CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider, Universe
from tests.unit.store.candidates.reference import SHARES, TRAITS, reference, requests, worlds


def _in_tree_roots(providers: list[Provider], request: CandidateRequest) -> dict:
    root_of = {p.uuid: p.root_id for p in providers}
    return {g.suffix: root_of.get(g.in_tree) for g in request.groups if g.in_tree}


def _assert_counts_match(providers: list[Provider], request: CandidateRequest, stop: int) -> None:
    universe = Universe(providers)
    roots = _in_tree_roots(providers, request)
    every = assemble.generate(universe, request, roots)
    assert len(every) == len(reference(providers, request))
    counted = counting.count_candidates(universe, request, roots)
    assert counted.total == len(every)
    assert not counted.stopped
    capped = counting.count_candidates(universe, request, roots, stop_after=stop)
    assert capped.total == min(stop, len(every))
    assert capped.stopped == (len(every) >= stop)
    counter = counting.AnchorCounter(universe, request)
    for anchor in universe.anchors:
        slots = plan.plan_anchor(universe, anchor, request, roots)
        built = sum(1 for _ in assemble.anchor_candidates(universe, anchor, request, roots))
        if slots is None:
            assert built == 0
            continue
        assert counter.count(anchor, slots) == built
        assert min(counter.count(anchor, slots, stop), stop) == min(built, stop)
        if anchor in counted.per_anchor:
            assert counted.per_anchor[anchor] == built


# The features each shortcut must respect, forced on a drawn request.
def _isolate(request: CandidateRequest) -> CandidateRequest:
    return dataclasses.replace(request, group_policy=ISOLATE)


def _same_subtree(request: CandidateRequest) -> CandidateRequest:
    suffixes = frozenset(g.suffix for g in request.suffixed)
    return dataclasses.replace(request, same_subtrees=(suffixes,) if len(suffixes) > 1 else ())


def _unnumbered_traits(request: CandidateRequest) -> CandidateRequest:
    groups = tuple(
        dataclasses.replace(g, required=(frozenset(TRAITS[:2]), frozenset({TRAITS[2]})))
        if g.suffix == ""
        else g
        for g in request.groups
    )
    return dataclasses.replace(request, groups=groups)


def _sharing_required(request: CandidateRequest) -> CandidateRequest:
    groups = tuple(
        dataclasses.replace(g, required=(*g.required, frozenset({SHARES}))) if g.suffix == "" else g
        for g in request.groups
    )
    return dataclasses.replace(request, groups=groups)


def _granular(request: CandidateRequest) -> CandidateRequest:
    extra = RequestGroup(suffix="9", resources={"VCPU": 1})
    policy = request.group_policy or NONE
    return dataclasses.replace(request, groups=(*request.groups, extra), group_policy=policy)


FORCED = {
    "as drawn": lambda r: r,
    "isolate": _isolate,
    "same_subtree": _same_subtree,
    "unnumbered required traits": _unnumbered_traits,
    "sharing provider required": _sharing_required,
    "one more granular group": _granular,
}


@pytest.mark.parametrize("feature", sorted(FORCED))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_counts_equal_enumeration(feature: str, data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = FORCED[feature](data.draw(requests(providers)))
    _assert_counts_match(providers, request, data.draw(st.integers(1, 5)))


# ---------------------------------------------------------------------------
# Hand-built trees where the shortcuts carry large counts


AGG = frozenset({"00000000-0000-0000-0000-0000000000a1"})


def _rp(pid: int, root: int, inventories: dict[str, int], **kwargs) -> Provider:
    inv = {rc: Inventory(total) for rc, total in inventories.items()}
    return Provider(pid, f"u{pid}", root, inventories=inv, **kwargs)


def _wide(children: int, sharing: int = 0) -> list[Provider]:
    """A compute with VCPU and DISK_GB, ``children`` identical NUMA-like children
    with PCPU and MEMORY_MB (the first half with CUSTOM_A), and ``sharing``
    linked storage providers."""
    out = [_rp(1, 1, {"VCPU": 64, "DISK_GB": 100}, aggregates=AGG)]
    for i in range(children):
        traits = frozenset({"CUSTOM_A"}) if i < children // 2 else frozenset()
        out.append(_rp(2 + i, 1, {"PCPU": 8, "MEMORY_MB": 4096}, parent_id=1, traits=traits))
    for i in range(sharing):
        shares = frozenset({SHARES})
        out.append(_rp(100 + i, 100 + i, {"DISK_GB": 1000}, traits=shares, aggregates=AGG))
    return out


def _count_both(providers: list[Provider], request: CandidateRequest) -> tuple[int, int]:
    universe = Universe(providers)
    built = len(assemble.generate(universe, request))
    return counting.count_candidates(universe, request).total, built


def test_unnumbered_products_with_sharing_and_required_traits() -> None:
    providers = _wide(6, sharing=3)
    request = CandidateRequest(
        groups=(
            RequestGroup(
                resources={"VCPU": 1, "DISK_GB": 10, "PCPU": 1, "MEMORY_MB": 512},
                required=(frozenset({"CUSTOM_A"}),),
            ),
        )
    )
    # DISK_GB from the compute or a sharing provider (4), PCPU and MEMORY_MB
    # from any child (6 x 6), less the combinations with no CUSTOM_A child.
    assert _count_both(providers, request) == (4 * (36 - 9),) * 2


def test_granular_groups_without_isolate_multiply() -> None:
    groups = (RequestGroup(resources={"VCPU": 1}),) + tuple(
        RequestGroup(suffix=str(i), resources={"PCPU": 2, "MEMORY_MB": 1024}) for i in (1, 2, 3)
    )
    # Three groups on 8 children, any provider for each (the sums fit): 8^3.
    assert _count_both(_wide(8), CandidateRequest(groups, group_policy=NONE)) == (512, 512)


def test_isolate_and_same_subtree_and_crowded_cells_enumerate_the_suffixed_groups() -> None:
    groups = (RequestGroup(resources={"VCPU": 1}),) + tuple(
        RequestGroup(suffix=str(i), resources={"PCPU": 4}) for i in (1, 2, 3)
    )
    isolated = CandidateRequest(groups, group_policy=ISOLATE)
    assert _count_both(_wide(8), isolated) == (8 * 7 * 6, 8 * 7 * 6)
    # PCPU 8 per child: two groups of 4 fit on one child, three do not.
    crowded = CandidateRequest(groups, group_policy=NONE)
    assert _count_both(_wide(8), crowded) == (8**3 - 8, 8**3 - 8)
    subtree = CandidateRequest(
        (*groups, RequestGroup(suffix="4")),
        group_policy=NONE,
        same_subtrees=(frozenset({"1", "4"}),),
    )
    count, built = _count_both(_wide(4), subtree)
    assert count == built > 0


def test_a_stop_cuts_the_count() -> None:
    groups = (RequestGroup(resources={"VCPU": 1}),) + tuple(
        RequestGroup(suffix=str(i), resources={"PCPU": 4}) for i in (1, 2, 3)
    )
    universe = Universe(_wide(8))
    found = counting.count_candidates(
        universe, CandidateRequest(groups, group_policy=ISOLATE), stop_after=100
    )
    assert (found.total, found.stopped) == (100, True)


def test_candidates_on_sharing_providers_alone_are_counted_once() -> None:
    # Two computes linked to one storage provider: DISK_GB alone from it is
    # one candidate, whichever anchor finds it (the generator de-duplicates).
    providers = [
        _rp(1, 1, {"DISK_GB": 100}, aggregates=AGG),
        _rp(2, 2, {"VCPU": 8}, aggregates=AGG),
        _rp(3, 3, {"DISK_GB": 1000}, traits=frozenset({SHARES}), aggregates=AGG),
    ]
    request = CandidateRequest((RequestGroup(resources={"DISK_GB": 10}),))
    assert _count_both(providers, request) == (2, 2)


def test_below_1_29_one_provider_per_tree_is_enumerated() -> None:
    request = CandidateRequest(
        (RequestGroup(resources={"VCPU": 1, "PCPU": 1}),), nested_aware=False
    )
    # VCPU on the compute, PCPU on a child: two providers of one tree.
    assert _count_both(_wide(4), request) == (0, 0)
    request = CandidateRequest((RequestGroup(resources={"PCPU": 1, "MEMORY_MB": 1}),))
    assert _count_both(_wide(4), dataclasses.replace(request, nested_aware=False)) == (4, 4)
    assert _count_both(_wide(4), request) == (16, 16)


def test_tree_counts_kept_across_universes_answer_as_counted_afresh() -> None:
    """What ``TreeCounts`` keeps (the model's memo) answers later counts exactly: a
    capped count is counted again when more is needed, an exact one never, and its
    plan is let go."""
    providers = _wide(6)
    request = CandidateRequest(
        groups=(RequestGroup(resources={"VCPU": 1}), RequestGroup("1", resources={"PCPU": 2}))
    )
    universe = Universe(providers)
    memo: dict[int, counting.TreeOutcome] = {}
    counts = counting.TreeCounts(universe, request, {}, memo)
    assert counts.count(1, 2) >= 2  # at least 2: counted up to a stop
    counts.release()
    assert memo[1].slots  # a capped count keeps its plan
    exact = counting.anchor_count(universe, 1, request, plan.plan_anchor(universe, 1, request, {}))
    assert counts.count(1) == exact == 6
    counts.release()
    assert memo[1].slots == [] and memo[1].count == 6
    again = counting.TreeCounts(Universe(providers), request, {}, memo)
    assert again.count(1, 3) == 6 and again.count(1) == 6
    assert again.outcome(1).slots is not None  # still a tree with a plan
    total = counting.count_candidates(again.universe, request, trees=again)
    assert total.total == counting.count_candidates(Universe(providers), request).total == 6
