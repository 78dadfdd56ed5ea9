"""Allocations: reading them, and replacing consumers' allocations atomically.

A write (PUT or POST /allocations, and the allocation step of the reshaper)
replaces the whole allocation set of every consumer it names, in one
transaction:

1. providers named in the new data must exist (400; on PostgreSQL their rows
   are locked, in id order, until the transaction ends: see ``_providers``),
   consumers are checked against the client's generation (409, never
   retried) and the missing ones created, at the generation the write
   leaves them at;
2. the capacity rules (``allocation_check``) are checked with one set-based query
   against the usage *before* the write, so that a rewrite of an
   over-committed provider that does not raise usage is still accepted;
3. old rows are deleted and new rows inserted;
4. the generation of every provider in the new data (and of the providers
   an emptied consumer used) is bumped with one compare-and-swap statement
   that locks them in provider id order, so that concurrent writers never
   deadlock on each other;
5. the generations of existing consumers are bumped (also a compare-and-swap)
   and consumers left without allocations are deleted.

A claim (one new consumer on one provider) takes seven statements, six on
PostgreSQL, where the provider's bump also writes its change-feed row; each
is a round trip, which is what a claim costs on a networked database.

Provider generations are read *before* usage: a writer that read usage
before a competitor committed therefore also read the old generation and
loses its compare-and-swap. ``write`` then runs everything again in a fresh
transaction, up to ``allocation_conflict_retry_count`` times.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from allotment import exceptions as exc
from allotment.model import Allocation, Consumer, Inventory, ResourceProvider
from allotment.store import changes, listed
from allotment.store import consumer as consumer_store
from allotment.store import generation as generation_store
from allotment.store import resource_class as rc_store
from allotment.store import resource_provider as rp_store
from allotment.store import usage as usage_store
from allotment.store.allocation_check import Key, check_capacity
from allotment.store.allocation_check import NewRow as _NewRow
from allotment.store.engine import Database, RetryPolicy, utcnow
from allotment.store.tables import allocations as alloc_t
from allotment.store.tables import consumers as consumer_t
from allotment.store.tables import inventories as inv_t
from allotment.store.tables import resource_classes as rc_t
from allotment.store.tables import resource_providers as rp_t

LOG = logging.getLogger(__name__)
T = TypeVar("T")

CONCURRENT_MESSAGE = "Inventory and/or allocations changed while attempting to allocate"


@dataclass(frozen=True, slots=True)
class ConsumerWrite:
    """The complete new allocation set of one consumer, as a client sent it."""

    uuid: str
    project_id: str
    user_id: str
    # provider uuid -> resource class name -> amount; empty removes everything.
    allocations: Mapping[str, Mapping[str, int]]
    # None keeps an existing consumer's type (new consumers stay untyped).
    consumer_type: str | None = None
    # False below microversion 1.28: no check, the generation still advances.
    check_generation: bool = False
    # The generation the client saw; None means "the consumer must not exist".
    generation: int | None = None


@dataclass(slots=True)
class _ConsumerState:
    """What the final generation bump needs to know about one consumer."""

    id: int
    generation: int
    project_id: int
    user_id: int
    type_id: int | None = None
    set_type: bool = False
    # Inserted by this write at its final generation: nothing to bump.
    created: bool = False


# The statements every claim runs, built once: building one costs more
# Python than running it does.
_CONSUMERS_PARAM: sa.BindParameter[list[str]] = sa.bindparam("uuids", expanding=True)
_DELETE_ROWS = sa.delete(alloc_t).where(alloc_t.c.consumer_id.in_(_CONSUMERS_PARAM))
_INSERT_ROWS = sa.insert(alloc_t)
_INVENTORIES_AND_USAGE = listed.ByDialect(
    lambda arrays: sa.select(inv_t, usage_store.inventory_usage().label("used")).where(
        listed.one_of(inv_t.c.resource_provider_id, "provider_ids", arrays),
        listed.one_of(inv_t.c.resource_class_id, "class_ids", arrays),
    )
)


# --- reading ---------------------------------------------------------------


def _allocation_select() -> sa.Select:
    return sa.select(
        alloc_t.c.consumer_id,
        rp_t.c.uuid.label("provider_uuid"),
        rp_t.c.generation.label("provider_generation"),
        rc_t.c.name.label("resource_class"),
        alloc_t.c.used,
        alloc_t.c.created_at,
        alloc_t.c.updated_at,
        consumer_t.c.generation.label("consumer_generation"),
    ).select_from(
        alloc_t.join(rp_t, rp_t.c.id == alloc_t.c.resource_provider_id)
        .join(rc_t, rc_t.c.id == alloc_t.c.resource_class_id)
        .outerjoin(consumer_t, consumer_t.c.uuid == alloc_t.c.consumer_id)
    )


def _rows_to_allocations(rows: Iterable[sa.Row]) -> list[Allocation]:
    return [
        Allocation(
            consumer_uuid=row.consumer_id,
            resource_provider_uuid=row.provider_uuid,
            resource_provider_generation=row.provider_generation or 0,
            resource_class=row.resource_class,
            used=row.used,
            consumer_generation=row.consumer_generation,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in rows
    ]


def get_for_consumer(
    conn: Connection, consumer_uuid: str
) -> tuple[Consumer | None, list[Allocation]]:
    """A consumer (None if it has no row) and its allocations."""
    rows = conn.execute(
        _allocation_select().where(alloc_t.c.consumer_id == consumer_uuid).order_by(alloc_t.c.id)
    )
    found = _rows_to_allocations(rows)
    if not found:
        return None, []
    return consumer_store.find(conn, consumer_uuid), found


def get_for_provider(conn: Connection, provider_id: int) -> list[Allocation]:
    rows = conn.execute(
        _allocation_select()
        .where(alloc_t.c.resource_provider_id == provider_id)
        .order_by(alloc_t.c.id)
    )
    return _rows_to_allocations(rows)


def delete_for_consumer(conn: Connection, consumer_uuid: str) -> bool:
    """Delete a consumer and its allocations; False if it had none.

    No generation is checked or bumped: this is the unsafe delete.
    A consumer without allocations (an empty write can leave one) is kept, as
    upstream keeps it: its generation still guards the next write.
    """
    # No generation is bumped, so the change feed is the only trace for readers.
    touched = conn.execute(
        sa.select(alloc_t.c.resource_provider_id)
        .distinct()
        .where(alloc_t.c.consumer_id == consumer_uuid)
    ).scalars()
    changes.record(conn, touched, usage_only=True)
    deleted = conn.execute(sa.delete(alloc_t).where(alloc_t.c.consumer_id == consumer_uuid))
    if deleted.rowcount == 0:
        return False
    consumer_store.delete(conn, consumer_uuid)
    return True


def _inventories_and_usage(
    conn: Connection, keys: set[Key]
) -> tuple[dict[Key, Inventory], dict[Key, int]]:
    """The inventories of ``keys`` and the usage of each, in one statement.

    Usage is only ever compared for a key with inventory, so a correlated
    sum per inventory row is all the capacity check needs.
    """
    rows = conn.execute(
        _INVENTORIES_AND_USAGE(conn),
        {
            "provider_ids": sorted({k[0] for k in keys}),
            "class_ids": sorted({k[1] for k in keys}),
        },
    )
    inventories: dict[Key, Inventory] = {}
    usage: dict[Key, int] = {}
    for row in rows:
        key = (row.resource_provider_id, row.resource_class_id)
        inventories[key] = Inventory(
            resource_class=str(row.resource_class_id),
            total=row.total,
            reserved=row.reserved,
            min_unit=row.min_unit,
            max_unit=row.max_unit,
            step_size=row.step_size,
            allocation_ratio=row.allocation_ratio,
        )
        if row.used:
            usage[key] = int(row.used)
    return inventories, usage


# --- the write -----------------------------------------------------------------


def _providers(
    conn: Connection, writes: list[ConsumerWrite], lock: bool = False
) -> dict[str, ResourceProvider]:
    """The providers the writes allocate from; ``lock`` holds their rows (PostgreSQL).

    Locked, two claims on one provider queue here, and the second reads the
    generation and usage the first committed. Unlocked, both read the same
    generation, and the second's compare-and-swap waited for the first to
    commit only to fail: the whole write ran again, after a back-off (at 16
    claimers, one claim in twelve).
    """
    wanted = list(dict.fromkeys(uuid for w in writes for uuid in w.allocations))
    found = rp_store.find_many(conn, wanted, lock=lock)
    missing = [uuid for uuid in wanted if uuid not in found]
    if missing:
        raise exc.Invalid(f"Allocation for resource provider '{missing[0]}' that does not exist.")
    return found


def _class_ids(conn: Connection, writes: list[ConsumerWrite]) -> dict[str, int]:
    names = list(
        dict.fromkeys(name for w in writes for res in w.allocations.values() for name in res)
    )
    try:
        return rc_store.ids_for_names(conn, names)
    except exc.ResourceClassNotFound as error:
        raise exc.AllocationClassNotFound(str(error)) from error


def _check_consumer_generation(write: ConsumerWrite, existing: int | None) -> None:
    """``existing`` is the stored consumer's generation, None when there is no consumer."""
    if not write.check_generation:
        return
    if existing is None and write.generation is not None:
        raise exc.ConsumerGenerationConflict(
            f"consumer generation conflict - expected null but got {write.generation}"
        )
    if existing is not None and existing != write.generation:
        got = write.generation  # a missing one reads "None", as upstream's text has it
        raise exc.ConsumerGenerationConflict(
            f"consumer generation conflict - expected {existing} but got {got}"
        )


