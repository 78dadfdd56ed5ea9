"""Root id windows and anchor chunks of a limited search (pure functions)."""

from __future__ import annotations

from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.research import Plan, chunks, windows

_REQUEST = CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1}),))


def test_windows_double_and_cover_the_id_range() -> None:
    found = Plan(_REQUEST, id_range=(5, 40))
    assert list(windows(found, 4)) == [(5, 9), (9, 17), (17, 33), (33, 65)]


def test_a_single_window_without_a_stop_or_without_providers() -> None:
    assert list(windows(Plan(_REQUEST, id_range=(1, 10)), None)) == [None]
    assert list(windows(Plan(_REQUEST), 4)) == [None]


def test_no_window_when_nothing_can_match() -> None:
    assert list(windows(Plan(_REQUEST, hopeless=True, id_range=(1, 10)), 4)) == []


def test_chunks_keep_order_and_size() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks([], 2)) == []
    assert list(chunks([1, 2], 0)) == [[1], [2]]
