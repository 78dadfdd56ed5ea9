"""Combine request groups into allocation candidates over every anchor (no SQL).

Each anchor tree is planned (``plan.plan_anchor``: one slot per class of the
unnumbered group and one per suffixed group) and its slots filled, by
``itertools.product`` when nothing ties them together (the unnumbered group
alone, from 1.29) and otherwise by ``slot_search``. The anchors are driven
depth-first (one anchor exhausted before the next) or breadth-first (one
candidate of each in turn); all-sharing candidates, the only ones that can
repeat across anchors, are de-duplicated.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain, product
from typing import Protocol

from allotment.store.candidates.plan import (
    Candidate,
    Slot,
    plan_anchor,
    root_ok,
    unnumbered_choices,
)
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.slot_search import SlotSearch
from allotment.store.candidates.universe import Universe

DEPTH_FIRST = "depth-first"
BREADTH_FIRST = "breadth-first"


class Observer(Protocol):
    """Watches a real search (``allotment.store.explain`` is one); None costs nothing.

    ``planned`` is told each anchor's slots (None: some group or the root rules
    fail there); ``watch`` wraps that anchor's candidate stream (before the
    cross-anchor de-duplication) and must yield what it is given.
    """

    def planned(self, universe: Universe, anchor: int, slots: list[Slot] | None) -> None: ...

    def watch(self, anchor: int, candidates: Iterator[Candidate]) -> Iterator[Candidate]: ...


# ---------------------------------------------------------------------------
# Driving every anchor


def anchor_candidates(
    universe: Universe,
    anchor: int,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None],
    observer: Observer | None = None,
) -> Iterator[Candidate]:
    """Candidates of one anchor, planned lazily (a capped search may never get here)."""
    unnumbered = request.unnumbered
    if (
        observer is None
        and request.nested_aware
        and not request.suffixed
        and unnumbered is not None
        and unnumbered.resources
    ):
        # The common request (nova's, one group): no slots, no search.
        yield from _unnumbered_only(universe, anchor, request, unnumbered, in_tree_roots)
        return
    slots = plan_anchor(universe, anchor, request, in_tree_roots)
    if observer is not None:
        observer.planned(universe, anchor, slots)
    if slots is None:
        return
    if not request.suffixed and request.nested_aware:
        per_rc = {next(iter(slot.amounts)): slot.choices for slot in slots}
        found = _products(universe, anchor, per_rc, request)
    else:
        found = SlotSearch(universe, anchor, request, slots).run()
    yield from found if observer is None else observer.watch(anchor, found)


def _unnumbered_only(
    universe: Universe,
    anchor: int,
    request: CandidateRequest,
    group: RequestGroup,
    in_tree_roots: dict[str, int | None],
) -> Iterator[Candidate]:
    """What ``plan_anchor`` then ``_products`` give for the unnumbered group alone."""
    if anchor not in universe.providers or not root_ok(universe, anchor, request):
        return
    per_rc = unnumbered_choices(universe, anchor, group, in_tree_roots.get(UNNUMBERED))
    if per_rc is not None:
        yield from _products(universe, anchor, per_rc, request)


def _products(
    universe: Universe, anchor: int, per_rc: dict[str, list[int]], request: CandidateRequest
) -> Iterator[Candidate]:
    """The unnumbered group alone, from 1.29: every combination of its per-class choices.

    Each class is its own slot and no two slots share a (provider, class), so
    no sum can overflow and the depth-first search would try every
    combination in ``itertools.product`` order anyway; only the group's
    required traits (on the union of the providers used) can reject one.
    """
    unnumbered = request.unnumbered
    assert unnumbered is not None
    classes = list(per_rc)
    amounts = [unnumbered.resources[rc] for rc in classes]
    width = len(classes)
    required = unnumbered.required
    providers = universe.providers
    for combo in product(*per_rc.values()):
        first = combo[0]
        if combo.count(first) == width:
            # The usual case: every class from one provider (a compute node).
            allocations = {first: dict(zip(classes, amounts, strict=True))}
        else:
            # Keys in first-use order: the group's mapping, as upstream lists it.
            allocations = {}
            for pid, rc, amount in zip(combo, classes, amounts, strict=True):
                target = allocations.get(pid)
                if target is None:
                    allocations[pid] = {rc: amount}
                else:
                    target[rc] = amount
        if required:
            traits = frozenset().union(*(providers[pid].traits for pid in allocations))
            if not all(traits & any_of for any_of in required):
                continue
        yield Candidate(anchor, allocations, {UNNUMBERED: tuple(allocations)})


def _round_robin(generators: Iterator[Iterator[Candidate]]) -> Iterator[Candidate]:
    """One candidate of each generator in turn; the first round pulls generators lazily."""
    active: list[Iterator[Candidate]] = []
    for gen in generators:
        item = next(gen, None)
        if item is not None:
            yield item
            active.append(gen)
    while active:
        still = []
        for gen in active:
            item = next(gen, None)
            if item is not None:
                yield item
                still.append(gen)
        active = still


def generate(
    universe: Universe,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None] | None = None,
    strategy: str = DEPTH_FIRST,
    stop_after: int | None = None,
) -> list[Candidate]:
    """Distinct candidates over every anchor of ``universe``, at most ``stop_after``."""
    return generate_over(iter([universe]), request, in_tree_roots, strategy, stop_after)


def generate_over(
    universes: Iterator[Universe],
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None] | None = None,
    strategy: str = DEPTH_FIRST,
    stop_after: int | None = None,
    observer: Observer | None = None,
) -> list[Candidate]:
    """Distinct candidates over the anchors of each universe in turn, at most ``stop_after``."""
    return list(candidate_stream(universes, request, in_tree_roots, strategy, stop_after, observer))


def candidate_stream(
    universes: Iterator[Universe],
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None] | None = None,
    strategy: str = DEPTH_FIRST,
    stop_after: int | None = None,
    observer: Observer | None = None,
) -> Iterator[Candidate]:
    """``generate_over``'s candidates one at a time, none kept (a caller may render
    and drop them as they come).

    ``depth-first`` exhausts one anchor before the next; ``breadth-first`` takes
    one candidate from each anchor in turn. ``universes`` is consumed lazily
    (each holds a chunk of anchors): once ``stop_after`` candidates exist, no
    further universe is asked for.
    """
    if stop_after is not None and stop_after <= 0:
        return
    roots = in_tree_roots or {}
    sharing: set[int] = set()

    def per_anchor() -> Iterator[Iterator[Candidate]]:
        for universe in universes:
            sharing.update(pid for pid, p in universe.providers.items() if p.sharing)
            for anchor in universe.anchors:
                yield anchor_candidates(universe, anchor, request, roots, observer)

    gens = per_anchor()
    stream = _round_robin(gens) if strategy == BREADTH_FIRST else chain.from_iterable(gens)
    seen: set[tuple] = set()
    count = 0
    for candidate in stream:
        # A candidate using any non-sharing provider can only come from that
        # provider's tree; only all-sharing candidates can repeat across anchors.
        if sharing.issuperset(candidate.allocations):
            key = candidate.key()
            if key in seen:
                continue
            seen.add(key)
        yield candidate
        count += 1
        if stop_after is not None and count >= stop_after:
            return
