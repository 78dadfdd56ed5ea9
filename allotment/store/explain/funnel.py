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
from itertools import islice

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


_UNIT_TESTS = (
    (MIN_UNIT, lambda inv, n: inv.min_unit > n),
    (MAX_UNIT, lambda inv, n: inv.max_unit < n),
    (STEP_SIZE, lambda inv, n: n % inv.step_size != 0),
    (CAPACITY, lambda inv, n: inv.used + n > inv.capacity),
)


def _unit_text(step: str, rc: str, amount: int, inventory: Inventory) -> str:
    if step == MIN_UNIT:
        return f"{rc}: needs {amount}, min_unit is {inventory.min_unit}"
    if step == MAX_UNIT:
        return f"{rc}: needs {amount}, max_unit is {inventory.max_unit}"
    if step == STEP_SIZE:
        return f"{rc}: needs {amount}, not a multiple of step_size {inventory.step_size}"
    free = max(0.0, inventory.capacity - inventory.used)
    return (
        f"{rc}: needs {amount}, has {_number(free)} free of {inventory.total} "
        f"(ratio {inventory.allocation_ratio:.1f}, reserved {inventory.reserved}, "
        f"used {inventory.used})"
    )


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
    texts: bool = True,
) -> Iterator[tuple[str, str]]:
    """(step, what the provider lacks) for every step it fails, in step order, lazily:
    counting only asks for the first one, and no text (``texts`` False)."""
    inventories = provider.inventories
    missing = [rc for rc in resources if rc not in inventories]
    if missing:
        yield CLASSES, "no inventory of " + ", ".join(missing)
    # The engine's own test first (Inventory.fits); only a failure is split into steps.
    if not all(rc not in inventories or inventories[rc].fits(n) for rc, n in resources.items()):
        for step, test in _UNIT_TESTS:
            failing = [
                rc
                for rc, amount in resources.items()
                if rc in inventories and test(inventories[rc], amount)
            ]
            if failing:
                yield (
                    step,
                    "; ".join(
                        _unit_text(step, rc, resources[rc], inventories[rc])
                        for rc in failing
                        if texts
                    ),
                )
    if group.required or group.forbidden:
        yield from _trait_failures(provider, group, scope).items()
    if group.member_of or group.forbidden_aggs:
        yield from _aggregate_failures(provider, group, universe, scope is not None).items()
    if group.in_tree is not None and provider.root_id != in_tree_root:
        unknown = " (no provider has that uuid)" if in_tree_root is None else ""
        yield IN_TREE, f"not in the tree of {group.in_tree}{unknown}"


def _trait_failures(
    provider: Provider, group: RequestGroup, scope: _Scope | None
) -> dict[str, str]:
    """Required, forbidden, any-of (in step order)."""
    out: dict[str, str] = {}
    singles = sorted(next(iter(s)) for s in group.required if len(s) == 1)
    any_ofs = [s for s in group.required if len(s) > 1]
    if scope is None:
        lacking = [name for name in singles if name not in provider.traits]
        if lacking:
            out[REQUIRED] = "missing trait " + ", ".join(lacking)
    elif singles and not scope.covers(provider, [frozenset([n]) for n in singles]):
        out[REQUIRED] = "no tree it may serve has trait " + ", ".join(singles)
    bad = provider.traits & group.forbidden
    if bad:
        out[FORBIDDEN] = "has forbidden trait " + ", ".join(sorted(bad))
    if scope is None:
        for any_of in any_ofs:
            if not provider.traits & any_of:
                out[ANY_OF] = "has none of " + ", ".join(sorted(any_of))
    elif any_ofs and not scope.covers(provider, any_ofs):
        out[ANY_OF] = "no tree it may serve has one of " + "; ".join(
            ", ".join(sorted(s)) for s in any_ofs
        )
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


def passing(
    universe: Universe, group: RequestGroup, in_tree_root: int | None
) -> dict[str, set[int]]:
    """The providers passing every step: per class for the unnumbered group, else under ``""``."""
    if group.suffix == UNNUMBERED and group.resources:
        scope = _Scope(universe)
        wanted: list[tuple[dict[str, int], _Scope | None, str]] = [
            ({rc: n}, scope, rc) for rc, n in sorted(group.resources.items())
        ]
    else:
        wanted = [(dict(group.resources), None, "")]
    return {
        key: {
            pid
            for pid, provider in universe.providers.items()
            if next(
                _failures(provider, group, resources, universe, in_tree_root, scope, False), None
            )
            is None
        }
        for resources, scope, key in wanted
    }


_INDEX = {step: i for i, step in enumerate(STEPS)}


