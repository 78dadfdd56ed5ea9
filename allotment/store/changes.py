"""The change feed: which providers a committed write touched, for the in-memory models.

Every write that changes what an allocation-candidate search sees (a provider
created, moved or deleted; its inventories, traits or aggregates; allocations
made, replaced or deleted) calls ``record`` with the ids of the providers it
touched, in the same transaction. So a change is in the feed exactly when the
write is committed, on every database and from every process or host. A row
with a NULL provider id means "anything may have changed" (bulk paths: test
resets, imports, online migrations, renamed resource classes); a row marked
``usage_only`` (allocation writes) that only the provider's usage did.

Readers (``allotment.store.candidates.model``) read the rows above the highest
id they have applied without a gap; see that module for how ids that become
visible out of order are handled. Old rows are pruned by the writers (one in
``PRUNE_EVERY`` transactions deletes the rows older than ``RETENTION``); a
reader that has not polled for longer than half of that reloads everything.

The table lives in its own ``MetaData``: it is ours, not part of the schema
shared with upstream placement (``tables.metadata``), so adopting or
importing an upstream database never looks for it. Alembic revision
``0002_i17_change_feed`` creates it.
"""

from __future__ import annotations

import datetime
import random
import weakref
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from allotment.store.engine import utcnow
from allotment.store.tables import resource_providers as providers

metadata = sa.MetaData()

# ``sqlite_autoincrement``: SQLite must never reuse the id of a deleted row
# (PostgreSQL sequences and InnoDB's counter never do).
candidate_changes = sa.Table(
    "allotment_candidate_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("provider_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
    # Only the provider's usage changed (an allocation write): readers reload
    # its inventories, not its tree (revision 0003_i17_feed_usage_only).
    sa.Column("usage_only", sa.Boolean, nullable=False, server_default=sa.false()),
    sqlite_autoincrement=True,
    mysql_engine="InnoDB",
)
# Built once: every allocation write runs it. Inline: writers never read
# back the id they took, so a one-row insert need not return it (a RETURNING
# result to set up on every allocation write).
_INSERT = sa.insert(candidate_changes).inline()

# (feed id, provider id, the provider's current root id, only its usage changed)
FeedRow = tuple[int, int | None, int | None, bool]

RETENTION = datetime.timedelta(hours=1)
PRUNE_EVERY = 512

# Engines known to have the table (a missing one is looked up again next time:
# it may be created by an upgrade on the same engine).
_present: weakref.WeakKeyDictionary[Engine, bool] = weakref.WeakKeyDictionary()
_TX_KEY = "allotment_change_feed_tx"


def present(conn: Connection) -> bool:
    """Whether the feed table exists in ``conn``'s database (an old schema has none)."""
    engine = conn.engine
    if _present.get(engine):
        return True
    found = sa.inspect(conn).has_table(candidate_changes.name)
    if found:
        _present[engine] = True
    return found


def record(conn: Connection, provider_ids: Iterable[int | None], usage_only: bool = False) -> None:
    """Note, in ``conn``'s transaction, that these providers changed (None: everything);
    ``usage_only``: only their usage (an allocation write).

    Ids already noted in the same transaction (as a whole change, or as a
    usage change when this is one) are not written twice.
    """
    fresh = unnoted(conn, provider_ids, usage_only)
    if not fresh:
        return
    now = utcnow()
    conn.execute(
        _INSERT,
        [
            {"provider_id": pid, "created_at": now, "usage_only": usage_only}
            for pid in sorted(fresh, key=_none_first)
        ],
    )
    written(conn, now)


def unnoted(
    conn: Connection, provider_ids: Iterable[int | None], usage_only: bool = False
) -> set[int | None]:
    """The ids ``record`` would write rows for now, from here on noted as written:
    the caller writes them (``record``, or a statement that also bumps the
    providers' generations), then calls ``written``."""
    wanted = {pid for pid in provider_ids if pid is not None or not usage_only}
    if not wanted or not present(conn):
        return set()
    # Keyed by the transaction object itself (held, so never confused with a
    # later transaction of the same pooled connection).
    transaction = conn.get_transaction()
    noted: tuple[object, set[int | None], set[int | None]] | None = conn.info.get(_TX_KEY)
    if noted is None or noted[0] is not transaction:
        noted = (transaction, set(), set())
        conn.info[_TX_KEY] = noted
    _, whole, usage = noted
    fresh = wanted - whole - (usage if usage_only else set())
    (usage if usage_only else whole).update(fresh)
    return fresh


