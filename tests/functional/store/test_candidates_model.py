"""The in-memory model answers exactly as SQL research, through every kind of write.

Random small worlds are written on every backend, then random writes through
the store's own write paths (claims, unsafe deletes, inventories, traits,
aggregates, re-parenting, new and deleted providers). After each write the
model (refreshed from the change feed) must give the same candidates as SQL
research and as the brute-force reference over what the database now holds.
"""

from __future__ import annotations

import datetime
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allotment import exceptions as exc
from allotment.model import Inventory as StoredInventory
from allotment.store import aggregate, allocation, changes, inventory, schema, trait
from allotment.store import resource_provider as rp_store
from allotment.store.candidates import model as model_mod
from allotment.store.candidates import research
from allotment.store.candidates.request import CandidateRequest
from allotment.store.candidates.search import SearchOptions, SearchResult, find_candidates
from allotment.store.candidates.sources import SqlSource
from allotment.store.candidates.universe import Provider
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder
from tests.unit.store.candidates.reference import AGGS, RCS, TRAITS, reference, requests, worlds

KINDS = ("claim", "unclaim", "inventory", "traits", "aggregates", "reparent", "delete", "create")


def _both(db: Database, request: CandidateRequest) -> tuple[SearchResult, SearchResult, set]:
    """Model and SQL answers, and the reference, all in one read transaction."""
    with db.read() as conn:
        from_model = find_candidates(conn, request, SearchOptions(in_memory=True))
        from_sql = find_candidates(conn, request, source=SqlSource(conn))
        truth = reference(research.load_trees(conn, None), request)
    return from_model, from_sql, truth


def _keys(result: SearchResult) -> list[tuple]:
    return [c.key() for c in result.candidates]


def _write(db: Database, kind: str, pick: int, claims: list[str]) -> None:
    """One write through the store (refused writes are fine: nothing changes)."""
    try:
        with db.write() as conn:
            providers = sorted(research.load_trees(conn, None), key=lambda p: p.id)
            if not providers:
                return
            target = providers[pick % len(providers)]
            stored = rp_store.get(conn, target.uuid)
            if kind == "claim" and target.inventories:
                rc = sorted(target.inventories)[pick % len(target.inventories)]
                consumer = f"00000000-0000-0000-0000-c{len(claims):011d}"
                allocation.replace_all(
                    conn,
                    [allocation.ConsumerWrite(consumer, "p", "u", {target.uuid: {rc: 1}})],
                )
                claims.append(consumer)
            elif kind == "unclaim" and claims:
                allocation.delete_for_consumer(conn, claims.pop(pick % len(claims)))
            elif kind == "inventory":
                rc = RCS[pick % len(RCS)]
                new = {
                    name: StoredInventory(name, inv.total, inv.reserved)
                    for name, inv in target.inventories.items()
                }
                new[rc] = StoredInventory(rc, 1 + pick % 5)
                inventory.replace_all(conn, stored, new, stored.generation)
            elif kind == "traits":
                trait.set_provider_traits(conn, stored, TRAITS[: pick % (len(TRAITS) + 1)])
            elif kind == "aggregates":
                aggregate.set_provider_aggregates(conn, target.id, AGGS[: pick % 3])
            elif kind == "reparent":
                parent = providers[(pick // 7) % len(providers)]
                parent_uuid = None if parent.id == target.id else parent.uuid
                rp_store.update(
                    conn,
                    stored,
                    stored.name,
                    set_parent=True,
                    parent_uuid=parent_uuid,
                    allow_reparent=True,
                )
            elif kind == "delete":
                rp_store.delete(conn, stored)
            elif kind == "create":
                uuid = f"00000000-0000-0000-0000-e{pick:011d}"
                provider = rp_store.create(conn, uuid, f"new-{pick}", parent_uuid=target.uuid)
                inventory.add(conn, provider, StoredInventory(RCS[pick % len(RCS)], 4))
    except exc.PlacementError:
        pass


def write_world(db: Database, providers: list[Provider]) -> TreeBuilder:
    """The database emptied, then ``providers`` written (every reference trait known)."""
    schema.reset_data(db)
    with db.write() as conn:
        builder = TreeBuilder(conn)
        for name in TRAITS:
            builder._trait_id(name)
        builder.add_world(providers)
    return builder


def draw_writes(data: st.DataObject, most: int) -> list[tuple[str, int]]:
    """A claim, then up to ``most`` random writes (kind, pick) for ``_write``."""
    writes = data.draw(
        st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50)), min_size=1, max_size=most)
    )
    return [("claim", 0), *writes]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_model_follows_every_write(db: Database, data: st.DataObject) -> None:
    providers = data.draw(worlds())
    request = data.draw(requests(providers))
    write_world(db, providers)
    claims: list[str] = []
    for kind, pick in draw_writes(data, 8):
        from_model, from_sql, truth = _both(db, request)
        assert _keys(from_model) == _keys(from_sql)
        assert set(_keys(from_model)) == truth
        assert from_model.summarised == from_sql.summarised
        _write(db, kind, pick, claims)
    from_model, from_sql, truth = _both(db, request)
    assert _keys(from_model) == _keys(from_sql)
    assert set(_keys(from_model)) == truth
    # Limited, in windows of one root (only the rarest class's trees) and
    # chunks of one tree: the first candidates of the unlimited order.
    limit = data.draw(st.integers(1, len(from_sql.candidates) + 1))
    with db.read() as conn:
        limited = find_candidates(
            conn,
            replace(request, limit=limit),
            SearchOptions(in_memory=True, first_window=1, max_chunk=1),
        )
    assert _keys(limited) == _keys(from_sql)[:limit]


