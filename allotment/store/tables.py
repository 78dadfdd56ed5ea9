"""Every table of the placement schema, as SQLAlchemy Core ``Table`` objects.

The names, column types, unique constraints and indexes match upstream
placement's schema at alembic head ``a082b8bb98d0`` so that an upstream
database can be adopted in place and upstream tools keep working on ours.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Unicode,
    UniqueConstraint,
)

metadata = MetaData()

# MySQL: InnoDB for transactions and row locks; a binary collation. Binary
# is not enough for names to compare exactly as they do on PostgreSQL and
# SQLite ("x" = "x " under PAD SPACE): revision 0002_14_exact_string_compare
# moves every table to the server's NO PAD binary collation.
_MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _timestamps() -> list[Column]:
    return [Column("created_at", DateTime), Column("updated_at", DateTime)]


resource_classes = Table(
    "resource_classes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name", name="uniq_resource_classes0name"),
    **_MYSQL,
)

resource_providers = Table(
    "resource_providers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False),
    Column("name", Unicode(200)),
    Column("generation", Integer, default=0),
    Column("root_provider_id", Integer, ForeignKey("resource_providers.id")),
    Column("parent_provider_id", Integer, ForeignKey("resource_providers.id")),
    *_timestamps(),
    UniqueConstraint("uuid", name="uniq_resource_providers0uuid"),
    UniqueConstraint("name", name="uniq_resource_providers0name"),
    Index("resource_providers_root_provider_id_idx", "root_provider_id"),
    Index("resource_providers_parent_provider_id_idx", "parent_provider_id"),
    **_MYSQL,
)

inventories = Table(
    "inventories",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_provider_id", Integer, nullable=False),
    Column("resource_class_id", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("reserved", Integer, nullable=False),
    Column("min_unit", Integer, nullable=False),
    Column("max_unit", Integer, nullable=False),
    Column("step_size", Integer, nullable=False),
    Column("allocation_ratio", Float, nullable=False),
    *_timestamps(),
    UniqueConstraint(
        "resource_provider_id",
        "resource_class_id",
        name="uniq_inventories0resource_provider_resource_class",
    ),
    Index("inventories_resource_class_id_idx", "resource_class_id"),
    **_MYSQL,
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("resource_provider_id", Integer, nullable=False),
    # Upstream stores the consumer *uuid* here, not consumers.id.
    Column("consumer_id", String(36), nullable=False),
    Column("resource_class_id", Integer, nullable=False),
    Column("used", Integer, nullable=False),
    *_timestamps(),
    Index(
        "allocations_resource_provider_class_used_idx",
        "resource_provider_id",
        "resource_class_id",
        "used",
    ),
    Index("allocations_resource_class_id_idx", "resource_class_id"),
    Index("allocations_consumer_id_idx", "consumer_id"),
    **_MYSQL,
)

placement_aggregates = Table(
    "placement_aggregates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36)),
    *_timestamps(),
    UniqueConstraint("uuid", name="uniq_placement_aggregates0uuid"),
    **_MYSQL,
)

resource_provider_aggregates = Table(
    "resource_provider_aggregates",
    metadata,
    Column("resource_provider_id", Integer, primary_key=True, autoincrement=False),
    Column("aggregate_id", Integer, primary_key=True, autoincrement=False),
    *_timestamps(),
    Index("resource_provider_aggregates_aggregate_id_idx", "aggregate_id"),
    **_MYSQL,
)

traits = Table(
    "traits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Unicode(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name", name="uniq_traits0name"),
    **_MYSQL,
)

resource_provider_traits = Table(
    "resource_provider_traits",
    metadata,
    Column("trait_id", Integer, ForeignKey("traits.id"), primary_key=True, autoincrement=False),
    Column(
        "resource_provider_id",
        Integer,
        ForeignKey("resource_providers.id"),
        primary_key=True,
        autoincrement=False,
    ),
    *_timestamps(),
    Index(
        "resource_provider_traits_resource_provider_trait_idx",
        "resource_provider_id",
        "trait_id",
    ),
    **_MYSQL,
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("external_id", name="uniq_projects0external_id"),
    **_MYSQL,
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("external_id", String(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("external_id", name="uniq_users0external_id"),
    **_MYSQL,
)

consumer_types = Table(
    "consumer_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", Unicode(255), nullable=False),
    *_timestamps(),
    UniqueConstraint("name", name="uniq_consumer_types0name"),
    **_MYSQL,
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("generation", Integer, nullable=False, server_default="0", default=0),
    Column(
        "consumer_type_id",
        Integer,
        ForeignKey("consumer_types.id", name="consumers_consumer_type_id_fkey"),
    ),
    *_timestamps(),
    UniqueConstraint("uuid", name="uniq_consumers0uuid"),
    Index("consumers_project_id_uuid_idx", "project_id", "uuid"),
    Index("consumers_project_id_user_id_uuid_idx", "project_id", "user_id", "uuid"),
    Index("consumers_consumer_type_id_idx", "consumer_type_id"),
    **_MYSQL,
)

# Tables in an order that respects foreign keys when deleting rows.
DATA_TABLES_DELETE_ORDER = (
    allocations,
    consumers,
    consumer_types,
    projects,
    users,
    inventories,
    resource_provider_traits,
    resource_provider_aggregates,
    placement_aggregates,
    resource_providers,
    traits,
    resource_classes,
)
