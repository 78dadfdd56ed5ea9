"""The standard resource classes (os-resource-classes) and traits (os-traits).

Standard classes keep upstream's id scheme: the id is the class's position in
``os_resource_classes.STANDARDS``. Custom classes get ids from 10000 up.
"""

from __future__ import annotations

import os_resource_classes
import os_traits
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment.store.engine import utcnow
from allotment.store.tables import resource_classes, traits

STANDARD_RESOURCE_CLASSES: tuple[str, ...] = tuple(os_resource_classes.STANDARDS)
STANDARD_RESOURCE_CLASS_IDS: dict[str, int] = {
    name: index for index, name in enumerate(STANDARD_RESOURCE_CLASSES)
}
STANDARD_TRAITS: frozenset[str] = frozenset(os_traits.get_traits())
CUSTOM_PREFIX = "CUSTOM_"
FIRST_CUSTOM_RESOURCE_CLASS_ID = 10000


def is_custom(name: str) -> bool:
    return name.startswith(CUSTOM_PREFIX)


def sync(conn: Connection) -> None:
    """Insert every standard class and trait that the database lacks."""
    now = utcnow()
    have_rcs = {row.name for row in conn.execute(sa.select(resource_classes.c.name))}
    missing_rcs = [
        {"id": STANDARD_RESOURCE_CLASS_IDS[name], "name": name, "created_at": now}
        for name in STANDARD_RESOURCE_CLASSES
        if name not in have_rcs
    ]
    if missing_rcs:
        conn.execute(resource_classes.insert(), missing_rcs)
    have_traits = {row.name for row in conn.execute(sa.select(traits.c.name))}
    missing_traits = [
        {"name": name, "created_at": now} for name in sorted(STANDARD_TRAITS - have_traits)
    ]
    if missing_traits:
        conn.execute(traits.insert(), missing_traits)
