"""The capacity rule, as SQL expressions and as a Python predicate.

An amount ``A`` of a class fits an inventory ``I`` with current usage ``U``
when ``U + A <= (total - reserved) * allocation_ratio`` (the un-truncated
product, as upstream compares it), ``min_unit <= A <= max_unit`` and
``A % step_size == 0``. Provider filters, allocation writes and candidate
search all share these helpers so the rule lives in one place.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from allotment.model import Inventory
from allotment.store.tables import allocations, inventories


def usage_by_provider_and_class() -> sa.Subquery:
    """``(resource_provider_id, resource_class_id, used)``: summed allocations."""
    return (
        sa.select(
            allocations.c.resource_provider_id,
            allocations.c.resource_class_id,
            sa.func.sum(allocations.c.used).label("used"),
        )
        .group_by(allocations.c.resource_provider_id, allocations.c.resource_class_id)
        .subquery("usage")
    )


def capacity_expr(inv: sa.FromClause = inventories) -> ColumnElement:
    """Un-truncated capacity ``(total - reserved) * allocation_ratio`` of an inventory row."""
    return (inv.c.total - inv.c.reserved) * inv.c.allocation_ratio


def fits_expr(
    amount: int, used: ColumnElement, inv: sa.FromClause = inventories
) -> ColumnElement[bool]:
    """SQL truth of "``amount`` more fits this inventory row, given ``used``".

    ``used`` is an expression of the current usage (NULL counts as 0).
    """
    wanted = sa.literal(amount, sa.Integer)
    return sa.and_(
        capacity_expr(inv) >= sa.func.coalesce(used, 0) + wanted,
        inv.c.min_unit <= wanted,
        inv.c.max_unit >= wanted,
        wanted % inv.c.step_size == 0,
    )


def fitting_providers(resource_class_id: int, amount: int) -> sa.Select:
    """SELECT of the ids of the providers with room for ``amount`` of the class now
    (their current usage summed by a correlated lookup of the allocations index)."""
    used = (
        sa.select(sa.func.sum(allocations.c.used))
        .where(
            allocations.c.resource_provider_id == inventories.c.resource_provider_id,
            allocations.c.resource_class_id == inventories.c.resource_class_id,
        )
        .scalar_subquery()
    )
    return sa.select(inventories.c.resource_provider_id).where(
        inventories.c.resource_class_id == resource_class_id, fits_expr(amount, used)
    )


def unit_rules_allow(inventory: Inventory, amount: int) -> bool:
    """min_unit, max_unit and step_size accept ``amount`` (no usage involved)."""
    return inventory.min_unit <= amount <= inventory.max_unit and amount % inventory.step_size == 0


def fits(inventory: Inventory, used: int, amount: int) -> bool:
    """Python form of the E1 rule, for checks on rows already read."""
    return used + amount <= inventory.capacity and unit_rules_allow(inventory, amount)


def truncated_capacity(inventory: Inventory) -> int:
    """The integer capacity reported in summaries and checked on inventory writes."""
    return int((inventory.total - inventory.reserved) * inventory.allocation_ratio)
