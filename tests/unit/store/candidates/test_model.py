"""The in-memory model's bookkeeping without a database: feed ids, gaps, indexes, windows."""

from __future__ import annotations

from allotment.store.candidates.model import ModelSource, ProviderModel
from allotment.store.candidates.request import CandidateRequest, RequestGroup
from allotment.store.candidates.research import Plan
from allotment.store.candidates.universe import SHARING_TRAIT, Inventory, Provider


def test_ids_seen_out_of_order_leave_and_fill_gaps() -> None:
    model = ProviderModel()
    model._note_ids([1, 2, 5], now=10.0)
    assert model.top == 5
    assert model.gaps == {3: 10.0, 4: 10.0}
    model._note_ids([4, 7], now=11.0)
    assert model.top == 7
    assert model.gaps == {3: 10.0, 6: 11.0}
    model._note_ids([3, 6], now=12.0)
    assert model.gaps == {}


def _provider(pid: int, root: int, aggs: frozenset[str] = frozenset(), sharing: bool = False):  # noqa: ANN202
    return Provider(
        id=pid,
        uuid=f"u{pid}",
        root_id=root,
        parent_id=None if pid == root else root,
        traits=frozenset({SHARING_TRAIT}) if sharing else frozenset(),
        aggregates=aggs,
        inventories={"VCPU": Inventory(4)},
    )


def test_indexes_follow_adds_and_removes() -> None:
    model = ProviderModel()
    model._replace_everything(
        [
            _provider(1, 1, frozenset({"a"})),
            _provider(2, 1),
            _provider(3, 3, frozenset({"b"})),
            _provider(9, 9, frozenset({"a"}), sharing=True),
        ]
    )
    assert model.roots == [1, 3, 9]
    assert model.links == {9: frozenset({1, 9})}
    # Provider 3 joins aggregate a: the cached links must follow.
    model._remove(3)
    model._add(_provider(3, 3, frozenset({"a"})))
    model._links = None
    assert model.links == {9: frozenset({1, 3, 9})}
    model._remove(2)
    model._remove(1)
    assert model.roots == [3, 9]
    assert 1 not in model.trees and "u1" not in model.by_uuid


def test_windows_count_roots_and_double() -> None:
    model = ProviderModel()
    model._replace_everything([_provider(pid, pid) for pid in (2, 3, 5, 8, 13, 21, 34)])
    source = ModelSource(model, conn=None)  # type: ignore[arg-type]
    plan = Plan(CandidateRequest(groups=(RequestGroup(resources={"VCPU": 1}),)))
    plan.id_range = (2, 34)
    assert list(source.windows(plan, 2)) == [(2, 5), (5, 34), (34, 35)]
    assert list(source.windows(plan, None)) == [None]
    plan.id_range = None
    assert list(source.windows(plan, 2)) == [None]
