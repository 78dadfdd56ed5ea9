"""The model's poll of the change feed; on PostgreSQL, with the usage it calls for.

After a claim made by another worker, a worker's next candidate request read
the feed's new rows, then the inventories and usage of the providers whose
usage alone changed: two statements, two round trips, on every claim. On
PostgreSQL one statement now reads both, in one snapshot: the feed rows, and
(``UNION ALL``) the inventory rows of the providers that the feed's
usage-only rows name. Those ids reach the inventories as one array the
statement computes first (``= ANY(CAST((SELECT array_agg(...)) AS
INTEGER[]))``), so the prepared generic plan stays on the indexes: an ``IN
(subquery)`` was planned as a hash join over every inventory of the cloud.

MySQL and SQLite keep the two statements (how they would plan the
subquery was not measured): ``Polled.usage`` is None and the model loads the
inventories itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from allotment.store import changes
from allotment.store.candidates import trees
from allotment.store.candidates.universe import Inventory

# Feed rows are padded with NULLs where inventory rows carry values, and the
# other way round: (id, provider id, root, usage only, name, 5 units, ratio, used).
_INVENTORY_NULLS: tuple[sa.ColumnElement, ...] = (
    sa.cast(sa.null(), sa.String),
    *[sa.cast(sa.null(), sa.Integer)] * 5,
    sa.cast(sa.null(), sa.Float),
    sa.cast(sa.null(), sa.Integer),
)
_FEED_NULLS = (sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.Boolean))


@dataclass(frozen=True)
class Polled:
    """The feed's new rows, in id order, and (PostgreSQL) the inventories of the
    providers their usage-only rows name: None where they were not read."""

    rows: list[changes.FeedRow]
    usage: dict[int, dict[str, Inventory]] | None


def _statement(with_gaps: bool) -> sa.CompoundSelect:
    branches = changes.array_branches(with_gaps)
    feed = changes.candidate_changes
    named = sa.union_all(
        *(
            sa.select(feed.c.provider_id.label("provider_id")).where(condition, feed.c.usage_only)
            for condition in branches
        )
    ).subquery()
    # Cast, so that the subquery is one array value, not a set of rows to
    # compare against (``= ANY (SELECT ...)``, which is an IN).
    named_ids = sa.cast(
        sa.select(sa.func.array_agg(named.c.provider_id)).scalar_subquery(),
        postgresql.ARRAY(sa.Integer),
    )
    (provider_id, *values) = trees.INVENTORY_COLUMNS
    inventories = (
        sa.select(sa.cast(sa.null(), sa.Integer), provider_id, *_FEED_NULLS, *values)
        .select_from(trees.INVENTORY_JOIN)
        .where(provider_id == sa.any_(named_ids))
    )
    return sa.union_all(
        *(changes.feed_rows(condition, *_INVENTORY_NULLS) for condition in branches),
        inventories,
    )


# Built once each (with and without gaps): a reader polls on every candidate request.
_STATEMENTS = (_statement(with_gaps=False), _statement(with_gaps=True))


def poll(conn: Connection, top: int, gaps: Iterable[int]) -> Polled:
    """The feed rows above ``top`` or in ``gaps`` (as ``changes.since``), with the
    usage they call for where one statement can read both."""
    if conn.dialect.name != "postgresql":
        return Polled(changes.since(conn, top, gaps), None)
    missing = sorted(gaps)
    result = conn.execute(_STATEMENTS[bool(missing)], {"top": top, "gaps": missing})
    feed: list[changes.FeedRow] = []
    inventory_rows = []
    for row in result:
        if row[0] is not None:
            feed.append((row[0], row[1], row[2], bool(row[3])))
        else:
            inventory_rows.append((row[1], *row[4:]))
    feed.sort()
    return Polled(feed, trees.inventories_from(inventory_rows))
