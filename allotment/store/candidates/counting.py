"""Count the candidates of a search without building them (what explain reports).

``count_candidates`` answers ``len(generate_over(...))`` (the number of
candidates before ``limit``, up to a stop) from the assembler's own plan of
each anchor (``plan.plan_anchor``: its slots and each slot's providers),
multiplying instead of enumerating wherever no constraint ties the slots
together:

* The unnumbered group's slots (one per class) never share a (provider,
  class) cell, so every combination of their choices fits; only the group's
  required traits, held by the union of the providers used, can reject one.
  Their count is a product, or with required traits a small dynamic program
  over which trait terms the providers chosen so far satisfy.
* The suffixed slots are independent of the unnumbered ones when no cell both
  may use could overflow with every amount summed on it. Without
  ``group_policy=isolate``, ``same_subtree`` and such crowded cells among
  themselves, their count is a product too; otherwise the engine's own
  depth-first search runs over the suffixed slots alone and is counted (only
  up to what the stop still needs).

An anchor is left to the engine's generator itself (enumerated and
de-duplicated exactly as the real search does) when one of its candidates may
put every allocation on sharing providers (only those candidates can repeat
across anchors), and below microversion 1.29 (one provider per tree ties
every slot) it is enumerated by the engine's search.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from allotment.store.candidates import assemble, plan
from allotment.store.candidates.assemble import DEPTH_FIRST, Observer
from allotment.store.candidates.plan import Slot
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest
from allotment.store.candidates.slot_search import SlotSearch
from allotment.store.candidates.universe import Universe


@dataclass
class Counted:
    """What ``count_candidates`` found."""

    # The number of distinct candidates, at most the stop.
    total: int
    # Candidates per anchor counted here (anchors with none are left out); an
    # anchor's number may be cut short once the stop is reached.
    per_anchor: dict[int, int] = field(default_factory=dict)
    # The total reached the stop: anchors left to the generator may not have been searched.
    stopped: bool = False


def count_candidates(
    universe: Universe,
    request: CandidateRequest,
    in_tree_roots: dict[str, int | None] | None = None,
    strategy: str = DEPTH_FIRST,
    stop_after: int | None = None,
    observer: Observer | None = None,
    trees: TreeCounts | None = None,
) -> Counted:
    """``len(assemble.generate_over(iter([universe]), request, ...))``, counted.

    ``observer.planned`` is told the slots of every anchor counted here; the
    anchors left to the generator are planned (and watched) by it. ``trees``:
    where each anchor's plan and count are kept (the same universe, request
    and ``in_tree_roots``); by default a fresh one.
    """
    if stop_after is not None and stop_after <= 0:
        return Counted(0, stopped=True)
    roots = in_tree_roots or {}
    trees = trees or TreeCounts(universe, request, roots)
    out = Counted(0)
    left: list[int] = []
    for anchor in universe.anchors:
        outcome = trees.outcome(anchor)
        slots = outcome.slots
        if outcome.repeats:
            left.append(anchor)
            continue
        if observer is not None:
            observer.planned(universe, anchor, slots)
        if slots is None:
            continue
        still = None if stop_after is None else max(1, stop_after - out.total)
        # A tree known from an earlier explain (the model's memo) is not counted again.
        found = outcome.count if outcome.known(still) else trees.count(anchor, still)
        if found:
            out.per_anchor[anchor] = found
            out.total += found
    if left and (stop_after is None or out.total < stop_after):
        # The generator de-duplicates these anchors' candidates as the real search does.
        view = copy.copy(universe)
        view.anchors = left
        still = None if stop_after is None else stop_after - out.total
        out.total += len(
            assemble.generate_over(iter([view]), request, roots, strategy, still, observer)
        )
    if stop_after is not None and out.total >= stop_after:
        out.total, out.stopped = stop_after, True
    return out


@dataclass(slots=True)
class TreeOutcome:
    """The engine's plan of one tree for one request, and its candidates counted."""

    # None: some group or the root rules fail there. Empty once let go (``release``).
    slots: list[Slot] | None
    # A candidate may use sharing providers only (left to the generator, which
    # de-duplicates those across anchors).
    repeats: bool = False
    # Candidates counted (None: not yet), exact below ``stop`` (None: no stop).
    count: int | None = None
    stop: int | None = None

    def known(self, stop: int | None) -> bool:
        """Whether ``count`` answers a count up to ``stop``: exact, or at least ``stop``."""
        if self.count is None:
            return False
        if self.stop is None or self.count < self.stop:
            return True  # exact
        return stop is not None and stop <= self.stop


class TreeCounts:
    """Each tree's ``TreeOutcome`` for one request, computed once: planned by the
    engine (``plan.plan_anchor``), counted by ``AnchorCounter``.

    ``memo`` (root id -> outcome) may outlive the universe: the in-memory model
    keeps one per request signature and drops a tree's outcome when the tree
    or a sharing provider linked to it changes (``tree_memo``).
    """

    def __init__(
        self,
        universe: Universe,
        request: CandidateRequest,
        in_tree_roots: dict[str, int | None],
        memo: dict[int, TreeOutcome] | None = None,
    ) -> None:
        self.universe = universe
        self.request = request
        self.in_tree_roots = in_tree_roots
        self.counter = AnchorCounter(universe, request)
        self.memo: dict[int, TreeOutcome] = {} if memo is None else memo

    def outcome(self, root: int) -> TreeOutcome:
        found = self.memo.get(root)
        if found is None:
            slots = plan.plan_anchor(self.universe, root, self.request, self.in_tree_roots)
            repeats = slots is not None and self.counter.may_repeat(slots)
            found = self.memo[root] = TreeOutcome(slots, repeats)
        return found

    def count(self, root: int, stop: int | None = None) -> int:
        """``AnchorCounter.count`` of the tree's plan (0 without one), up to ``stop``."""
        found = self.outcome(root)
        if found.slots is None:
            return 0
        if not found.known(stop):
            found.count, found.stop = self.counter.count(root, found.slots, stop), stop
        assert found.count is not None
        return found.count

    def release(self) -> None:
        """Let go of the plans whose count is exact (most of a kept outcome's memory):
        an exact count answers every later count; an empty list still says the tree
        has a plan."""
        for found in self.memo.values():
            if found.slots and not found.repeats and found.known(None):
                found.slots = []


