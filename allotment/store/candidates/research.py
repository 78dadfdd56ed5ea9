"""Load what a candidate search needs, in a bounded number of set-based queries.

The search runs in steps so that a limited request only reads the trees it
returns (docs/allocation-candidates.md, "Research").

``plan`` (once per request) resolves names and ``in_tree`` uuids, finds the
sharing providers (trait ``MISC_SHARES_VIA_AGGREGATE``), their fits, traits and
aggregates, and for the relevant ones the roots of the trees they share an
aggregate with (their links).

``anchors`` (once per window of root ids; one window holding every root when
the whole answer is needed) returns the roots where every request group could
be served, in id order. It only moves integer ids (plain tuples, no Python
object per row): one query per distinct (class, amount) of the request for
the providers that can take it (capacity with the un-truncated
product, min/max unit, step size, current usage), one for the providers
having a trait the request names, one for those in an aggregate it names.
The group rules that can be decided per provider are applied in Python sets;
they are necessary conditions only (the assembler applies the exact rules),
so no real candidate is ever lost.

``load`` reads a chunk of anchors whole (plus the trees of the sharing
providers linked to them) in four queries: providers, traits, aggregates and
inventories with usage. That is also everything the provider summaries need.

Queries: at most 5 + (C + 2) to plan, C + 2 per window and 4 per chunk, with C
the number of distinct (class, amount) pairs of the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import resource_class
from allotment.store.candidates import lookup_order
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.trees import load_trees, used_column
from allotment.store.candidates.universe import SHARING_TRAIT, Universe
from allotment.store.tables import inventories as inv
from allotment.store.tables import placement_aggregates as aggs
from allotment.store.tables import resource_provider_aggregates as rpa
from allotment.store.tables import resource_provider_traits as rpt
from allotment.store.tables import resource_providers as rp
from allotment.store.tables import traits as traits_t

# provider id -> root id, for the providers passing some test.
Found = dict[int, int]


@dataclass
class Research:
    """What the assembler needs: the universe and each group's ``in_tree`` root."""

    universe: Universe
    in_tree_roots: dict[str, int | None] = field(default_factory=dict)


@dataclass
class Facts:
    """Per-provider facts of the request's classes, traits and aggregates (ids only)."""

    fits: dict[tuple[int, int], Found] = field(default_factory=dict)  # (class, amount)
    traits: dict[str, Found] = field(default_factory=dict)  # trait name -> providers
    aggregates: dict[str, Found] = field(default_factory=dict)  # aggregate uuid -> members
    links: dict[int, frozenset[int]] = field(default_factory=dict)  # sharing -> linked roots
    in_tree_roots: dict[str, int | None] = field(default_factory=dict)

    def with_trait(self, names: Iterable[str]) -> Found:
        out: Found = {}
        for name in names:
            out.update(self.traits.get(name, {}))
        return out

    def in_aggregate(self, uuids: Iterable[str]) -> Found:
        out: Found = {}
        for uuid in uuids:
            out.update(self.aggregates.get(uuid, {}))
        return out

    def absorb(self, other: Facts) -> Facts:
        """Add ``other``'s facts (about other providers) and take its links; returns self."""
        for fit, found in other.fits.items():
            self.fits.setdefault(fit, {}).update(found)
        for facts, theirs in ((self.traits, other.traits), (self.aggregates, other.aggregates)):
            for name, members in theirs.items():
                facts.setdefault(name, {}).update(members)
        self.links = other.links
        self.in_tree_roots = other.in_tree_roots
        return self


@dataclass
class Plan:
    """What every window of the search shares: names, sharing providers and their links."""

    request: CandidateRequest
    rc_ids: dict[str, int] = field(default_factory=dict)
    trait_ids: dict[str, int] = field(default_factory=dict)
    hopeless: bool = False
    # Facts about the sharing providers, with their links: the roots they may serve.
    sharing: Facts = field(default_factory=Facts)
    sharing_roots: dict[int, int] = field(default_factory=dict)
    id_range: tuple[int, int] | None = None
    # The only roots worth examining, in id order (None: every root). The
    # in-memory model narrows them to the trees holding the request's rarest
    # class; SQL research does not use it.
    roots: list[int] | None = None

    @property
    def in_tree_roots(self) -> dict[str, int | None]:
        return self.sharing.in_tree_roots


Window = tuple[int, int] | None  # root ids lo <= id < hi; None: every root


def _ids(values: Iterable[int]) -> sa.BindParameter:
    """An IN list rendered inline: integers only, so no bind-parameter limits apply."""
    return sa.bindparam(
        "ids", sorted(set(values)), unique=True, expanding=True, literal_execute=True
    )


