"""Resource providers: lookups, trees, filters, create/update/delete.

The generation compare-and-swap lives in ``generation`` and is re-exported
here as ``increment_generation`` for the callers that know it by this name."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from allotment import exceptions as exc
from allotment.model import ResourceProvider
from allotment.store import capacity, changes, listed, resource_class, trait
from allotment.store.engine import utcnow
from allotment.store.generation import increment_generation
from allotment.store.tables import (
    allocations,
    inventories,
    placement_aggregates,
    resource_provider_aggregates,
    resource_provider_traits,
)
from allotment.store.tables import resource_providers as rp

_root = rp.alias("root")
_parent = rp.alias("parent")

PROVIDER_COLUMNS = (
    rp.c.id,
    rp.c.uuid,
    rp.c.name,
    rp.c.generation,
    rp.c.root_provider_id,
    rp.c.parent_provider_id,
    rp.c.created_at,
    rp.c.updated_at,
    _root.c.uuid.label("root_provider_uuid"),
    _parent.c.uuid.label("parent_provider_uuid"),
)


def provider_select() -> sa.Select:
    """SELECT of providers with their root and parent uuids; add WHERE clauses to it."""
    return sa.select(*PROVIDER_COLUMNS).select_from(
        rp.join(_root, _root.c.id == rp.c.root_provider_id).outerjoin(
            _parent, _parent.c.id == rp.c.parent_provider_id
        )
    )


def from_row(row: Row) -> ResourceProvider:
    return ResourceProvider(
        id=row.id,
        uuid=row.uuid,
        name=row.name,
        generation=row.generation or 0,
        root_provider_uuid=row.root_provider_uuid,
        parent_provider_uuid=row.parent_provider_uuid,
        root_provider_id=row.root_provider_id,
        parent_provider_id=row.parent_provider_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def find(conn: Connection, uuid: str) -> ResourceProvider | None:
    row = conn.execute(provider_select().where(rp.c.uuid == uuid)).first()
    return from_row(row) if row else None


def get(conn: Connection, uuid: str) -> ResourceProvider:
    """The provider with ``uuid``; ResourceProviderNotFound otherwise."""
    provider = find(conn, uuid)
    if provider is None:
        raise exc.ResourceProviderNotFound(f"No resource provider with uuid {uuid} found")
    return provider


# Built once: every allocation write looks its providers up (a claim per request).
_BY_UUIDS = provider_select().where(rp.c.uuid.in_(sa.bindparam("uuids", expanding=True)))


# The same, each provider row locked until the transaction ends. In id order,
# as the generation bumps lock (``generation._increment_many``), so that
# writers taking several providers do not wait on each other in a cycle.
# ``FOR NO KEY UPDATE``: the lock the generation bump takes anyway; unlike
# ``FOR UPDATE`` it lets the foreign-key checks of a child provider or a
# trait being added to this provider go on.
# PostgreSQL only, so the list is one array parameter (``store.listed``).
_BY_UUIDS_LOCKED = (
    provider_select()
    .where(listed.one_of(rp.c.uuid, "uuids", as_array=True))
    .order_by(rp.c.id)
    .with_for_update(of=rp, key_share=True)
)


def find_many(
    conn: Connection, uuids: Iterable[str], lock: bool = False
) -> dict[str, ResourceProvider]:
    """Providers by uuid, in one query; missing uuids are simply absent.

    ``lock`` (PostgreSQL only; a no-op elsewhere) locks the provider rows
    until the transaction ends: see ``allocation._providers``.
    """
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    locked = lock and conn.dialect.name == "postgresql"
    rows = conn.execute(_BY_UUIDS_LOCKED if locked else _BY_UUIDS, {"uuids": wanted}).all()
    return {row.uuid: from_row(row) for row in rows}


# ---------------------------------------------------------------------------
# Create, update, delete


def _check_unique(conn: Connection, name: str, uuid: str | None, exclude_id: int | None) -> None:
    """DuplicateName if another provider has ``uuid`` or ``name``.

    A taken uuid is reported before a taken name (the order upstream's unique
    constraints fail in); an update (no ``uuid``) names just the duplicate.
    """
    clauses = [rp.c.name == name]
    if uuid is not None:
        clauses.append(rp.c.uuid == uuid)
    query = sa.select(rp.c.uuid, rp.c.name).where(sa.or_(*clauses))
    if exclude_id is not None:
        query = query.where(rp.c.id != exclude_id)
    rows = list(conn.execute(query))
    if not rows:
        return
    if uuid is None:
        raise exc.DuplicateName(f"Conflicting resource provider {name} already exists.")
    if any(row.uuid == uuid for row in rows):
        raise exc.DuplicateName(f"Conflicting resource provider uuid: {uuid} already exists.")
    raise exc.DuplicateName(f"Conflicting resource provider name: {name} already exists.")


def _failed(action: str, reason: str) -> str:
    return f"Object action {action} failed because: {reason}"


def create(
    conn: Connection, uuid: str, name: str, parent_uuid: str | None = None
) -> ResourceProvider:
    """Insert a provider (generation 0); its root is its parent's root, or itself.

    DuplicateName when the name or uuid is taken; Invalid for a parent that
    does not exist or is the new provider itself.
    """
    parent = None
    if parent_uuid is not None:
        if parent_uuid == uuid:
            raise exc.Invalid(
                _failed(
                    "create",
                    "parent provider UUID cannot be same as UUID. "
                    "Please set parent provider UUID to None if there is "
                    "no parent.",
                )
            )
        parent = find(conn, parent_uuid)
        if parent is None:
            raise exc.Invalid(_failed("create", "parent provider UUID does not exist."))
    # After the parent checks: upstream's unique constraints fail at insert time.
    _check_unique(conn, name, uuid, None)
    try:
        result = conn.execute(
            sa.insert(rp).values(
                uuid=uuid,
                name=name,
                generation=0,
                parent_provider_id=parent.id if parent else None,
                root_provider_id=parent.root_provider_id if parent else None,
                created_at=utcnow(),
            )
        )
    except IntegrityError:
        # A concurrent create won the race for the same name or uuid.
        raise exc.DuplicateName(
            f"Conflicting resource provider name: {name} or uuid {uuid} already exists."
        ) from None
    inserted = result.inserted_primary_key
    assert inserted is not None
    new_id = inserted[0]
    if parent is None:
        conn.execute(sa.update(rp).where(rp.c.id == new_id).values(root_provider_id=new_id))
    changes.record(conn, [new_id])
    return get(conn, uuid)


def _tree_members(conn: Connection, root_id: int) -> dict[int, int | None]:
    """id -> parent id of every provider in the tree rooted at ``root_id``."""
    rows = conn.execute(
        sa.select(rp.c.id, rp.c.parent_provider_id).where(rp.c.root_provider_id == root_id)
    )
    return {row.id: row.parent_provider_id for row in rows}


def subtree_ids(conn: Connection, provider: ResourceProvider) -> set[int]:
    """The provider and all its descendants (one query for the whole tree)."""
    parents = _tree_members(conn, provider.root_provider_id)
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found = {provider.id}
    pending = [provider.id]
    while pending:
        for child in children.get(pending.pop(), ()):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _validate_new_parent(
    conn: Connection, provider: ResourceProvider, parent_uuid: str | None, allow_reparent: bool
) -> ResourceProvider | None:
    """The new parent (None to un-parent) after checking the tree rules.

    Checked in upstream's order, with upstream's texts (its "does not exist"
    on update really does say "create").
    """
    if parent_uuid is None:
        if not allow_reparent:
            raise exc.Invalid(
                _failed("update", "un-parenting a provider is not currently allowed.")
            )
        return None
    parent = find(conn, parent_uuid)
    if parent is None:
        raise exc.Invalid(_failed("create", "parent provider UUID does not exist."))
    if provider.parent_provider_uuid is not None and not allow_reparent:
        raise exc.Invalid(_failed("update", "re-parenting a provider is not currently allowed."))
    if parent.id in subtree_ids(conn, provider):
        raise exc.Invalid(_failed("update", "creating loop in the provider tree is not allowed."))
    return parent


def update(
    conn: Connection,
    provider: ResourceProvider,
    name: str,
    set_parent: bool = False,
    parent_uuid: str | None = None,
    allow_reparent: bool = False,
) -> ResourceProvider:
    """Rename and optionally move a provider; the generation is left alone.

    ``set_parent`` says whether the request named a parent at all. Moving a
    provider that already has a parent (or un-parenting it) needs
    ``allow_reparent``. When the tree changes, the provider's whole subtree
    takes the new root.
    """
    values: dict = {"name": name, "updated_at": utcnow()}
    moving = set_parent and parent_uuid != provider.parent_provider_uuid
    # Tree rules before the name: upstream's name constraint fails at write time.
    parent = _validate_new_parent(conn, provider, parent_uuid, allow_reparent) if moving else None
    _check_unique(conn, name, None, provider.id)
    if moving:
        new_root = parent.root_provider_id if parent else provider.id
        values["parent_provider_id"] = parent.id if parent else None
        if new_root != provider.root_provider_id:
            members = sorted(subtree_ids(conn, provider))
            conn.execute(
                sa.update(rp).where(rp.c.id.in_(members)).values(root_provider_id=new_root)
            )
            changes.record(conn, members)
        changes.record(conn, [provider.id])
    try:
        conn.execute(sa.update(rp).where(rp.c.id == provider.id).values(**values))
    except IntegrityError:
        raise exc.DuplicateName(f"Conflicting resource provider {name} already exists.") from None
    return get(conn, provider.uuid)


def delete(conn: Connection, provider: ResourceProvider) -> None:
    """Delete a provider with its inventories, trait and aggregate links.

    Refused while allocations reference it (ResourceProviderInUse) or while
    it has children (CannotDeleteParentProvider); allocations are checked
    first, as upstream does.
    """
    # Take the provider's row lock the way allocation writers do (their
    # generation compare-and-swap), so no allocation can slip in between the
    # check below and the delete.
    increment_generation(conn, provider.id, provider.generation)
    in_use = conn.execute(
        sa.select(allocations.c.id)
        .where(allocations.c.resource_provider_id == provider.id)
        .limit(1)
    ).first()
    if in_use:
        raise exc.ResourceProviderInUse(
            f"Unable to delete resource provider {provider.uuid}: Resource provider has "
            f"allocations."
        )
    child = conn.execute(
        sa.select(rp.c.id).where(rp.c.parent_provider_id == provider.id).limit(1)
    ).first()
    if child:
        raise exc.CannotDeleteParentProvider(
            f"Unable to delete parent resource provider {provider.uuid}: It has child "
            f"resource providers."
        )
    conn.execute(sa.delete(inventories).where(inventories.c.resource_provider_id == provider.id))
    conn.execute(
        sa.delete(resource_provider_traits).where(
            resource_provider_traits.c.resource_provider_id == provider.id
        )
    )
    conn.execute(
        sa.delete(resource_provider_aggregates).where(
            resource_provider_aggregates.c.resource_provider_id == provider.id
        )
    )
    changes.record(conn, [provider.id])
    # Break the self-reference before the row goes (MySQL checks it row by row).
    conn.execute(sa.update(rp).where(rp.c.id == provider.id).values(root_provider_id=None))
    try:
        conn.execute(sa.delete(rp).where(rp.c.id == provider.id))
    except IntegrityError:
        # A child was created concurrently: its foreign key protects the parent.
        raise exc.CannotDeleteParentProvider(
            f"Unable to delete parent resource provider {provider.uuid}: It has child "
            f"resource providers."
        ) from None


# ---------------------------------------------------------------------------
# Filtering (GET /resource_providers; reusable by candidate search)


@dataclass(frozen=True)
class ProviderFilter:
    """Conditions ANDed together; empty fields do not filter.

    ``aggregates_any_of``: each set must intersect the provider's own aggregates;
    ``traits_any_of``: each set must intersect the provider's traits;
    ``resources``: class name -> amount the provider alone must fit now.
    """

    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    aggregates_any_of: tuple[frozenset[str], ...] = ()
    aggregates_none_of: frozenset[str] = frozenset()
    traits_any_of: tuple[frozenset[str], ...] = ()
    traits_forbidden: frozenset[str] = frozenset()
    resources: dict[str, int] = field(default_factory=dict)


def in_aggregates(provider_id: ColumnElement, aggregate_uuids: Iterable[str]) -> ColumnElement:
    """EXISTS: the provider is itself associated with one of the aggregates."""
    return (
        sa.select(resource_provider_aggregates.c.aggregate_id)
        .join(
            placement_aggregates,
            placement_aggregates.c.id == resource_provider_aggregates.c.aggregate_id,
        )
        .where(
            resource_provider_aggregates.c.resource_provider_id == provider_id,
            placement_aggregates.c.uuid.in_(sorted(aggregate_uuids)),
        )
        .exists()
    )


def has_any_trait(provider_id: ColumnElement, trait_ids: Iterable[int]) -> ColumnElement:
    """EXISTS: the provider carries at least one of the traits."""
    return (
        sa.select(resource_provider_traits.c.trait_id)
        .where(
            resource_provider_traits.c.resource_provider_id == provider_id,
            resource_provider_traits.c.trait_id.in_(sorted(trait_ids)),
        )
        .exists()
    )


def _trait_conditions(
    conn: Connection, flt: ProviderFilter
) -> tuple[list[ColumnElement], list[ColumnElement]]:
    """The required-trait conditions and the forbidden-trait ones."""
    names = set(flt.traits_forbidden).union(*flt.traits_any_of)
    if not names:
        return [], []
    ids = trait.ids_for_names(conn, names)
    required = [has_any_trait(rp.c.id, {ids[n] for n in group}) for group in flt.traits_any_of]
    forbidden = []
    if flt.traits_forbidden:
        forbidden.append(~has_any_trait(rp.c.id, {ids[n] for n in flt.traits_forbidden}))
    return required, forbidden


def _none_match(conn: Connection, conditions: list[ColumnElement]) -> bool:
    """True when ``conditions`` are given and no provider meets them all."""
    if not conditions:
        return False
    return conn.execute(sa.select(rp.c.id).where(*conditions).limit(1)).first() is None


def _fitting_ids(conn: Connection, resources: dict[int, int]) -> set[int]:
    """Ids of the providers with room for every (class id, amount) of ``resources``.

    One statement per class on the inventories alone, intersected here. As
    ``EXISTS`` clauses of the listing, PostgreSQL flattened them into joins
    whose row estimate (the capacity test defeats its statistics) was one
    row, and nested-looped sequential scans of every provider under it:
    minutes for ``GET /resource_providers?resources=...`` at 50,000 computes.
    """
    fitting: set[int] | None = None
    for class_id, amount in sorted(resources.items()):
        ids = {row[0] for row in conn.execute(capacity.fitting_providers(class_id, amount))}
        fitting = ids if fitting is None else fitting & ids
        if not fitting:
            return set()
    return fitting or set()


def _conditions(
    conn: Connection, flt: ProviderFilter
) -> tuple[list[ColumnElement], set[int] | None] | None:
    """The WHERE clauses for ``flt`` and, when it names resources, the ids of the
    providers with room for them; None when nothing can match.

    Upstream resolves traits, then answers an empty list before it looks
    the resource classes up (an unknown class is then no error) when an
    ``in_tree`` names no provider, when no provider is in the ``member_of``
    aggregates, or when none has the required traits; the checks follow
    that order.
    """
    out: list[ColumnElement] = []
    if flt.name is not None:
        out.append(rp.c.name == flt.name)
    if flt.uuid is not None:
        out.append(rp.c.uuid == flt.uuid)
    if flt.in_tree is not None:
        tree = rp.alias("tree")
        root_of = sa.select(tree.c.root_provider_id).where(tree.c.uuid == flt.in_tree)
        out.append(rp.c.root_provider_id == root_of.scalar_subquery())
    member_of = [in_aggregates(rp.c.id, group) for group in flt.aggregates_any_of]
    out.extend(member_of)
    if flt.aggregates_none_of:
        out.append(~in_aggregates(rp.c.id, flt.aggregates_none_of))
    required, forbidden = _trait_conditions(conn, flt)
    out.extend(required + forbidden)
    if flt.in_tree is not None and find(conn, flt.in_tree) is None:
        return None
    # Only worth a query when an unknown class would otherwise be an error.
    if flt.resources and (_none_match(conn, member_of) or _none_match(conn, required)):
        return None
    fitting = None
    if flt.resources:
        class_ids = resource_class.ids_for_names(conn, flt.resources)
        fitting = _fitting_ids(
            conn, {class_ids[name]: amount for name, amount in flt.resources.items()}
        )
        if not fitting:
            return None
    return out, fitting


def find_filtered(conn: Connection, flt: ProviderFilter | None = None) -> list[ResourceProvider]:
    """Providers matching every condition of ``flt``, in creation (id) order.

    Unknown class names raise ResourceClassNotFound; unknown traits TraitNotFound.
    """
    query = provider_select().order_by(rp.c.id)
    fitting: set[int] | None = None
    if flt is not None:
        found = _conditions(conn, flt)
        if found is None:
            return []
        conditions, fitting = found
        query = query.where(*conditions)
    # One fetchall and positional unpacking: thousands of rows are common here.
    return [
        ResourceProvider(
            pid,
            uuid,
            name,
            generation or 0,
            root_uuid,
            parent_uuid,
            root_id,
            parent_id,
            updated_at,
            created_at,
        )
        for (
            pid,
            uuid,
            name,
            generation,
            root_id,
            parent_id,
            created_at,
            updated_at,
            root_uuid,
            parent_uuid,
        ) in conn.execute(query).all()
        if fitting is None or pid in fitting
    ]
