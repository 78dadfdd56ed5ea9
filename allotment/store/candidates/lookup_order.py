"""Which answer wins when a candidate query names an unknown trait.

Upstream searches group by group, in the order the groups are listed: the
request-wide ``root_required`` traits are looked up first, then for each
group its ``member_of`` (no provider in those aggregates ends the whole search
with an empty answer), then its traits (an unknown one is a 400), then its
``in_tree`` (an unknown provider also ends the search empty). So a query whose
earlier group can match nothing answers 200 with no candidates even though a
later part names a trait that does not exist.

The engine looks every trait up at once, which is right whenever all of them
exist; only when one does not is the order above walked, here, to tell an
empty answer from the 400.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.store import trait
from allotment.store.candidates.request import CandidateRequest
from allotment.store.tables import placement_aggregates as aggs
from allotment.store.tables import resource_provider_aggregates as rpa
from allotment.store.tables import resource_providers as rp


def trait_ids(conn: Connection, request: CandidateRequest) -> dict[str, int] | None:
    """Ids of every trait the request names; None when the search ends empty
    before upstream would look up the unknown one; TraitNotFound otherwise."""
    try:
        return trait.ids_for_names(conn, request.trait_names())
    except exc.TraitNotFound:
        if _ends_empty_first(conn, request):
            return None
        raise


def _ends_empty_first(conn: Connection, request: CandidateRequest) -> bool:
    if _has_unknown(conn, request.root_required | request.root_forbidden):
        return False
    for group in request.groups:
        if group.member_of and not _providers_in_every(conn, group.member_of):
            return True
        if _has_unknown(conn, group.trait_names()):
            return False
        if group.in_tree is not None and not _provider_exists(conn, group.in_tree):
            return True
    return False


def _has_unknown(conn: Connection, names: set[str] | frozenset[str]) -> bool:
    try:
        trait.ids_for_names(conn, names)
    except exc.TraitNotFound:
        return True
    return False


def _providers_in_every(conn: Connection, member_of: tuple[frozenset[str], ...]) -> bool:
    """Whether some provider is, for every any-of list, in one of its aggregates."""
    common: set[int] | None = None
    for any_of in member_of:
        rows = conn.execute(
            sa.select(rpa.c.resource_provider_id)
            .join(aggs, aggs.c.id == rpa.c.aggregate_id)
            .where(aggs.c.uuid.in_(sorted(any_of)))
        )
        members = {row[0] for row in rows}
        common = members if common is None else common & members
        if not common:
            return False
    return bool(common)


def _provider_exists(conn: Connection, uuid: str) -> bool:
    return conn.execute(sa.select(rp.c.id).where(rp.c.uuid == uuid)).first() is not None