def _first_step(
    provider: Provider,
    group: RequestGroup,
    resources: dict[str, int],
    universe: Universe,
    in_tree_root: int | None,
    scope: _Scope | None,
    constrained: bool,
) -> int:
    """The index of the first step ``provider`` fails (``len(STEPS)``: none).

    The same tests, in the same order, as ``_failures`` (which it falls back
    to for traits, aggregates and ``in_tree``), without a generator per
    provider for the common cases: a missing class, a unit or capacity
    failure, a group with no other constraint.
    """
    inventories = provider.inventories
    if not inventories.keys() >= resources.keys():
        return _INDEX[CLASSES]
    for amount_rc, amount in resources.items():
        if not inventories[amount_rc].fits(amount):
            for step, test in _UNIT_TESTS:
                for rc, n in resources.items():
                    if test(inventories[rc], n):
                        return _INDEX[step]
            break
    if not constrained:
        return len(STEPS)
    first = next(_failures(provider, group, resources, universe, in_tree_root, scope, False), None)
    return len(STEPS) if first is None else _INDEX[first[0]]


def _constrained(group: RequestGroup) -> bool:
    """Whether the group has steps after ``capacity``."""
    return bool(
        group.required
        or group.forbidden
        or group.member_of
        or group.forbidden_aggs
        or group.in_tree is not None
    )


def _count(
    universe: Universe,
    group: RequestGroup,
    resources: dict[str, int],
    in_tree_root: int | None,
    scope: _Scope | None,
) -> tuple[list[int], dict[int, list[Provider]]]:
    """Remaining after each step, and the providers by the first step they fail."""
    failed_at = [0] * (len(STEPS) + 1)
    first_failed: dict[int, list[Provider]] = {}
    constrained = _constrained(group)
    for provider in universe.providers.values():
        stop = _first_step(provider, group, resources, universe, in_tree_root, scope, constrained)
        failed_at[stop] += 1
        if stop < len(STEPS):
            first_failed.setdefault(stop, []).append(provider)
    # remaining[i]: providers whose first failure (if any) is after step i.
    remaining = [0] * len(STEPS)
    alive = len(universe.providers)
    for i in range(len(STEPS)):
        alive -= failed_at[i]
        remaining[i] = alive
    return remaining, first_failed


def _only(
    step: int,
    first_failed: dict[int, list[Provider]],
    universe: Universe,
    group: RequestGroup,
    resources: dict[str, int],
    in_tree_root: int | None,
    scope: _Scope | None,
) -> list[Miss]:
    """The nearest providers failing ``STEPS[step]`` and nothing else.

    The providers that failed first there, nearest first; each checked in
    turn until ``MAX_MISSES`` failed that step alone.
    """
    nearest = sorted(
        ((_distance(provider, resources), provider) for provider in first_failed.get(step, [])),
        key=lambda pair: (pair[0], pair[1].id),
    )
    out = []
    for distance, provider in nearest:
        # Two failures are enough to know it is not a miss of this step alone.
        args = (provider, group, resources, universe, in_tree_root, scope, False)
        if len(list(islice(_failures(*args), 2))) == 1:
            out.append(Miss(provider, [], distance))
            if len(out) == MAX_MISSES:
                break
    for miss in out:
        failed = _failures(miss.provider, group, resources, universe, in_tree_root, scope)
        miss.lacks = [next(failed)[1]]
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


def group_funnel(universe: Universe, group: RequestGroup, in_tree_root: int | None) -> GroupFunnel:
    total = len(universe.providers)
    if group.suffix == UNNUMBERED and group.resources:
        scope = _Scope(universe)
        per_class = {
            rc: (_count(universe, group, {rc: amount}, in_tree_root, scope), {rc: amount})
            for rc, amount in sorted(group.resources.items())
        }
        counts = [min(c[0][0][i] for c in per_class.values()) for i in range(len(STEPS))]
        out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, counts, strict=True)])
        out.by_class = {rc: c[0][0] for rc, c in per_class.items()}
        for i, step in enumerate(STEPS):
            for rc, ((remaining, first_failed), resources) in per_class.items():
                if remaining[i] == 0:
                    out.zero_step, out.zero_class = step, rc
                    out.misses = _only(
                        i, first_failed, universe, group, resources, in_tree_root, scope
                    )
                    return out
        return out
    resources = dict(group.resources)
    remaining, first_failed = _count(universe, group, resources, in_tree_root, None)
    out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, remaining, strict=True)])
    for i, step in enumerate(STEPS):
        if remaining[i] == 0:
            out.zero_step = step
            out.misses = _only(i, first_failed, universe, group, resources, in_tree_root, None)
            break
    return out
