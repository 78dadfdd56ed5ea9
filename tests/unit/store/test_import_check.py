"""The merge comparison of key-ordered sums used to verify an import."""

from __future__ import annotations

from allotment.store.import_check import compare_groups, fold_groups


def test_groups_fold_rows_and_remap_classes() -> None:
    rows = [(1, 100, 2), (1, 101, 3), (2, 100, 4), (3, 0, 1)]
    folded = list(fold_groups(iter(rows), lambda c: {100: 0, 101: 1}.get(c, c)))
    assert folded == [(1, {0: 2, 1: 3}), (2, {0: 4}), (3, {0: 1})]


def test_equal_streams_have_no_mismatch() -> None:
    left = iter([(1, {0: 1}), (2, {1: 5})])
    right = iter([(1, {0: 1}), (2, {1: 5})])
    assert compare_groups(left, right) == (2, 0, [])


def test_differences_missing_and_extra_keys_are_reported() -> None:
    left = iter([("a", {0: 1}), ("b", {0: 2}), ("d", {0: 1})])
    right = iter([("a", {0: 1}), ("b", {0: 3}), ("c", {0: 1})])
    groups, mismatches, examples = compare_groups(left, right)
    assert (groups, mismatches) == (4, 3)
    assert examples == [
        "b: source {0: 2}, target {0: 3}",
        "c: source nothing, target {0: 1}",
        "d: source {0: 1}, target nothing",
    ]
