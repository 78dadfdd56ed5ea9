"""Change-feed rows that say only usage changed (allotment only).

Revision ID: 0003_i17_feed_usage_only
Revises: 0002_i17_change_feed
Create Date: 2026-12-07

A row written by an allocation write (a claim, a move, a delete) says that
only the usage of its provider changed: a reader then reloads that
provider's inventories and usage, not its whole tree. Rows written before
this revision, or by anything else, keep ``false``: a whole tree.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_i17_feed_usage_only"
down_revision = "0002_i17_change_feed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "allotment_candidate_changes",
        sa.Column("usage_only", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    with op.batch_alter_table("allotment_candidate_changes") as table:
        table.drop_column("usage_only")
