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

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from allotment.store.candidates.request import UNNUMBERED, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider, Universe
from allotment.store.explain import misses as misses_mod
from allotment.store.explain.misses import Miss

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
_INDEX = {step: i for i, step in enumerate(STEPS)}
_CLASSES_AT = _INDEX[CLASSES]
_PASSED = len(STEPS)


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
    """For the unnumbered group: whether a tree holds a trait of every term among its
    providers and the sharing providers linked to it (what a candidate there may
    draw on). Asked tree by tree and kept: an explanation may look at a few trees
    only (``explain.tally``)."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        # (id(terms), root) -> covered (``terms`` is one of a group's fixed lists).
        self._covered: dict[tuple[int, int], bool] = {}

    def root_covered(self, root: int, terms: list[frozenset[str]]) -> bool:
        key = (id(terms), root)
        found = self._covered.get(key)
        if found is None:
            found = self._covered[key] = self._covering(root, terms)
        return found

    def _covering(self, root: int, terms: list[frozenset[str]]) -> bool:
        universe = self.universe
        providers = universe.providers
        near = [providers[pid] for pid in universe.trees.get(root, ())]
        near += [providers[pid] for pid in universe.sharing_by_anchor.get(root, ())]
        return all(any(p.traits & term for p in near) for term in terms)

    def covers(self, provider: Provider, terms: list[frozenset[str]]) -> bool:
        """Some tree the provider may serve has a trait of every term."""
        if self.root_covered(provider.root_id, terms):  # its own tree
            return True
        # A sharing provider: a tree linked to it.
        return provider.sharing and any(
            self.root_covered(root, terms) for root in self.universe.links.get(provider.id, ())
        )


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


def judges(
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
        for key, resources, judge in judges(universe, group, in_tree_root)
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


def first_stop(provider: Provider, resources: dict[str, int], judge: _Judge) -> int:
    """The index of the first step ``provider`` fails (``len(STEPS)``: none).

    One class (the unnumbered group counts one at a time): ``first_step``
    inlined, a provider costing a dictionary look-up and ``fits``.
    """
    if len(resources) != 1:
        return judge.first_step(provider, resources)
    ((rc, amount),) = resources.items()
    inventory = provider.inventories.get(rc)
    if inventory is None:
        return _CLASSES_AT
    if inventory.fits(amount):
        return judge.after_capacity(provider)
    return _one_unit_step(inventory, amount)


def remaining_after(failed_at: list[int], total: int) -> list[int]:
    """Providers left after each step, from how many failed first at each."""
    remaining = [0] * len(STEPS)
    alive = total
    for i in range(len(STEPS)):
        alive -= failed_at[i]
        remaining[i] = alive
    return remaining


def _count(
    universe: Universe,
    resources: dict[str, int],
    judge: _Judge,
    stops: dict[int, int] | None = None,
) -> tuple[list[int], dict[int, list[Provider]]]:
    """Remaining after each step, and the providers by the first step they fail
    (each provider's first step also in ``stops`` when given)."""
    failed_at = [0] * (len(STEPS) + 1)
    first_failed: dict[int, list[Provider]] = {}
    # ``first_stop`` inlined for one class (the unnumbered group counts one at
    # a time): this loop visits every provider of the cloud.
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
        if stops is not None:
            stops[provider.id] = stop
    return remaining_after(failed_at, len(universe.providers)), first_failed


def summarise(group: RequestGroup, total: int, remaining: dict[str, list[int]]) -> GroupFunnel:
    """The group's funnel from what remains after each step per key (``judges``),
    with its zero step (the nearest misses are the caller's)."""
    counts = [min(r[i] for r in remaining.values()) for i in range(len(STEPS))]
    out = GroupFunnel(group, [(PROVIDERS, total), *zip(STEPS, counts, strict=True)])
    if group.suffix == UNNUMBERED and group.resources:
        out.by_class = dict(remaining)
    for i, step in enumerate(STEPS):
        for key, left in remaining.items():
            if left[i] == 0:
                out.zero_step, out.zero_class = step, key or None
                return out
    return out


def find_misses(
    universe: Universe, found: GroupFunnel, judged: list[tuple[str, dict[str, int], _Judge]]
) -> None:
    """Fill ``found.misses``: the nearest providers failing its zero step alone (one
    scan of the providers, for the key that reached zero)."""
    assert found.zero_step is not None
    step = _INDEX[found.zero_step]
    for key, resources, judge in judged:
        if key == (found.zero_class or ""):
            providers = universe.providers.values()
            first = [p for p in providers if first_stop(p, resources, judge) == step]
            found.misses = misses_mod.nearest(step, {step: first}, resources, judge)
            return


def group_funnel(
    universe: Universe,
    group: RequestGroup,
    in_tree_root: int | None,
    stops: list[dict[int, int]] | None = None,
) -> GroupFunnel:
    """The group's funnel over every provider. With ``stops``, one dictionary per key
    of ``judges`` is appended to it: each provider's first failed step."""
    per_key = {}
    for key, resources, judge in judges(universe, group, in_tree_root):
        found: dict[int, int] | None = None
        if stops is not None:
            found = {}
            stops.append(found)
        per_key[key] = (_count(universe, resources, judge, found), resources, judge)
    remaining = {key: counted[0] for key, (counted, _r, _j) in per_key.items()}
    out = summarise(group, len(universe.providers), remaining)
    if out.zero_step is not None:
        (_left, first_failed), resources, judge = per_key[out.zero_class or ""]
        out.misses = misses_mod.nearest(_INDEX[out.zero_step], first_failed, resources, judge)
    return out