def research(conn: Connection, request: CandidateRequest) -> Research:
    """Every provider of every tree that may anchor a candidate, as one ``Universe``.

    Raises ResourceClassNotFound / TraitNotFound for unknown names.
    """
    found = plan(conn, request)
    roots = anchors(conn, found, None)
    if not roots:
        return Research(Universe([], anchors=[]), found.in_tree_roots)
    return Research(load(conn, found, roots), found.in_tree_roots)


# ---------------------------------------------------------------------------
# Planning: anchors from ids only


def plan(conn: Connection, request: CandidateRequest, windowed: bool = False) -> Plan:
    """Names, sharing providers and their links; ``windowed`` also the provider id range.

    Raises ResourceClassNotFound / TraitNotFound for unknown names.
    """
    rc_ids = resource_class.ids_for_names(conn, request.resource_classes())
    trait_ids = lookup_order.trait_ids(conn, request)
    in_tree_roots = _in_tree_roots(conn, request.groups)
    found = Plan(request, rc_ids, trait_ids or {}, sharing=Facts(in_tree_roots=in_tree_roots))
    if trait_ids is None or any(root is None for root in in_tree_roots.values()):
        found.hopeless = True  # an unknown in_tree provider matches nothing
        return found
    sharing = _sharing_provider_ids(conn)
    if sharing:
        facts = _facts(conn, found, rp.c.id.in_(_ids(sharing)))
        if any(g.resourceless for g in request.suffixed):
            relevant = sharing
        else:
            relevant = {pid for fit in facts.fits.values() for pid in fit}
        facts.links = _sharing_links(conn, relevant)
        facts.in_tree_roots = in_tree_roots
        found.sharing = facts
        found.sharing_roots = _roots_of(conn, list(facts.links))
    unnumbered = request.unnumbered
    if windowed and not (unnumbered is not None and unnumbered.in_tree is not None):
        # Two statements: SQLite answers each from one end of the primary key,
        # but scans the whole index for min() and max() in one statement.
        low = conn.execute(sa.select(sa.func.min(rp.c.id))).scalar()
        high = conn.execute(sa.select(sa.func.max(rp.c.id))).scalar()
        if low is not None and high is not None:
            found.id_range = (low, high)
    return found


def windows(found: Plan, first: int | None, grow: bool = True) -> Iterator[Window]:
    """Root id ranges to search in turn: ``first`` ids wide, then twice as wide
    each time (or, not ``grow``, every one ``first`` wide).

    A single window (every root) without ``first`` or without an id range.
    """
    if found.hopeless:
        return
    if first is None or found.id_range is None:
        yield None
        return
    low, high = found.id_range
    width = max(1, first)
    while low <= high:
        yield (low, low + width)
        low += width
        if grow:
            width *= 2


def anchors(conn: Connection, found: Plan, window: Window) -> list[int]:
    """The anchors with root ids in ``window``, in id order."""
    if found.hopeless:
        return []
    where = None
    if window is not None:
        where = sa.and_(
            rp.c.root_provider_id >= _int(window[0]), rp.c.root_provider_id < _int(window[1])
        )
    facts = _facts(conn, found, where, by_root=window is not None)
    roots = anchor_roots(found.request, found.rc_ids, facts.absorb(found.sharing))
    if window is not None:
        roots = {root for root in roots if window[0] <= root < window[1]}
    return sorted(roots)


def _facts(
    conn: Connection, found: Plan, where: sa.ColumnElement | None, by_root: bool = False
) -> Facts:
    """Fits, traits and aggregates of the providers matching ``where`` (on providers)."""
    fits = {
        (rc_id, amount): _fitting(conn, rc_id, amount, where, by_root)
        for rc_id, amount in sorted(amounts(found.request, found.rc_ids))
    }
    return Facts(
        fits=fits,
        traits=_providers_with_traits(conn, found.trait_ids, where, by_root),
        aggregates=_providers_in_aggregates(conn, found.request.aggregate_uuids(), where),
    )


def amounts(request: CandidateRequest, rc_ids: dict[str, int]) -> set[tuple[int, int]]:
    return {
        (rc_ids[rc], amount) for group in request.groups for rc, amount in group.resources.items()
    }


def _in_tree_roots(conn: Connection, groups: Iterable[RequestGroup]) -> dict[str, int | None]:
    wanted = {g.suffix: g.in_tree for g in groups if g.in_tree is not None}
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(rp.c.uuid, rp.c.root_provider_id).where(rp.c.uuid.in_(set(wanted.values())))
    ).all()
    found = {uuid: root for uuid, root in rows}
    return {suffix: found.get(uuid) for suffix, uuid in wanted.items()}


