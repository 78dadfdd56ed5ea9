"""Load what a candidate search needs, in a bounded number of set-based queries.

The number of queries depends only on the shape of the request, never on the
number of providers (about ten in total):

1. resolve class and trait names (unknown ones are errors) and ``in_tree`` uuids;
2. one query for every inventory that can take at least one requested amount
   of its class (capacity per spec E1 with the un-truncated product, min/max
   unit, step size), with its root;
3. the sharing providers (trait ``MISC_SHARES_VIA_AGGREGATE``) and, for those
   that matter, the roots of every tree they share an aggregate with;
4. in Python, the anchor roots where every group with resources has at least
   one provider (its tree or a linked sharing provider) with capacity;
5. four queries loading those trees whole (plus the trees of the sharing
   providers linked to them): providers, traits, aggregates, inventories with
   usage. That is also everything the provider summaries need.

The result is a ``Universe`` the assembler works on without SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import resource_class, trait
from allotment.store.candidates.request import UNNUMBERED, CandidateRequest, RequestGroup
from allotment.store.candidates.universe import SHARING_TRAIT, Inventory, Provider, Universe
from allotment.store.tables import allocations as alloc
from allotment.store.tables import inventories as inv
from allotment.store.tables import placement_aggregates as aggs
from allotment.store.tables import resource_provider_aggregates as rpa
from allotment.store.tables import resource_provider_traits as rpt
from allotment.store.tables import resource_providers as rp
from allotment.store.tables import traits as traits_t


@dataclass
class Research:
    """What the assembler needs: the universe and each group's ``in_tree`` root."""

    universe: Universe
    in_tree_roots: dict[str, int | None] = field(default_factory=dict)


def _ids(values: Iterable[int]) -> sa.BindParameter:
    """An IN list rendered inline: integers only, so no bind-parameter limits apply."""
    return sa.bindparam("ids", sorted(set(values)), unique=True, expanding=True,
                        literal_execute=True)


def empty() -> Research:
    return Research(Universe([], anchors=[]))


def research(conn: Connection, request: CandidateRequest) -> Research:
    """Every provider of every tree that may anchor a candidate, as a ``Universe``.

    Raises ResourceClassNotFound / TraitNotFound for unknown names.
    """
    rc_ids = resource_class.ids_for_names(conn, request.resource_classes())
    trait.ids_for_names(conn, request.trait_names())
    in_tree_roots = _in_tree_roots(conn, request.groups)
    if any(root is None for root in in_tree_roots.values()):
        return empty()  # an unknown in_tree provider matches nothing
    fitting = _fitting_inventories(conn, request, rc_ids)
    sharing = _sharing_provider_ids(conn)
    needs_all_sharing = any(g.resourceless for g in request.suffixed)
    relevant_sharing = sharing if needs_all_sharing else sharing & {pid for pid, _ in fitting}
    links = _sharing_links(conn, relevant_sharing)
    anchors = _anchor_roots(request, rc_ids, fitting, links, in_tree_roots)
    if not anchors:
        return empty()
    # The trees of sharing providers serving an anchor are loaded too (their
    # summaries, and their own eligibility).
    roots = set(anchors) | _roots_of(conn, [s for s, linked in links.items() if linked & anchors])
    providers = _load_trees(conn, roots)
    return Research(Universe(providers, anchors=sorted(anchors)), in_tree_roots)


def _in_tree_roots(conn: Connection, groups: Iterable[RequestGroup]) -> dict[str, int | None]:
    wanted = {g.suffix: g.in_tree for g in groups if g.in_tree is not None}
    if not wanted:
        return {}
    rows = conn.execute(sa.select(rp.c.uuid, rp.c.root_provider_id)
                        .where(rp.c.uuid.in_(set(wanted.values())))).all()
    found = {row.uuid: row.root_provider_id for row in rows}
    return {suffix: found.get(uuid) for suffix, uuid in wanted.items()}