def test_unsafe_delete_reaches_the_model(db: Database) -> None:
    """DELETE /allocations/{consumer} bumps no generation; the feed still carries it."""
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("cn", inventory={"VCPU": 2})
    request = CandidateRequest(groups=(_group({"VCPU": 2}),))
    assert len(_both(db, request)[0].candidates) == 1
    consumer = "00000000-0000-0000-0000-00000000c001"
    with db.write() as conn:
        allocation.replace_all(
            conn, [allocation.ConsumerWrite(consumer, "p", "u", {b.uuid("cn"): {"VCPU": 1}})]
        )
    assert _both(db, request)[0].candidates == []
    with db.write() as conn:
        allocation.delete_for_consumer(conn, consumer)
    assert len(_both(db, request)[0].candidates) == 1


def test_commits_visible_out_of_order(db: Database) -> None:
    """A feed id committed after a higher one is still applied (a gap is watched)."""
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("a", inventory={"VCPU": 1})
        b.provider("b", inventory={"VCPU": 1})
        b.provider("c", inventory={"MEMORY_MB": 1})
    # The project and user exist already: two open transactions must not
    # both insert them (the second would wait for the first).
    with db.write() as conn:
        _claim_class(conn, b.uuid("c"), "00000000-0000-0000-0000-00000000c00c", "MEMORY_MB")
        allocation.delete_for_consumer(conn, "00000000-0000-0000-0000-00000000c00c")
    request = CandidateRequest(groups=(_group({"VCPU": 1}),))
    assert len(_both(db, request)[0].candidates) == 2
    with db.engine.connect() as first, db.engine.connect() as second:
        if db.backend == "sqlite":
            # One writer at a time: take the ids by hand, the second one first.
            _out_of_order_sqlite(db, b, request)
            return
        model = model_mod.model_for(db.engine)
        earlier_gaps = set(model.gaps)  # rolled back in earlier tests
        with first.begin():
            _claim(first, b.uuid("a"), "00000000-0000-0000-0000-00000000c00a")
            with second.begin():
                _claim(second, b.uuid("b"), "00000000-0000-0000-0000-00000000c00b")
            # The second transaction (higher feed id) is visible, the first is not.
            names = _anchor_names(db, b, request)
            assert names == ["a"]
            gaps = set(model.gaps) - earlier_gaps
            assert gaps, "the first transaction's feed id is a gap"
        # Now the first commits: its lower id must be picked up.
        assert _anchor_names(db, b, request) == []
        assert not gaps & set(model.gaps)


