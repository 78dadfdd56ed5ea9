"""Usages: what is allocated on a provider, and what a project (and user) consumes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store.tables import (
    allocations,
    consumer_types,
    consumers,
    inventories,
    projects,
    resource_classes,
    users,
)

# Group names of the 1.38 usage report for consumers without a type and for
# the single all-types group.
UNKNOWN_TYPE = "unknown"
ALL_TYPES = "all"


def inventory_usage() -> sa.ScalarSelect:
    """The summed allocations of an ``inventories`` row's provider and class (0 if none),
    as a correlated subquery for a select of inventories."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(allocations.c.used), 0))
        .where(
            allocations.c.resource_provider_id == inventories.c.resource_provider_id,
            allocations.c.resource_class_id == inventories.c.resource_class_id,
        )
        .scalar_subquery()
    )


def provider_usages(conn: Connection, provider_id: int) -> dict[str, int]:
    """Usage per class the provider has inventory of (0 when nothing is allocated).

    Allocations of classes without inventory are not reported (upstream).
    """
    rows = conn.execute(
        sa.select(resource_classes.c.name, inventory_usage().label("used"))
        .select_from(
            inventories.join(
                resource_classes, resource_classes.c.id == inventories.c.resource_class_id
            )
        )
        .where(inventories.c.resource_provider_id == provider_id)
    )
    return {row.name: int(row.used) for row in rows}


def usages_by_provider(
    conn: Connection, provider_ids: Iterable[int] | None = None
) -> dict[int, dict[str, int]]:
    """Usage per provider and class with inventory, in one grouped query.

    ``provider_ids`` None means every provider; providers with nothing
    allocated are absent. Allocations of classes without inventory are not
    counted, as in ``provider_usages``.
    """
    query = (
        sa.select(
            allocations.c.resource_provider_id,
            resource_classes.c.name,
            sa.func.sum(allocations.c.used).label("used"),
        )
        .select_from(
            allocations.join(
                inventories,
                sa.and_(
                    inventories.c.resource_provider_id == allocations.c.resource_provider_id,
                    inventories.c.resource_class_id == allocations.c.resource_class_id,
                ),
            ).join(resource_classes, resource_classes.c.id == allocations.c.resource_class_id)
        )
        .group_by(allocations.c.resource_provider_id, resource_classes.c.name)
    )
    if provider_ids is not None:
        query = query.where(allocations.c.resource_provider_id.in_(sorted(set(provider_ids))))
    out: dict[int, dict[str, int]] = {}
    for pid, name, used in conn.execute(query):
        out.setdefault(pid, {})[name] = int(used)
    return out


@dataclass(frozen=True)
class UsageGroup:
    """Summed usage of one group of consumers (a consumer type, or everything)."""

    usages: dict[str, int]
    consumer_count: int


def _scope(project_id: str, user_id: str | None) -> sa.Select:
    """Allocations joined to their consumers, limited to the project (and user)."""
    source = (
        allocations.join(consumers, consumers.c.uuid == allocations.c.consumer_id)
        .join(projects, projects.c.id == consumers.c.project_id)
        .join(resource_classes, resource_classes.c.id == allocations.c.resource_class_id)
        .outerjoin(consumer_types, consumer_types.c.id == consumers.c.consumer_type_id)
    )
    if user_id is not None:
        source = source.join(users, users.c.id == consumers.c.user_id)
    query = sa.select().select_from(source).where(projects.c.external_id == project_id)
    if user_id is not None:
        query = query.where(users.c.external_id == user_id)
    return query


def project_usages(conn: Connection, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """Summed allocations per class of the project's (and user's) consumers."""
    query = (
        _scope(project_id, user_id)
        .add_columns(resource_classes.c.name, sa.func.sum(allocations.c.used).label("used"))
        .group_by(resource_classes.c.name)
    )
    return {row.name: int(row.used) for row in conn.execute(query)}


def _type_filter(query: sa.Select, consumer_type: str | None) -> sa.Select:
    if consumer_type is None or consumer_type == ALL_TYPES:
        return query
    if consumer_type == UNKNOWN_TYPE:
        return query.where(consumers.c.consumer_type_id.is_(None))
    return query.where(consumer_types.c.name == consumer_type)


def project_usages_by_type(
    conn: Connection,
    project_id: str,
    user_id: str | None = None,
    consumer_type: str | None = None,
) -> dict[str, UsageGroup]:
    """Usages grouped by consumer type (1.38 form).

    ``consumer_type`` None: every type, untyped consumers under ``unknown``;
    ``all``: one group over everything; ``unknown``: only untyped consumers;
    any other name: only that type.
    """
    base = _type_filter(_scope(project_id, user_id), consumer_type)
    if consumer_type == ALL_TYPES:
        # One group over everything: no SQL grouping by type at all.
        usages = project_usages(conn, project_id, user_id)
        count = conn.execute(
            base.add_columns(sa.func.count(sa.distinct(consumers.c.uuid)).label("n"))
        ).scalar_one()
        return {ALL_TYPES: UsageGroup(usages, int(count))} if count else {}
    # Untyped consumers group under NULL, reported as "unknown".
    group_key = consumer_types.c.name
    sums = conn.execute(
        base.add_columns(
            group_key.label("grp"),
            resource_classes.c.name,
            sa.func.sum(allocations.c.used).label("used"),
        ).group_by(group_key, resource_classes.c.name)
    ).all()
    counts = conn.execute(
        base.add_columns(
            group_key.label("grp"), sa.func.count(sa.distinct(consumers.c.uuid)).label("n")
        ).group_by(group_key)
    ).all()
    grouped: dict[str, dict[str, int]] = {}
    for row in sums:
        grouped.setdefault(row.grp or UNKNOWN_TYPE, {})[row.name] = int(row.used)
    return {
        (row.grp or UNKNOWN_TYPE): UsageGroup(grouped.get(row.grp or UNKNOWN_TYPE, {}), int(row.n))
        for row in counts
    }
