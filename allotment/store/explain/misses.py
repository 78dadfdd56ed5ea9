"""The nearest misses of a group's zero step: providers that failed that step alone.

Nearest first: by how far the provider is from taking the amounts (a missing
class farthest), then by id. Each candidate miss is checked with the group's
own tests (``funnel._Judge.failures``) until ``MAX_MISSES`` failed that step
and nothing else.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from allotment.store.candidates.universe import Provider

if TYPE_CHECKING:
    from allotment.store.explain.funnel import _Judge

MAX_MISSES = 5


@dataclass
class Miss:
    """A provider that failed exactly one step, and why."""

    provider: Provider
    lacks: list[str]
    # Sort key: the smaller, the nearer (capacity: the shortfall).
    distance: float = 0.0


def nearest(
    step: int,
    first_failed: dict[int, list[Provider]],
    resources: dict[str, int],
    judge: _Judge,
) -> list[Miss]:
    """The nearest providers failing ``STEPS[step]`` and nothing else.

    The providers that failed first there, nearest first; each checked in
    turn until ``MAX_MISSES`` failed that step alone.
    """
    keyed = [
        (_distance(provider, resources), provider.id, provider)
        for provider in first_failed.get(step, [])
    ]
    # The nearest few first (usually enough), else every one in order.
    few = heapq.nsmallest(4 * MAX_MISSES, keyed, key=_nearness)
    out = _alone(few, resources, judge)
    if len(out) < MAX_MISSES and len(few) < len(keyed):
        out = _alone(sorted(keyed, key=_nearness), resources, judge)
    for miss in out:
        miss.lacks = [next(judge.failures(miss.provider, resources))[1]]
    return out


def _nearness(keyed: tuple[float, int, Provider]) -> tuple[float, int]:
    return keyed[0], keyed[1]


def _alone(
    nearest: list[tuple[float, int, Provider]], resources: dict[str, int], judge: _Judge
) -> list[Miss]:
    """The first ``MAX_MISSES`` of ``nearest`` that fail one step only."""
    out = []
    for distance, _pid, provider in nearest:
        # Two failures are enough to know it is not a miss of this step alone.
        if len(list(islice(judge.failures(provider, resources, False), 2))) == 1:
            out.append(Miss(provider, [], distance))
            if len(out) == MAX_MISSES:
                break
    return out


def _distance(provider: Provider, resources: dict[str, int]) -> float:
    """How far the provider is from taking the amounts (0 when it could)."""
    short = 0.0
    for rc, amount in resources.items():
        inventory = provider.inventories.get(rc)
        if inventory is None:
            short += 1000.0  # a missing class is farther than any shortfall
        else:
            short += max(0.0, inventory.used + amount - inventory.capacity) / max(amount, 1)
    return short
