"""The per-group funnel of an explanation: providers left after each filter (no SQL).

Every provider of the loaded universe goes through the filters of one request
group, in the order the engine applies them (``allotment.store.candidates``):
the requested classes at all, ``min_unit``, ``max_unit``, ``step_size``, plain
capacity, required traits, forbidden traits, any-of traits, ``member_of``,
forbidden aggregates, ``in_tree``. The count after a step is the number of
providers that passed it and every step before it.

The tests are the engine's own (``Inventory`` fields, ``assemble._all_terms``
and friends). A suffixed group is judged on each provider alone, exactly as
``assemble.suffixed_choices`` does. The unnumbered group takes each class from
any provider, so its funnel is counted per class (``by_class``, the group's
count being the smallest); its required and any-of traits hold on the union
of the providers a candidate uses, so a provider passes them when some tree it
may serve (its own, or a tree it is linked to as a sharing provider) holds the
traits among its providers and linked sharing providers. Every test is a
necessary condition of the engine's: a provider the engine would use is never
counted out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from allotment.store.candidates.request import UNNUMBERED, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider, Universe

PROVIDERS = "providers"
CLASSES = "classes"
MIN_UNIT = "min_unit"
MAX_UNIT = "max_unit"
STEP_SIZE = "step_size"
CAPACITY = "capacity"
REQUIRED = "required_traits"
FORBIDDEN = "forbidden_traits"
ANY_OF = "any_of_traits"
MEMBER_OF = "member_of"
FORBIDDEN_AGGS = "forbidden_aggregates"
IN_TREE = "in_tree"
STEPS = (
    CLASSES,
    MIN_UNIT,
    MAX_UNIT,
    STEP_SIZE,
    CAPACITY,
    REQUIRED,
    FORBIDDEN,
    ANY_OF,
    MEMBER_OF,
    FORBIDDEN_AGGS,
    IN_TREE,
)
MAX_MISSES = 5


@dataclass
class Miss:
    """A provider that failed exactly one step, and why."""

    provider: Provider
    lacks: list[str]
    # Sort key: the smaller, the nearer (capacity: the shortfall).
    distance: float = 0.0


@dataclass
class GroupFunnel:
    group: RequestGroup
    # (step, remaining) from PROVIDERS on; for the unnumbered group the smallest per class.
    funnel: list[tuple[str, int]]
    by_class: dict[str, list[int]] = field(default_factory=dict)
    # The first step where nothing remains (None: some provider passes every step).
    zero_step: str | None = None
    zero_class: str | None = None
    misses: list[Miss] = field(default_factory=list)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _unit_failures(rc: str, amount: int, inventory: Inventory) -> dict[str, str]:
    out = {}
    if inventory.min_unit > amount:
        out[MIN_UNIT] = f"{rc}: needs {amount}, min_unit is {inventory.min_unit}"
    if inventory.max_unit < amount:
        out[MAX_UNIT] = f"{rc}: needs {amount}, max_unit is {inventory.max_unit}"
    if amount % inventory.step_size:
        out[STEP_SIZE] = f"{rc}: needs {amount}, not a multiple of step_size {inventory.step_size}"
    if inventory.used + amount > inventory.capacity:
        free = max(0.0, inventory.capacity - inventory.used)
        out[CAPACITY] = (
            f"{rc}: needs {amount}, has {_number(free)} free of {inventory.total} "
            f"(ratio {inventory.allocation_ratio:.1f}, reserved {inventory.reserved}, "
            f"used {inventory.used})"
        )
    return out


class _Scope:
    """For the unnumbered group: the traits each tree may draw on (tree + linked sharing)."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self._traits: dict[int, frozenset[str]] = {}

    def traits(self, root: int) -> frozenset[str]:
        found = self._traits.get(root)
        if found is None:
            providers = self.universe.providers
            found = frozenset().union(
                *(providers[pid].traits for pid in self.universe.eligible(root))
            )
            self._traits[root] = found
        return found

    def anchors_of(self, provider: Provider) -> Iterator[int]:
        yield provider.root_id
        if provider.sharing:
            yield from self.universe.links.get(provider.id, ())

    def covers(self, provider: Provider, terms: list[frozenset[str]]) -> bool:
        """Some tree the provider may serve has a trait of every term."""
        return any(
            all(self.traits(anchor) & term for term in terms)
            for anchor in self.anchors_of(provider)
        )


