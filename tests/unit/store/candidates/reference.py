"""A brute-force reference of spec J3-J5, written straight from the spec text.

For every root, try *every* assignment of providers (its tree plus linked
sharing providers) to every slot (one per class of the unnumbered group, one
per suffixed group) and keep those passing every rule. Exponential, only for
tiny random trees; it shares no code with the engine on purpose.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable

from hypothesis import strategies as st

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.universe import Inventory, Provider

SHARES = "MISC_SHARES_VIA_AGGREGATE"
RCS = ("VCPU", "DISK_GB", "SRIOV_NET_VF")
TRAITS = ("CUSTOM_A", "CUSTOM_B", "CUSTOM_C")
AGGS = ("00000000-0000-0000-0000-0000000000a1", "00000000-0000-0000-0000-0000000000a2")


def reference(providers: Iterable[Provider], request: CandidateRequest) -> set[tuple]:
    """Every candidate key (allocations, mappings) of ``request`` over ``providers``."""
    by_id = {p.id: p for p in providers}
    uuid_root = {p.uuid: p.root_id for p in by_id.values()}
    out: set[tuple] = set()
    for root in (p for p in by_id.values() if p.root_id == p.id):
        if not (request.root_required <= root.traits) or root.traits & request.root_forbidden:
            continue
        tree = [p for p in by_id.values() if p.root_id == root.id]
        tree_aggs = set().union(*(p.aggregates for p in tree))
        linked = [
            p
            for p in by_id.values()
            if SHARES in p.traits and p.root_id != root.id and p.aggregates & tree_aggs
        ]
        pool = tree + linked
        slots = _slots(request)
        for combo in itertools.product(pool, repeat=len(slots)):
            key = _check(combo, slots, root, request, by_id, uuid_root)
            if key is not None:
                out.add(key)
    return out


def _slots(request: CandidateRequest) -> list[tuple[RequestGroup, str | None]]:
    slots: list[tuple[RequestGroup, str | None]] = []
    for group in request.groups:
        if group.same_provider:
            slots.append((group, None))
        else:
            slots.extend((group, rc) for rc in sorted(group.resources))
    return slots


def _all_terms(aggs: frozenset[str], terms) -> bool:
    return all(aggs & term for term in terms)


def _slot_ok(
    p: Provider, group: RequestGroup, rc: str | None, root: Provider, uuid_root: dict[str, int]
) -> bool:
    in_tree_root = uuid_root.get(group.in_tree) if group.in_tree else None
    if rc is None:  # suffixed: everything on the provider itself
        if group.in_tree and p.root_id != in_tree_root:
            return False
        if p.traits & group.forbidden or not all(p.traits & s for s in group.required):
            return False
        if not _all_terms(p.aggregates, group.member_of) or p.aggregates & group.forbidden_aggs:
            return False
        return all(
            r in p.inventories and p.inventories[r].fits(n) for r, n in group.resources.items()
        )
    own_tree = p.root_id == root.id
    if group.in_tree and not (own_tree and root.id == in_tree_root):
        return False
    if p.traits & group.forbidden:
        return False
    if p.aggregates & group.forbidden_aggs or root.aggregates & group.forbidden_aggs:
        return False
    member = _all_terms(p.aggregates, group.member_of) or (
        own_tree and _all_terms(root.aggregates, group.member_of)
    )
    if not member:
        return False
    return rc in p.inventories and p.inventories[rc].fits(group.resources[rc])


def _ancestor_or_self(a: Provider, b: Provider, by_id: dict[int, Provider]) -> bool:
    current: Provider | None = b
    while current is not None:
        if current.id == a.id:
            return True
        current = by_id.get(current.parent_id) if current.parent_id else None
    return False


def _check(combo, slots, root, request, by_id, uuid_root) -> tuple | None:
    sums: dict[tuple[int, str], int] = {}
    mappings: dict[str, set[int]] = {}
    for p, (group, rc) in zip(combo, slots, strict=True):
        if not _slot_ok(p, group, rc, root, uuid_root):
            return None
        amounts = group.resources if rc is None else {rc: group.resources[rc]}
        for r, n in amounts.items():
            sums[(p.id, r)] = sums.get((p.id, r), 0) + n
        mappings.setdefault(group.suffix, set()).add(p.id)
    for (pid, r), n in sums.items():
        inventory = by_id[pid].inventories[r]
        if inventory.used + n > inventory.capacity or n > inventory.max_unit:
            return None
    suffixed = [p.id for p, (g, _) in zip(combo, slots, strict=True) if g.same_provider]
    if request.isolate and len(set(suffixed)) != len(suffixed):
        return None
    chosen = {g.suffix: p for p, (g, _) in zip(combo, slots, strict=True) if g.same_provider}
    for subtree in request.same_subtrees:
        members = [chosen[s] for s in subtree]
        if not any(all(_ancestor_or_self(top, o, by_id) for o in members) for top in members):
            return None
    unnumbered = request.unnumbered
    if unnumbered is not None and unnumbered.resources:
        traits = set().union(*(by_id[pid].traits for pid in mappings.get("", ())))
        if not all(traits & any_of for any_of in unnumbered.required):
            return None
    if not request.nested_aware:
        used = {p.id for p in combo}
        if len({by_id[pid].root_id for pid in used}) != len(used):
            return None
    allocs = tuple(sorted((pid, r, n) for (pid, r), n in sums.items()))
    maps = tuple(sorted((s, tuple(sorted(ps))) for s, ps in mappings.items()))
    return allocs, maps


# ---------------------------------------------------------------------------
# Random worlds


def _rarely(draw, strategy, default, one_in: int = 4):
    """Draw from ``strategy`` one time in ``one_in``, else ``default`` (keeps worlds sane)."""
    return draw(strategy) if draw(st.integers(1, one_in)) == 1 else default


@st.composite
def inventories(draw) -> dict[str, Inventory]:
    out = {}
    classes = _rarely(draw, st.just(set()), None, one_in=6)
    if classes is None:
        classes = draw(st.sets(st.sampled_from(RCS), min_size=1, max_size=3))
    for rc in sorted(classes):
        total = draw(st.integers(1, 6))
        out[rc] = Inventory(
            total=total,
            reserved=_rarely(draw, st.integers(0, total - 1), 0),
            min_unit=_rarely(draw, st.integers(1, 2), 1),
            max_unit=_rarely(draw, st.integers(1, 3), 4),
            step_size=_rarely(draw, st.integers(1, 2), 1),
            allocation_ratio=_rarely(draw, st.sampled_from([0.5, 1.5, 2.0]), 1.0),
            used=_rarely(draw, st.integers(0, 3), 0),
        )
    return out


@st.composite
def worlds(draw) -> list[Provider]:
    """1-2 trees of depth <= 2 plus 0-2 sharing providers, random everything."""
    providers: list[Provider] = []
    next_id = iter(range(1, 100))

    def add(parent: Provider | None, sharing: bool = False) -> Provider:
        pid = next(next_id)
        traits = set(draw(st.sets(st.sampled_from(TRAITS), max_size=3)))
        if sharing:
            traits.add(SHARES)
        provider = Provider(
            id=pid,
            uuid=f"00000000-0000-0000-0000-{pid:012d}",
            root_id=parent.root_id if parent else pid,
            parent_id=parent.id if parent else None,
            traits=frozenset(traits),
            aggregates=frozenset(draw(st.sets(st.sampled_from(AGGS), max_size=2))),
            inventories=draw(inventories()),
        )
        providers.append(provider)
        return provider

    for _ in range(draw(st.integers(1, 2))):
        root = add(None)
        for _ in range(draw(st.integers(0, 3))):
            child = add(root)
            if draw(st.booleans()):
                add(child)
    for _ in range(draw(st.integers(0, 2))):
        add(None, sharing=True)
    return providers


@st.composite
def requests(draw, providers: list[Provider]) -> CandidateRequest:
    groups = []
    if draw(st.booleans()):
        groups.append(_group(draw, "", providers, resourceful=True))
    for i in range(draw(st.sampled_from([0, 1, 1, 2, 2, 3]) if groups else st.integers(1, 3))):
        groups.append(
            _group(
                draw, str(i + 1), providers, resourceful=not groups or draw(st.integers(0, 3)) > 0
            )
        )
    suffixes = [g.suffix for g in groups if g.same_provider]
    subtrees = []
    resourceless = [g.suffix for g in groups if g.same_provider and g.resourceless]
    if suffixes and (resourceless or draw(st.integers(1, 4)) == 1):
        chosen = set(draw(st.sets(st.sampled_from(suffixes), min_size=1))) | set(resourceless)
        subtrees.append(frozenset(chosen))
    return CandidateRequest(
        groups=tuple(groups),
        group_policy=draw(st.sampled_from(["none", "isolate"])),
        root_required=_rarely(
            draw, st.frozensets(st.sampled_from(TRAITS), max_size=1), frozenset(), one_in=5
        ),
        root_forbidden=_rarely(
            draw, st.frozensets(st.sampled_from(TRAITS[2:]), max_size=1), frozenset(), one_in=5
        ),
        same_subtrees=tuple(subtrees),
        nested_aware=draw(st.integers(0, 4)) > 0,
    )


def _group(draw, suffix: str, providers: list[Provider], resourceful: bool) -> RequestGroup:
    resources = {}
    if resourceful:
        rcs = draw(st.sets(st.sampled_from(RCS), min_size=1, max_size=2 if suffix == "" else 1))
        resources = {rc: _rarely(draw, st.integers(2, 3), 1, one_in=3) for rc in rcs}
    required = _rarely(
        draw,
        st.lists(st.frozensets(st.sampled_from(TRAITS), min_size=1, max_size=2), max_size=2).map(
            tuple
        ),
        (),
    )
    forbidden = _rarely(draw, st.frozensets(st.sampled_from(TRAITS), max_size=1), frozenset())
    forbidden -= {t for s in required if len(s) == 1 for t in s}
    member_of = _rarely(
        draw, st.lists(st.frozensets(st.sampled_from(AGGS), min_size=1), max_size=1).map(tuple), ()
    )
    forbidden_aggs = _rarely(
        draw, st.frozensets(st.sampled_from(AGGS), max_size=1), frozenset(), one_in=5
    )
    in_tree = None
    if draw(st.integers(0, 7)) == 0:
        in_tree = draw(st.sampled_from(providers)).uuid
    return RequestGroup(
        suffix=suffix,
        resources=resources,
        required=required,
        forbidden=forbidden,
        member_of=member_of,
        forbidden_aggs=forbidden_aggs,
        in_tree=in_tree,
    )


def shuffled(items: list, seed: int) -> list:
    copy = list(items)
    random.Random(seed).shuffle(copy)
    return copy