def _out_of_order_sqlite(db: Database, b: TreeBuilder, request: CandidateRequest) -> None:
    model = model_mod.model_for(db.engine)
    top = model.top
    with db.write() as conn:
        _claim(conn, b.uuid("b"), "00000000-0000-0000-0000-00000000c00b", feed_id=top + 2)
    assert _anchor_names(db, b, request) == ["a"]
    assert top + 1 in model.gaps
    with db.write() as conn:
        _claim(conn, b.uuid("a"), "00000000-0000-0000-0000-00000000c00a", feed_id=top + 1)
    assert _anchor_names(db, b, request) == []
    assert not model.gaps


def _claim_class(conn, provider_uuid: str, consumer: str, rc: str) -> None:  # noqa: ANN001
    allocation.replace_all(
        conn, [allocation.ConsumerWrite(consumer, "p", "u", {provider_uuid: {rc: 1}})]
    )


def _claim(conn, provider_uuid: str, consumer: str, feed_id: int | None = None) -> None:  # noqa: ANN001
    """A claim; with ``feed_id`` its feed row is written with that id instead."""
    if feed_id is None:
        allocation.replace_all(
            conn, [allocation.ConsumerWrite(consumer, "p", "u", {provider_uuid: {"VCPU": 1}})]
        )
        return
    pid = rp_store.get(conn, provider_uuid).id
    conn.info.pop(changes._TX_KEY, None)
    real = changes.record
    try:
        changes.record = lambda *_a, **_k: None  # type: ignore[assignment]
        allocation.replace_all(
            conn, [allocation.ConsumerWrite(consumer, "p", "u", {provider_uuid: {"VCPU": 1}})]
        )
    finally:
        changes.record = real  # type: ignore[assignment]
    conn.execute(
        changes.candidate_changes.insert().values(
            id=feed_id, provider_id=pid, created_at=changes.utcnow()
        )
    )


