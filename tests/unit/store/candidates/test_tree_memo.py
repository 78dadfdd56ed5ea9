"""The per-tree memo of explain: signatures, forgetting trees, staying bounded."""

from __future__ import annotations

from dataclasses import replace

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.tree_memo import TreeMemo, signature

REQUEST = CandidateRequest(
    groups=(RequestGroup(resources={"VCPU": 1}), RequestGroup("1", resources={"PCPU": 2})),
    limit=10,
)


def test_signature_ignores_the_limit_only() -> None:
    assert signature(REQUEST, {}) == signature(replace(REQUEST, limit=None), {})
    changed = [
        replace(REQUEST, group_policy="isolate"),
        replace(REQUEST, root_required=frozenset({"CUSTOM_A"})),
        replace(REQUEST, same_subtrees=(frozenset({"1"}),)),
        replace(REQUEST, nested_aware=False),
        replace(REQUEST, groups=(RequestGroup(resources={"VCPU": 2}), REQUEST.groups[1])),
        replace(REQUEST, groups=REQUEST.groups[:1]),
    ]
    keys = {signature(request, {}) for request in changed}
    assert len(keys) == len(changed)
    assert signature(REQUEST, {}) not in keys


def test_signature_holds_the_in_tree_roots() -> None:
    # The same in_tree uuid names another tree once that provider moved.
    group = RequestGroup(resources={"VCPU": 1}, in_tree="u1")
    request = CandidateRequest(groups=(group,))
    assert signature(request, {"": 1}) != signature(request, {"": 2})


def test_forget_drops_a_tree_under_every_signature() -> None:
    memo = TreeMemo()
    memo.table("a").update({1: "x", 2: "y"})
    memo.table("b").update({1: False, 3: True})
    memo.forget([1, 9])
    assert memo.table("a") == {2: "y"}
    assert memo.table("b") == {3: True}
    assert memo.forgotten == 2
    memo.forget(range(100))  # more roots than entries: the other way round
    assert memo.roots() == set()
    memo.table("a")[4] = "z"
    memo.clear()
    assert memo.tables() == 0 and len(memo) == 0


def test_least_recently_used_tables_go_first() -> None:
    memo = TreeMemo(max_entries=5)
    memo.table("old").update({1: 1, 2: 2})
    memo.table("mid").update({1: 1, 2: 2})
    memo.table("old")  # used again: now the most recent
    memo.table("new").update({1: 1, 2: 2})
    memo.trim()
    assert len(memo) == 4
    assert memo.tables() == 2
    assert memo.table("mid") == {}  # evicted (asked again: a new empty table)
    assert memo.evicted == 2


def test_a_table_alone_over_the_bound_is_dropped() -> None:
    memo = TreeMemo(max_entries=3)
    memo.table("wide").update({root: root for root in range(10)})
    memo.trim()
    assert len(memo) == 0
    memo.table("small").update({1: 1})
    memo.trim()
    assert memo.roots() == {1}
