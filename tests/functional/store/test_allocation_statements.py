"""What an allocation write costs in statements, and the batched compare-and-swaps
that keep it small, on every backend (issue 17: each statement is a round trip)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.store import allocation as alloc_store
from allotment.store import changes
from allotment.store import consumer as consumer_store
from allotment.store import generation as generation_store
from allotment.store import resource_provider as rp_store
from allotment.store.engine import Database
from tests.functional.store.test_allocation import (
    C1,
    C2,
    RP_A,
    RP_B,
    consumer_row,
    cw,
    generation,
    make_provider,
    put,
    usage,
)


@pytest.fixture
def two_providers(db: Database) -> Database:
    make_provider(db, RP_A, VCPU={"total": 8}, MEMORY_MB={"total": 1024})
    make_provider(db, RP_B, VCPU={"total": 4}, DISK_GB={"total": 100})
    return db


@contextmanager
def counting(db: Database) -> Iterator[list[str]]:
    """The statements the engine sends while the block runs."""
    sent: list[str] = []

    def note(*args: object) -> None:
        sent.append(str(args[2]))

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)


def test_a_claim_takes_seven_statements_six_on_postgresql(two_providers: Database) -> None:
    """PostgreSQL bumps the provider and writes its change-feed row in one
    statement (``generation.increment_generation``)."""
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, consumer_type="INSTANCE"))  # project, user, type exist
    with db.write() as conn, counting(db) as sent:
        alloc_store.replace_all(
            conn, [cw(C2, {RP_A: {"VCPU": 1, "MEMORY_MB": 64}}, consumer_type="INSTANCE")]
        )
    assert len(sent) == (6 if db.backend == "postgresql" else 7), sent
    with db.read() as conn:
        feed = changes.since(conn, 0)
        provider_id = rp_store.get(conn, RP_A).id
    # The claim's one feed row: its provider (a root), usage only.
    assert feed[-1][1:] == (provider_id, provider_id, True)
    assert [row for row in feed if row[1] == provider_id][-2][0] < feed[-1][0]
    assert consumer_row(db, C2).generation == 1
    assert generation(db, RP_A) == 2
    assert usage(db) == {(RP_A, "VCPU"): 2, (RP_A, "MEMORY_MB"): 64}


def test_lookup_finds_consumers_and_names_in_one_statement(
    two_providers: Database,
) -> None:
    db = two_providers
    put(db, cw(C1, {RP_A: {"VCPU": 1}}, consumer_type="INSTANCE"))
    with db.read() as conn, counting(db) as sent:
        known = consumer_store.lookup(
            conn, [C1, C2], ["proj", "other"], ["user"], ["INSTANCE", "MIGRATION"]
        )
    assert len(sent) == 1
    stored = consumer_row(db, C1)
    assert known.consumers == {C1: (stored.id, 1)}
    assert set(known.projects) == {"proj"}
    assert set(known.users) == {"user"}
    assert set(known.consumer_types) == {"INSTANCE"}
    assert known.allocations == []  # not asked for
    with db.read() as conn:
        rp_a = rp_store.find_many(conn, [RP_A])[RP_A].id
        with counting(db) as sent:
            known = consumer_store.lookup(
                conn, [C1, C2], ["proj"], ["user"], ["INSTANCE"], with_allocations=True
            )
    assert len(sent) == 1
    assert [(c, p, used) for c, p, _rc, used in known.allocations] == [(C1, rp_a, 1)]


def test_one_compare_and_swap_bumps_several_providers(
    two_providers: Database,
) -> None:
    db = two_providers
    with db.write() as conn:
        ids = {p.id: p.generation for p in rp_store.find_many(conn, [RP_A, RP_B]).values()}
        with counting(db) as sent:
            generation_store.increment_generations(conn, ids)
        assert len(sent) == 2  # the UPDATE and the change feed
    assert (generation(db, RP_A), generation(db, RP_B)) == (1, 1)


def test_one_stale_provider_fails_the_whole_compare_and_swap(
    two_providers: Database,
) -> None:
    db = two_providers
    with pytest.raises(exc.ResourceProviderConcurrentUpdate), db.write() as conn:
        found = rp_store.find_many(conn, [RP_A, RP_B])
        # Another writer bumps RP_B after we read it.
        rp_store.increment_generation(conn, found[RP_B].id, found[RP_B].generation)
        generation_store.increment_generations(conn, {p.id: p.generation for p in found.values()})
    assert (generation(db, RP_A), generation(db, RP_B)) == (0, 0)


def test_a_write_that_loses_its_race_takes_no_feed_id(
    two_providers: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The change feed is written after every compare-and-swap: a lost race
    (run again by the server) leaves no id behind for readers to poll as a gap."""
    db = two_providers
    found = alloc_store._providers

    def read_before_another_writer(conn, writes, lock=False):  # noqa: ANN001, ANN202
        providers = found(conn, writes)
        return {uuid: replace(p, generation=p.generation - 1) for uuid, p in providers.items()}

    with db.read() as conn:
        top = changes.high_water(conn)
    monkeypatch.setattr(alloc_store, "_providers", read_before_another_writer)
    with (
        pytest.raises(exc.ResourceProviderConcurrentUpdate),
        db.write() as conn,
        counting(db) as sent,
    ):
        alloc_store.replace_all(conn, [cw(C1, {RP_A: {"VCPU": 1}})])
    # The bump ran (PostgreSQL's writes the feed row in the same statement,
    # inserting nothing when it matches nothing).
    assert any(s.lstrip().upper().startswith(("UPDATE", "WITH BUMPED")) for s in sent)
    assert usage(db) == {}
    monkeypatch.undo()
    put(db, cw(C1, {RP_A: {"VCPU": 1}}))
    with db.read() as conn:
        assert [row[0] for row in changes.since(conn, top)] == [top + 1]  # no id was lost
