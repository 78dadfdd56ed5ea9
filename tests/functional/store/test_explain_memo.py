"""Explain's per-tree memo in the in-memory model follows every write (every backend).

The model keeps each tree's plan, count and anchor test per request
(``tree_memo``) and must drop a tree's entries when a write changes that tree
or a sharing provider linked to it: after any write, explain from the model
(the memo warm) answers exactly as explain over SQL research (no memo).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Connection

from allotment.model import Inventory as StoredInventory
from allotment.store import aggregate, allocation, inventory, schema, trait
from allotment.store import resource_provider as rp_store
from allotment.store.candidates import model as model_mod
from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.search import SearchOptions
from allotment.store.candidates.tree_memo import Summed, TreeMemo
from allotment.store.candidates.universe import SHARING_TRAIT
from allotment.store.engine import Database
from allotment.store.explain import SqlResearch, explain, tally
from allotment.store.explain import trees as trees_mod
from tests.candidate_data import TreeBuilder, make_uuid
from tests.functional.store.test_candidates_model import _write, draw_writes, write_world
from tests.unit.store.candidates.reference import requests, worlds
from tests.unit.store.candidates.test_counting import FORCED

# One group from the compute nodes, disk from the sharing provider of cn1's aggregate.
REQUEST = CandidateRequest(
    groups=(RequestGroup(resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 10}),), limit=5
)
CONSUMER = "00000000-0000-0000-0000-00000000e001"


def _both(db: Database, request: CandidateRequest) -> tuple[dict[str, Any], dict[str, Any]]:
    """Explain from the model (its memo) and over SQL research, in one read transaction."""
    with db.read() as conn:
        from_model = explain(conn, request, SearchOptions(in_memory=True))
        from_sql = explain(conn, request, source=SqlResearch(conn))
    return from_model, from_sql


def _memo(db: Database) -> TreeMemo:
    """The model's memo, refreshed from the change feed (nothing explained)."""
    with db.read() as conn, model_mod.open_source(conn) as source:
        assert source is not None
        return source.model.tree_memo