class AnchorCounter:
    """Counts the candidates of one request, anchor by anchor, over one universe."""

    def __init__(self, universe: Universe, request: CandidateRequest) -> None:
        self.universe = universe
        self.request = request
        unnumbered = request.unnumbered
        self.required = unnumbered.required if unnumbered is not None else ()
        # Provider id -> the unnumbered group's required terms it holds a trait of (bits).
        self._masks: dict[int, int] = {}

    @cached_property
    def sharing(self) -> set[int]:
        return self.universe.sharing_ids

    def may_repeat(self, slots: Sequence[Slot]) -> bool:
        """Whether a candidate may allocate from sharing providers only (the generator
        de-duplicates those: another anchor linked to them may yield the same)."""
        sharing = self.sharing
        for slot in slots:
            if slot.amounts and sharing.isdisjoint(slot.choices):
                return False
        return True

    def count(self, anchor: int, slots: list[Slot], stop: int | None = None) -> int:
        """How many candidates the engine's search yields at ``anchor`` from its planned
        ``slots``: exact below ``stop``, at least ``stop`` when there are that many or
        more. Candidates that may repeat across anchors are not told apart here: see
        ``count_candidates``."""
        universe, request = self.universe, self.request
        if not request.nested_aware:
            return _enumerated(universe, anchor, request, slots, stop)
        if not request.suffixed:
            return self._unnumbered(slots)  # every slot is one of the unnumbered group's
        unnumbered = [slot for slot in slots if slot.suffix == UNNUMBERED]
        suffixed = [slot for slot in slots if slot.suffix != UNNUMBERED]
        crowded = _crowded_slots(universe, slots)
        if any(slots[i].suffix == UNNUMBERED and slots[j].suffix != UNNUMBERED for i, j in crowded):
            return _enumerated(universe, anchor, request, slots, stop)
        first = self._unnumbered(unnumbered)
        if first == 0:
            return 0
        if request.isolate or request.same_subtrees or crowded:
            # The engine's search over the suffixed slots alone (same_subtree
            # checks re-attached to their positions there), counted up to the stop.
            alone = [dataclasses.replace(slot, subtree_checks=[]) for slot in suffixed]
            plan.attach_subtree_checks(alone, request)
            needed = None if stop is None else -(-stop // first)
            return first * _enumerated(universe, anchor, request, alone, needed)
        return first * math.prod(len(slot.choices) for slot in suffixed)

    def _unnumbered(self, slots: list[Slot]) -> int:
        """Combinations of the unnumbered group's per-class choices whose providers
        together hold a trait of each required term."""
        if not self.required or not slots:
            return math.prod(len(slot.choices) for slot in slots)
        # Which terms the providers chosen so far cover -> in how many ways.
        ways = {0: 1}
        for slot in slots:
            covers: dict[int, int] = {}
            for pid in slot.choices:
                mask = self._masks.get(pid)
                if mask is None:
                    mask = self._masks[pid] = self._mask(pid)
                covers[mask] = covers.get(mask, 0) + 1
            step: dict[int, int] = {}
            for done, n in ways.items():
                for mask, m in covers.items():
                    key = done | mask
                    step[key] = step.get(key, 0) + n * m
            ways = step
        return ways.get((1 << len(self.required)) - 1, 0)

    def _mask(self, pid: int) -> int:
        traits = self.universe.providers[pid].traits
        return sum(1 << bit for bit, term in enumerate(self.required) if traits & term)


def anchor_count(
    universe: Universe,
    anchor: int,
    request: CandidateRequest,
    slots: list[Slot],
    stop: int | None = None,
) -> int:
    """``AnchorCounter(universe, request).count(anchor, slots, stop)``."""
    return AnchorCounter(universe, request).count(anchor, slots, stop)


def _crowded_slots(universe: Universe, slots: Sequence[Slot]) -> set[tuple[int, int]]:
    """Pairs of slot positions (i < j) both of which may use a (provider, class)
    cell that cannot take every amount summed on it (capacity or max_unit)."""
    users: dict[tuple[int, str], list[int]] = {}
    for i, slot in enumerate(slots):
        for pid in slot.choices:
            for rc in slot.amounts:
                users.setdefault((pid, rc), []).append(i)
    out: set[tuple[int, int]] = set()
    for (pid, rc), positions in users.items():
        if len(positions) < 2:
            continue
        summed = sum(slots[i].amounts[rc] for i in positions)
        if not universe.providers[pid].inventories[rc].fits_total(summed):
            out.update((i, j) for i in positions for j in positions if i < j)
    return out


def _enumerated(
    universe: Universe,
    anchor: int,
    request: CandidateRequest,
    slots: list[Slot],
    stop: int | None,
) -> int:
    """Candidates the engine's depth-first search yields over ``slots``, up to ``stop``."""
    found = 0
    for _candidate in SlotSearch(universe, anchor, request, slots).run():
        found += 1
        if stop is not None and found >= stop:
            break
    return found