def test_a_gap_left_by_a_rollback_is_forgotten(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with db.write() as conn:
        TreeBuilder(conn).provider("a", inventory={"VCPU": 1})
    request = CandidateRequest(groups=(_group({"VCPU": 1}),))
    _both(db, request)
    model = model_mod.model_for(db.engine)
    model.gaps[model.top + 10**6] = 0.0  # an id that will never be committed
    monkeypatch.setattr(model_mod, "GAP_SECONDS", 0.0)
    _both(db, request)
    assert not model.gaps


def test_gaps_found_at_a_load_are_dated_by_the_row_written_after_them(db: Database) -> None:
    """A worker starting after a busy spell does not poll for long-dead ids."""
    with db.write() as conn:
        TreeBuilder(conn).provider("a", inventory={"VCPU": 1})
    ids = []
    for _ in range(4):
        with db.write() as conn:
            changes.record_all(conn)
            ids.append(changes.high_water(conn))
    feed = changes.candidate_changes
    with db.write() as conn:
        # ids[0] and ids[2] become ids of transactions that rolled back, and
        # the row after ids[0] was written five minutes ago.
        conn.execute(feed.delete().where(feed.c.id.in_([ids[0], ids[2]])))
        five_minutes_ago = changes.utcnow() - datetime.timedelta(minutes=5)
        conn.execute(feed.update().where(feed.c.id == ids[1]).values(created_at=five_minutes_ago))
    model_mod._models.pop(db.engine, None)  # a worker starting now
    _both(db, CandidateRequest(groups=(_group({"VCPU": 1}),)))
    gaps = model_mod.model_for(db.engine).gaps  # may hold earlier tests' recent rollbacks
    assert ids[2] in gaps and ids[0] not in gaps


def _group(resources: dict[str, int]):  # noqa: ANN202
    from allotment.store.candidates.request import RequestGroup

    return RequestGroup(resources=resources)


def _anchor_names(db: Database, b: TreeBuilder, request: CandidateRequest) -> list[str]:
    with db.read() as conn:
        result = find_candidates(conn, request, SearchOptions(in_memory=True))
    return sorted(b.name_of(c.anchor) for c in result.candidates)


def test_an_allocation_write_reloads_only_its_providers_usage(db: Database) -> None:
    """A claim, a move or a delete changes only usage: the model reloads the
    inventories of the providers it touched (one statement), not their trees;
    any other write still reloads the whole tree."""
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("cn", inventory={"VCPU": 1})
        b.provider("cn-numa", parent="cn", inventory={"PCPU": 2})
    request = CandidateRequest(groups=(_group({"VCPU": 1, "PCPU": 1}),))
    assert _anchor_names(db, b, request) == ["cn"]
    model = model_mod.model_for(db.engine)
    trees_before, usage_before = model.trees_reloaded, model.usage_reloaded
    consumer = "00000000-0000-0000-0000-00000000c0c0"
    with db.write() as conn:
        _claim(conn, b.uuid("cn"), consumer)
    assert _anchor_names(db, b, request) == []  # the VCPU is taken
    assert model.usage_reloaded == usage_before + 1
    assert model.trees_reloaded == trees_before
    with db.write() as conn:
        allocation.delete_for_consumer(conn, consumer)
    assert _anchor_names(db, b, request) == ["cn"]
    assert (model.usage_reloaded, model.trees_reloaded) == (usage_before + 2, trees_before)
    with db.write() as conn:
        trait.set_provider_traits(conn, rp_store.get(conn, b.uuid("cn-numa")), ["HW_CPU_X86_AVX2"])
    assert _anchor_names(db, b, request) == ["cn"]
    assert model.trees_reloaded == trees_before + 1


# ---------------------------------------------------------------------------
# Writers in other processes, reads here


def _writer(url: str, seed: int, provider_uuids: list[str], writes: int) -> None:
    """Claims and unsafe deletes from another process, each its own transaction."""
    import random

    rng = random.Random(seed)
    db = Database(url)
    mine: list[str] = []
    try:
        for i in range(writes):
            try:
                with db.write() as conn:
                    if mine and rng.random() < 0.4:
                        allocation.delete_for_consumer(conn, mine.pop(rng.randrange(len(mine))))
                    else:
                        consumer = f"00000000-0000-0000-{seed:04d}-{i:012d}"
                        target = rng.choice(provider_uuids)
                        allocation.replace_all(
                            conn,
                            [allocation.ConsumerWrite(consumer, "p", "u", {target: {"VCPU": 1}})],
                        )
                        mine.append(consumer)
            except exc.PlacementError:
                pass  # a generation conflict or a full provider: nothing written
    finally:
        db.dispose()


def _snapshot_read(db: Database, request: CandidateRequest) -> tuple[list, list]:
    """Model and SQL answers inside one snapshot (repeatable read on the servers)."""
    with db.engine.connect() as conn:
        if db.backend != "sqlite":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            from_model = find_candidates(conn, request, SearchOptions(in_memory=True))
            from_sql = find_candidates(conn, request, source=SqlSource(conn))
    return _keys(from_model), _keys(from_sql)


def test_model_follows_writers_in_other_processes(db: Database) -> None:
    import multiprocessing
    import time

    with db.write() as conn:
        b = TreeBuilder(conn)
        for i in range(6):
            b.provider(f"cn{i}", inventory={"VCPU": 3, "MEMORY_MB": 64})
        # The project and user exist before the writers race to create them.
        _claim_class(conn, b.uuid("cn0"), "00000000-0000-0000-0000-0000000000f0", "MEMORY_MB")
    request = CandidateRequest(groups=(_group({"VCPU": 2}),))
    _snapshot_read(db, request)  # the model is loaded before the writers start
    uuids = [b.uuid(f"cn{i}") for i in range(6)]
    url = db.url.render_as_string(hide_password=False)
    db.engine.dispose()  # no pooled connection is shared with the children
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_writer, args=(url, seed, uuids, 15)) for seed in (1, 2, 3)]
    for process in writers:
        process.start()
    deadline = time.monotonic() + 120
    reads = 0
    try:
        while reads < 300 and time.monotonic() < deadline:
            from_model, from_sql = _snapshot_read(db, request)
            assert from_model == from_sql
            reads += 1
            if not any(p.is_alive() for p in writers):
                break
    finally:
        for process in writers:
            process.join(timeout=max(1.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
    assert all(p.exitcode == 0 for p in writers)
    # Every writer has committed: the very next read sees all of it.
    from_model, from_sql = _snapshot_read(db, request)
    assert from_model == from_sql
    with db.read() as conn:
        truth = reference(research.load_trees(conn, None), request)
    assert set(from_model) == truth
    assert reads > 0
