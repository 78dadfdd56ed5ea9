"""The change feed read by the in-memory candidate models (allotment only).

Revision ID: 0002_i17_change_feed
Revises: 0002_14_exact_string_compare
Create Date: 2026-12-07

One row per provider touched by a committed write (NULL: anything changed);
see ``allotment.store.changes``. Not part of upstream placement's schema.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_i17_change_feed"
down_revision = "0002_14_exact_string_compare"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allotment_candidate_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("provider_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sqlite_autoincrement=True,
        mysql_engine="InnoDB",
    )
    op.create_index(
        "allotment_candidate_changes_created_at_idx",
        "allotment_candidate_changes",
        ["created_at"],
    )


def downgrade() -> None:
    op.drop_table("allotment_candidate_changes")