def _failures(
    provider: Provider,
    group: RequestGroup,
    resources: dict[str, int],
    universe: Universe,
    in_tree_root: int | None,
    scope: _Scope | None,
) -> dict[str, str]:
    """Step -> what the provider lacks, for every step it fails."""
    out: dict[str, str] = {}
    missing = [rc for rc in resources if rc not in provider.inventories]
    if missing:
        out[CLASSES] = "no inventory of " + ", ".join(missing)
    for rc, amount in resources.items():
        inventory = provider.inventories.get(rc)
        if inventory is not None:
            for step, text in _unit_failures(rc, amount, inventory).items():
                out[step] = f"{out[step]}; {text}" if step in out else text
    out.update(_trait_failures(provider, group, scope))
    out.update(_aggregate_failures(provider, group, universe, scope is not None))
    if group.in_tree is not None and provider.root_id != in_tree_root:
        out[IN_TREE] = f"not in the tree of {group.in_tree}"
    return out


def _trait_failures(
    provider: Provider, group: RequestGroup, scope: _Scope | None
) -> dict[str, str]:
    out: dict[str, str] = {}
    singles = sorted(next(iter(s)) for s in group.required if len(s) == 1)
    any_ofs = [s for s in group.required if len(s) > 1]
    if scope is None:
        lacking = [name for name in singles if name not in provider.traits]
        if lacking:
            out[REQUIRED] = "missing trait " + ", ".join(lacking)
        for any_of in any_ofs:
            if not provider.traits & any_of:
                out[ANY_OF] = "has none of " + ", ".join(sorted(any_of))
    else:
        if singles and not scope.covers(provider, [frozenset([n]) for n in singles]):
            out[REQUIRED] = "no tree it may serve has trait " + ", ".join(singles)
        if any_ofs and not scope.covers(provider, any_ofs):
            out[ANY_OF] = "no tree it may serve has one of " + "; ".join(
                ", ".join(sorted(s)) for s in any_ofs
            )
    bad = provider.traits & group.forbidden
    if bad:
        out[FORBIDDEN] = "has forbidden trait " + ", ".join(sorted(bad))
    return out


def _aggregate_failures(
    provider: Provider, group: RequestGroup, universe: Universe, unnumbered: bool
) -> dict[str, str]:
    """``member_of``: the provider's own aggregates, or (unnumbered group) its root's."""
    out: dict[str, str] = {}
    root = universe.providers.get(provider.root_id, provider)
    own_ok = all(provider.aggregates & term for term in group.member_of)
    root_ok = unnumbered and all(root.aggregates & term for term in group.member_of)
    if not (own_ok or root_ok):
        out[MEMBER_OF] = "not in any requested aggregate" + (
            " (nor is its root)" if unnumbered else ""
        )
    bad_aggs = provider.aggregates & group.forbidden_aggs
    if unnumbered and not provider.sharing:
        bad_aggs |= root.aggregates & group.forbidden_aggs
    if bad_aggs:
        out[FORBIDDEN_AGGS] = "in forbidden aggregate " + ", ".join(sorted(bad_aggs))
    return out


def _count(
    universe: Universe,
    group: RequestGroup,
    resources: dict[str, int],
    in_tree_root: int | None,
    scope: _Scope | None,
) -> tuple[list[int], dict[str, list[Miss]]]:
    """Remaining after each step, and the providers failing that one step only."""
    remaining = [0] * len(STEPS)
    only: dict[str, list[Miss]] = {}
    for provider in universe.providers.values():
        failed = _failures(provider, group, resources, universe, in_tree_root, scope)
        first = len(STEPS)
        for i, step in enumerate(STEPS):
            if step in failed:
                first = i
                break
        for i in range(first):
            remaining[i] += 1
        if len(failed) == 1:
            step, text = next(iter(failed.items()))
            only.setdefault(step, []).append(Miss(provider, [text], _distance(provider, resources)))
    return remaining, only


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


def group_funnel(universe: Universe, group: RequestGroup, in_tree_root: int | None) -> GroupFunnel:
    total = len(universe.providers)
    if group.suffix == UNNUMBERED and group.resources:
        scope = _Scope(universe)
        per_class = {
            rc: _count(universe, group, {rc: amount}, in_tree_root, scope)
            for rc, amount in sorted(group.resources.items())
        }
        counts = [min(c[0][i] for c in per_class.values()) for i in range(len(STEPS))]
        out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, counts, strict=True)])
        out.by_class = {rc: c[0] for rc, c in per_class.items()}
        for i, step in enumerate(STEPS):
            for rc, (remaining, only) in per_class.items():
                if remaining[i] == 0:
                    out.zero_step, out.zero_class = step, rc
                    out.misses = _nearest(only.get(step, []))
                    return out
        return out
    remaining, only = _count(universe, group, dict(group.resources), in_tree_root, None)
    out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, remaining, strict=True)])
    for i, step in enumerate(STEPS):
        if remaining[i] == 0:
            out.zero_step = step
            out.misses = _nearest(only.get(step, []))
            break
    return out


def _nearest(misses: list[Miss]) -> list[Miss]:
    return sorted(misses, key=lambda m: (m.distance, m.provider.id))[:MAX_MISSES]
