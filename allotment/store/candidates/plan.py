"""Plan one anchor tree for a request (no SQL): the slots a candidate fills.

For each anchor tree the request becomes a list of *slots*: one per resource
class of the unnumbered group (each class comes wholly from one provider) and
one per suffixed group (all of its classes from one provider). Each slot has
a list of providers that can serve it on its own (the per-group tests: class,
capacity and units, traits, aggregates, ``in_tree``). ``slot_search`` then
picks one provider per slot; explain's counting reads the same plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Universe


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


@dataclass(slots=True)
class Slot:
    suffix: str
    amounts: dict[str, int]
    choices: list[int]
    # Constraints to check once this slot is assigned.
    subtree_checks: list[tuple[int, ...]] = field(default_factory=list)
    check_unnumbered_traits: bool = False


# ---------------------------------------------------------------------------
# Per-group eligibility


def all_terms(aggregates: frozenset[str], terms: Sequence[frozenset[str]]) -> bool:
    return all(aggregates & term for term in terms)


def _traits_ok(traits: frozenset[str], group: RequestGroup) -> bool:
    return not (traits & group.forbidden) and all(traits & any_of for any_of in group.required)


def suffixed_choices(
    universe: Universe, anchor: int, group: RequestGroup, in_tree_root: int | None
) -> list[int]:
    """Providers that can serve a suffixed group on their own (everything on itself)."""
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
        if group.member_of and not all_terms(provider.aggregates, group.member_of):
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
    root_in_aggs = bool(member_of) and all_terms(root.aggregates, member_of)
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
            (in_tree and root_in_aggs) or all_terms(provider.aggregates, member_of)
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
) -> list[Slot] | None:
    """The ordered slots of one anchor, or None if some group cannot be served there."""
    if anchor not in universe.providers or not root_ok(universe, anchor, request):
        return None
    slots: list[Slot] = []
    unnumbered = request.unnumbered
    if unnumbered is not None and unnumbered.resources:
        per_rc = unnumbered_choices(universe, anchor, unnumbered, in_tree_roots.get(UNNUMBERED))
        if per_rc is None:
            return None
        for rc, choices in per_rc.items():
            slots.append(Slot(UNNUMBERED, {rc: unnumbered.resources[rc]}, choices))
        slots[-1].check_unnumbered_traits = bool(unnumbered.required)
    suffixed = []
    for group in request.suffixed:
        choices = suffixed_choices(universe, anchor, group, in_tree_roots.get(group.suffix))
        if not choices:
            return None
        suffixed.append(Slot(group.suffix, dict(group.resources), choices))
    # Fail first: the most constrained groups are placed first.
    slots.extend(sorted(suffixed, key=lambda slot: len(slot.choices)))
    if request.same_subtrees:  # mostly none: no index of the slots either
        attach_subtree_checks(slots, request)
    return slots


def attach_subtree_checks(slots: list[Slot], request: CandidateRequest) -> None:
    index = {slot.suffix: i for i, slot in enumerate(slots) if slot.suffix != UNNUMBERED}
    for subtree in request.same_subtrees:
        positions = tuple(sorted(index[s] for s in subtree))
        if len(positions) > 1:
            slots[positions[-1]].subtree_checks.append(positions)


def isolate_feasible(slots: Sequence[Slot]) -> bool:
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
