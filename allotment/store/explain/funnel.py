"""The per-group funnel of an explanation: providers left after each filter (no SQL).

Every provider of the loaded universe goes through the filters of one request
group, in the order the engine applies them (``allotment.store.candidates``):
the requested classes at all, ``min_unit``, ``max_unit``, ``step_size``, plain
capacity, required traits, forbidden traits, any-of traits, ``member_of``,
forbidden aggregates, ``in_tree``. The count after a step is the number of
providers that passed it and every step before it.

The tests are the engine's own (``Inventory`` fields, ``plan.all_terms``
and friends). A suffixed group is judged on each provider alone, exactly as
``plan.suffixed_choices`` does. The unnumbered group takes each class from
any provider, so its funnel is counted per class (``by_class``, the group's
count being the smallest); its required and any-of traits hold on the union
of the providers a candidate uses, so a provider passes them when some tree it
may serve (its own, or a tree it is linked to as a sharing provider) holds the
traits among its providers and linked sharing providers. Every test is a
necessary condition of the engine's: a provider the engine would use is never
counted out.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
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
_INDEX = {step: i for i, step in enumerate(STEPS)}
_CLASSES_AT = _INDEX[CLASSES]
_PASSED = len(STEPS)


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
    """For the unnumbered group: which trees hold a trait of every term among their
    providers and linked sharing providers (what a candidate there may draw on)."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        # id(terms) -> the roots covered (``terms`` is one of a group's fixed lists).
        self._covered: dict[int, set[int]] = {}

    def covered(self, terms: list[frozenset[str]]) -> set[int]:
        found = self._covered.get(id(terms))
        if found is None:
            found = self._covered[id(terms)] = self._roots_covering(terms)
        return found

    def _roots_covering(self, terms: list[frozenset[str]]) -> set[int]:
        links = self.universe.links
        out: set[int] | None = None
        for term in terms:
            roots: set[int] = set()
            for provider in self.universe.providers.values():
                if provider.traits & term:
                    roots.add(provider.root_id)
                    if provider.sharing:
                        roots.update(links.get(provider.id, ()))
            out = roots if out is None else out & roots
        return out or set()

    def covers(self, provider: Provider, terms: list[frozenset[str]]) -> bool:
        """Some tree the provider may serve has a trait of every term."""
        covered = self.covered(terms)
        if provider.root_id in covered:  # its own tree, else (sharing) a tree linked to it
            return True
        return provider.sharing and not covered.isdisjoint(self.universe.links.get(provider.id, ()))


