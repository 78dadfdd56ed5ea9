"""The per-tree memo of explain: signatures, forgetting trees, staying bounded."""

from __future__ import annotations

from dataclasses import replace

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.tree_memo import Summed, TreeMemo, signature

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


class _Total(Summed):
    """Sums its entries (ints)."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def add(self, entry: int, sign: int) -> None:
        self.total += sign * entry


def test_a_summed_table_keeps_its_sum_as_trees_come_and_go() -> None:
    memo = TreeMemo()
    table = memo.summed("sum", _Total)
    assert isinstance(table, _Total)
    for root, entry in ((1, 10), (2, 20), (3, 30)):
        table.put(root, entry)
    table.built = True
    table.put(2, 25)  # replaced: the old entry leaves the sum
    assert table.total == 65 and table.computed == 4
    assert table.pending == set()
    memo.forget([1, 7])  # 7: a tree the table never had (a new one, say)
    assert table.total == 55
    assert table.pending == {1, 7}
    assert memo.forgotten == 1
    assert memo.summed("sum", _Total) is table
    assert memo.roots() == {2, 3}


def test_a_summed_table_is_dropped_whole() -> None:
    memo = TreeMemo()
    table = memo.summed("sum", _Total)
    table.put(1, 10)
    memo.drop("sum")
    again = memo.summed("sum", _Total)
    assert again is not table
    assert isinstance(again, _Total) and again.total == 0 and not again.built


def test_a_summed_table_counts_toward_the_bound() -> None:
    memo = TreeMemo(max_entries=3)
    for root in range(5):
        memo.summed("wide", _Total).put(root, 1)
    memo.trim()
    assert len(memo) == 0
    assert memo.evicted == 5