def written(conn: Connection, now: datetime.datetime) -> None:
    """Rows were written at ``now``: one such transaction in ``PRUNE_EVERY`` also
    deletes the rows older than ``RETENTION``."""
    if random.randrange(PRUNE_EVERY) == 0:
        prune(conn, now - RETENTION)


def record_all(conn: Connection) -> None:
    """Note that anything may have changed: every reader reloads its model."""
    record(conn, [None])


def prune(conn: Connection, before: datetime.datetime) -> None:
    conn.execute(sa.delete(candidate_changes).where(candidate_changes.c.created_at < before))


def feed_rows(condition: sa.ColumnElement[bool], *padding: sa.ColumnElement) -> sa.Select:
    """(id, provider id, the provider's root now, usage only, ``*padding``) of the
    feed rows matching ``condition``."""
    table = candidate_changes
    # The providers' current roots come with the rows: the trees a reader
    # reloads, without a second round trip. A correlated lookup by primary
    # key, not a join: PostgreSQL's generic plan for the prepared poll
    # expects a third of the feed above ``top`` and hash-joined it to a
    # sequential scan of every provider, on every candidate request.
    root = (
        sa.select(providers.c.root_provider_id)
        .where(providers.c.id == table.c.provider_id)
        .scalar_subquery()
    )
    return sa.select(table.c.id, table.c.provider_id, root, table.c.usage_only, *padding).where(
        condition
    )


def array_branches(with_gaps: bool) -> list[sa.ColumnElement[bool]]:
    """The poll's conditions on PostgreSQL, one per ``UNION ALL`` branch: rows
    above ``:top`` and (``with_gaps``) rows listed in the array ``:gaps``.

    One statement text whatever the gaps: PostgreSQL plans it once (psycopg
    prepares it), where a list written out was a new statement, parsed and
    planned, for every set of gaps. Two branches, not ``id > :top OR id =
    ANY(:gaps)``: the generic plan of that walks the whole primary key
    filtering every row.
    """
    ids = candidate_changes.c.id
    above = ids > sa.bindparam("top", type_=sa.Integer)
    if not with_gaps:
        return [above]
    listed_array = sa.bindparam("gaps", type_=postgresql.ARRAY(sa.Integer))
    return [above, sa.and_(ids == sa.any_(listed_array), ~above)]


def _feed_query(with_gaps: bool, as_array: bool = False) -> sa.Select | sa.CompoundSelect:
    ids = candidate_changes.c.id
    if as_array:
        branches = [feed_rows(condition) for condition in array_branches(with_gaps)]
        return sa.union_all(*branches).order_by(sa.literal_column("id"))
    above = ids > sa.bindparam("top", type_=sa.Integer)
    if with_gaps:
        listed = sa.bindparam("gaps", type_=sa.Integer, expanding=True, literal_execute=True)
        return feed_rows(sa.or_(above, ids.in_(listed))).order_by(ids)
    return feed_rows(above).order_by(ids)


# Built once: a reader polls on every candidate request.
_SINCE = _feed_query(with_gaps=False)
_SINCE_OR_GAPS = _feed_query(with_gaps=True)
_SINCE_OR_GAP_ARRAY = _feed_query(with_gaps=True, as_array=True)


def since(conn: Connection, top: int, gaps: Iterable[int] = ()) -> list[FeedRow]:
    """The rows above ``top`` or with an id in ``gaps``, in id order: (id, provider
    id, that provider's root id now (None for a deleted provider or a NULL
    row), whether only the provider's usage changed).

    One statement on the primary key: a range, plus the listed ids.
    """
    missing = sorted(gaps)
    if missing:
        query = _SINCE_OR_GAP_ARRAY if conn.dialect.name == "postgresql" else _SINCE_OR_GAPS
        rows = conn.execute(query, {"top": top, "gaps": missing})
    else:
        rows = conn.execute(_SINCE, {"top": top})
    return [(row[0], row[1], row[2], bool(row[3])) for row in rows]


_WRITTEN_SINCE = (
    sa.select(candidate_changes.c.id, candidate_changes.c.created_at)
    .where(candidate_changes.c.id > sa.bindparam("low", type_=sa.Integer))
    .order_by(candidate_changes.c.id)
)


def written_since(conn: Connection, low: int) -> list[tuple[int, datetime.datetime]]:
    """The ids above ``low`` visible now, in order, with when each was written."""
    return [(row[0], row[1]) for row in conn.execute(_WRITTEN_SINCE, {"low": low})]


def high_water(conn: Connection) -> int:
    """The highest id visible now (0 for an empty feed)."""
    return conn.execute(sa.select(sa.func.max(candidate_changes.c.id))).scalar() or 0


def _none_first(value: int | None) -> int:
    return -1 if value is None else value
