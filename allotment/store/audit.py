"""Read-only health queries behind ``allotment status`` and ``allotment audit``.

Each function takes a connection and returns plain rows: what is wrong with
the data (orphans, over-committed providers, allocations without inventory)
or with the standard classes and traits compared with the installed
os-resource-classes and os-traits.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store import tables as t
from allotment.store.standard import STANDARD_RESOURCE_CLASS_IDS, STANDARD_TRAITS

_a, _c, _rp, _inv, _rc = (
    t.allocations,
    t.consumers,
    t.resource_providers,
    t.inventories,
    t.resource_classes,
)


@dataclass(frozen=True)
class OrphanAllocations:
    consumer_uuid: str
    allocations: int


@dataclass(frozen=True)
class EmptyConsumer:
    consumer_uuid: str
    project_id: str | None
    user_id: str | None


@dataclass(frozen=True)
class OverCapacity:
    provider_uuid: str
    provider_name: str | None
    resource_class: str
    used: int
    capacity: int


@dataclass(frozen=True)
class AllocationWithoutInventory:
    provider_uuid: str
    resource_class: str
    consumer_uuid: str
    used: int


@dataclass(frozen=True)
class StandardDrift:
    missing_classes: tuple[str, ...]
    misnumbered_classes: tuple[str, ...]
    missing_traits: tuple[str, ...]


def providers_without_root(conn: Connection) -> int:
    return conn.execute(
        sa.select(sa.func.count()).select_from(_rp).where(_rp.c.root_provider_id.is_(None))
    ).scalar_one()


def _orphan_join() -> sa.Select:
    return (
        sa.select(_a.c.consumer_id)
        .select_from(_a.outerjoin(_c, _c.c.uuid == _a.c.consumer_id))
        .where(_c.c.id.is_(None))
    )


def incomplete_consumer_count(conn: Connection) -> int:
    """Distinct consumer uuids that have allocations but no consumers row."""
    inner = _orphan_join().distinct().subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one()


def orphan_allocations(conn: Connection) -> list[OrphanAllocations]:
    stmt = (
        _orphan_join()
        .add_columns(sa.func.count().label("n"))
        .group_by(_a.c.consumer_id)
        .order_by(_a.c.consumer_id)
    )
    return [OrphanAllocations(row.consumer_id, row.n) for row in conn.execute(stmt)]


def consumers_without_allocations(conn: Connection) -> list[EmptyConsumer]:
    projects, users = t.projects, t.users
    stmt = (
        sa.select(
            _c.c.uuid, projects.c.external_id.label("project"), users.c.external_id.label("user")
        )
        .select_from(
            _c.outerjoin(projects, projects.c.id == _c.c.project_id).outerjoin(
                users, users.c.id == _c.c.user_id
            )
        )
        .where(~sa.exists().where(_a.c.consumer_id == _c.c.uuid))
        .order_by(_c.c.uuid)
    )
    return [EmptyConsumer(row.uuid, row.project, row.user) for row in conn.execute(stmt)]


def over_capacity(conn: Connection) -> list[OverCapacity]:
    """Provider classes whose usage exceeds int((total - reserved) * allocation_ratio)."""
    usage = (
        sa.select(
            _a.c.resource_provider_id, _a.c.resource_class_id, sa.func.sum(_a.c.used).label("used")
        )
        .group_by(_a.c.resource_provider_id, _a.c.resource_class_id)
        .subquery()
    )
    capacity = (_inv.c.total - _inv.c.reserved) * _inv.c.allocation_ratio
    stmt = (
        sa.select(
            _rp.c.uuid,
            _rp.c.name,
            _rc.c.name.label("rc"),
            usage.c.used,
            _inv.c.total,
            _inv.c.reserved,
            _inv.c.allocation_ratio,
        )
        .select_from(
            usage.join(
                _inv,
                sa.and_(
                    _inv.c.resource_provider_id == usage.c.resource_provider_id,
                    _inv.c.resource_class_id == usage.c.resource_class_id,
                ),
            )
            .join(_rp, _rp.c.id == usage.c.resource_provider_id)
            .join(_rc, _rc.c.id == usage.c.resource_class_id)
        )
        .where(usage.c.used > capacity)
        .order_by(_rp.c.uuid, _rc.c.name)
    )
    return [
        OverCapacity(
            row.uuid,
            row.name,
            row.rc,
            int(row.used),
            int((row.total - row.reserved) * row.allocation_ratio),
        )
        for row in conn.execute(stmt)
    ]


def allocations_without_inventory(conn: Connection) -> list[AllocationWithoutInventory]:
    """Allocations against a class the provider has no inventory of (any more)."""
    stmt = (
        sa.select(_rp.c.uuid, _rc.c.name.label("rc"), _a.c.consumer_id, _a.c.used)
        .select_from(
            _a.outerjoin(
                _inv,
                sa.and_(
                    _inv.c.resource_provider_id == _a.c.resource_provider_id,
                    _inv.c.resource_class_id == _a.c.resource_class_id,
                ),
            )
            .outerjoin(_rp, _rp.c.id == _a.c.resource_provider_id)
            .outerjoin(_rc, _rc.c.id == _a.c.resource_class_id)
        )
        .where(_inv.c.id.is_(None))
        .order_by(_rp.c.uuid, _rc.c.name, _a.c.consumer_id)
    )
    return [
        AllocationWithoutInventory(row.uuid or "?", row.rc or "?", row.consumer_id, row.used)
        for row in conn.execute(stmt)
    ]


def standard_drift(conn: Connection) -> StandardDrift:
    """Standard classes and traits the database lacks, or holds under another id."""
    classes = {row.name: row.id for row in conn.execute(sa.select(_rc.c.name, _rc.c.id))}
    trait_names = {row.name for row in conn.execute(sa.select(t.traits.c.name))}
    return StandardDrift(
        missing_classes=tuple(n for n in STANDARD_RESOURCE_CLASS_IDS if n not in classes),
        misnumbered_classes=tuple(
            n for n, i in STANDARD_RESOURCE_CLASS_IDS.items() if n in classes and classes[n] != i
        ),
        missing_traits=tuple(sorted(STANDARD_TRAITS - trait_names)),
    )