def precheck(conn: Connection, writes: list[ConsumerWrite]) -> None:
    """The checks of ``replace_all`` that come first, without writing: consumer
    generations, then the providers named (in the request's order)."""
    existing = consumer_store.find_many(conn, [w.uuid for w in writes])
    for write in writes:
        found = existing.get(write.uuid)
        _check_consumer_generation(write, found.generation if found else None)
    _providers(conn, writes)


def _lookup_consumers(
    conn: Connection, writes: list[ConsumerWrite], check_order: list[ConsumerWrite]
) -> consumer_store.Known:
    """What exists of the consumers, their allocation rows and their
    project/user/type rows; checks the consumer generations (in ``check_order``)."""
    known = consumer_store.lookup(
        conn,
        [w.uuid for w in writes],
        [w.project_id for w in writes],
        [w.user_id for w in writes],
        [w.consumer_type for w in writes if w.consumer_type],
        with_allocations=True,
    )
    for write in check_order:
        found = known.consumers.get(write.uuid)
        _check_consumer_generation(write, found[1] if found else None)
    return known


def _with_missing(
    known: Mapping[str, int], wanted: Iterable[str], ensure: Callable[..., dict[str, int]]
) -> Mapping[str, int]:
    missing = set(wanted) - known.keys()
    return {**known, **ensure(missing)} if missing else known