class _Judge:
    """One group's tests of a provider, in step order.

    The steps after ``capacity`` (traits, aggregates, ``in_tree``) do not
    depend on the class: for the unnumbered group, counted per class, each
    provider's first failure there is computed once.
    """

    def __init__(
        self,
        universe: Universe,
        group: RequestGroup,
        in_tree_root: int | None,
        scope: _Scope | None,
    ) -> None:
        self.universe = universe
        self.group = group
        self.in_tree_root = in_tree_root
        self.scope = scope
        self.singles = sorted(next(iter(s)) for s in group.required if len(s) == 1)
        self.single_terms = [frozenset([name]) for name in self.singles]
        self.any_ofs = [s for s in group.required if len(s) > 1]
        self.constrained = _constrained(group)
        self._other_first: dict[int, int] = {}

    def failures(
        self, provider: Provider, resources: dict[str, int], texts: bool = True
    ) -> Iterator[tuple[str, str]]:
        """(step, what the provider lacks) for every step it fails, in step order,
        lazily: counting only asks for the first one, and no text (``texts`` False)."""
        yield from _resource_failures(provider, resources, texts)
        yield from self.other_failures(provider)

    def other_failures(self, provider: Provider) -> Iterator[tuple[str, str]]:
        """The steps after ``capacity``."""
        group = self.group
        if group.required or group.forbidden:
            yield from self._trait_failures(provider).items()
        if group.member_of or group.forbidden_aggs:
            yield from _aggregate_failures(
                provider, group, self.universe, self.scope is not None
            ).items()
        if group.in_tree is not None and provider.root_id != self.in_tree_root:
            unknown = " (no provider has that uuid)" if self.in_tree_root is None else ""
            yield IN_TREE, f"not in the tree of {group.in_tree}{unknown}"

    def _trait_failures(self, provider: Provider) -> dict[str, str]:
        """Required, forbidden, any-of (in step order)."""
        out: dict[str, str] = {}
        group, scope, singles = self.group, self.scope, self.singles
        if scope is None:
            lacking = [name for name in singles if name not in provider.traits]
            if lacking:
                out[REQUIRED] = "missing trait " + ", ".join(lacking)
        elif singles and not scope.covers(provider, self.single_terms):
            out[REQUIRED] = "no tree it may serve has trait " + ", ".join(singles)
        bad = provider.traits & group.forbidden
        if bad:
            out[FORBIDDEN] = "has forbidden trait " + ", ".join(sorted(bad))
        if scope is None:
            for any_of in self.any_ofs:
                if not provider.traits & any_of:
                    out[ANY_OF] = "has none of " + ", ".join(sorted(any_of))
        elif self.any_ofs and not scope.covers(provider, self.any_ofs):
            out[ANY_OF] = "no tree it may serve has one of " + "; ".join(
                ", ".join(sorted(s)) for s in self.any_ofs
            )
        return out

    def first_step(self, provider: Provider, resources: dict[str, int]) -> int:
        """The index of the first step ``provider`` fails (``len(STEPS)``: none).

        The same tests, in the same order, as ``failures``, without a
        generator per provider for the common cases: a missing class, a unit
        or capacity failure, a group with no other constraint.
        """
        inventories = provider.inventories
        if not inventories.keys() >= resources.keys():
            return _CLASSES_AT
        for rc, amount in resources.items():
            if not inventories[rc].fits(amount):
                return _unit_step(inventories, resources)
        return self.after_capacity(provider)

    def after_capacity(self, provider: Provider) -> int:
        """The index of the first step after ``capacity`` that ``provider`` fails."""
        if not self.constrained:
            return _PASSED
        found = self._other_first.get(provider.id)
        if found is None:
            found = self._other_first[provider.id] = self._first_other_step(provider)
        return found

    def _first_other_step(self, provider: Provider) -> int:
        """The index of the first step after ``capacity`` that ``provider`` fails:
        ``other_failures``' tests in its order, without building their texts
        (counting asks this of every provider)."""
        group = self.group
        if group.required or group.forbidden:
            traits = self._trait_failures(provider)
            if traits:
                return _INDEX[next(iter(traits))]
        if group.member_of or group.forbidden_aggs:
            outside, forbidden = _aggregate_tests(
                provider, group, self.universe, self.scope is not None
            )
            if outside:
                return _INDEX[MEMBER_OF]
            if forbidden:
                return _INDEX[FORBIDDEN_AGGS]
        if group.in_tree is not None and provider.root_id != self.in_tree_root:
            return _INDEX[IN_TREE]
        return _PASSED


def _unit_step(inventories: Mapping[str, Inventory], resources: dict[str, int]) -> int:
    """The first unit or capacity step failed by amounts ``Inventory.fits`` refused."""
    for step, test in _UNIT_TESTS:
        for rc, n in resources.items():
            if test(inventories[rc], n):
                return _INDEX[step]
    raise AssertionError("Inventory.fits refused what every unit test accepts")


def _one_unit_step(inventory: Inventory, amount: int) -> int:
    """``_unit_step`` of one class: the same tests, in the same order, inlined."""
    if inventory.min_unit > amount:
        return _INDEX[MIN_UNIT]
    if inventory.max_unit < amount:
        return _INDEX[MAX_UNIT]
    if amount % inventory.step_size != 0:
        return _INDEX[STEP_SIZE]
    return _INDEX[CAPACITY]


def _resource_failures(
    provider: Provider, resources: dict[str, int], texts: bool
) -> Iterator[tuple[str, str]]:
    """A missing class, then the unit steps and capacity."""
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


