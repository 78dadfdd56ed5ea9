"""Request-wide limits (spec J7): cap, limit, randomisation, and summaries."""

from __future__ import annotations

import random

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.research import Research
from allotment.store.candidates.search import RANDOM_POOL_FACTOR, SearchOptions, select
from allotment.store.candidates.universe import Inventory, Provider, Universe


def _world() -> Research:
    providers = []
    for root in (1, 10, 20):
        providers.append(
            Provider(
                id=root, uuid=f"r{root}", root_id=root, inventories={"VCPU": Inventory(total=4)}
            )
        )
        providers.append(
            Provider(
                id=root + 1,
                uuid=f"c{root}",
                root_id=root,
                parent_id=root,
                inventories={"VCPU": Inventory(total=4)},
            )
        )
        providers.append(Provider(id=root + 2, uuid=f"e{root}", root_id=root, parent_id=root))
    return Research(Universe(providers))


def _request(limit: int | None = None, nested_aware: bool = True) -> CandidateRequest:
    return CandidateRequest(
        groups=(RequestGroup(resources={"VCPU": 1}),), limit=limit, nested_aware=nested_aware
    )


def test_limit_keeps_the_first_and_trims_summaries() -> None:
    result = select(_world(), _request(limit=2), SearchOptions())
    assert [c.allocations for c in result.candidates] == [{1: {"VCPU": 1}}, {2: {"VCPU": 1}}]
    assert result.summarised == [1, 2, 3]  # the whole tree, with the empty provider


def test_before_nested_candidates_only_used_providers_are_summarised() -> None:
    result = select(_world(), _request(nested_aware=False), SearchOptions())
    assert len(result.candidates) == 6
    assert result.summarised == [1, 2, 10, 11, 20, 21]


def test_cap_applies_before_limit() -> None:
    result = select(_world(), _request(limit=5), SearchOptions(max_candidates=3))
    assert len(result.candidates) == 3
    assert select(_world(), _request(), SearchOptions(max_candidates=0)).candidates == []


def test_breadth_first_cap_spreads_over_trees() -> None:
    result = select(_world(), _request(), SearchOptions(max_candidates=3, strategy="breadth-first"))
    assert [c.anchor for c in result.candidates] == [1, 10, 20]


def test_randomised_limit_samples_from_everything() -> None:
    every = {tuple(c.allocations) for c in select(_world(), _request(), SearchOptions()).candidates}
    seen = set()
    for seed in range(30):
        options = SearchOptions(randomize=True, rng=random.Random(seed))
        result = select(_world(), _request(limit=2), options)
        assert len(result.candidates) == 2
        seen |= {tuple(c.allocations) for c in result.candidates}
    assert seen == every  # not just the first two
    shuffled = select(_world(), _request(), SearchOptions(randomize=True, rng=random.Random(1)))
    assert {tuple(c.allocations) for c in shuffled.candidates} == every


def _many_roots(count: int) -> Research:
    return Research(
        Universe(
            [
                Provider(
                    id=root, uuid=f"r{root}", root_id=root, inventories={"VCPU": Inventory(total=4)}
                )
                for root in range(1, count + 1)
            ]
        )
    )


def test_randomised_limit_draws_from_trees_in_random_order() -> None:
    # 300 one-candidate trees, limit 2: the pool (2 x RANDOM_POOL_FACTOR) comes
    # from randomly chosen trees, not from the first ones in id order.
    world = _many_roots(300)
    anchors: set[int] = set()
    for seed in range(20):
        result = select(
            world, _request(limit=2), SearchOptions(randomize=True, rng=random.Random(seed))
        )
        assert len(result.candidates) == 2
        anchors |= {c.anchor for c in result.candidates}
    assert max(anchors) > 2 * RANDOM_POOL_FACTOR
    assert world.universe.anchors == list(range(1, 301))  # the caller's order is kept


def test_randomised_pool_is_bounded_by_the_cap() -> None:
    result = select(
        _many_roots(300),
        _request(limit=50),
        SearchOptions(randomize=True, max_candidates=7, rng=random.Random(3)),
    )
    assert len(result.candidates) == 7