def _prepare_consumers(
    conn: Connection,
    writes: list[ConsumerWrite],
    known: consumer_store.Known,
    touched: set[str],
) -> dict[str, _ConsumerState]:
    """Create the missing project/user/type and consumer rows.

    A new consumer is inserted at the generation the write leaves it at (1
    if its allocations change, in ``touched``), so it needs no bump: the
    unique uuid already makes two writers creating it exclusive.
    """
    project_ids = _with_missing(
        known.projects,
        (w.project_id for w in writes),
        partial(consumer_store.ensure_projects, conn),
    )
    user_ids = _with_missing(
        known.users, (w.user_id for w in writes), partial(consumer_store.ensure_users, conn)
    )
    type_ids = _with_missing(
        known.consumer_types,
        (w.consumer_type for w in writes if w.consumer_type),
        partial(consumer_store.ensure_consumer_types, conn),
    )
    now = utcnow()
    new_rows = [
        {
            "uuid": w.uuid,
            "project_id": project_ids[w.project_id],
            "user_id": user_ids[w.user_id],
            "consumer_type_id": type_ids[w.consumer_type] if w.consumer_type else None,
            "generation": 1 if w.uuid in touched else 0,
            "updated_at": now,
        }
        for w in writes
        if w.uuid not in known.consumers
    ]
    new_ids = consumer_store.create_many(conn, new_rows)
    states = {}
    for write in writes:
        current = known.consumers.get(write.uuid)
        states[write.uuid] = _ConsumerState(
            id=current[0] if current else new_ids[write.uuid],
            generation=current[1] if current else 0,
            project_id=project_ids[write.project_id],
            user_id=user_ids[write.user_id],
            type_id=type_ids[write.consumer_type] if write.consumer_type else None,
            set_type=write.consumer_type is not None,
            created=current is None,
        )
    return states