def _aggregate_tests(
    provider: Provider, group: RequestGroup, universe: Universe, unnumbered: bool
) -> tuple[bool, frozenset[str]]:
    """(outside the ``member_of`` terms, the forbidden aggregates it is in): the
    provider's own aggregates, or (unnumbered group) its root's."""
    root = universe.providers.get(provider.root_id, provider)
    own_ok = all(provider.aggregates & term for term in group.member_of)
    root_ok = unnumbered and all(root.aggregates & term for term in group.member_of)
    bad_aggs = provider.aggregates & group.forbidden_aggs
    if unnumbered and not provider.sharing:
        bad_aggs |= root.aggregates & group.forbidden_aggs
    return not (own_ok or root_ok), bad_aggs


def _aggregate_failures(
    provider: Provider, group: RequestGroup, universe: Universe, unnumbered: bool
) -> dict[str, str]:
    """``member_of`` and forbidden aggregates, with what the provider lacks."""
    out: dict[str, str] = {}
    outside, bad_aggs = _aggregate_tests(provider, group, universe, unnumbered)
    if outside:
        out[MEMBER_OF] = "not in any requested aggregate" + (
            " (nor is its root)" if unnumbered else ""
        )
    if bad_aggs:
        out[FORBIDDEN_AGGS] = "in forbidden aggregate " + ", ".join(sorted(bad_aggs))
    return out


def _judges(
    universe: Universe, group: RequestGroup, in_tree_root: int | None
) -> list[tuple[str, dict[str, int], _Judge]]:
    """(key, amounts, judge) to count: per class for the unnumbered group, else one under ``""``."""
    if group.suffix == UNNUMBERED and group.resources:
        judge = _Judge(universe, group, in_tree_root, _Scope(universe))
        return [(rc, {rc: n}, judge) for rc, n in sorted(group.resources.items())]
    return [("", dict(group.resources), _Judge(universe, group, in_tree_root, None))]


def passing(
    universe: Universe, group: RequestGroup, in_tree_root: int | None
) -> dict[str, set[int]]:
    """The providers passing every step: per class for the unnumbered group, else under ``""``."""
    return {
        key: {
            pid
            for pid, provider in universe.providers.items()
            if judge.first_step(provider, resources) == len(STEPS)
        }
        for key, resources, judge in _judges(universe, group, in_tree_root)
    }


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
    universe: Universe, resources: dict[str, int], judge: _Judge
) -> tuple[list[int], dict[int, list[Provider]]]:
    """Remaining after each step, and the providers by the first step they fail."""
    failed_at = [0] * (len(STEPS) + 1)
    first_failed: dict[int, list[Provider]] = {}
    # One class (the unnumbered group counts one at a time): ``first_step``
    # inlined, one provider costing a dictionary look-up and ``fits``.
    rc, amount = next(iter(resources.items())) if len(resources) == 1 else ("", 0)
    for provider in universe.providers.values():
        if not rc:
            stop = judge.first_step(provider, resources)
        else:
            inventory = provider.inventories.get(rc)
            if inventory is None:
                stop = _CLASSES_AT
            elif inventory.fits(amount):
                stop = judge.after_capacity(provider)
            else:
                stop = _one_unit_step(inventory, amount)
        failed_at[stop] += 1
        if stop < _PASSED:
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


def group_funnel(universe: Universe, group: RequestGroup, in_tree_root: int | None) -> GroupFunnel:
    total = len(universe.providers)
    judged = _judges(universe, group, in_tree_root)
    per_key = {
        key: (_count(universe, resources, judge), resources, judge)
        for key, resources, judge in judged
    }
    counts = [min(c[0][0][i] for c in per_key.values()) for i in range(len(STEPS))]
    out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, counts, strict=True)])
    if group.suffix == UNNUMBERED and group.resources:
        out.by_class = {rc: c[0][0] for rc, c in per_key.items()}
    for i, step in enumerate(STEPS):
        for key, ((remaining, first_failed), resources, judge) in per_key.items():
            if remaining[i] == 0:
                out.zero_step, out.zero_class = step, key or None
                out.misses = _only(i, first_failed, resources, judge)
                return out
    return out
