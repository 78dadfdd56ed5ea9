"""Explain's kept sums: what one tree's entry adds, and the entries kept small."""

from __future__ import annotations

from allotment.store.explain import tally
from allotment.store.explain.tally import GroupTally, TreeTally, tree_share


def test_a_group_tally_shares_equal_tuples_and_forgets_old_ones() -> None:
    table = GroupTally(slots=1)
    first, second = (0, 3), (0, 3)
    table.put(1, first)
    table.put(2, second)
    assert table[1] is table[2]
    assert table.failed[0] == 2 and table.failed[3] == 2
    for n in range(1728):  # tree 3 takes a tuple of its own each time
        table.put(3, (n % 12, n // 12 % 12, n // 144))
    assert len(table.shared) <= 2 * len(table) + 1001
    # Trees 1 and 2 as put, tree 3 its last tuple only: (11, 11, 11).
    assert table.failed[0] == 2 and table.failed[11] == 3 and sum(table.failed) == 7


def test_a_tree_share_is_one_int_summed_back() -> None:
    table = TreeTally()
    table.put(1, tree_share(3, tally.PASSES, repeats=False))
    table.put(2, tree_share(0, 0, repeats=False))  # removed at the first tree step
    table.put(3, tree_share(0, None, repeats=False))  # its root is not a provider
    table.put(4, tree_share(100_000, tally.PASSES, repeats=True))
    assert table.candidates == 100_003
    assert table.trees == 3
    assert table.removed[0] == 1 and table.removed[tally.PASSES] == 2
    assert table.repeating == 1
    table.built = True
    table.drop(4)
    assert (table.candidates, table.trees, table.repeating) == (3, 2, 0)
    assert isinstance(table[1], int) and table[1] < 256  # one of Python's shared small ints