def _new_rows(
    writes: list[ConsumerWrite],
    providers: Mapping[str, ResourceProvider],
    class_ids: Mapping[str, int],
) -> list[_NewRow]:
    return [
        _NewRow(w.uuid, providers[rp_uuid].id, class_ids[name], amount)
        for w in writes
        for rp_uuid, resources in w.allocations.items()
        for name, amount in resources.items()
    ]


def _check(
    conn: Connection,
    new_rows: list[_NewRow],
    old_rows: list[_NewRow],
    providers: Mapping[str, ResourceProvider],
    class_ids: Mapping[str, int],
) -> None:
    keys = {(r.provider_id, r.class_id) for r in new_rows}
    if not keys:
        return
    released: dict[Key, int] = defaultdict(int)
    for row in old_rows:
        released[(row.provider_id, row.class_id)] += row.used
    inventories, usage = _inventories_and_usage(conn, keys)
    check_capacity(
        new_rows,
        inventories,
        usage,
        released,
        {p.id: p.uuid for p in providers.values()},
        {class_id: name for name, class_id in class_ids.items()},
    )


def _replace_rows(
    conn: Connection, consumer_uuids: list[str], old_rows: list[_NewRow], new_rows: list[_NewRow]
) -> None:
    # No old rows (a new consumer): nothing to delete. Rows another writer
    # adds meanwhile come with a consumer bump or insert that fails ours.
    if old_rows:
        conn.execute(_DELETE_ROWS, {"uuids": consumer_uuids})
    if new_rows:
        now = utcnow()
        conn.execute(
            _INSERT_ROWS,
            [
                {
                    "consumer_id": r.consumer_uuid,
                    "resource_provider_id": r.provider_id,
                    "resource_class_id": r.class_id,
                    "used": r.used,
                    "created_at": now,
                }
                for r in new_rows
            ],
        )


def _bump_providers(
    conn: Connection,
    providers: Mapping[str, ResourceProvider],
    old_rows: list[_NewRow],
    emptied: set[str],
    no_emptied_bump: frozenset[int],
) -> None:
    generations = {p.id: p.generation for p in providers.values()}
    extra = (
        {r.provider_id for r in old_rows if r.consumer_uuid in emptied}
        - generations.keys()
        - no_emptied_bump
    )
    if extra:
        rows = conn.execute(sa.select(rp_t.c.id, rp_t.c.generation).where(rp_t.c.id.in_(extra)))
        generations.update({row.id: row.generation or 0 for row in rows})
    generation_store.increment_generations(conn, generations, usage_only=True)


