"""Combine request groups into allocation candidates (no SQL).

For each anchor tree the request becomes a list of *slots*: one per resource
class of the unnumbered group (each class comes wholly from one provider) and
one per suffixed group (all of its classes from one provider). Each slot has
a list of providers that can serve it on its own. A depth-first search then
picks one provider per slot, checking as it goes:

* the summed amount per (provider, class) against capacity and max_unit (J5),
* ``group_policy=isolate`` (suffixed groups on pairwise different providers),
* ``same_subtree`` as soon as every suffix of a set has a provider,
* the unnumbered group's required traits on the union of the providers it uses (J3),
* below 1.29, at most one provider per tree.

Cheap bounds cut dead anchors and branches early, so that trees with many
identical children never explode: before searching an anchor with more than
``BOUND_ABOVE`` combinations (a smaller search costs less than the bounds),
per class, the whole demand must not exceed the free capacity of the
providers that could take it, and with ``isolate`` the suffixed slots must
have a bipartite matching onto distinct providers; while searching with
``isolate``, every suffixed slot still open must keep a provider not yet
taken. Nothing is materialised beyond the candidates actually yielded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, product
from typing import Protocol

from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Universe

DEPTH_FIRST = "depth-first"
BREADTH_FIRST = "breadth-first"
# Searches with more combinations than this are bounded before they start.
BOUND_ABOVE = 64


@dataclass(slots=True)
class Candidate:
    """One allocation request: amounts per provider and which providers served each group.

    Not frozen: a frozen dataclass pays a slow ``__init__``, and a search may
    build tens of thousands of these. Treat it as read-only all the same.
    """

    anchor: int
    allocations: dict[int, dict[str, int]]
    mappings: dict[str, tuple[int, ...]]

    def key(self) -> tuple:
        """Identity of a candidate: allocations and mappings (not the anchor)."""
        allocs = tuple(
            sorted((p, rc, n) for p, res in self.allocations.items() for rc, n in res.items())
        )
        maps = tuple(sorted((s, tuple(sorted(ps))) for s, ps in self.mappings.items()))
        return allocs, maps

    def provider_ids(self) -> set[int]:
        ids = set(self.allocations)
        for providers in self.mappings.values():
            ids.update(providers)
        return ids


class Observer(Protocol):
    """Watches a real search (``allotment.store.explain`` is one); None costs nothing.

    ``planned`` is told each anchor's slots (None: some group or the root rules
    fail there); ``watch`` wraps that anchor's candidate stream (before the
    cross-anchor de-duplication) and must yield what it is given.
    """

    def planned(self, universe: Universe, anchor: int, slots: list[_Slot] | None) -> None: ...

    def watch(self, anchor: int, candidates: Iterator[Candidate]) -> Iterator[Candidate]: ...


@dataclass(slots=True)
class _Slot:
    suffix: str
    amounts: dict[str, int]
    choices: list[int]
    # Constraints to check once this slot is assigned.
    subtree_checks: list[tuple[int, ...]] = field(default_factory=list)
    check_unnumbered_traits: bool = False


# ---------------------------------------------------------------------------
# Per-group eligibility (J3)


def _all_terms(aggregates: frozenset[str], terms: Sequence[frozenset[str]]) -> bool:
    return all(aggregates & term for term in terms)


def _traits_ok(traits: frozenset[str], group: RequestGroup) -> bool:
    return not (traits & group.forbidden) and all(traits & any_of for any_of in group.required)


def suffixed_choices(
    universe: Universe, anchor: int, group: RequestGroup, in_tree_root: int | None
) -> list[int]:
    """Providers that can serve a suffixed group on their own (J3: everything on itself)."""
    providers = universe.providers
    resources = list(group.resources.items())
    traits = bool(group.required or group.forbidden)
    in_tree_only = group.in_tree is not None
    out = []
    for pid in universe.eligible(anchor):
        provider = providers[pid]
        if in_tree_only and provider.root_id != in_tree_root:
            continue
        if traits and not _traits_ok(provider.traits, group):
            continue
        if group.member_of and not _all_terms(provider.aggregates, group.member_of):
            continue
        if group.forbidden_aggs and provider.aggregates & group.forbidden_aggs:
            continue
        inventories = provider.inventories
        for rc, amount in resources:
            inventory = inventories.get(rc)
            # Inventory.fits, inlined: this loop runs for every anchor of a cloud.
            if (
                inventory is None
                or inventory.used + amount > inventory.capacity
                or not inventory.min_unit <= amount <= inventory.max_unit
                or amount % inventory.step_size
            ):
                break
        else:
            out.append(pid)
    return out


def unnumbered_choices(
    universe: Universe, anchor: int, group: RequestGroup, in_tree_root: int | None
) -> dict[str, list[int]] | None:
    """Per class, the providers that may supply it for the unnumbered group; None if hopeless."""
    providers = universe.providers
    root = providers[anchor]
    forbidden = group.forbidden
    forbidden_aggs = group.forbidden_aggs
    member_of = group.member_of
    in_tree_only = group.in_tree is not None
    if forbidden_aggs and root.aggregates & forbidden_aggs:
        return None
    if in_tree_only and anchor != in_tree_root:
        return None
    root_in_aggs = bool(member_of) and _all_terms(root.aggregates, member_of)
    allowed = []
    for pid in universe.eligible(anchor):
        provider = providers[pid]
        in_tree = provider.root_id == anchor
        if in_tree_only and not in_tree:
            continue  # sharing providers of other trees are not used with in_tree
        if forbidden and provider.traits & forbidden:
            continue
        if forbidden_aggs and provider.aggregates & forbidden_aggs:
            continue
        if member_of and not (
            (in_tree and root_in_aggs) or _all_terms(provider.aggregates, member_of)
        ):
            continue
        allowed.append((pid, provider.inventories))
    out = {}
    resources = group.resources
    for rc in sorted(resources):
        amount = resources[rc]
        choices = []
        for pid, inventories in allowed:
            inventory = inventories.get(rc)
            # Inventory.fits, inlined: this loop runs for every anchor of a cloud.
            if (
                inventory is not None
                and inventory.used + amount <= inventory.capacity
                and inventory.min_unit <= amount <= inventory.max_unit
                and amount % inventory.step_size == 0
            ):
                choices.append(pid)
        if not choices:
            return None
        out[rc] = choices
    return out


def root_ok(universe: Universe, anchor: int, request: CandidateRequest) -> bool:
    traits = universe.providers[anchor].traits
    return request.root_required <= traits and not (traits & request.root_forbidden)


# ---------------------------------------------------------------------------
# Planning one anchor


def plan_anchor(
    universe: Universe, anchor: int, request: CandidateRequest, in_tree_roots: dict[str, int | None]
) -> list[_Slot] | None:
    """The ordered slots of one anchor, or None if some group cannot be served there."""
    if anchor not in universe.providers or not root_ok(universe, anchor, request):
        return None
    slots: list[_Slot] = []
    unnumbered = request.unnumbered
    if unnumbered is not None and unnumbered.resources:
        per_rc = unnumbered_choices(universe, anchor, unnumbered, in_tree_roots.get(UNNUMBERED))
        if per_rc is None:
            return None
        for rc, choices in per_rc.items():
            slots.append(_Slot(UNNUMBERED, {rc: unnumbered.resources[rc]}, choices))
        slots[-1].check_unnumbered_traits = bool(unnumbered.required)
    suffixed = []
    for group in request.suffixed:
        choices = suffixed_choices(universe, anchor, group, in_tree_roots.get(group.suffix))
        if not choices:
            return None
        suffixed.append(_Slot(group.suffix, dict(group.resources), choices))
    # Fail first: the most constrained groups are placed first.
    slots.extend(sorted(suffixed, key=lambda slot: len(slot.choices)))
    if request.same_subtrees:  # mostly none: no index of the slots either
        _attach_subtree_checks(slots, request)
    return slots


def _attach_subtree_checks(slots: list[_Slot], request: CandidateRequest) -> None:
    index = {slot.suffix: i for i, slot in enumerate(slots) if slot.suffix != UNNUMBERED}
    for subtree in request.same_subtrees:
        positions = tuple(sorted(index[s] for s in subtree))
        if len(positions) > 1:
            slots[positions[-1]].subtree_checks.append(positions)


def isolate_feasible(slots: Sequence[_Slot]) -> bool:
    """Can every suffixed slot get a provider of its own? (bipartite matching)."""
    owner: dict[int, int] = {}
    groups = [slot.choices for slot in slots if slot.suffix != UNNUMBERED]

    def augment(g: int, seen: set[int]) -> bool:
        for pid in groups[g]:
            if pid in seen:
                continue
            seen.add(pid)
            if pid not in owner or augment(owner[pid], seen):
                owner[pid] = g
                return True
        return False

    return all(augment(g, set()) for g in range(len(groups)))


# ---------------------------------------------------------------------------
# The search


@dataclass(slots=True)
class _Choice:
    """One provider for one slot, with the (provider, class) cells it adds to."""

    pid: int
    root: int
    # (cell index, class index, amount, class name)
    cells: tuple[tuple[int, int, int, str], ...]


class _Search:
    """Iterative depth-first search over the slots of one anchor.

    (provider, class) pairs are numbered "cells" whose running sums live in a
    list; classes are numbered too. This keeps the inner loop to list indexing.
    """

    def __init__(
        self, universe: Universe, anchor: int, request: CandidateRequest, slots: list[_Slot]
    ) -> None:
        self.universe = universe
        self.anchor = anchor
        self.slots = slots
        self.isolate = request.isolate
        self.nested_aware = request.nested_aware
        self.unnumbered_required = request.unnumbered.required if request.unnumbered else ()
        self.suffixes = [slot.suffix for slot in slots]
        self.suffixed = [slot.suffix != UNNUMBERED for slot in slots]
        self.cell_used: list[int] = []
        self.cell_cap: list[float] = []
        self.cell_max: list[int] = []
        self.rc_index: dict[str, int] = {}
        self._cells: dict[tuple[int, str], int] = {}  # (provider, class) -> cell
        self.choices = [self._choices(slot) for slot in slots]
        self.sums = [0] * len(self.cell_used)
        self.chosen: list[_Choice | None] = [None] * len(slots)
        self.taken: dict[int, int] = {}  # provider -> suffixed slots (isolate)
        self.per_root: dict[int, dict[int, int]] = {}  # root -> provider -> uses (<1.29)
        self._init_bounds()

    def _choices(self, slot: _Slot) -> list[_Choice]:
        out = []
        cells = self._cells
        rc_index = self.rc_index
        providers = self.universe.providers
        cell_used, cell_cap, cell_max = self.cell_used, self.cell_cap, self.cell_max
        amounts = []
        for rc, amount in slot.amounts.items():
            rc_i = rc_index.get(rc)
            if rc_i is None:
                rc_i = rc_index[rc] = len(rc_index)
            amounts.append((rc, rc_i, amount))
        for pid in slot.choices:
            provider = providers[pid]
            entry = []
            for rc, rc_i, amount in amounts:
                cell = cells.get((pid, rc))
                if cell is None:
                    inventory = provider.inventories[rc]
                    cell = cells[(pid, rc)] = len(cell_used)
                    cell_used.append(inventory.used)
                    cell_cap.append(inventory.capacity)
                    cell_max.append(inventory.max_unit)
                entry.append((cell, rc_i, amount, rc))
            out.append(_Choice(pid, provider.root_id, tuple(entry)))
        return out

    def _init_bounds(self) -> None:
        # Isolate forward checking: how many providers each suffixed slot still
        # has, and which slots each provider appears in.
        self.available = [len(choices) for choices in self.choices]
        self.slots_of: dict[int, list[int]] = {}
        if self.isolate:
            for i, choices in enumerate(self.choices):
                if self.suffixed[i]:
                    for choice in choices:
                        self.slots_of.setdefault(choice.pid, []).append(i)

    def _worth_bounding(self) -> bool:
        """Whether the bounds may pay: they only cut, and a small search
        (a compute node with a few NUMA cells) costs less than they do."""
        size = 1
        for choices in self.choices:
            size *= len(choices)
            if size > BOUND_ABOVE:
                return True
        return False

    def _more_demand_than_supply(self) -> bool:
        """Per class: the whole demand against the free capacity of every provider
        some slot could use for it (an upper bound on what fits)."""
        demand = [0] * len(self.rc_index)
        supply = [0.0] * len(self.rc_index)
        seen: set[int] = set()
        for slot, choices in zip(self.slots, self.choices, strict=True):
            for rc, amount in slot.amounts.items():
                demand[self.rc_index[rc]] += amount
            for choice in choices:
                for cell, rc_i, _amount, _rc in choice.cells:
                    if cell not in seen:
                        seen.add(cell)
                        free = min(
                            self.cell_cap[cell] - self.cell_used[cell], float(self.cell_max[cell])
                        )
                        supply[rc_i] += max(0.0, free)
        return any(d > s for d, s in zip(demand, supply, strict=True))

    def run(self) -> Iterator[Candidate]:
        if self._worth_bounding():
            if self._more_demand_than_supply():
                return
            if self.isolate and not isolate_feasible(self.slots):
                return
        # Depth-first, one position per slot (-1: none yet); the loop that
        # picks the next legal choice is inline, as it runs for every step.
        place, unplace, consistent = self._place, self._unplace, self._consistent
        choices_at = self.choices
        last = len(self.slots) - 1
        position = [-1] * len(self.slots)
        depth = 0
        while depth >= 0:
            choices = choices_at[depth]
            start = position[depth]
            if start >= 0:
                unplace(depth, choices[start])
            found = -1
            for index in range(start + 1, len(choices)):
                choice = choices[index]
                if place(depth, choice):
                    if consistent(depth, choice):
                        found = index
                        break
                    unplace(depth, choice)
            position[depth] = found
            if found < 0:
                depth -= 1
            elif depth == last:
                yield self._candidate()
            else:
                depth += 1

    # -- placing and removing one provider ---------------------------------

    def _place(self, depth: int, choice: _Choice) -> bool:
        """Tentatively give slot ``depth`` to ``choice``; False (nothing changed) if illegal."""
        pid = choice.pid
        isolated = self.isolate and self.suffixed[depth]
        if isolated and self.taken.get(pid):
            return False
        if not self.nested_aware:
            if any(other != pid for other in self.per_root.get(choice.root, ())):
                return False
        sums, used, cap, most = self.sums, self.cell_used, self.cell_cap, self.cell_max
        for cell, _rc, amount, _name in choice.cells:
            total = sums[cell] + amount
            if used[cell] + total > cap[cell] or total > most[cell]:
                return False
        for cell, _rc, amount, _name in choice.cells:
            sums[cell] += amount
        if isolated:
            self.taken[pid] = 1
            for i in self.slots_of.get(pid, ()):
                self.available[i] -= 1
        if not self.nested_aware:
            uses = self.per_root.setdefault(choice.root, {})
            uses[pid] = uses.get(pid, 0) + 1
        self.chosen[depth] = choice
        return True

    def _unplace(self, depth: int, choice: _Choice) -> None:
        pid = choice.pid
        for cell, _rc, amount, _name in choice.cells:
            self.sums[cell] -= amount
        if self.isolate and self.suffixed[depth]:
            self.taken[pid] = 0
            for i in self.slots_of.get(pid, ()):
                self.available[i] += 1
        if not self.nested_aware:
            uses = self.per_root[choice.root]
            uses[pid] -= 1
            if not uses[pid]:
                del uses[pid]
        self.chosen[depth] = None

    # -- constraints checked after a placement ------------------------------

    def _consistent(self, depth: int, choice: _Choice) -> bool:
        if self.isolate and self.suffixed[depth]:
            for i in self.slots_of.get(choice.pid, ()):
                if i > depth and self.available[i] <= 0:
                    return False
        slot = self.slots[depth]
        for positions in slot.subtree_checks:
            if not self._same_subtree(positions):
                return False
        if slot.check_unnumbered_traits:
            return self._unnumbered_traits_ok(depth)
        return True

    def _pid(self, depth: int) -> int:
        choice = self.chosen[depth]
        assert choice is not None
        return choice.pid

    def _same_subtree(self, positions: tuple[int, ...]) -> bool:
        providers = {self._pid(i) for i in positions}
        return any(
            all(self.universe.is_ancestor_or_self(top, other) for other in providers)
            for top in providers
        )

    def _unnumbered_traits_ok(self, depth: int) -> bool:
        traits: set[str] = set()
        for i in range(depth + 1):
            if not self.suffixed[i]:
                traits |= self.universe.providers[self._pid(i)].traits
        return all(traits & any_of for any_of in self.unnumbered_required)

    def _candidate(self) -> Candidate:
        allocations: dict[int, dict[str, int]] = {}
        mappings: dict[str, list[int]] = {}
        for suffix, choice in zip(self.suffixes, self.chosen, strict=True):
            assert choice is not None
            pid = choice.pid
            for _cell, _rc, amount, name in choice.cells:
                target = allocations.get(pid)
                if target is None:
                    allocations[pid] = {name: amount}
                else:
                    target[name] = target.get(name, 0) + amount
            used = mappings.get(suffix)
            if used is None:
                mappings[suffix] = [pid]
            elif pid not in used:
                used.append(pid)
        return Candidate(self.anchor, allocations, {s: tuple(ps) for s, ps in mappings.items()})


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
        found = _Search(universe, anchor, request, slots).run()
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
