"""The placement schema as of upstream alembic head a082b8bb98d0.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-26

A snapshot on purpose: later changes to ``tables.py`` come with their own
migration, and this one keeps creating exactly the upstream-compatible schema.
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

MYSQL: dict[str, Any] = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}


def _ts() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime), sa.Column("updated_at", sa.DateTime)]


def upgrade() -> None:
    op.create_table(
        "resource_classes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(255), nullable=False),
        *_ts(),
        sa.UniqueConstraint("name", name="uniq_resource_classes0name"),
        **MYSQL,
    )
    op.create_table(
        "resource_providers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Unicode(200)),
        sa.Column("generation", sa.Integer),
        sa.Column("root_provider_id", sa.Integer, sa.ForeignKey("resource_providers.id")),
        sa.Column("parent_provider_id", sa.Integer, sa.ForeignKey("resource_providers.id")),
        *_ts(),
        sa.UniqueConstraint("uuid", name="uniq_resource_providers0uuid"),
        sa.UniqueConstraint("name", name="uniq_resource_providers0name"),
        **MYSQL,
    )
    op.create_index(
        "resource_providers_root_provider_id_idx", "resource_providers", ["root_provider_id"]
    )
    op.create_index(
        "resource_providers_parent_provider_id_idx", "resource_providers", ["parent_provider_id"]
    )
    op.create_table(
        "inventories",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_provider_id", sa.Integer, nullable=False),
        sa.Column("resource_class_id", sa.Integer, nullable=False),
        sa.Column("total", sa.Integer, nullable=False),
        sa.Column("reserved", sa.Integer, nullable=False),
        sa.Column("min_unit", sa.Integer, nullable=False),
        sa.Column("max_unit", sa.Integer, nullable=False),
        sa.Column("step_size", sa.Integer, nullable=False),
        sa.Column("allocation_ratio", sa.Float, nullable=False),
        *_ts(),
        sa.UniqueConstraint(
            "resource_provider_id",
            "resource_class_id",
            name="uniq_inventories0resource_provider_resource_class",
        ),
        **MYSQL,
    )
    op.create_index("inventories_resource_class_id_idx", "inventories", ["resource_class_id"])
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("resource_provider_id", sa.Integer, nullable=False),
        sa.Column("consumer_id", sa.String(36), nullable=False),
        sa.Column("resource_class_id", sa.Integer, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        *_ts(),
        **MYSQL,
    )
    op.create_index(
        "allocations_resource_provider_class_used_idx",
        "allocations",
        ["resource_provider_id", "resource_class_id", "used"],
    )
    op.create_index("allocations_resource_class_id_idx", "allocations", ["resource_class_id"])
    op.create_index("allocations_consumer_id_idx", "allocations", ["consumer_id"])
    op.create_table(
        "placement_aggregates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36)),
        *_ts(),
        sa.UniqueConstraint("uuid", name="uniq_placement_aggregates0uuid"),
        **MYSQL,
    )
    op.create_table(
        "resource_provider_aggregates",
        sa.Column("resource_provider_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("aggregate_id", sa.Integer, primary_key=True, autoincrement=False),
        *_ts(),
        **MYSQL,
    )
    op.create_index(
        "resource_provider_aggregates_aggregate_id_idx",
        "resource_provider_aggregates",
        ["aggregate_id"],
    )
    op.create_table(
        "traits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Unicode(255), nullable=False),
        *_ts(),
        sa.UniqueConstraint("name", name="uniq_traits0name"),
        **MYSQL,
    )
    op.create_table(
        "resource_provider_traits",
        sa.Column(
            "trait_id",
            sa.Integer,
            sa.ForeignKey("traits.id"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column(
            "resource_provider_id",
            sa.Integer,
            sa.ForeignKey("resource_providers.id"),
            primary_key=True,
            autoincrement=False,
        ),
        *_ts(),
        **MYSQL,
    )
    op.create_index(
        "resource_provider_traits_resource_provider_trait_idx",
        "resource_provider_traits",
        ["resource_provider_id", "trait_id"],
    )
    for name in ("projects", "users"):
        op.create_table(
            name,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            sa.Column("external_id", sa.String(255), nullable=False),
            *_ts(),
            sa.UniqueConstraint("external_id", name=f"uniq_{name}0external_id"),
            **MYSQL,
        )
    op.create_table(
        "consumer_types",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.Unicode(255), nullable=False),
        *_ts(),
        sa.UniqueConstraint("name", name="uniq_consumer_types0name"),
        **MYSQL,
    )
    op.create_table(
        "consumers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "consumer_type_id",
            sa.Integer,
            sa.ForeignKey("consumer_types.id", name="consumers_consumer_type_id_fkey"),
        ),
        *_ts(),
        sa.UniqueConstraint("uuid", name="uniq_consumers0uuid"),
        **MYSQL,
    )
    op.create_index("consumers_project_id_uuid_idx", "consumers", ["project_id", "uuid"])
    op.create_index(
        "consumers_project_id_user_id_uuid_idx", "consumers", ["project_id", "user_id", "uuid"]
    )
    op.create_index("consumers_consumer_type_id_idx", "consumers", ["consumer_type_id"])
