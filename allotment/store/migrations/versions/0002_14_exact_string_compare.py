"""Names and ids compare exactly on MySQL and MariaDB too (a NO PAD collation).

Revision ID: 0002_14_exact_string_compare
Revises: 0001_initial
Create Date: 2026-12-07

``utf8mb4_bin`` is a PAD SPACE collation: "tp" and "tp " compare equal, so a
project id differing from an existing one only by trailing spaces could never
get allocations on MariaDB (the consumer's project lookup found no row while
the insert collided with one), and provider names "x" and "x " conflicted.
PostgreSQL and SQLite compare exactly; this makes MySQL/MariaDB agree:
``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` (NO PAD) on MySQL 8.
Other databases are untouched. Making collations NO PAD only makes fewer
strings equal, so no unique constraint can be violated by the change.
"""

from alembic import op

revision = "0002_14_exact_string_compare"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

TABLES = (
    "resource_classes",
    "resource_providers",
    "inventories",
    "allocations",
    "placement_aggregates",
    "resource_provider_aggregates",
    "traits",
    "resource_provider_traits",
    "projects",
    "users",
    "consumer_types",
    "consumers",
)


def _collations() -> tuple[str, str] | None:
    """(exact collation, the one it replaces) for this server, None if not MySQL."""
    bind = op.get_bind()
    if bind.dialect.name != "mysql":
        return None
    if getattr(bind.dialect, "is_mariadb", False):
        return "utf8mb4_nopad_bin", "utf8mb4_bin"
    if (bind.dialect.server_version_info or (0,)) < (8,):
        return None  # MySQL 5.7 has no NO PAD binary collation
    return "utf8mb4_0900_bin", "utf8mb4_bin"


def _convert(collation: str) -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}")


def upgrade() -> None:
    collations = _collations()
    if collations is not None:
        _convert(collations[0])


def downgrade() -> None:
    collations = _collations()
    if collations is not None:
        _convert(collations[1])