def _fitting_inventories(conn: Connection, request: CandidateRequest, rc_ids: dict[str, int]
                         ) -> dict[tuple[int, int], tuple[int, Inventory]]:
    """(provider id, class id) -> (root id, inventory) for inventories taking some amount."""
    amounts: dict[int, set[int]] = {}
    for group in request.groups:
        for rc, amount in group.resources.items():
            amounts.setdefault(rc_ids[rc], set()).add(amount)
    if not amounts:
        return {}
    usage = (sa.select(alloc.c.resource_provider_id.label("rp_id"),
                       alloc.c.resource_class_id.label("rc_id"),
                       sa.func.sum(alloc.c.used).label("used"))
             .where(alloc.c.resource_class_id.in_(_ids(amounts)))
             .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id)
             .subquery())
    used = sa.func.coalesce(usage.c.used, 0)
    capacity = (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio
    per_class = []
    for rc_id, wanted in sorted(amounts.items()):
        fits = [sa.and_(used + _int(a) <= capacity, inv.c.min_unit <= _int(a),
                        inv.c.max_unit >= _int(a), _int(a) % inv.c.step_size == 0)
                for a in sorted(wanted)]
        per_class.append(sa.and_(inv.c.resource_class_id == _int(rc_id), sa.or_(*fits)))
    query = (sa.select(inv.c.resource_provider_id, inv.c.resource_class_id,
                       rp.c.root_provider_id, *_inventory_columns(), used.label("used"))
             .select_from(inv.join(rp, rp.c.id == inv.c.resource_provider_id)
                          .outerjoin(usage, sa.and_(
                              usage.c.rp_id == inv.c.resource_provider_id,
                              usage.c.rc_id == inv.c.resource_class_id)))
             .where(sa.or_(*per_class)))
    return {(row.resource_provider_id, row.resource_class_id):
            (row.root_provider_id, _inventory(row)) for row in conn.execute(query)}


def _int(value: int) -> sa.ColumnElement:
    # Request amounts and ids are validated integers: inline them so that the
    # same SQL works on every driver (no typed-parameter arithmetic).
    return sa.literal_column(str(int(value)), sa.Integer)


def _inventory_columns() -> tuple:
    return (inv.c.total, inv.c.reserved, inv.c.min_unit, inv.c.max_unit, inv.c.step_size,
            inv.c.allocation_ratio)


def _inventory(row: sa.Row) -> Inventory:
    return Inventory(total=row.total, reserved=row.reserved, min_unit=row.min_unit,
                     max_unit=row.max_unit, step_size=row.step_size,
                     allocation_ratio=float(row.allocation_ratio), used=int(row.used or 0))


def _sharing_provider_ids(conn: Connection) -> set[int]:
    query = (sa.select(rpt.c.resource_provider_id)
             .select_from(rpt.join(traits_t, traits_t.c.id == rpt.c.trait_id))
             .where(traits_t.c.name == SHARING_TRAIT))
    return set(conn.execute(query).scalars())


def _sharing_links(conn: Connection, sharing: set[int]) -> dict[int, frozenset[int]]:
    """Sharing provider -> roots of the trees with a provider in one of its aggregates."""
    if not sharing:
        return {}
    mine = rpa.alias("mine")
    other = rpa.alias("other")
    query = (sa.select(mine.c.resource_provider_id, rp.c.root_provider_id).distinct()
             .select_from(mine.join(other, other.c.aggregate_id == mine.c.aggregate_id)
                          .join(rp, rp.c.id == other.c.resource_provider_id))
             .where(mine.c.resource_provider_id.in_(_ids(sharing))))
    out: dict[int, set[int]] = {}
    for sharing_id, root in conn.execute(query):
        out.setdefault(sharing_id, set()).add(root)
    return {k: frozenset(v) for k, v in out.items()}


def _roots_of(conn: Connection, provider_ids: list[int]) -> set[int]:
    if not provider_ids:
        return set()
    query = sa.select(rp.c.root_provider_id).where(rp.c.id.in_(_ids(provider_ids)))
    return set(conn.execute(query).scalars())


def _anchor_roots(request: CandidateRequest, rc_ids: dict[str, int],
                  fitting: dict[tuple[int, int], tuple[int, Inventory]],
                  links: dict[int, frozenset[int]],
                  in_tree_roots: dict[str, int | None]) -> set[int]:
    """Roots where every group with resources has some provider with capacity.

    A necessary condition only (traits, aggregates and combinations are the
    assembler's job), so it never loses a real anchor.
    """
    anchors: set[int] | None = None
    for group in request.groups:
        if group.resourceless:
            continue
        roots = _group_roots(group, rc_ids, fitting, links)
        if group.suffix == UNNUMBERED and group.in_tree is not None:
            roots &= {in_tree_roots[UNNUMBERED]}
        anchors = roots if anchors is None else anchors & roots
    return anchors or set()


def _group_roots(group: RequestGroup, rc_ids: dict[str, int],
                 fitting: dict[tuple[int, int], tuple[int, Inventory]],
                 links: dict[int, frozenset[int]]) -> set[int]:
    per_rc: dict[str, dict[int, int]] = {}  # rc -> provider -> root
    for rc, amount in group.resources.items():
        rc_id = rc_ids[rc]
        per_rc[rc] = {pid: root for (pid, cid), (root, inventory) in fitting.items()
                      if cid == rc_id and inventory.fits(amount)}
    if group.same_provider:
        common = set.intersection(*(set(found) for found in per_rc.values()))
        first = next(iter(per_rc.values()))
        return _reach({pid: first[pid] for pid in common}, links)
    result: set[int] | None = None
    for found in per_rc.values():
        reach = _reach(found, links)
        result = reach if result is None else result & reach
    return result or set()


def _reach(providers: dict[int, int], links: dict[int, frozenset[int]]) -> set[int]:
    roots = set(providers.values())
    for pid in providers:
        roots |= links.get(pid, frozenset())
    return roots


def _load_trees(conn: Connection, roots: set[int]) -> list[Provider]:
    """Every provider of the given trees with traits, aggregates, inventories and usage."""
    in_trees = rp.c.root_provider_id.in_(_ids(roots))
    base = conn.execute(sa.select(rp.c.id, rp.c.uuid, rp.c.parent_provider_id,
                                  rp.c.root_provider_id).where(in_trees)).all()
    trait_rows = conn.execute(
        sa.select(rpt.c.resource_provider_id, traits_t.c.name)
        .select_from(rpt.join(traits_t, traits_t.c.id == rpt.c.trait_id)
                     .join(rp, rp.c.id == rpt.c.resource_provider_id))
        .where(in_trees)
        .order_by(rpt.c.trait_id))
    traits_of: dict[int, list[str]] = {}
    for pid, name in trait_rows:
        traits_of.setdefault(pid, []).append(name)
    agg_rows = conn.execute(
        sa.select(rpa.c.resource_provider_id, aggs.c.uuid)
        .select_from(rpa.join(aggs, aggs.c.id == rpa.c.aggregate_id)
                     .join(rp, rp.c.id == rpa.c.resource_provider_id))
        .where(in_trees))
    aggs_of: dict[int, set[str]] = {}
    for pid, uuid in agg_rows:
        aggs_of.setdefault(pid, set()).add(uuid)
    inventories_of = _tree_inventories(conn, roots)
    return [Provider(id=row.id, uuid=row.uuid, root_id=row.root_provider_id,
                     parent_id=row.parent_provider_id,
                     traits=frozenset(traits_of.get(row.id, ())),
                     trait_order=tuple(traits_of.get(row.id, ())),
                     aggregates=frozenset(aggs_of.get(row.id, ())),
                     inventories=inventories_of.get(row.id, {}))
            for row in base]


def _tree_inventories(conn: Connection, roots: set[int]) -> dict[int, dict[str, Inventory]]:
    owner = rp.alias("owner")
    usage = (sa.select(alloc.c.resource_provider_id.label("rp_id"),
                       alloc.c.resource_class_id.label("rc_id"),
                       sa.func.sum(alloc.c.used).label("used"))
             .select_from(alloc.join(owner, owner.c.id == alloc.c.resource_provider_id))
             .where(owner.c.root_provider_id.in_(_ids(roots)))
             .group_by(alloc.c.resource_provider_id, alloc.c.resource_class_id)
             .subquery())
    query = (sa.select(inv.c.resource_provider_id, inv.c.resource_class_id,
                       *_inventory_columns(), sa.func.coalesce(usage.c.used, 0).label("used"))
             .select_from(inv.join(rp, rp.c.id == inv.c.resource_provider_id)
                          .outerjoin(usage, sa.and_(
                              usage.c.rp_id == inv.c.resource_provider_id,
                              usage.c.rc_id == inv.c.resource_class_id)))
             .where(rp.c.root_provider_id.in_(_ids(roots))))
    rows = conn.execute(query).all()
    names = resource_class.names_for_ids(conn, {row.resource_class_id for row in rows})
    out: dict[int, dict[str, Inventory]] = {}
    for row in rows:
        out.setdefault(row.resource_provider_id, {})[names[row.resource_class_id]] = \
            _inventory(row)
    # Deterministic class order inside each provider.
    return {pid: dict(sorted(invs.items())) for pid, invs in out.items()}