def _int(value: int) -> sa.ColumnElement:
    # Request amounts and ids are validated integers: inline them so that the
    # same SQL works on every driver (no typed-parameter arithmetic).
    return sa.literal_column(str(int(value)), sa.Integer)


def _fitting(
    conn: Connection, rc_id: int, amount: int, where: sa.ColumnElement | None, by_root: bool = False
) -> Found:
    """Providers (matching ``where``) whose inventory of the class can take ``amount``."""
    capacity = (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio
    # With a root id window, ``+ 0`` keeps SQLite from scanning every inventory
    # of the class through its index: it then walks the providers of the window.
    rc_column = inv.c.resource_class_id + _int(0) if by_root else inv.c.resource_class_id
    query = (
        sa.select(inv.c.resource_provider_id, rp.c.root_provider_id)
        .select_from(inv.join(rp, rp.c.id == inv.c.resource_provider_id))
        .where(
            rc_column == _int(rc_id),
            inv.c.min_unit <= _int(amount),
            inv.c.max_unit >= _int(amount),
            _int(amount) % inv.c.step_size == 0,
            used_column() + _int(amount) <= capacity,
        )
    )
    if where is not None:
        query = query.where(where)
    return dict(conn.execute(query).all())


def _providers_with_traits(
    conn: Connection,
    trait_ids: dict[str, int],
    where: sa.ColumnElement | None,
    by_root: bool = False,
) -> dict[str, Found]:
    if not trait_ids:
        return {}
    names = {tid: name for name, tid in trait_ids.items()}
    # As in _fitting: with a window, walk its providers rather than every holder.
    trait_column = rpt.c.trait_id + _int(0) if by_root else rpt.c.trait_id
    query = (
        sa.select(rpt.c.trait_id, rpt.c.resource_provider_id, rp.c.root_provider_id)
        .select_from(rpt.join(rp, rp.c.id == rpt.c.resource_provider_id))
        .where(trait_column.in_(_ids(names)))
    )
    if where is not None:
        query = query.where(where)
    out: dict[str, Found] = {}
    for tid, pid, root in conn.execute(query).all():
        out.setdefault(names[tid], {})[pid] = root
    return out


def _providers_in_aggregates(
    conn: Connection, uuids: set[str], where: sa.ColumnElement | None
) -> dict[str, Found]:
    if not uuids:
        return {}
    query = (
        sa.select(aggs.c.uuid, rpa.c.resource_provider_id, rp.c.root_provider_id)
        .select_from(
            rpa.join(aggs, aggs.c.id == rpa.c.aggregate_id).join(
                rp, rp.c.id == rpa.c.resource_provider_id
            )
        )
        .where(aggs.c.uuid.in_(sorted(uuids)))
    )
    if where is not None:
        query = query.where(where)
    out: dict[str, Found] = {}
    for uuid, pid, root in conn.execute(query).all():
        out.setdefault(uuid, {})[pid] = root
    return out


def _sharing_provider_ids(conn: Connection) -> set[int]:
    query = (
        sa.select(rpt.c.resource_provider_id)
        .select_from(rpt.join(traits_t, traits_t.c.id == rpt.c.trait_id))
        .where(traits_t.c.name == SHARING_TRAIT)
    )
    return set(conn.execute(query).scalars())


def _sharing_links(conn: Connection, sharing: set[int]) -> dict[int, frozenset[int]]:
    """Sharing provider -> roots of the trees with a provider in one of its aggregates."""
    if not sharing:
        return {}
    mine = rpa.alias("mine")
    other = rpa.alias("other")
    query = (
        sa.select(mine.c.resource_provider_id, rp.c.root_provider_id)
        .distinct()
        .select_from(
            mine.join(other, other.c.aggregate_id == mine.c.aggregate_id).join(
                rp, rp.c.id == other.c.resource_provider_id
            )
        )
        .where(mine.c.resource_provider_id.in_(_ids(sharing)))
    )
    out: dict[int, set[int]] = {}
    for sharing_id, root in conn.execute(query).all():
        out.setdefault(sharing_id, set()).add(root)
    return {k: frozenset(v) for k, v in out.items()}


def _roots_of(conn: Connection, provider_ids: list[int]) -> dict[int, int]:
    if not provider_ids:
        return {}
    query = sa.select(rp.c.id, rp.c.root_provider_id).where(rp.c.id.in_(_ids(provider_ids)))
    return dict(conn.execute(query).all())


def anchor_roots(request: CandidateRequest, rc_ids: dict[str, int], facts: Facts) -> set[int]:
    """Roots where every group with resources has some provider that may serve it.

    A necessary condition only (combinations, summed amounts and the exact
    trait rules of the unnumbered group are the assembler's job).
    """
    anchors: set[int] | None = None
    for group in request.groups:
        if group.resourceless:
            continue
        if group.same_provider:
            roots = _suffixed_roots(group, rc_ids, facts)
        else:
            roots = _unnumbered_roots(group, rc_ids, facts)
        anchors = roots if anchors is None else anchors & roots
        if not anchors:
            return set()
    anchors = anchors or set()
    if request.root_required or request.root_forbidden:
        anchors = {a for a in anchors if _root_traits_ok(a, request, facts)}
    return anchors


def _root_traits_ok(root: int, request: CandidateRequest, facts: Facts) -> bool:
    return all(root in facts.traits.get(name, {}) for name in request.root_required) and not any(
        root in facts.traits.get(name, {}) for name in request.root_forbidden
    )


def _reach(tree: Found, sharing: Found, links: dict[int, frozenset[int]]) -> set[int]:
    """Anchors served: ``tree`` providers in their own tree, ``sharing`` ones via links."""
    roots = set(tree.values())
    for pid in sharing:
        linked = links.get(pid)
        if linked:
            roots |= linked
    return roots


def _suffixed_roots(group: RequestGroup, rc_ids: dict[str, int], facts: Facts) -> set[int]:
    """Suffixed groups: one provider with every class, trait and aggregate rule itself."""
    found: Found | None = None
    for rc, amount in group.resources.items():
        fit = facts.fits[(rc_ids[rc], amount)]
        found = dict(fit) if found is None else {p: r for p, r in found.items() if p in fit}
    found = found or {}
    for any_of in group.required:
        having = facts.with_trait(any_of)
        found = {p: r for p, r in found.items() if p in having}
    for any_of in group.member_of:
        members = facts.in_aggregate(any_of)
        found = {p: r for p, r in found.items() if p in members}
    excluded = (
        facts.with_trait(group.forbidden).keys() | facts.in_aggregate(group.forbidden_aggs).keys()
    )
    in_tree = facts.in_tree_roots.get(group.suffix)
    found = {
        p: r
        for p, r in found.items()
        if p not in excluded and (group.in_tree is None or r == in_tree)
    }
    return _reach(found, found, facts.links)


def _unnumbered_roots(group: RequestGroup, rc_ids: dict[str, int], facts: Facts) -> set[int]:
    """The unnumbered group: each class from some provider of the tree or a linked sharer.

    Forbidden traits and aggregates exclude providers; ``member_of`` holds for
    a provider in its own aggregates, or (in its own tree only) in the root's;
    each required any-of set needs some provider of the anchor having one.
    """
    excluded = (
        facts.with_trait(group.forbidden).keys() | facts.in_aggregate(group.forbidden_aggs).keys()
    )
    members = _all_terms(group.member_of, facts)
    result: set[int] | None = None
    for rc, amount in group.resources.items():
        fit = {p: r for p, r in facts.fits[(rc_ids[rc], amount)].items() if p not in excluded}
        if members is None:
            tree, sharing = fit, fit
        else:
            tree = {p: r for p, r in fit.items() if p in members or r in members}
            sharing = {p: r for p, r in fit.items() if p in members}
        roots = _reach(tree, sharing, facts.links)
        result = roots if result is None else result & roots
    result = result or set()
    for any_of in group.required:
        having = facts.with_trait(any_of)
        result &= _reach(having, having, facts.links)
    # The root itself must not be in a forbidden aggregate.
    result -= set(facts.in_aggregate(group.forbidden_aggs))
    if group.in_tree is not None:
        result &= {facts.in_tree_roots[UNNUMBERED]}
    return result


def _all_terms(terms: tuple[frozenset[str], ...], facts: Facts) -> set[int] | None:
    """Providers in some aggregate of every ``member_of`` term; None without terms."""
    members: set[int] | None = None
    for any_of in terms:
        found = set(facts.in_aggregate(any_of))
        members = found if members is None else members & found
    return members


# ---------------------------------------------------------------------------
# Loading chunks of anchors


def chunks(anchors: list[int], size: int) -> Iterator[list[int]]:
    """``anchors`` in consecutive slices of at most ``size``."""
    size = max(1, size)
    for start in range(0, len(anchors), size):
        yield anchors[start : start + size]


def load(conn: Connection, found: Plan, anchors: list[int]) -> Universe:
    """The trees of ``anchors`` and of the sharing providers linked to them, whole."""
    wanted = set(anchors)
    roots = wanted | {
        found.sharing_roots[s]
        for s, linked in found.sharing.links.items()
        if s in found.sharing_roots and not linked.isdisjoint(wanted)
    }
    return Universe(load_trees(conn, roots), anchors=anchors)