def _cloud(db: Database) -> TreeBuilder:
    with db.write() as conn:
        b = TreeBuilder(conn)
        for name in ("cn1", "cn2", "cn3"):
            b.provider(
                name,
                inventory={"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100},
                aggregates=["agg"] if name == "cn1" else [],
            )
        b.provider("ss", inventory={"DISK_GB": 1000}, traits=[SHARING_TRAIT], aggregates=["agg"])
    return b


def _allocate(conn: Connection, b: TreeBuilder, name: str) -> None:
    rc = "DISK_GB" if name == "ss" else "VCPU"
    allocation.replace_all(
        conn, [allocation.ConsumerWrite(CONSUMER, "p", "u", {b.uuid(name): {rc: 4}})]
    )


def _inventory(conn: Connection, b: TreeBuilder, name: str) -> None:
    stored = rp_store.get(conn, b.uuid(name))
    new = {"VCPU": StoredInventory("VCPU", 1), "MEMORY_MB": StoredInventory("MEMORY_MB", 8192)}
    inventory.replace_all(conn, stored, new, stored.generation)


def _traits(conn: Connection, b: TreeBuilder, name: str) -> None:
    trait.set_provider_traits(conn, rp_store.get(conn, b.uuid(name)), ["HW_CPU_X86_AVX2"])


def _aggregates(conn: Connection, b: TreeBuilder, name: str) -> None:
    aggregate.set_provider_aggregates(conn, b.refs[name].id, [make_uuid("agg")])


WRITES: dict[str, Callable[[Connection, TreeBuilder, str], None]] = {
    "allocation": _allocate,
    "inventory": _inventory,
    "traits": _traits,
    "aggregates": _aggregates,
}


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_a_write_drops_its_tree_only(db: Database, kind: str) -> None:
    b = _cloud(db)
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql
    roots = {b.refs[name].id for name in ("cn1", "cn2", "cn3", "ss")}
    assert _memo(db).roots() == roots
    with db.write() as conn:
        WRITES[kind](conn, b, "cn2")
    assert _memo(db).roots() == roots - {b.refs["cn2"].id}
    # Explained again: the same answer as without a memo, cn2 recomputed.
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql
    assert _memo(db).roots() == roots


def test_a_sharing_provider_write_drops_the_trees_it_serves(db: Database) -> None:
    b = _cloud(db)
    _both(db, REQUEST)
    with db.write() as conn:
        _allocate(conn, b, "ss")
    # cn1 is in the sharing provider's aggregate: it may draw disk from it.
    kept = {b.refs["cn2"].id, b.refs["cn3"].id}
    assert _memo(db).roots() == kept
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql
    # Leaving the aggregate: cn1 (linked before) is dropped again, and cn3 (linked now) too.
    with db.write() as conn:
        aggregate.set_provider_aggregates(conn, b.refs["cn3"].id, [make_uuid("agg")])
    assert b.refs["cn3"].id not in _memo(db).roots()
    with db.write() as conn:
        aggregate.set_provider_aggregates(conn, b.refs["ss"].id, [])
    assert _memo(db).roots() == {b.refs["cn2"].id}
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql


def test_a_full_load_drops_everything(db: Database) -> None:
    _cloud(db)
    _both(db, REQUEST)
    assert _memo(db).roots()
    schema.reset_data(db)
    assert _memo(db).roots() == set()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_memo_follows_every_write(db: Database, data: st.DataObject) -> None:
    providers = data.draw(worlds())
    feature = data.draw(st.sampled_from(sorted(FORCED)))
    request = FORCED[feature](data.draw(requests(providers)))
    request = replace(request, limit=data.draw(st.none() | st.integers(1, 4)))
    write_world(db, providers)
    claims: list[str] = []
    for kind, pick in draw_writes(data, 6):
        from_model, from_sql = _both(db, request)
        assert from_model == from_sql
        _write(db, kind, pick, claims)
    from_model, from_sql = _both(db, request)
    assert from_model == from_sql


def _tallies(db: Database) -> list[Summed]:
    memo = _memo(db)
    return [t for t in memo._tables.values() if isinstance(t, Summed)]


def test_a_warm_explain_looks_only_at_the_trees_that_changed(db: Database) -> None:
    b = _cloud(db)
    from_model, _ = _both(db, REQUEST)
    assert from_model["verdict"]["step"] == "passed"
    tallies = _tallies(db)
    # The group funnels' and the trees' sums, each filled once for all four trees.
    assert len(tallies) == 2
    assert [t.computed for t in tallies] == [4, 4]
    _both(db, REQUEST)
    assert [t.computed for t in tallies] == [4, 4]
    with db.write() as conn:
        _allocate(conn, b, "cn2")
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql
    assert [t.computed for t in tallies] == [5, 5]  # cn2 again, nothing else
    # The smallest per class: the three computes hold VCPU (the sharing provider disk only).
    assert from_model["groups"][0]["funnel"][-1]["remaining"] == 3


def test_an_explain_that_fails_half_way_keeps_no_sums(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cloud(db)
    calls = {"n": 0}
    real = trees_mod.TreeSteps.removed_at

    def failing(self: trees_mod.TreeSteps, root: int) -> str | None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("half-way")
        return real(self, root)

    monkeypatch.setattr(trees_mod.TreeSteps, "removed_at", failing)
    with pytest.raises(RuntimeError), db.read() as conn:
        explain(conn, REQUEST, SearchOptions(in_memory=True))
    # The group funnels' tally was complete; the trees' one, half-built, is gone.
    assert [type(t) for t in _tallies(db)] == [tally.GroupTally]
    from_model, from_sql = _both(db, REQUEST)
    assert from_model == from_sql
    assert [type(t) for t in _tallies(db)] == [tally.GroupTally, tally.TreeTally]


def test_an_empty_answer_keeps_no_sums_and_a_filled_cloud_explains_from_them(
    db: Database,
) -> None:
    b = _cloud(db)
    too_big = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 9}),))
    from_model, from_sql = _both(db, too_big)
    assert from_model == from_sql
    assert from_model["verdict"]["step"] == "capacity"
    assert _tallies(db) == []  # its first funnel ended at zero: nothing kept
    # A request with candidates keeps its sums; once the cloud is full it has none,
    # and the verdict's nearest misses come from a scan beside the kept sums.
    eight = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 8}),))
    assert _both(db, eight)[0]["verdict"]["step"] == "passed"
    with db.write() as conn:
        for name in ("cn1", "cn2", "cn3"):
            allocation.replace_all(
                conn,
                [allocation.ConsumerWrite(make_uuid(name), "p", "u", {b.uuid(name): {"VCPU": 1}})],
            )
    from_model, from_sql = _both(db, eight)
    assert from_model == from_sql
    assert from_model["verdict"]["step"] == "capacity"
    assert len(from_model["verdict"]["nearest_misses"]) == 3
    assert {type(t) for t in _tallies(db)} == {tally.GroupTally, tally.TreeTally}
