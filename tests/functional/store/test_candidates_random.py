"""Randomised searches with a limit draw their pool from windows in random order.

Each window is as wide as the first (not doubling), so a random pool costs
about its own size instead of a pass over every root; every window is still
visited when the pool does not fill, so a small answer is sampled whole.
Both sources (SQL research and the in-memory model) behave the same.
"""

from __future__ import annotations

import random

import pytest
from sqlalchemy.engine import Connection

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.research import Plan, Window
from allotment.store.candidates.search import (
    RANDOM_POOL_FACTOR,
    SearchOptions,
    find_candidates,
    find_candidates_in_batches,
)
from allotment.store.candidates.sources import SqlSource
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder

ROOTS = 60


def _cloud(db: Database) -> None:
    with db.write() as conn:
        builder = TreeBuilder(conn)
        for i in range(ROOTS):
            builder.provider(f"cn{i}", inventory={"VCPU": 4})


def _request(limit: int | None) -> CandidateRequest:
    return CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1}),), limit=limit)


def _anchors(db: Database, limit: int | None, seed: int, in_memory: bool) -> list[int]:
    options = SearchOptions(
        randomize=True, rng=random.Random(seed), first_window=4, in_memory=in_memory
    )
    with db.read() as conn:
        return [c.anchor for c in find_candidates(conn, _request(limit), options).candidates]


@pytest.mark.parametrize("in_memory", [True, False])
def test_random_pools_come_from_windows_all_over_the_cloud(db: Database, in_memory: bool) -> None:
    _cloud(db)
    every = set(_anchors(db, None, 0, in_memory))
    assert len(every) == ROOTS
    seen: set[int] = set()
    for seed in range(10):
        drawn = _anchors(db, 1, seed, in_memory)
        assert len(drawn) == 1
        seen.update(drawn)
    # A pool of RANDOM_POOL_FACTOR candidates from windows drawn at random: not
    # only the first roots in id order.
    assert max(seen) > min(every) + 2 * RANDOM_POOL_FACTOR
    assert seen <= every


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_pool_larger_than_the_answer_samples_all_of_it(db: Database, in_memory: bool) -> None:
    _cloud(db)
    drawn = _anchors(db, ROOTS, 3, in_memory)
    assert sorted(drawn) == sorted(_anchors(db, None, 0, in_memory))
    assert drawn != sorted(drawn)  # shuffled


class _Watched(SqlSource):
    """SQL research that notes the windows it is asked about."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.seen: list[Window] = []

    def anchors(self, plan: Plan, window: Window) -> list[int]:
        self.seen.append(window)
        return super().anchors(plan, window)


def test_a_random_pool_reads_only_the_windows_it_needs(db: Database) -> None:
    _cloud(db)
    options = SearchOptions(randomize=True, rng=random.Random(5), first_window=4)
    with db.read() as conn:
        source = _Watched(conn)
        found = find_candidates(conn, _request(1), options, source=source)
    assert len(found.candidates) == 1
    # A pool of RANDOM_POOL_FACTOR one-candidate trees: a few windows of 4 ids,
    # not one pass over all of them.
    assert all(w is not None and w[1] - w[0] == 4 for w in source.seen)
    assert len(source.seen) <= RANDOM_POOL_FACTOR // 4 + 1


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_randomised_answer_without_limit_streams_every_candidate(
    db: Database, in_memory: bool
) -> None:
    """Without a limit a randomised answer goes out batch by batch like any other
    (a worker never holds the whole answer), in an order that is random but
    with every candidate in it."""
    _cloud(db)
    orders = []
    for seed in (1, 2):
        batches: list[list[int]] = []

        def note(batch: list, _providers: object, into: list[list[int]] = batches) -> None:
            into.append([c.anchor for c in batch])

        options = SearchOptions(randomize=True, rng=random.Random(seed), in_memory=in_memory)
        with db.read() as conn:
            result = find_candidates_in_batches(conn, _request(None), options, note, batch_size=16)
        assert [len(b) for b in batches] == [16, 16, 16, 12]
        assert result.found == ROOTS and not result.candidates
        orders.append([anchor for batch in batches for anchor in batch])
    every = _anchors(db, None, 0, in_memory)
    for order in orders:
        assert sorted(order) == sorted(every)
        # The trees come in random order, not only each batch shuffled.
        assert sorted(order[:16]) != sorted(every)[:16]
    assert orders[0] != orders[1]
