"""The candidate search (research SQL + assembler) on every backend, below HTTP.

The data is spec J8's worked example, built with ``tests.candidate_data``.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa

from allotment import exceptions as exc
from allotment.http import microversion as mv
from allotment.http.handlers.allocation_candidate import parse_request
from allotment.store.candidates import research as research_mod
from allotment.store.candidates.search import SearchOptions, find_candidates
from allotment.store.engine import Database
from tests.candidate_data import TreeBuilder, make_uuid

LATEST = mv.MAX_VERSION


def _request(query: str, version: mv.Version = LATEST):
    return parse_request(parse_qs(query, keep_blank_values=True), version)


@pytest.fixture
def j8(db: Database) -> TreeBuilder:
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider(
            "c1",
            inventory={"VCPU": 8, "MEMORY_MB": 2048},
            traits=["HW_CPU_X86_AVX"],
            aggregates=["agg-s"],
        )
        b.provider("pf1", parent="c1", inventory={"SRIOV_NET_VF": 4}, traits=["CUSTOM_PHYSNET_A"])
        b.provider("pf2", parent="c1", inventory={"SRIOV_NET_VF": 4}, traits=["CUSTOM_PHYSNET_B"])
        b.provider("c2", inventory={"VCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 100})
        b.provider(
            "ss",
            inventory={"DISK_GB": 1000},
            traits=["MISC_SHARES_VIA_AGGREGATE"],
            aggregates=["agg-s"],
        )
    b.db = db  # type: ignore[attr-defined]
    return b


def _search(
    b: TreeBuilder, query: str, version: mv.Version = LATEST, options: SearchOptions | None = None
):
    with b.db.read() as conn:  # type: ignore[attr-defined]
        return find_candidates(conn, _request(query, version), options)


def _named(b: TreeBuilder, result) -> list[tuple]:
    """Candidates as sorted (allocations, mappings) tuples of provider names."""
    out = []
    for cand in result.candidates:
        allocs = tuple(
            sorted(
                (b.name_of(p), rc, n)
                for p, res in cand.allocations.items()
                for rc, n in res.items()
            )
        )
        maps = tuple(
            sorted((s, tuple(sorted(b.name_of(p) for p in ps))) for s, ps in cand.mappings.items())
        )
        out.append((allocs, maps))
    return sorted(out)


def test_example_1_sharing_and_flat(j8: TreeBuilder) -> None:
    result = _search(j8, "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10")
    assert _named(j8, result) == [
        (
            (("c1", "MEMORY_MB", 512), ("c1", "VCPU", 1), ("ss", "DISK_GB", 10)),
            (("", ("c1", "ss")),),
        ),
        ((("c2", "DISK_GB", 10), ("c2", "MEMORY_MB", 512), ("c2", "VCPU", 1)), (("", ("c2",)),)),
    ]
    names = {j8.name_of(p) for p in result.summarised}
    assert names == {"c1", "pf1", "pf2", "c2", "ss"}


def test_example_2_before_nested_candidates(j8: TreeBuilder) -> None:
    result = _search(j8, "resources=VCPU:1,MEMORY_MB:512,DISK_GB:10", mv.Version(1, 28))
    assert len(result.candidates) == 2
    assert {j8.name_of(p) for p in result.summarised} == {"c1", "c2", "ss"}


def test_example_3_nested(j8: TreeBuilder) -> None:
    result = _search(j8, "resources=VCPU:1,SRIOV_NET_VF:2")
    assert [a for a, _ in _named(j8, result)] == [
        (("c1", "VCPU", 1), ("pf1", "SRIOV_NET_VF", 2)),
        (("c1", "VCPU", 1), ("pf2", "SRIOV_NET_VF", 2)),
    ]
    assert _search(j8, "resources=VCPU:1,SRIOV_NET_VF:2", mv.Version(1, 28)).candidates == []


def test_example_4_isolate_and_none(j8: TreeBuilder) -> None:
    query = "resources=VCPU:1&resources1=SRIOV_NET_VF:1&resources2=SRIOV_NET_VF:1"
    isolate = _named(j8, _search(j8, query + "&group_policy=isolate"))
    assert len(isolate) == 2
    assert all(
        a == (("c1", "VCPU", 1), ("pf1", "SRIOV_NET_VF", 1), ("pf2", "SRIOV_NET_VF", 1))
        for a, _ in isolate
    )
    assert {m for _, m in isolate} == {
        (("", ("c1",)), ("1", ("pf1",)), ("2", ("pf2",))),
        (("", ("c1",)), ("1", ("pf2",)), ("2", ("pf1",))),
    }
    none = _named(j8, _search(j8, query + "&group_policy=none"))
    assert len(none) == 4
    assert (
        (("c1", "VCPU", 1), ("pf1", "SRIOV_NET_VF", 2)),
        (("", ("c1",)), ("1", ("pf1",)), ("2", ("pf1",))),
    ) in none


def test_example_5_traits_of_used_providers_only(j8: TreeBuilder) -> None:
    assert _search(j8, "resources=VCPU:1&required=CUSTOM_PHYSNET_B").candidates == []
    result = _search(j8, "resources=VCPU:1,SRIOV_NET_VF:1&required=CUSTOM_PHYSNET_B")
    assert [a for a, _ in _named(j8, result)] == [(("c1", "VCPU", 1), ("pf2", "SRIOV_NET_VF", 1))]


def test_example_6_root_required_and_member_of(j8: TreeBuilder) -> None:
    agg = make_uuid("agg-s")
    for query in (
        "resources=VCPU:1&root_required=!HW_CPU_X86_AVX",
        f"resources=VCPU:1&member_of=!{agg}",
    ):
        assert [a for a, _ in _named(j8, _search(j8, query))] == [(("c2", "VCPU", 1),)]
    assert [a for a, _ in _named(j8, _search(j8, f"resources=VCPU:1&member_of={agg}"))] == [
        (("c1", "VCPU", 1),)
    ]


def test_example_7_resourceless_same_subtree(j8: TreeBuilder) -> None:
    query = (
        "resources1=SRIOV_NET_VF:1&required2=CUSTOM_PHYSNET_A&same_subtree=1,2&group_policy=none"
    )
    assert _named(j8, _search(j8, query)) == [
        ((("pf1", "SRIOV_NET_VF", 1),), (("1", ("pf1",)), ("2", ("pf1",))))
    ]


def test_example_8_nothing_fits(j8: TreeBuilder) -> None:
    result = _search(j8, "resources=VCPU:100")
    assert result.candidates == [] and result.summarised == []


def test_unknown_names_raise(j8: TreeBuilder) -> None:
    with pytest.raises(exc.ResourceClassNotFound):
        _search(j8, "resources=CUSTOM_NOPE:1")
    with pytest.raises(exc.TraitNotFound):
        _search(j8, "resources=VCPU:1&required=CUSTOM_NOPE")


def test_unknown_in_tree_is_empty(j8: TreeBuilder) -> None:
    assert _search(j8, f"resources=VCPU:1&in_tree={make_uuid('nowhere')}").candidates == []
    in_c2 = _search(j8, f"resources=VCPU:1&in_tree={j8.uuid('c2')}")
    assert [a for a, _ in _named(j8, in_c2)] == [(("c2", "VCPU", 1),)]


def test_in_tree_on_a_child_means_its_tree(j8: TreeBuilder) -> None:
    result = _search(j8, f"resources=VCPU:1,DISK_GB:10&in_tree={j8.uuid('pf1')}")
    assert result.candidates == []  # c1's tree has no disk; ss is not used with in_tree


def test_usage_and_capacity_rules(db: Database) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("full", inventory={"VCPU": 4}, used={"VCPU": 4})
        b.provider(
            "ratio", inventory={"VCPU": {"total": 2, "allocation_ratio": 1.5}}, used={"VCPU": 2}
        )
        b.provider("step", inventory={"VCPU": {"total": 8, "step_size": 2}})
        b.provider("units", inventory={"VCPU": {"total": 8, "min_unit": 2, "max_unit": 3}})
    b.db = db  # type: ignore[attr-defined]
    assert [a for a, _ in _named(b, _search(b, "resources=VCPU:1"))] == [(("ratio", "VCPU", 1),)]
    assert {a[0][0] for a, _ in _named(b, _search(b, "resources=VCPU:2"))} == {"step", "units"}
    assert [a[0][0] for a, _ in _named(b, _search(b, "resources=VCPU:3"))] == ["units"]


def test_summaries_capacity_is_truncated(db: Database) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        b.provider("r", inventory={"VCPU": {"total": 3, "allocation_ratio": 1.5}}, used={"VCPU": 1})
    b.db = db  # type: ignore[attr-defined]
    result = _search(b, "resources=VCPU:1")
    inventory = result.universe.providers[result.summarised[0]].inventories["VCPU"]
    assert (inventory.summary_capacity, inventory.used) == (4, 1)


def test_query_count_does_not_grow_with_providers(db: Database) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        for i in range(30):
            b.provider(f"cn{i}", inventory={"VCPU": 8}, aggregates=["agg"])
            b.provider(f"cn{i}-nic", parent=f"cn{i}", inventory={"SRIOV_NET_VF": 4})
        b.provider(
            "nfs",
            inventory={"DISK_GB": 100},
            aggregates=["agg"],
            traits=["MISC_SHARES_VIA_AGGREGATE"],
        )
    statements: list[str] = []

    def count(*args) -> None:
        statements.append(args[2])

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.read() as conn:
            found = research_mod.research(
                conn,
                _request("resources=VCPU:1,DISK_GB:1&resources1=SRIOV_NET_VF:1&group_policy=none"),
            )
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(found.universe.anchors) == 30
    research_statements = [
        s for s in statements if not s.upper().startswith(("BEGIN", "ROLLBACK", "COMMIT"))
    ]
    # Sharing providers (1), their fits (one per (class, amount): 3) and links
    # (2); every root's fits (3); four to load the trees.
    assert len(research_statements) <= 13, research_statements


def test_limited_search_loads_only_the_trees_it_needs(db: Database, monkeypatch) -> None:
    with db.write() as conn:
        b = TreeBuilder(conn)
        for i in range(40):
            b.provider(f"cn{i}", inventory={"VCPU": 8}, aggregates=["agg"])
        b.provider(
            "nfs",
            inventory={"DISK_GB": 100},
            aggregates=["agg"],
            traits=["MISC_SHARES_VIA_AGGREGATE"],
        )
    loaded: list[list[int]] = []
    real_load = research_mod.load

    def spy(conn, plan, anchors):  # noqa: ANN001, ANN202 - same signature as load
        loaded.append(list(anchors))
        return real_load(conn, plan, anchors)

    monkeypatch.setattr(research_mod, "load", spy)
    b.db = db  # type: ignore[attr-defined]
    options = SearchOptions(first_window=4, max_chunk=2)
    result = _search(b, "resources=VCPU:1,DISK_GB:1&limit=3", options=options)
    assert [c.anchor for c in result.candidates] == [b.refs[f"cn{i}"].id for i in range(3)]
    assert sum(len(chunk) for chunk in loaded) == 4  # the first window: 4 ids, 4 roots
    assert all(len(chunk) <= 2 for chunk in loaded)
    assert {b.name_of(p) for p in result.summarised} == {"cn0", "cn1", "cn2", "nfs"}
    loaded.clear()
    every = _search(b, "resources=VCPU:1,DISK_GB:1", options=options)
    assert len(every.candidates) == 40
    assert sum(len(chunk) for chunk in loaded) == 40  # no limit: one window, every root
