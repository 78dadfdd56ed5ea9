"""Traits: the catalogue (standard and custom) and the traits of each provider."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError

from allotment import exceptions as exc
from allotment.model import ResourceProvider, Trait
from allotment.store.engine import utcnow
from allotment.store.generation import increment_generation
from allotment.store.standard import is_custom
from allotment.store.tables import resource_provider_traits as rpt
from allotment.store.tables import traits

_COLUMNS = (traits.c.id, traits.c.name, traits.c.created_at, traits.c.updated_at)


def storable(text: str) -> bool:
    """False for strings no database can compare (PostgreSQL rejects NUL characters).

    Such a name cannot be stored, so it names nothing; callers skip the query.
    """
    return "\x00" not in text


def _from_row(row: Row) -> Trait:
    return Trait(
        name=row.name,
        standard=not is_custom(row.name),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def ids_for_names(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the named traits; TraitNotFound lists every unknown name."""
    wanted = set(names)
    if not wanted:
        return {}
    queryable = [name for name in wanted if storable(name)]
    found: dict[str, int] = {}
    if queryable:
        rows = conn.execute(
            sa.select(traits.c.name, traits.c.id).where(traits.c.name.in_(queryable))
        )
        found = {row.name: row.id for row in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise exc.TraitNotFound(f"No such trait(s): {', '.join(missing)}.")
    return found


def find(conn: Connection, name: str) -> Trait | None:
    if not storable(name):
        return None
    row = conn.execute(sa.select(*_COLUMNS).where(traits.c.name == name)).first()
    return _from_row(row) if row else None


def get(conn: Connection, name: str) -> Trait:
    """The trait called ``name``; TraitNotFound otherwise."""
    trait = find(conn, name)
    if trait is None:
        raise exc.TraitNotFound(f"No such trait(s): {name}.")
    return trait


def list_traits(
    conn: Connection,
    names: Collection[str] | None = None,
    prefix: str | None = None,
    associated: bool | None = None,
) -> list[Trait]:
    """Traits by name, filtered (all filters ANDed): exact names, name prefix, and
    whether at least one provider has the trait. Sorted by name."""
    query = sa.select(*_COLUMNS).order_by(traits.c.name)
    if names is not None:
        queryable = [name for name in set(names) if storable(name)]
        if not queryable:
            return []
        query = query.where(traits.c.name.in_(queryable))
    if prefix:
        if not storable(prefix):
            return []
        # autoescape: "_" and "%" in a prefix are literal characters, not wildcards.
        query = query.where(traits.c.name.startswith(prefix, autoescape=True))
    if associated is not None:
        linked = sa.exists().where(rpt.c.trait_id == traits.c.id)
        query = query.where(linked if associated else ~linked)
    return [_from_row(row) for row in conn.execute(query)]


def ensure(conn: Connection, name: str) -> tuple[Trait, bool]:
    """The trait ``name``, created if missing; the flag says whether it was created.

    A concurrent creator may win between our look-up and insert: its unique
    violation is caught in a savepoint and the trait counts as existing.
    """
    existing = find(conn, name)
    if existing is not None:
        return existing, False
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(traits.insert().values(name=name, created_at=now))
    except IntegrityError:
        return get(conn, name), False
    return Trait(name=name, standard=not is_custom(name), created_at=now, updated_at=None), True


def delete(conn: Connection, name: str) -> None:
    """Delete a custom trait that no provider has.

    TraitNotFound (404), Invalid for a standard trait (400), Conflict when a
    provider has it (409), in that order.
    """
    row = None
    if storable(name):
        row = conn.execute(sa.select(traits.c.id).where(traits.c.name == name)).first()
    if row is None:
        raise exc.TraitNotFound(f"No such trait(s): {name}.")
    if not is_custom(name):
        raise exc.Invalid(f"Cannot delete standard trait {name}.")
    in_use = exc.Conflict(f"The trait {name} is in use by a resource provider.")
    if conn.execute(sa.select(rpt.c.trait_id).where(rpt.c.trait_id == row.id).limit(1)).first():
        raise in_use
    try:
        # A provider may gain the trait concurrently; the foreign key then refuses.
        with conn.begin_nested():
            conn.execute(sa.delete(traits).where(traits.c.id == row.id))
    except IntegrityError:
        raise in_use from None


def provider_traits(conn: Connection, provider_id: int) -> list[Trait]:
    """The traits of one provider, sorted by name."""
    query = (
        sa.select(*_COLUMNS)
        .select_from(traits.join(rpt, rpt.c.trait_id == traits.c.id))
        .where(rpt.c.resource_provider_id == provider_id)
        .order_by(traits.c.name)
    )
    return [_from_row(row) for row in conn.execute(query)]


def names_by_provider(conn: Connection, provider_ids: Iterable[int]) -> dict[int, set[str]]:
    """Trait names of many providers in one query; providers without traits are absent."""
    wanted = list(set(provider_ids))
    if not wanted:
        return {}
    query = (
        sa.select(rpt.c.resource_provider_id, traits.c.name)
        .select_from(rpt.join(traits, traits.c.id == rpt.c.trait_id))
        .where(rpt.c.resource_provider_id.in_(wanted))
    )
    out: dict[int, set[str]] = {}
    for row in conn.execute(query):
        out.setdefault(row.resource_provider_id, set()).add(row.name)
    return out


def _linked_ids(conn: Connection, provider_id: int) -> set[int]:
    rows = conn.execute(sa.select(rpt.c.trait_id).where(rpt.c.resource_provider_id == provider_id))
    return {row.trait_id for row in rows}


def set_provider_traits(conn: Connection, provider: ResourceProvider, names: Iterable[str]) -> int:
    """Make ``names`` the exact trait set of ``provider``; returns its generation.

    Unknown names raise TraitNotFound listing all of them. The generation is
    bumped (compare-and-swap against ``provider.generation``, so a concurrent
    writer makes this raise ConcurrentUpdate) only when the set changes.
    """
    wanted = set(ids_for_names(conn, names).values())
    current = _linked_ids(conn, provider.id)
    to_add, to_remove = wanted - current, current - wanted
    if not to_add and not to_remove:
        return provider.generation
    generation = increment_generation(conn, provider.id, provider.generation)
    if to_remove:
        conn.execute(
            sa.delete(rpt).where(
                rpt.c.resource_provider_id == provider.id, rpt.c.trait_id.in_(to_remove)
            )
        )
    if to_add:
        now = utcnow()
        conn.execute(
            rpt.insert(),
            [
                {"trait_id": trait_id, "resource_provider_id": provider.id, "created_at": now}
                for trait_id in sorted(to_add)
            ],
        )
    return generation


def delete_provider_traits(conn: Connection, provider: ResourceProvider) -> int:
    """Remove every trait of ``provider``; bumps the generation if any was removed."""
    return set_provider_traits(conn, provider, [])