def _bump_consumers(
    conn: Connection, states: Mapping[str, _ConsumerState], touched: set[str]
) -> None:
    """Bump the generation of the consumers whose allocations change (``touched``:
    they had or get some); the others only take the request's project/user/type."""
    for uuid in sorted(states):
        state = states[uuid]
        if state.created:
            continue
        consumer_store.increment_generation(
            conn,
            state.id,
            state.generation,
            state.project_id,
            state.user_id,
            state.type_id,
            set_type=state.set_type,
            bump=uuid in touched,
        )


def replace_all(
    conn: Connection,
    writes: Iterable[ConsumerWrite],
    providers_first: bool = True,
    no_emptied_bump: frozenset[int] = frozenset(),
) -> None:
    """Replace the allocations of every consumer in ``writes``, in ``conn``'s transaction.

    ``providers_first`` checks provider existence before consumer generations
    (PUT does, POST does not). Providers in ``no_emptied_bump`` are not bumped
    for being used by an emptied consumer (the reshaper bumps them itself).
    """
    given = list(writes)
    # Rows are written in uuid order (a stable lock order); checks run in the
    # order the request gave, so the error reported is upstream's.
    ordered = sorted(given, key=lambda w: w.uuid)
    if not ordered:
        return
    providers = _providers(conn, given, lock=True) if providers_first else {}
    known = _lookup_consumers(conn, ordered, check_order=given)
    if not providers_first:
        providers = _providers(conn, given, lock=True)
    class_ids = _class_ids(conn, given)
    uuids = [w.uuid for w in ordered]
    new_rows = _new_rows(given, providers, class_ids)
    # Read with the consumers, in one statement: a writer that changed them
    # since loses its compare-and-swap.
    old_rows = [_NewRow(*row) for row in known.allocations]
    touched = {r.consumer_uuid for r in old_rows} | {r.consumer_uuid for r in new_rows}
    states = _prepare_consumers(conn, ordered, known, touched)
    _check(conn, new_rows, old_rows, providers, class_ids)
    _replace_rows(conn, uuids, old_rows, new_rows)
    emptied = {w.uuid for w in ordered if not w.allocations}
    _bump_providers(conn, providers, old_rows, emptied, no_emptied_bump)
    _bump_consumers(conn, states, touched)
    # Upstream deletes a consumer left without allocations only when it had
    # some: a new consumer written with no allocations is kept (generation 0).
    had_rows = {r.consumer_uuid for r in old_rows}
    consumer_store.delete_if_no_allocations(conn, emptied & had_rows)
    # Providers a consumer moved away from are not all bumped: note each one.
    # After the provider compare-and-swap (which notes the providers it
    # bumps): a write that loses a provider race (and is run again) takes no
    # feed id, which every reader would otherwise carry as a gap in each
    # poll until it ages out.
    changes.record(
        conn, {r.provider_id for r in old_rows} | {r.provider_id for r in new_rows}, usage_only=True
    )


def run(db: Database, fn: Callable[[Connection], T], retry_count: int) -> T:
    """Run ``fn`` through the write path, again in a fresh transaction after a lost race.

    After ``retry_count`` lost provider races (or rows created concurrently:
    project, user, consumer) the client gets 409 concurrent_update; the
    write path's policy also covers deadlocks, Galera certification failures
    and a connection lost before commit. Consumer generation conflicts are
    never retried: the client passed that generation.
    """
    policy = RetryPolicy(
        conflicts=(exc.ResourceProviderConcurrentUpdate, consumer_store.RowCreatedConcurrently),
        conflict_retries=retry_count,
    )
    try:
        return db.run_write(fn, policy=policy, label="allocation")
    except (exc.ResourceProviderConcurrentUpdate, consumer_store.RowCreatedConcurrently) as error:
        raise exc.ConcurrentUpdate(f"{CONCURRENT_MESSAGE}: {error}") from error


def write(
    db: Database, writes: list[ConsumerWrite], retry_count: int, providers_first: bool = True
) -> None:
    """Replace the allocations of ``writes`` in a transaction of their own (see ``run``)."""
    run(db, lambda conn: replace_all(conn, writes, providers_first=providers_first), retry_count)
